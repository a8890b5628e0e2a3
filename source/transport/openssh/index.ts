/**
 * The OpenSSH transport: the system's `ssh` does the connecting, so everything OpenSSH
 * can do works (user and host certificates, `@cert-authority`, ProxyCommand, FIDO keys,
 * IdentityAgent, keyboard-interactive on a bastion, every ssh_config option).
 *
 * One ControlMaster per host (`ssh -M -N`, kept in the foreground as a child of crewchief,
 * its socket under the session's state directory) carries every command as a multiplexed
 * session (`ssh -S SOCKET`). Same interface as the ssh2 transport: output streamed,
 * timeouts and cancel kill the remote process group (from a second multiplexed session,
 * TERM then KILL) and the local client's group, a command cut off by a dead master is
 * `unknown`, and the master is restarted with backoff while the session runs, each
 * change reported through onLink. Probes (watches' polls, checks) go to one long-lived
 * shell per host through the master (../ssh/probe-shell.ts), so a poll starts no `ssh`.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {homedir, tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {killCommand, PidLineReader, remoteScript, wrapForGroupKill} from '../ssh/command-line.js';
import {createLinkReporter} from '../ssh/link-events.js';
import {SshConnectError} from '../ssh/link.js';
import {AbortedError, HostPool, type ConnectionState, type PoolLink} from '../ssh/pool.js';
import {
  claimSocketDir,
  endOrphanedMasters,
  reapStaleMasters,
  tiedToParent,
  type Reaped,
} from './masters.js';
import {ProbeShell, runInShell, type ShellChannel, type ShellWiring} from '../ssh/probe-shell.js';
import {gapNotices, openSshGaps} from '../ssh/reach.js';
import {emptySshConfig, loadSshConfig, type SshConfigLookup} from '../ssh/ssh-config.js';
import {
  notStarted,
  type HostSpec,
  type OutputSink,
  type RunRequest,
  type RunResult,
  type RunningCommand,
  type Transport,
} from '../types.js';

export interface OpenSshTransportOptions {
  /** The `ssh` binary (default `ssh` on PATH). */
  sshPath?: string;
  /** The profile's ssh config file, read before ~/.ssh/config. */
  configFile?: string;
  /** Also read ~/.ssh/config (default true). */
  userConfig?: boolean;
  /** known_hosts files (UserKnownHostsFile); default: what the config says. */
  knownHostsFiles?: string | readonly string[];
  /** Key files offered after those the config names. */
  identityFile?: string | readonly string[];
  /** `yes` (default) or `accept-new`. */
  strictHostKeys?: 'yes' | 'accept-new';
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  connectTimeoutMs?: number;
  /** Where the master sockets go: the session's state directory (default: a temp dir). */
  controlDir?: string;
  /** Sessions per master (default 8, below sshd's MaxSessions 10). */
  maxChannelsPerConnection?: number;
  killGraceMs?: number;
  reconnect?: {attempts?: number; baseDelayMs?: number; maxDelayMs?: number};
  reconnectWaitMs?: number;
  /**
   * Run probes (`RunRequest.probe`) in one long-lived shell per host (default true);
   * false: a multiplexed `ssh` per probe, like any command.
   */
  probeShell?: boolean;
  onConnectionState?(event: {
    host: string;
    state: ConnectionState;
    error?: string;
    attempt?: number;
  }): void;
  /** Options crewchief does not honour, and other things the driver should know. */
  onNotice?(text: string): void;
  home?: string;
}

export interface OpenSshTransport extends Transport {
  /** The arguments `ssh` gets for a host's commands (dry runs, tests). */
  argsFor(host: HostSpec): string[];
}

const asList = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : [...v];

/** A Unix socket path must fit in 108 bytes. */
const SOCKET_MAX = 100;

/** One running master. */
class Master implements PoolLink {
  inUse = 0;
  capacity: number;
  private closed = false;
  private reason: string | undefined;
  private readonly listeners = new Set<(reason: string | undefined) => void>();

  constructor(
    readonly process: ChildProcess,
    readonly socket: string,
    readonly label: string,
    capacity: number,
    stderrTail: () => string,
  ) {
    this.capacity = capacity;
    process.once('exit', (code, signal) => {
      const tail = stderrTail().trim().split('\n').at(-1);
      this.markClosed(
        tail ||
          (signal ? `the ssh master was killed (${signal})` : `the ssh master exited (${code})`),
      );
    });
  }

