/**
 * A probe shell per host: one long-lived shell on one channel, fed probes (a watch's polls,
 * checks) on its stdin, so a poll costs a fork on the server and no session start.
 *
 * The shell is bash where the host has it, else sh. Each probe is sent as one record with a
 * random token per probe. bash: `TOKEN CODE`, the frame below with the script written into
 * it as a subshell `( SCRIPT )`, a job of the loop under `set -m` (a process group of its
 * own, stdin /dev/null; bash execs its last command where it can: one fork a poll).
 * sh: the session's greeting defines a function and each record is `__cc TOKEN 'SCRIPT'`,
 * the script run by `setsid sh -c`. Then
 *
 *   printf 'RS TOKEN:pid:%s RS\n' "$p"; wait "$p"; s=$?; kill -KILL -"$p";
 *   printf 'RS TOKEN:end:%s RS\n' "$s"; (and an end marker on stderr)
 *
 * so a probe that times out is killed alone, from a control channel, and whatever it left
 * behind in its group is killed before its end marker is written: a later probe never sees
 * its output. Probes run one at a time; the stdout and stderr between a probe's markers
 * are its own. Output is scanned for the token, never for fixed text, so no probe can
 * forge an end. Under bash a probe runs in a subshell of the probe shell with nothing of
 * it left (no positional parameters, no token, none of the frame's variables), but as in
 * any subshell `$$` is the probe shell's pid. A bash record whose script does not parse
 * runs nothing and ends with status 2 (bash's message on its stderr).
 *
 * A shell that dies is started again for the next probe (a probe it was running ends
 * `unknown`). Where the shell cannot be started (a forced command, a login shell that does
 * not run PROBE_SHELL_EXEC, sh without `setsid`), the host falls back to a channel per probe.
 *
 * Both SSH clients use it: the client only says how to open a shell session on a link
 * (an ssh2 channel, a multiplexed `ssh` through an OpenSSH master) and how to run a
 * control command beside it (`openShell`, `control`).
 */
import {randomBytes} from 'node:crypto';
import {shellQuote} from '../shell.js';
import type {OutputSink, RunRequest, RunResult, RunningCommand} from '../types.js';
import {killCommand} from './command-line.js';
import {AbortedError, type HostPool, type Lease, type PoolLink} from './pool.js';

const RS = '\x1e';
/** How much of a stream's tail is held back because it may be the start of a marker. */
const HOLD = 96;

