/**
 * A real OpenSSH sshd on loopback for the SSH transport tests and the poll benchmark.
 *
 * `startSshLab()` makes a temp dir with its own host keys, a user key in
 * authorized_keys, known_hosts (plain and hashed by ssh-keygen), an ssh config with
 * aliases, and starts two sshd: the target and a bastion (AllowTcpForwarding yes) to jump
 * through. Both run as the current user (root in CI) on free loopback ports. Nothing is
 * installed: /usr/sbin/sshd and ssh-keygen must be there (`.ci/run` installs
 * openssh-server; locally `apt-get install -y openssh-server`).
 */
import {spawn, execFileSync, type ChildProcess} from 'node:child_process';
import {
  mkdtempSync,
  mkdirSync,
  writeFileSync,
  readFileSync,
  readdirSync,
  existsSync,
  rmSync,
  copyFileSync,
} from 'node:fs';
import {tmpdir, userInfo} from 'node:os';
import {join} from 'node:path';
import {
  descendants,
  freePort,
  keygen as makeKey,
  signal,
  spawnSshd,
  stopSshd,
  writeSshd,
} from '../../source/lab/sshd.js';

export {freePort, SSHD_PATH} from '../../source/lab/sshd.js';

const LAB_MARKER = 'CREWCHIEF_SSHD_LAB';