  get up(): boolean {
    return !this.closed;
  }

  get closeReason(): string | undefined {
    return this.reason;
  }

  markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason;
    for (const listener of [...this.listeners]) listener(reason);
    this.listeners.clear();
  }

  onClose(listener: (reason: string | undefined) => void): () => void {
    if (this.closed) {
      queueMicrotask(() => listener(this.reason));
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  end(): void {
    if (!this.closed) this.markClosed('closed by crewchief');
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGTERM');
      setTimeout(() => {
        if (this.process.exitCode === null) this.process.kill('SIGKILL');
      }, 1000).unref();
    }
  }
}

/** Runs a short command through a master (a kill), not waiting for it. */
function runBeside(ssh: string, args: readonly string[], command: string): void {
  const child = spawn(ssh, [...args, command], {stdio: 'ignore'});
  child.on('error', () => {});
}

/**
 * A shell session through a master: a multiplexed `ssh HOST EXEC_TEXT` (the probe shell's
 * loop, probeShellExec). When the client
 * fails (255) while the master still looks up, the master's own exit is waited for a
 * moment, so a dropped link is not mistaken for a shell that would not start.
 */
function openShellThrough(
  ssh: string,
  args: readonly string[],
  master: Master,
  execText: string,
  wiring: ShellWiring,
): Promise<ShellChannel> {
  return new Promise((resolve, reject) => {
    if (!master.up) {
      reject(new Error(`the ssh master is gone (${master.closeReason ?? 'closed'})`));
      return;
    }
    const child = spawn(ssh, [...args, execText], {stdio: ['pipe', 'pipe', 'pipe']});
    child.stdout.on('data', wiring.stdout);
    child.stderr.on('data', wiring.stderr);
    child.stdin.on('error', () => {});
    let spawned = false;
    child.once('error', (error) => {
      if (!spawned) reject(new Error(`cannot run ${ssh}: ${error.message}`));
    });
    child.once('close', (code) => {
      if (!spawned) return;
      if (code !== 255 || !master.up) {
        wiring.closed();
        return;
      }
      const timer = setTimeout(() => {
        off();
        wiring.closed();
      }, 300);
      const off = master.onClose(() => {
        clearTimeout(timer);
        wiring.closed();
      });
    });
    child.once('spawn', () => {
      spawned = true;
      resolve({
        write: (text) => void child.stdin.write(text),
        close: () => void child.kill('SIGTERM'),
      });
    });
  });
}

/** ssh's words for a refusal that retrying will not fix. */
const PERMANENT =
  /host key verification failed|permission denied|no matching|certificate.*(invalid|expired)|REMOTE HOST IDENTIFICATION HAS CHANGED|Too many authentication failures|Bad configuration option|Could not resolve hostname/i;