export interface ProbeRequest {
  /** The script (env, prelude, cd, command), run by `sh -c`. */
  script: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A shell session started on a link: its stdin, and how to end it. */
export interface ShellChannel {
  write(text: string): void;
  close(): void;
}

/** Where a shell session's output and end go; wired before any output can arrive. */
export interface ShellWiring {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** The session ended: the shell exited, or its link dropped. */
  closed(): void;
}

/** What the probe shell needs of a link besides what the pool needs. */
export interface ProbeLink extends PoolLink {
  /** The host and address, for messages. */
  readonly label: string;
  /** Why the link went down, once it has. */
  readonly closeReason: string | undefined;
}

export interface ProbeShellOptions<L extends ProbeLink> {
  pool: HostPool<L>;
  /**
   * Starts a session running `execText` (probeShellExec) on the link, no pty; rejects when
   * the link drops on the way.
   */
  openShell(link: L, execText: string, wiring: ShellWiring): Promise<ShellChannel>;
  /** Runs a short command on the host beside the shell (a kill); its outcome is not needed. */
  control(link: L, command: string): void;
  /** The host, for messages. */
  name: string;
  /** Between TERM and KILL, and between KILL and giving up on the shell. */
  killGraceMs: number;
  /** How long a new shell has to say it is ready before the host falls back (default 10 s). */
  readyTimeoutMs?: number;
  /** Runs a probe on a channel of its own (the fallback). */
  fallback(request: ProbeRequest, sink: OutputSink): RunningCommand;
  /** Told once when the host falls back to a channel per probe, and why. */
  onFallback?(reason: string): void;
}

/** The shell function each probe is sent to: `__cc TOKEN SCRIPT`. */
const PROBE_FUNCTION = '__cc';

/** A marker printf; the token is the function's $1. */
const mark = (kind: string, value?: string): string =>
  value === undefined
    ? `printf '\\036%s:${kind}\\036\\n' "$1"`
    : `printf '\\036%s:${kind}:%s\\036\\n' "$1" "${value}"`;

/**
 * The probe function around a way to start the probe in a process group of its own: the
 * pid marker, wait, kill what is left in the group, the end markers. The shell's own
 * messages (a job killed by a signal) go to /dev/null; the probe's stderr is fd 3.
 */
const frame = (job: string): string =>
  `${PROBE_FUNCTION}() { { ${job} 2>&3 3>&- </dev/null & p=$!; ${mark('pid', '$p')}; ` +
  `wait "$p"; s=$?; kill -KILL -"$p"; ${mark('end', '$s')}; ${mark('end')} >&3; } 3>&2 2>/dev/null; }; `;

/**
 * bash: each probe is one record, `TOKEN CODE`, and CODE is the frame with the script
 * written into it: `( SCRIPT\n)` is a job of the loop's shell, under `set -m` a process
 * group of its own. The script is part of the subshell's own text, not eval'd in it, so
 * bash execs its last command where it can (`( cd D && grep … )`: one fork and grep's
 * exec per poll, where `( eval "$s" )` forked once more for grep; ~0.3 ms a poll here).
 * A script that does not parse fails the whole record before any of it runs (`unset l`
 * included): the loop then ends the probe itself, status 2, bash's message its stderr.
 * The subshell sees no trace of the shell: no positional parameters (`bash -c` has none),
 * no token (the record is unset before the job forks), no `p`, `s` (unset after each
 * probe). As in any subshell, `$$` is the probe shell's pid (`$BASHPID` the probe's); jobs
 * the script starts stay in its group (a subshell does no job control).
 */
export function bashRecord(token: string, script: string): string {
  const marker = (kind: string, value?: string): string =>
    value === undefined
      ? `printf '\\036%s:${kind}\\036\\n' ${token}`
      : `printf '\\036%s:${kind}:%s\\036\\n' ${token} "${value}"`;
  return (
    `${token} unset l; { ( ${script}\n) 2>&3 3>&- </dev/null & p=$!; ${marker('pid', '$p')}; ` +
    `wait "$p"; s=$?; kill -KILL -"$p"; ${marker('end', '$s')}; ${marker('end')} >&3; ` +
    `unset p s; } 3>&2 2>/dev/null\0`
  );
}

/** sh (no bash): `setsid sh -c`, an exec more. */
const SH_JOB = 'setsid sh -c "$2"';

const say = (hello: string, word: string): string => `printf '\\036${hello}:${word}\\036\\n'`;

/**
 * bash's probe loop, run by `bash -c`: no function is defined (bash reads a pipe a byte at
 * a time, so a greeting on stdin cost ~1 ms of a shell's start), each probe is one
 * NUL-terminated record ({@link bashRecord}), eval'd without its token; a record that does
 * not parse is ended here. It is ready once it has read a first, empty record: a session
 * whose stdin is closed (a forced command) never says ready.
 */
const bashLoop = (hello: string): string =>
  `set -m; IFS= read -r -d '' l && ${say(hello, 'ready')} && ` +
  `while IFS= read -r -d '' l; do eval "\${l#* }" || { ` +
  `printf '\\036%s:end:2\\036\\n' "\${l%% *}"; printf '\\036%s:end\\036\\n' "\${l%% *}" >&2; }; done`;

/**
 * What the probe shell's session runs (the exec request, read by the login shell): bash's
 * loop in the login shell itself when it is bash, else in an exec'd bash where the host has
 * it (the one shell commands run under, ../shell.ts); else it answers `sh` and execs sh,
 * which is sent {@link probeShellGreeting} on stdin; else `no-setsid`.
 */
export function probeShellExec(hello: string): string {
  const loop = bashLoop(hello);
  return (
    `if [ -n "\${BASH_VERSION-}" ]; then ${loop}; ` +
    `elif command -v bash >/dev/null 2>&1; then exec bash -c ${shellQuote(loop)}; ` +
    `elif command -v setsid >/dev/null 2>&1; then ${say(hello, 'sh')}; exec sh; ` +
    `else ${say(hello, 'no-setsid')}; fi`
  );
}

/** For sh (no bash): defines the probe function on its stdin; each probe is then a line. */
export function probeShellGreeting(hello: string): string {
  return `${frame(SH_JOB)}${say(hello, 'ready')}\n`;
}

type Marker = {kind: string; value?: string};

/** The link dropped while a shell was being started: nothing of a probe ran. */
class ShellLostError extends Error {}

/**
 * Splits a stream into data and `RS TOKEN:kind[:value] RS` markers (an optional newline
 * after a marker is part of it). Bytes pass through untouched (latin1 round trip).
 */
export class MarkerScanner {
  private pending = '';
  token: string | undefined;

