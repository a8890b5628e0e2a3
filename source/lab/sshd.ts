/**
 * A real OpenSSH sshd, unprivileged, on a loopback port: its own host key, its own
 * config and log in a directory of ours. Used by `crewchief lab` and by the tests'
 * sshd harness. Nothing is installed: /usr/sbin/sshd and ssh-keygen must be there
 * (`apt-get install -y openssh-server`).
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {join} from 'node:path';
import {tiedToParent} from '../transport/openssh/masters.js';

/** The sshd binary (`CREWCHIEF_SSHD` overrides). */
export const SSHD_PATH = process.env['CREWCHIEF_SSHD'] ?? '/usr/sbin/sshd';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Makes an ed25519 key pair at `path`; returns `ssh-ed25519 AAAA…` of its public half. */
export function keygen(path: string, passphrase = '', comment = 'crewchief'): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

/** The OpenSSH version as major×100+minor (9.8 → 908), 0 when unknown. */
export function openSshVersion(): number {
  let text: string;
  try {
    text = execFileSync('ssh', ['-V'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  } catch (error) {
    text = String((error as {stderr?: unknown}).stderr ?? '');
  }
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(text);
  return m ? Number(m[1]) * 100 + Number(m[2]) : 0;
}

/** An sshd's files in its directory, written but not started. */
export interface SshdFiles {
  name: string;
  port: number;
  configPath: string;
  logFile: string;
  pidFile: string;
  /** `ssh-ed25519 AAAA…` of its host key. */
  hostPublicKey: string;
}

export interface SshdConfigOptions {
  /** Names its files in `dir`: NAME_host_ed25519, NAME_sshd_config, NAME.log, NAME.pid. */
  name: string;
  dir: string;
  port: number;
  authorizedKeys: string;
  /** Variables every session gets (sshd SetEnv), besides SHLVL=1. */
  env?: Record<string, string>;
  /** More sshd_config lines. */
  extra?: readonly string[];
}

/** Makes the host key and writes the sshd_config for one unprivileged sshd on 127.0.0.1. */
export function writeSshd(options: SshdConfigOptions): SshdFiles {
  const {name, dir, port} = options;
  const hostKey = join(dir, `${name}_host_ed25519`);
  const hostPublicKey = keygen(hostKey, '', `crewchief-${name}`);
  const configPath = join(dir, `${name}_sshd_config`);
  const pidFile = join(dir, `${name}.pid`);
  const env = Object.entries(options.env ?? {}).map(([k, v]) => ` ${k}=${v}`);
  writeFileSync(
    configPath,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${options.authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'MaxSessions 10',
      // the bench fans out to 200 hosts at once
      'MaxStartups 1000',
      'MaxAuthTries 6',
      'LoginGraceTime 30',
      // bash sources ~/.bashrc for commands run by sshd when it thinks it is the top-level
      // shell; a developer's rc (pyenv init …) then costs ~35 ms per command and hides
      // what the transport itself costs. SHLVL=1 makes bash skip it, for every client alike.
      `SetEnv SHLVL=1${env.join('')}`,
      // OpenSSH >= 9.8 penalises addresses with failed logins: one wrong key would lock
      // every other client out of 127.0.0.1.
      ...(openSshVersion() >= 908 ? ['PerSourcePenalties no'] : []),
      ...(options.extra ?? []),
      '',
    ].join('\n'),
  );
  return {name, port, configPath, logFile: join(dir, `${name}.log`), pidFile, hostPublicKey};
}

/** Sends a signal to a process that may be gone already. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Starts `sshd -D` on written files and resolves once it listens (its log says so). */
export async function spawnSshd(files: SshdFiles, timeoutMs = 10_000): Promise<ChildProcess> {
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) {
    // privilege separation directory; systemd makes it when the service runs
    mkdirSync('/run/sshd', {recursive: true, mode: 0o755});
  }
  const {logFile} = files;
  const before = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
  // Tied to this process where setpriv can: a lab (or a test) killed -9 leaves no sshd.
  const [command = SSHD_PATH, ...args] = [
    ...tiedToParent(),
    SSHD_PATH,
    ...['-D', '-f', files.configPath, '-E', logFile],
  ];
  const proc = spawn(command, args, {stdio: ['ignore', 'ignore', 'pipe']});
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  proc.once('error', (error) => (stderr += String(error)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(before) : '';
    if (text.includes('Server listening on')) return proc;
    if (proc.exitCode !== null || text.includes('fatal') || Date.now() > deadline) {
      signal(proc.pid ?? -1, 'SIGKILL');
      throw new Error(`${files.name} sshd did not start on port ${files.port}: ${stderr}${text}`);
    }
    await sleep(20);
  }
}

/** Parent → children map from /proc (Linux). */
function processTree(): Map<number, {ppid: number; comm: string}> {
  const tree = new Map<number, {ppid: number; comm: string}>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      tree.set(Number(entry), {ppid, comm});
    } catch {
      // gone meanwhile
    }
  }
  return tree;
}

/** Every process below `root`, with its command name. */
export function descendants(root: number): {pid: number; comm: string}[] {
  const tree = processTree();
  const out: {pid: number; comm: string}[] = [];
  const walk = (parent: number): void => {
    for (const [pid, info] of tree) {
      if (info.ppid === parent) {
        out.push({pid, comm: info.comm});
        walk(pid);
      }
    }
  };
  walk(root);
  return out;
}

/**
 * Stops an sshd: the listener and every sshd process serving a connection (links drop),
 * and resolves once the listener has exited.
 */
export async function stopSshd(proc: ChildProcess, sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const pid = proc.pid;
  if (pid === undefined) return;
  const sessions = descendants(pid).filter((p) => p.comm.startsWith('sshd'));
  signal(pid, sig);
  for (const p of sessions) signal(p.pid, sig);
  if (proc.exitCode === null && proc.signalCode === null) {
    await new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  }
}