export function createOpenSshTransport(options: OpenSshTransportOptions = {}): OpenSshTransport {
  const ssh = options.sshPath ?? 'ssh';
  const home = options.home ?? homedir();
  const killGraceMs = options.killGraceMs ?? 2000;
  const maxChannels = options.maxChannelsPerConnection ?? 8;
  let ownDir: string | undefined;
  let socketDir: string | undefined;
  const controlDir = (): string => {
    if (socketDir) return socketDir;
    const wanted = options.controlDir;
    if (wanted && join(wanted, 'cm-0123456789ab').length <= SOCKET_MAX) {
      mkdirSync(wanted, {recursive: true, mode: 0o700});
      socketDir = wanted;
    } else {
      socketDir = ownDir = mkdtempSync(join(tmpdir(), 'cc-ssh-'));
    }
    return socketDir;
  };
  // Before the first master: masters a killed crewchief left in this directory (a resumed
  // session) are ended, the directory is claimed, and dead sessions' directories beside it
  // are reaped in the background (./masters.ts).
  let prepared: Promise<void> | undefined;
  let reaping: Promise<void> = Promise.resolve();
  const prepare = (): Promise<void> =>
    (prepared ??= (async () => {
      const dir = controlDir();
      const tell = (reaped: Reaped | undefined): void => {
        if (reaped?.masters) {
          options.onNotice?.(
            `ended ${reaped.masters} ssh master${reaped.masters > 1 ? 's' : ''} left by crewchief (pid ${reaped.pid}), which is gone`,
          );
        }
      };
      tell(await endOrphanedMasters(dir, ssh));
      claimSocketDir(dir);
      reaping = reapStaleMasters(dirname(dir), {ssh, keep: dir}).then((all) => all.forEach(tell));
    })());

  // The config ssh reads: the profile's first, then the user's (first value wins).
  const configPaths = [
    ...(options.configFile ? [options.configFile] : []),
    ...(options.userConfig === false ? [] : [join(home, '.ssh', 'config')]),
  ];
  let generatedConfig: string | undefined;
  const configArgs = (): string[] => {
    if (!options.configFile) return options.userConfig === false ? ['-F', '/dev/null'] : [];
    if (options.userConfig === false) return ['-F', options.configFile];
    if (!generatedConfig) {
      generatedConfig = join(controlDir(), 'ssh_config');
      writeFileSync(
        generatedConfig,
        configPaths
          .filter((p) => existsSync(p))
          .map((p) => `Include "${p}"\n`)
          .join(''),
      );
    }
    return ['-F', generatedConfig];
  };
  let config: SshConfigLookup | undefined;
  const sshConfig = (): SshConfigLookup => {
    config ??= configPaths.length ? loadSshConfig(configPaths, home) : emptySshConfig;
    return config;
  };

  const commonArgs = (host: HostSpec): string[] => {
    const args = [...configArgs()];
    const opt = (o: string): void => {
      args.push('-o', o);
    };
    opt('BatchMode=yes');
    opt(`StrictHostKeyChecking=${options.strictHostKeys === 'accept-new' ? 'accept-new' : 'yes'}`);
    const known = asList(options.knownHostsFiles);
    if (known.length) opt(`UserKnownHostsFile=${known.map((f) => `"${f}"`).join(' ')}`);
    for (const file of asList(options.identityFile)) args.push('-i', file);
    if (options.keepaliveIntervalMs) {
      opt(`ServerAliveInterval=${Math.max(1, Math.round(options.keepaliveIntervalMs / 1000))}`);
    }
    if (options.keepaliveCountMax) opt(`ServerAliveCountMax=${options.keepaliveCountMax}`);
    if (options.connectTimeoutMs) {
      opt(`ConnectTimeout=${Math.max(1, Math.round(options.connectTimeoutMs / 1000))}`);
    }
    opt('ClearAllForwardings=yes');
    opt('RemoteCommand=none');
    opt('ForwardX11=no');
    opt('PermitLocalCommand=no');
    opt('EscapeChar=none');
    if (host.user) args.push('-l', host.user);
    if (host.port) args.push('-p', String(host.port));
    if (host.jump?.length) args.push('-J', host.jump.join(','));
    return args;
  };

  const target = (host: HostSpec): string => host.address ?? host.name;
  const states = new Map<string, string>();
  const links = createLinkReporter();
  const pools = new Map<string, {pool: HostPool<Master>; socket: string}>();
  const running = new Set<OpenSshCommand>();
  const probeShells = new Map<HostPool<Master>, ProbeShell<Master>>();
  /** A second shell per host for commands (`noInput`), so they never wait behind probes. */
  const commandShells = new Map<HostPool<Master>, ProbeShell<Master>>();
  const masters = new Set<Master>();
  const noticed = new Set<string>();
  let closed = false;

  const report = (event: {
    host: string;
    state: ConnectionState;
    error?: string;
    attempt?: number;
  }) => {
    states.set(event.host, event.state);
    options.onConnectionState?.(event);
    if (!closed) links.report(event);
  };

  const openMaster = (host: HostSpec, socket: string): Promise<Master> =>
    new Promise((resolve, reject) => {
      rmSync(socket, {force: true});
      const args = [
        ...commonArgs(host),
        '-M',
        '-N',
        '-S',
        socket,
        '-o',
        'ControlPersist=no',
        target(host),
      ];
      // It dies with crewchief, even killed -9 (./masters.ts).
      const [tie, ...tieArgs] = tiedToParent();
      const child = tie
        ? spawn(tie, [...tieArgs, ssh, ...args], {stdio: ['ignore', 'ignore', 'pipe']})
        : spawn(ssh, args, {stdio: ['ignore', 'ignore', 'pipe']});
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => {
        stderr = (stderr + c.toString()).slice(-4000);
      });
      const label = `${host.name} (${target(host)})`;
      let settled = false;
      const timeoutMs = options.connectTimeoutMs ?? 15_000;
      const started = Date.now();
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        if (child.exitCode === null) child.kill('SIGKILL');
        const last = why.trim().split('\n').filter(Boolean).at(-1) ?? why;
        reject(new SshConnectError(`cannot connect to ${label}: ${last}`, PERMANENT.test(why)));
      };
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code, signal) =>
        fail(stderr || `ssh exited (${signal ?? code}) before the connection was up`),
      );
      // The master listens on its socket once it is authenticated.
      const poll = setInterval(() => {
        if (settled) return;
        if (existsSync(socket)) {
          settled = true;
          clearInterval(poll);
          const master = new Master(child, socket, label, maxChannels, () => stderr);
          masters.add(master);
          child.once('exit', () => masters.delete(master));
          resolve(master);
        } else if (Date.now() - started > timeoutMs + 1000) {
          fail(`timed out connecting after ${timeoutMs} ms`);
        }
      }, 10);
    });

  const poolFor = (host: HostSpec): {pool: HostPool<Master>; socket: string} => {
    const key = JSON.stringify([host.name, target(host), host.user, host.port, host.jump]);
    const existing = pools.get(key);
    if (existing) return existing;
    if (options.onNotice && !noticed.has(host.name)) {
      noticed.add(host.name);
      try {
        const forced = {
          BatchMode: 'yes',
          StrictHostKeyChecking: options.strictHostKeys === 'accept-new' ? 'accept-new' : 'yes',
          ControlMaster: 'no',
          PermitLocalCommand: 'no',
          ForwardX11: 'no',
        };
        const gaps = openSshGaps(sshConfig(), target(host), forced);
        for (const text of gapNotices(host.name, gaps, 'openssh')) options.onNotice(text);
      } catch {
        // ssh reports a broken config itself
      }
    }
    const socket = join(
      controlDir(),
      `cm-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`,
    );
    const pool: HostPool<Master> = new HostPool<Master>({
      name: host.name,
      maxChannels,
      // one master per host: more sessions wait for a slot
      maxConnections: 1,
      connectAttempts: options.reconnect?.attempts ?? 3,
      backoffBaseMs: options.reconnect?.baseDelayMs ?? 250,
      backoffMaxMs: options.reconnect?.maxDelayMs ?? 5000,
      reconnectWaitMs: options.reconnectWaitMs ?? 30_000,
      open: () => prepare().then(() => openMaster(host, socket)),
      onState: (state, {error, attempt}) =>
        report({
          host: host.name,
          state,
          ...(error !== undefined ? {error} : {}),
          ...(attempt !== undefined ? {attempt} : {}),
        }),
    });
    const entry = {pool, socket};
    pools.set(key, entry);
    return entry;
  };

  const clientArgs = (host: HostSpec, socket: string, pty: boolean): string[] => [
    ...commonArgs(host),
    '-S',
    socket,
    '-o',
    'ControlMaster=no',
    pty ? '-tt' : '-T',
    target(host),
    '--',
  ];

  return {
    kind: 'openssh',
    argsFor: (host) => clientArgs(host, '<socket>', false),
    start(request: RunRequest, sink: OutputSink): RunningCommand {
      const started = performance.now();
      const failed = (error: string): RunningCommand => notStarted(error, started);
      if (request.host === 'local') {
        return failed('the openssh transport does not run local commands');
      }
      if (closed) return failed('the openssh transport is closed');
      const host = request.host;
      let script: string;
      let entry: {pool: HostPool<Master>; socket: string};
      try {
        script = remoteScript(request, host);
        entry = poolFor(host);
      } catch (error) {
        return failed(error instanceof Error ? error.message : String(error));
      }
      const args = clientArgs(host, entry.socket, request.pty ?? false);
      const throughMaster = (
        text: string,
        extra: {timeoutMs?: number; signal?: AbortSignal},
        to: OutputSink,
      ): RunningCommand => {
        const command: OpenSshCommand = new OpenSshCommand({
          ssh,
          pool: entry.pool,
          args,
          execText: text,
          ...(extra.timeoutMs !== undefined ? {timeoutMs: extra.timeoutMs} : {}),
          ...(extra.signal ? {signal: extra.signal} : {}),
          killGraceMs,
          sink: to,
          onSettled: () => running.delete(command),
        });
        running.add(command);
        return command;
      };
      const shellFor = (
        shells: Map<HostPool<Master>, ProbeShell<Master>>,
        probes: boolean,
      ): ProbeShell<Master> => {
        let shell = shells.get(entry.pool);
        if (!shell) {
          shell = new ProbeShell<Master>({
            pool: entry.pool,
            name: host.name,
            killGraceMs,
            openShell: (master, execText, wiring) =>
              openShellThrough(ssh, args, master, execText, wiring),
            control: (_master, text) => runBeside(ssh, args, text),
            fallback: (probe, to) => throughMaster(wrapForGroupKill(probe.script), probe, to),
            // Commands through the master each is how they always ran: nothing to say.
            ...(probes ? {onFallback: (text: string) => options.onNotice?.(text)} : {}),
          });
          shells.set(entry.pool, shell);
        }
        return shell;
      };
      const inShell =
        options.probeShell === false
          ? undefined
          : runInShell(request, script, sink, (kind) =>
              kind === 'probe' ? shellFor(probeShells, true) : shellFor(commandShells, false),
            );
      if (inShell) return inShell;
      return throughMaster(wrapForGroupKill(script), request, sink);
    },
    connections: () => Object.fromEntries(states),
    onLink: (listener) => links.onLink(listener),
    async close() {
      if (closed) return;
      closed = true;
      const stopping = [...running];
      for (const command of stopping) command.stop('canceled');
      const bound = new Promise((resolve) => setTimeout(resolve, killGraceMs * 2 + 1000).unref());
      const shells = [...probeShells.values(), ...commandShells.values()].map((shell) =>
        shell.close(),
      );
      probeShells.clear();
      commandShells.clear();
      await Promise.race([Promise.all([...stopping.map((c) => c.done), ...shells]), bound]);
      const ending = [...masters].map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.process.exitCode !== null || m.process.signalCode !== null) resolve();
            else m.process.once('exit', () => resolve());
          }),
      );
      for (const {pool} of pools.values()) pool.close();
      await Promise.race([
        Promise.all(ending),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
      for (const {socket} of pools.values()) rmSync(socket, {force: true});
      pools.clear();
      await reaping;
      if (ownDir) rmSync(ownDir, {recursive: true, force: true});
    },
  };
}