  constructor(
    private readonly onData: (chunk: Buffer) => void,
    private readonly onMarker: (marker: Marker) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.pending && this.token !== undefined && chunk.indexOf(0x1e) < 0) {
      // no marker can start here: pass it on as it is (a command's flood of output)
      this.onData(chunk);
      return;
    }
    let text = this.pending + chunk.toString('latin1');
    this.pending = '';
    for (;;) {
      const token = this.token;
      if (token === undefined) {
        // between probes: nothing belongs to anyone
        return;
      }
      const prefix = `${RS}${token}:`;
      const start = text.indexOf(prefix);
      if (start < 0) {
        const lastRs = text.lastIndexOf(RS);
        const keep = lastRs >= 0 && text.length - lastRs < HOLD ? lastRs : text.length;
        this.emit(text.slice(0, keep));
        this.pending = text.slice(keep);
        return;
      }
      const close = text.indexOf(RS, start + prefix.length);
      if (close < 0) {
        if (text.length - start > HOLD) {
          // not one of ours after all (too long): pass it on
          this.emit(text.slice(0, start + 1));
          text = text.slice(start + 1);
          continue;
        }
        this.emit(text.slice(0, start));
        this.pending = text.slice(start);
        return;
      }
      this.emit(text.slice(0, start));
      const body = text.slice(start + prefix.length, close);
      let next = close + 1;
      if (text[next] === '\n') next++;
      else if (text[next] === '\r' && text[next + 1] === '\n') next += 2;
      else if (next >= text.length) {
        // the newline may be in the next chunk: wait for it
        this.pending = text.slice(start);
        return;
      }
      text = text.slice(next);
      const colon = body.indexOf(':');
      this.onMarker(
        colon < 0 ? {kind: body} : {kind: body.slice(0, colon), value: body.slice(colon + 1)},
      );
    }
  }

  private emit(text: string): void {
    if (text.length) this.onData(Buffer.from(text, 'latin1'));
  }
}

/** One shell on one channel. */
interface Shell<L extends ProbeLink> {
  channel: ShellChannel | undefined;
  lease: Lease<L>;
  out: MarkerScanner;
  err: MarkerScanner;
  alive: boolean;
  /** Why it ended. */
  reason?: string;
  /** The probe it is running. */
  current?: Probe;
  /** What ends a probe's record: NUL for bash's read loop, a newline for sh. */
  end: '\0' | '\n';
  onClose: Set<() => void>;
}

type StopReason = 'timedOut' | 'canceled';

class Probe implements RunningCommand {
  readonly done: Promise<RunResult>;
  resolve!: (result: RunResult) => void;
  readonly started = performance.now();
  readonly token = randomBytes(9).toString('hex');
  stopReason: StopReason | undefined;
  pid: number | undefined;
  status: number | undefined;
  sawOutEnd = false;
  sawErrEnd = false;
  settled = false;
  readonly timers: NodeJS.Timeout[] = [];
  onStop: ((reason: StopReason) => void) | undefined;
  /** Set when the probe went to the fallback channel. */
  delegate: RunningCommand | undefined;
  /** Called after each of its end markers. */
  onEndMarker: (() => void) | undefined;