/** Kills every process whose environment says it was started through the lab in `dir`. */
function killLabProcesses(dir: string): void {
  const needle = `${LAB_MARKER}=${dir}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (`${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0`.includes(needle)) {
        signal(Number(entry), 'SIGKILL');
      }
    } catch {
      // gone, or not ours to read
    }
  }
}

/** One running sshd and the handles a test needs to break it. */
export interface Sshd {
  readonly name: string;
  readonly port: number;
  /** `ssh-ed25519 AAAA…` of its host key. */
  readonly hostPublicKey: string;
  readonly logFile: string;
  /** The listener's pid (changes on restart). */
  pid(): number | undefined;
  /** Starts it (again) on the same port. */
  start(): Promise<void>;
  /** Kills the listener and every sshd process serving a connection: links drop. */
  stop(): Promise<void>;
  /** sshd processes serving connections (not the listener, not user commands). */
  sessionPids(): number[];
  /** SIGSTOP every session process: the peer goes silent, the TCP link stays up. */
  freeze(): number[];
  /** SIGCONT what freeze() stopped. */
  thaw(): void;
  /** SIGSTOP the listener: the kernel still accepts connections, nothing answers them. */
  pauseListener(): void;
  resumeListener(): void;
  log(): string;
}

export interface SshLab {
  dir: string;
  user: string;
  /** Private key in authorized_keys of both sshd, without a passphrase. */
  keyPath: string;
  /** Same kind of key, authorized, encrypted with `passphrase`. */
  encryptedKeyPath: string;
  passphrase: string;
  /** A key no sshd accepts. */
  wrongKeyPath: string;
  /**
   * A key authorized only through a forced command that runs the requested command with
   * stdin closed (`command="… </dev/null"`), as restricted deploy keys often are.
   */
  restrictedKeyPath: string;
  /** Plain known_hosts with both host keys, `[127.0.0.1]:port` form. */
  knownHostsFile: string;
  /** The same entries hashed by `ssh-keygen -H`. */
  hashedKnownHostsFile: string;
  /** ssh config: `target`, `bastion`, `behind` (target through the bastion), h01…hNN. */
  configFile: string;
  /** Fleet aliases defined in an Included file. */
  aliases: string[];
  target: Sshd;
  bastion: Sshd;
  /** With `certificates`: a user key authorized only by its certificate, and CA trust. */
  certificates?: {
    /** Private key; `${certKeyPath}-cert.pub` is its certificate, signed by the user CA. */
    certKeyPath: string;
    certPath: string;
    /** known_hosts with only `@cert-authority [127.0.0.1]:PORT <host CA key>`. */
    caKnownHostsFile: string;
  };
  close(): Promise<void>;
}

const keygen = (path: string, passphrase = ''): string =>
  makeKey(path, passphrase, 'crewchief-test');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startSshd(
  name: string,
  dir: string,
  port: number,
  authorizedKeys: string,
  extra: string[],
): Sshd {
  // The marker lets close() find every process started through this lab, orphans too.
  const files = writeSshd({name, dir, port, authorizedKeys, env: {[LAB_MARKER]: dir}, extra});
  const {hostPublicKey, logFile} = files;
  let child: ChildProcess | undefined;
  let frozen: number[] = [];

  const sshd: Sshd = {
    name,
    port,
    hostPublicKey,
    logFile,
    pid: () => child?.pid,
    async start() {
      child = await spawnSshd(files);
    },
    async stop() {
      const proc = child;
      if (proc === undefined) return;
      this.thaw();
      this.resumeListener();
      child = undefined;
      await stopSshd(proc);
    },
    sessionPids() {
      const pid = child?.pid;
      if (pid === undefined) return [];
      return descendants(pid)
        .filter((p) => p.comm.startsWith('sshd'))
        .map((p) => p.pid);
    },
    freeze() {
      frozen = this.sessionPids();
      for (const pid of frozen) signal(pid, 'SIGSTOP');
      return frozen;
    },
    thaw() {
      for (const pid of frozen) signal(pid, 'SIGCONT');
      frozen = [];
    },
    pauseListener() {
      if (child?.pid) signal(child.pid, 'SIGSTOP');
    },
    resumeListener() {
      if (child?.pid) signal(child.pid, 'SIGCONT');
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  return sshd;
}

export interface SshLabOptions {
  /**
   * An SSH CA for users (sshd TrustedUserCAKeys) and one for hosts (the target's key
   * signed, HostCertificate): see SshLab.certificates.
   */
  certificates?: boolean;
  /** How many fleet aliases (h01…) to write into the included config (default 20). */
  aliases?: number;
  /** Keepalive for the `ssh` client in the written config (seconds, default none). */
  serverAliveInterval?: number;
}

/** Starts the target and bastion sshd with everything a test needs around them. */
export async function startSshLab(options: SshLabOptions = {}): Promise<SshLab> {
  const dir = mkdtempSync(join(tmpdir(), 'crewchief-sshd-'));
  const user = userInfo().username;
  const keyPath = join(dir, 'id_ed25519');
  const encryptedKeyPath = join(dir, 'id_encrypted');
  const wrongKeyPath = join(dir, 'id_wrong');
  const passphrase = 'correct horse battery staple';
  const authorizedKeys = join(dir, 'authorized_keys');
  const pub = keygen(keyPath);
  const encPub = keygen(encryptedKeyPath, passphrase);
  keygen(wrongKeyPath);
  const restrictedKeyPath = join(dir, 'id_restricted');
  const restrictedPub = keygen(restrictedKeyPath);
  writeFileSync(
    authorizedKeys,
    `${pub}\n${encPub}\n` +
      `command="exec sh -c \\"$SSH_ORIGINAL_COMMAND\\" </dev/null",no-pty ${restrictedPub}\n`,
    {mode: 0o600},
  );

  const [targetPort, bastionPort] = [await freePort(), await freePort()];
  let certificates: SshLab['certificates'];
  const caLines: string[] = [];
  if (options.certificates) {
    const userCa = join(dir, 'user_ca');
    const hostCa = join(dir, 'host_ca');
    keygen(userCa);
    const hostCaPub = keygen(hostCa);
    const certKeyPath = join(dir, 'id_cert');
    keygen(certKeyPath);
    execFileSync('ssh-keygen', [
      '-q',
      '-s',
      userCa,
      '-I',
      'crewchief-test-user',
      '-n',
      user,
      '-V',
      '-5m:+1d',
      `${certKeyPath}.pub`,
    ]);
    const caKnownHostsFile = join(dir, 'known_hosts.ca');
    writeFileSync(caKnownHostsFile, `@cert-authority [127.0.0.1]:${targetPort} ${hostCaPub}\n`);
    certificates = {certKeyPath, certPath: `${certKeyPath}-cert.pub`, caKnownHostsFile};
    caLines.push(
      `TrustedUserCAKeys ${userCa}.pub`,
      `HostCertificate ${join(dir, 'target_host_ed25519-cert.pub')}`,
    );
  }
  const target = startSshd('target', dir, targetPort, authorizedKeys, [
    'AllowTcpForwarding no',
    'LogLevel VERBOSE',
    ...caLines,
  ]);
  if (options.certificates) {
    // the target's host key, signed by the host CA for the name ssh checks
    execFileSync('ssh-keygen', [
      '-q',
      '-s',
      join(dir, 'host_ca'),
      '-I',
      'crewchief-test-host',
      '-h',
      '-n',
      '127.0.0.1',
      '-V',
      '-5m:+1d',
      join(dir, 'target_host_ed25519.pub'),
    ]);
  }
  const bastion = startSshd('bastion', dir, bastionPort, authorizedKeys, [
    'AllowTcpForwarding yes',
    'LogLevel DEBUG1',
  ]);

  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(
    knownHostsFile,
    `[127.0.0.1]:${targetPort} ${target.hostPublicKey}\n[127.0.0.1]:${bastionPort} ${bastion.hostPublicKey}\n`,
  );
  const hashedKnownHostsFile = join(dir, 'known_hosts.hashed');
  copyFileSync(knownHostsFile, hashedKnownHostsFile);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedKnownHostsFile], {stdio: 'ignore'});
  rmSync(`${hashedKnownHostsFile}.old`, {force: true});

  const count = options.aliases ?? 20;
  const aliases = Array.from({length: count}, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(
    join(dir, 'conf.d', 'fleet.conf'),
    aliases.length ? `Host ${aliases.join(' ')}\n  HostName 127.0.0.1\n  Port ${targetPort}\n` : '',
  );
  const configFile = join(dir, 'ssh_config');
  writeFileSync(
    configFile,
    [
      `Include ${join(dir, 'conf.d')}/*.conf`,
      '',
      'Host target',
      '  HostName 127.0.0.1',
      `  Port ${targetPort}`,
      '',
      'Host bastion',
      '  HostName 127.0.0.1',
      `  Port ${bastionPort}`,
      '',
      'Host behind',
      '  HostName 127.0.0.1',
      `  Port ${targetPort}`,
      '  ProxyJump bastion',
      '',
      'Host *',
      `  User ${user}`,
      `  IdentityFile ${keyPath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHostsFile}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      ...(options.serverAliveInterval
        ? [`  ServerAliveInterval ${options.serverAliveInterval}`]
        : []),
      '',
    ].join('\n'),
  );

  await Promise.all([target.start(), bastion.start()]);

  return {
    dir,
    user,
    keyPath,
    encryptedKeyPath,
    passphrase,
    wrongKeyPath,
    restrictedKeyPath,
    knownHostsFile,
    hashedKnownHostsFile,
    configFile,
    aliases,
    target,
    bastion,
    ...(certificates ? {certificates} : {}),
    async close() {
      await Promise.all([target.stop(), bastion.stop()]);
      // Commands a test left running (or that outlived a dropped link) go too.
      killLabProcesses(dir);
      rmSync(dir, {recursive: true, force: true});
    },
  };
}

/** A real ssh-agent on a socket in `dir`, holding the given keys. */
export interface SshAgent {
  socket: string;
  stop(): void;
}

export async function startSshAgent(dir: string, keys: readonly string[]): Promise<SshAgent> {
  const socket = join(dir, `agent.${process.pid}.${Date.now()}.sock`);
  const proc = spawn('ssh-agent', ['-D', '-a', socket], {stdio: ['ignore', 'ignore', 'ignore']});
  const deadline = Date.now() + 15_000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      signal(proc.pid ?? -1, 'SIGKILL');
      throw new Error('ssh-agent did not start');
    }
    await sleep(10);
  }
  // The socket exists from bind(), a moment before the agent listens: under load an
  // ssh-add can land in between and be refused, so each key is added until it takes.
  for (const key of keys) {
    for (;;) {
      try {
        execFileSync('ssh-add', ['-q', key], {
          env: {...process.env, SSH_AUTH_SOCK: socket},
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        break;
      } catch (error) {
        if (proc.exitCode !== null || Date.now() > deadline) {
          signal(proc.pid ?? -1, 'SIGKILL');
          throw new Error(
            `ssh-add ${key} failed: ${String((error as {stderr?: Buffer}).stderr ?? error)}`,
          );
        }
        await sleep(20);
      }
    }
  }
  return {
    socket,
    stop() {
      signal(proc.pid ?? -1, 'SIGTERM');
    },
  };
}