interface OpenSshCommandOptions {
  ssh: string;
  pool: HostPool<Master>;
  /** ssh's arguments up to and including `--`. */
  args: string[];
  execText: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  killGraceMs: number;
  sink: OutputSink;
  onSettled(): void;
}

/** One command through the host's master: a multiplexed `ssh` client process. */
class OpenSshCommand implements RunningCommand {
  readonly done: Promise<RunResult>;
  private resolveDone!: (result: RunResult) => void;
  private readonly started = performance.now();
  private stopReason: 'timedOut' | 'canceled' | undefined;
  private readonly acquiring = new AbortController();
  private master: Master | undefined;
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private settled = false;
  private killSent = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stdin: string[] = [];

  constructor(private readonly o: OpenSshCommandOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (o.timeoutMs !== undefined) {
      this.timers.push(setTimeout(() => this.stop('timedOut'), o.timeoutMs));
    }
    if (o.signal?.aborted) queueMicrotask(() => this.stop('canceled'));
    else o.signal?.addEventListener('abort', this.onAbort, {once: true});
    void this.run();
  }

  private readonly onAbort = (): void => this.stop('canceled');

  write(text: string): void {
    if (this.child?.stdin?.writable) this.child.stdin.write(text);
    else if (!this.settled) this.stdin.push(text);
  }