  constructor(
    readonly request: ProbeRequest,
    readonly sink: OutputSink,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  write(): void {
    // probes read nothing: stdin is /dev/null
  }
}

export class ProbeShell<L extends ProbeLink> {
  private shell: Shell<L> | undefined;
  private starting: Promise<Shell<L> | undefined> | undefined;
  private unsupported: string | undefined;
  private readonly queue: Probe[] = [];
  private busy = false;
  private closed = false;
  private readonly stopStarting = new AbortController();

  constructor(private readonly options: ProbeShellOptions<L>) {}

  /** False once the host has fallen back to a channel per probe. */
  get usable(): boolean {
    return this.unsupported === undefined;
  }

  /**
   * Nothing running or queued and not fallen back: a request now runs at once (after the
   * shell starts, if it is not up), never behind another.
   */
  get idle(): boolean {
    return this.unsupported === undefined && !this.closed && !this.busy && !this.queue.length;
  }

  /** Whether the shell is up (tests, diagnostics). */
  get alive(): boolean {
    return this.shell?.alive ?? false;
  }

  run(request: ProbeRequest, sink: OutputSink): RunningCommand {
    if (this.unsupported !== undefined || this.closed) return this.options.fallback(request, sink);
    const probe = new Probe(request, sink);
    if (request.timeoutMs !== undefined) {
      probe.timers.push(setTimeout(() => this.stop(probe, 'timedOut'), request.timeoutMs));
    }
    const onAbort = (): void => this.stop(probe, 'canceled');
    if (request.signal?.aborted) {
      queueMicrotask(onAbort);
    } else if (request.signal) {
      request.signal.addEventListener('abort', onAbort, {once: true});
      void probe.done.then(() => request.signal?.removeEventListener('abort', onAbort));
    }
    this.queue.push(probe);
    this.pump();
    return probe;
  }

  private stop(probe: Probe, reason: StopReason): void {
    if (probe.settled || probe.stopReason) return;
    probe.stopReason = reason;
    const queued = this.queue.indexOf(probe);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(probe, {
        error: reason === 'timedOut' ? 'timed out waiting for the probe shell' : undefined,
      });
      return;
    }
    probe.onStop?.(reason);
  }

  private finish(
    probe: Probe,
    outcome: {status?: number; unknown?: boolean; error?: string | undefined},
  ): void {
    if (probe.settled) return;
    probe.settled = true;
    for (const timer of probe.timers) clearTimeout(timer);
    const killed = probe.stopReason !== undefined;
    const result: RunResult = {
      exitCode: killed || outcome.status === undefined ? null : outcome.status,
      ...(killed && outcome.status !== undefined && outcome.status > 128
        ? {signal: outcome.status === 137 ? 'SIGKILL' : 'SIGTERM'}
        : {}),
      timedOut: probe.stopReason === 'timedOut',
      canceled: probe.stopReason === 'canceled',
      ...(outcome.unknown ? {unknown: true} : {}),
      ...(outcome.error !== undefined ? {error: outcome.error} : {}),
      durationMs: performance.now() - probe.started,
    };
    probe.resolve(result);
  }