  stop(reason: 'timedOut' | 'canceled'): void {
    if (this.settled || this.stopReason) return;
    this.stopReason = reason;
    if (!this.child) {
      this.acquiring.abort();
      return;
    }
    if (this.pid !== undefined) this.kill();
    else {
      // no pid yet: the marker will come, or the client is stopped after the grace
      this.timers.push(
        setTimeout(() => {
          if (this.pid === undefined) this.killLocal('SIGKILL');
        }, this.o.killGraceMs),
      );
    }
  }

  /** The remote group, from a second session through the same master; then the client. */
  private kill(): void {
    const pid = this.pid;
    if (pid === undefined || this.killSent) return;
    this.killSent = true;
    const control = (signal: 'TERM' | 'KILL'): void =>
      runBeside(this.o.ssh, this.o.args, killCommand([pid], signal));
    control('TERM');
    this.timers.push(
      setTimeout(() => {
        if (this.settled) return;
        control('KILL');
        this.timers.push(
          setTimeout(() => {
            if (!this.settled) this.killLocal('SIGKILL');
          }, this.o.killGraceMs),
        );
      }, this.o.killGraceMs),
    );
  }

  /** The local ssh client's process group. */
  private killLocal(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // gone already
    }
  }

  private async run(): Promise<void> {
    let lease;
    try {
      lease = await this.o.pool.acquire(this.acquiring.signal);
    } catch (error) {
      this.finish({
        exitCode: null,
        ...(error instanceof AbortedError
          ? this.stopReason === 'timedOut'
            ? {error: 'timed out before the command could start'}
            : {}
          : {error: error instanceof Error ? error.message : String(error)}),
      });
      return;
    }
    if (this.settled || this.stopReason) {
      lease.release();
      this.finish({exitCode: null});
      return;
    }
    const master = lease.link;
    this.master = master;
    const child = spawn(this.o.ssh, [...this.o.args, this.o.execText], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // its own group: cancel stops the client and anything it started here
      detached: true,
    });
    this.child = child;
    const reader = new PidLineReader(
      (chunk) => this.o.sink.stdout(chunk),
      (pid) => {
        this.pid = pid;
        if (this.stopReason) this.kill();
      },
    );
    let stderrTail = '';
    child.stdout?.on('data', (chunk: Buffer) => reader.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('latin1')).slice(-2000);
      this.o.sink.stderr(chunk);
    });
    child.stdin?.on('error', () => {});
    for (const text of this.stdin.splice(0)) child.stdin?.write(text);
    child.once('error', (error) => {
      lease.release();
      this.finish({exitCode: null, error: `cannot run ${this.o.ssh}: ${error.message}`});
    });
    child.once(
      'close',
      (code, signal) => void this.closed(code, signal, master, lease, reader, () => stderrTail),
    );
  }

  private async closed(
    code: number | null,
    signal: NodeJS.Signals | null,
    master: Master,
    lease: {release(): void},
    reader: PidLineReader,
    stderr: () => string,
  ): Promise<void> {
    {
      reader.end();
      lease.release();
      // 255 is ssh's own failure; if the master is gone with it, the command's fate is
      // unknown (it may have finished, or still run on the host). The master's own exit
      // may be noticed a moment after its client's.
      if (code === 255 && master.up) await new Promise((resolve) => setTimeout(resolve, 150));
      const stderrTail = stderr();
      const masterGone = !master.up || !existsSync(master.socket);
      if (code === 255 && masterGone) {
        if (this.pid !== undefined) {
          this.finish({
            exitCode: null,
            unknown: true,
            error: `the link dropped while the command ran (${master.closeReason ?? 'the ssh master is gone'}): outcome unknown`,
          });
        } else {
          this.finish({
            exitCode: null,
            error: `could not start the command: ${stderrTail.trim().split('\n').at(-1) ?? 'the ssh master is gone'}`,
          });
        }
        return;
      }
      if (this.stopReason) {
        this.finish({exitCode: null, ...(signal ? {signal} : {})});
        return;
      }
      this.finish({exitCode: code, ...(signal ? {signal} : {})});
    }
  }

  private finish(partial: Omit<RunResult, 'timedOut' | 'canceled' | 'durationMs'>): void {
    if (this.settled) return;
    this.settled = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.o.signal?.removeEventListener('abort', this.onAbort);
    this.o.onSettled();
    this.resolveDone({
      ...partial,
      timedOut: this.stopReason === 'timedOut',
      canceled: this.stopReason === 'canceled',
      durationMs: performance.now() - this.started,
    });
  }
}