  private pump(): void {
    if (this.busy || this.closed) return;
    const probe = this.queue.shift();
    if (!probe) return;
    this.busy = true;
    void this.runOne(probe).finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async runOne(probe: Probe): Promise<void> {
    let shell: Shell<L> | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        shell = await this.ready(probe);
        break;
      } catch (error) {
        if (error instanceof AbortedError || probe.settled) return;
        // The link dropped while the shell started: nothing of the probe ran, try again
        // (the pool waits for the link, bounded). A connect failure is final.
        if (attempt < 3 && error instanceof ShellLostError && !this.closed) continue;
        this.finish(probe, {error: error instanceof Error ? error.message : String(error)});
        return;
      }
    }
    if (probe.settled) return;
    if (!shell) {
      // fell back: run it on a channel of its own
      const delegate = this.options.fallback(probe.request, probe.sink);
      probe.delegate = delegate;
      const result = await delegate.done;
      for (const timer of probe.timers) clearTimeout(timer);
      probe.settled = true;
      probe.resolve(result);
      return;
    }
    await this.send(shell, probe);
  }

  /** The live shell, started if needed; undefined when the host falls back. */
  private async ready(probe: Probe): Promise<Shell<L> | undefined> {
    if (this.shell?.alive) return this.shell;
    if (this.unsupported !== undefined) return undefined;
    this.starting ??= this.startShell(probe).finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startShell(probe: Probe): Promise<Shell<L> | undefined> {
    // The probe's own stop leaves the wait for a link.
    const abort = new AbortController();
    const onStop = (): void => abort.abort();
    probe.onStop = onStop;
    const stopAll = (): void => abort.abort();
    this.stopStarting.signal.addEventListener('abort', stopAll, {once: true});
    let lease: Lease<L>;
    try {
      lease = await this.options.pool.acquire(abort.signal);
    } catch (error) {
      if (error instanceof AbortedError) {
        this.finish(probe, {
          error:
            probe.stopReason === 'timedOut' ? 'timed out before the probe could start' : undefined,
        });
      }
      throw error;
    } finally {
      probe.onStop = undefined;
      this.stopStarting.signal.removeEventListener('abort', stopAll);
    }
    const link = lease.link;
    const hello = randomBytes(9).toString('hex');
    let greeted: (ok: boolean | string) => void = () => {};
    const answer = (): Promise<boolean | string> =>
      new Promise<boolean | string>((resolve) => (greeted = resolve));
    let greeting = answer();
    const greet = (ok: boolean | string): void => greeted(ok);
    const shell: Shell<L> = {
      channel: undefined,
      lease,
      out: new MarkerScanner(
        (chunk) => shell.current?.sink.stdout(chunk),
        (marker) => this.onMarker(shell, 'out', marker, greet),
      ),
      err: new MarkerScanner(
        (chunk) => shell.current?.sink.stderr(chunk),
        (marker) => this.onMarker(shell, 'err', marker, greet),
      ),
      alive: true,
      onClose: new Set(),
      end: '\0',
    };
    shell.out.token = hello;
    let channel: ShellChannel;
    try {
      channel = await this.options.openShell(link, probeShellExec(hello), {
        stdout: (chunk) => shell.out.push(chunk),
        stderr: (chunk) => shell.err.push(chunk),
        closed: () => {
          if (!shell.alive) return;
          shell.alive = false;
          shell.reason ??= link.up
            ? 'the probe shell exited'
            : `the link dropped (${link.closeReason ?? 'connection lost'})`;
          lease.release();
          greet(false);
          for (const listener of [...shell.onClose]) listener();
          if (this.shell === shell) this.shell = undefined;
        },
      });
      shell.channel = channel;
    } catch (error) {
      lease.release();
      const message = error instanceof Error ? error.message : String(error);
      // the link dropped on the way: the next try waits for it again
      throw new ShellLostError(`could not start the probe shell on ${link.label}: ${message}`);
    }
    // bash's loop says ready once it reads this (sh, once it is told to exec sh)
    channel.write('\0');
    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    const timer = setTimeout(() => greet(`no answer within ${timeoutMs} ms`), timeoutMs);
    let said = await greeting;
    if (said === 'sh' && shell.alive) {
      // no bash there: sh is told the probe function on its stdin
      shell.end = '\n';
      greeting = answer();
      channel.write(probeShellGreeting(hello));
      said = await greeting;
    }
    clearTimeout(timer);
    shell.out.token = undefined;
    if (said === true && shell.alive) {
      this.shell = shell;
      return shell;
    }
    if (shell.alive) channel.close();
    if (said === false && !link.up) {
      throw new ShellLostError(
        `could not start the probe shell on ${link.label}: ${shell.reason ?? ''}`,
      );
    }
    const why =
      said === false
        ? 'the remote shell did not run it (a forced command or an unknown shell)'
        : said === 'no-setsid'
          ? 'setsid is missing there'
          : String(said);
    this.unsupported = why;
    this.options.onFallback?.(
      `${this.options.name}: probes run on a channel each (no probe shell: ${why})`,
    );
    return undefined;
  }

  private onMarker(
    shell: Shell<L>,
    stream: 'out' | 'err',
    marker: Marker,
    greeted: (ok: boolean | string) => void,
  ): void {
    if (marker.kind === 'ready') {
      greeted(true);
      return;
    }
    if (marker.kind === 'no-setsid' || marker.kind === 'sh') {
      greeted(marker.kind);
      return;
    }
    const probe = shell.current;
    if (!probe) return;
    if (marker.kind === 'pid' && marker.value && /^\d+$/.test(marker.value)) {
      probe.pid = Number(marker.value);
      if (probe.stopReason) probe.onStop?.(probe.stopReason);
      return;
    }
    if (marker.kind === 'end') {
      if (stream === 'out') {
        probe.sawOutEnd = true;
        if (marker.value && /^\d+$/.test(marker.value)) probe.status = Number(marker.value);
      } else {
        probe.sawErrEnd = true;
      }
      probe.onEndMarker?.();
    }
  }

  /** Sends one probe to the shell and waits for both its end markers (or the shell's end). */
  private send(shell: Shell<L>, probe: Probe): Promise<void> {
    return new Promise<void>((resolve) => {
      const {token} = probe;
      shell.current = probe;
      shell.out.token = token;
      shell.err.token = token;
      const cleanup = (): void => {
        shell.onClose.delete(onClose);
        shell.current = undefined;
        shell.out.token = undefined;
        shell.err.token = undefined;
        probe.onStop = undefined;
        probe.onEndMarker = undefined;
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        this.finish(probe, {
          unknown: !probe.stopReason,
          error: probe.stopReason
            ? undefined
            : `the probe shell on ${this.options.name} ended while the probe ran (${shell.reason ?? 'closed'}): outcome unknown`,
        });
      };
      shell.onClose.add(onClose);
      probe.onEndMarker = () => {
        if (probe.sawOutEnd && probe.sawErrEnd) {
          cleanup();
          this.finish(probe, {status: probe.status ?? 255});
        }
      };

      let killing = false;
      probe.onStop = () => {
        if (killing) return;
        if (probe.pid === undefined) return; // the pid marker calls again
        killing = true;
        const link = shell.lease.link;
        const pid = probe.pid;
        this.options.control(link, killCommand([pid], 'TERM'));
        probe.timers.push(
          setTimeout(() => {
            this.options.control(link, killCommand([pid], 'KILL'));
            probe.timers.push(
              setTimeout(() => {
                // the shell does not come back from its wait: start a new one
                if (!probe.settled) shell.channel?.close();
              }, this.options.killGraceMs),
            );
          }, this.options.killGraceMs),
        );
      };
      shell.channel?.write(
        shell.end === '\0'
          ? bashRecord(token, probe.request.script)
          : `${PROBE_FUNCTION} ${token} ${shellQuote(probe.request.script)}\n`,
      );
      if (probe.stopReason) probe.onStop(probe.stopReason);
    });
  }

  /**
   * Ends the shell; queued probes fail. One that is running is stopped (TERM, then KILL, as
   * at a timeout) before the shell's channel closes: settles once it has ended.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.stopStarting.abort();
    for (const probe of this.queue.splice(0)) {
      probe.stopReason = 'canceled';
      this.finish(probe, {error: 'the ssh transport is closed'});
    }
    const shell = this.shell;
    const current = shell?.current;
    if (!current) {
      shell?.channel?.close();
      return Promise.resolve();
    }
    this.stop(current, 'canceled');
    return current.done.then(() => shell.channel?.close());
  }
}

/**
 * Where a request runs, the same for both SSH clients: a probe in the host's probe shell;
 * a foreground command without a pty in the host's command shell when that one is idle (a
 * command never waits behind another); anything else, undefined: a session of its own.
 */
export function runInShell<L extends ProbeLink>(
  request: RunRequest,
  script: string,
  sink: OutputSink,
  shell: (kind: 'probe' | 'command') => ProbeShell<L>,
): RunningCommand | undefined {
  if (request.pty) return undefined;
  if (request.probe) return shell('probe').run({...request, script}, sink);
  if (!request.noInput) return undefined;
  const commands = shell('command');
  return commands.idle ? commands.run({...request, script}, sink) : undefined;
}
