/**
 * The test bed: a loopback OpenSSH sshd (the test harness's lab: its own host key,
 * authorized key, known_hosts) with 50 host aliases h01…h50 pointing at it, the files the
 * cases read, and the machines, profiles, host lists and inventory every tool is given.
 * Nothing is installed; everything lives in one temp dir and goes with close().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {startSshLab, type SshLab} from '../../harness/sshd.js';
import {writeMachine} from '../../helpers/fixtures.js';
import {bash, cleanEnv, treeCpuSeconds} from './proc.js';

export const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
);
/**
 * What every case runs: the command a driver runs (`npx crewchief`), bin/crewchief.js. It
 * starts the split build (dist/cli/) when that is fresh, which `npm run bench` makes sure of.
 */
export const cliJs = path.join(repoRoot, 'bin', 'crewchief.js');
/** The split build bin/ runs: the bench checks it is there, and not rebuilt mid-run. */
export const builtCli = path.join(repoRoot, 'dist', 'cli', 'crewchief.js');

export interface Bed {
  /** Scratch for journals, machines, profiles. */
  dir: string;
  lab?: SshLab;
  hosts: string[];
  hostsFile: string;
  /** `ssh -F` config with the aliases. */
  sshConfig: string;
  /** A directory for ControlMaster sockets (short path: sun_path is 108 bytes). */
  controlDir: string;
  /** The poll: `cd DIR && grep -c federations durability.log`, and what it must print. */
  pollCommand: string;
  pollExpected: string;
  /** The big file for the output case, and its size. */
  bigFile: string;
  bigBytes: number;
  ansibleEnv: Record<string, string>;
  inventory: string;
  /** CPU seconds sshd has used so far (listener, sessions, commands): the server's share. */
  sshdCpuSeconds(): number;
  /** Writes a machine file (site `id`) from a body using the vocabulary helpers. */
  machine(id: string, phases: string): string;
  /** An ssh profile for site `id` over the lab, every alias a host, group `all`. */
  sshProfile(id: string): string;
  /** A local profile (no hosts) for site `id`. */
  localProfile(id: string): string;
  close(): Promise<void>;
}

/** The durability log of the Rubin poll: 10 000 lines, every 97th a federation. */
function durabilityLog(): {text: string; count: number} {
  const lines: string[] = [];
  let count = 0;
  for (let i = 0; i < 10_000; i++) {
    const stamp = `2026-11-22T01:${String(Math.floor(i / 170) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
    if (i % 97 === 0) {
      count++;
      lines.push(`${stamp} INFO durability: fellow ${i} joined, federations aligned`);
    } else {
      lines.push(`${stamp} INFO durability: sample ${i} ok, 0 pending`);
    }
  }
  return {text: `${lines.join('\n')}\n`, count};
}

/** Writes `bytes` of log-like text (fast: one 1 MiB block repeated). */
function writeBig(file: string, bytes: number): void {
  const line =
    '2026-11-22T01:00:00.000Z INFO  producer: sample 1234567 ok, federations aligned, queue=42\n';
  const block = Buffer.from(line.repeat(Math.ceil((1 << 20) / line.length)));
  const fd = fs.openSync(file, 'w');
  try {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, block.length);
      fs.writeSync(fd, block, 0, n);
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export async function startBed(options: {
  ssh: boolean;
  hosts: number;
  bigBytes: number;
}): Promise<Bed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crewchief-bench-'));
  const lab = options.ssh ? await startSshLab({aliases: options.hosts}) : undefined;
  const hosts = lab?.aliases ?? [];
  const hostsFile = path.join(dir, 'hosts');
  fs.writeFileSync(hostsFile, hosts.map((h) => `${h}\n`).join(''));
  const controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-'));

  const log = durabilityLog();
  const dataDir = lab?.dir ?? dir;
  fs.writeFileSync(path.join(dataDir, 'durability.log'), log.text);
  const bigFile = path.join(dataDir, 'big');
  if (lab && options.bigBytes > 0) {
    writeBig(bigFile, options.bigBytes);
    // In the page cache for everyone alike.
    await bash(`cat ${bigFile} > /dev/null`);
  }

  const inventory = path.join(dir, 'inventory.ini');
  fs.writeFileSync(inventory, `[fleet]\n${hosts.join('\n')}\n`);
  const ansibleHome = path.join(dir, 'ansible');
  fs.mkdirSync(path.join(ansibleHome, 'tmp'), {recursive: true});
  const ansibleCfg = path.join(dir, 'ansible.cfg');
  fs.writeFileSync(ansibleCfg, '[defaults]\n');
  const ansibleEnv = cleanEnv({
    // Ansible refuses to start without a UTF-8 locale.
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    ANSIBLE_CONFIG: ansibleCfg,
    ANSIBLE_HOME: ansibleHome,
    ANSIBLE_LOCAL_TEMP: path.join(ansibleHome, 'tmp'),
    // Replaces the default `-C -o ControlMaster=auto -o ControlPersist=60s`: cold means cold.
    ANSIBLE_SSH_ARGS: lab ? `-F ${lab.configFile}` : '',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    ANSIBLE_SSH_RETRIES: '0',
  });

  const machine = (id: string, phases: string): string =>
    writeMachine(
      dir,
      id,
      `export default site({id: ${JSON.stringify(id)}, title: ${JSON.stringify(`bench ${id}`)}, phases: [${phases}]});`,
    );

  const sshProfile = (id: string): string => {
    if (!lab) throw new Error('no ssh lab in this run');
    const file = path.join(dir, `${id}.yaml`);
    fs.writeFileSync(
      file,
      [
        `site: ${id}`,
        'transport: ssh',
        'ssh:',
        `  config: ${lab.configFile}`,
        `  known_hosts: ${lab.knownHostsFile}`,
        `  identity: ${lab.keyPath}`,
        'hosts:',
        ...hosts.map((h) => `  ${h}: {}`),
        'groups:',
        `  all: [${hosts.join(', ')}]`,
        '',
      ].join('\n'),
    );
    return file;
  };

  const localProfile = (id: string): string => {
    const file = path.join(dir, `${id}.yaml`);
    fs.writeFileSync(file, `site: ${id}\ntransport: local\n`);
    return file;
  };

  return {
    dir,
    ...(lab ? {lab} : {}),
    hosts,
    hostsFile,
    sshConfig: lab?.configFile ?? '',
    controlDir,
    pollCommand: `cd ${dataDir} && grep -c federations durability.log`,
    pollExpected: String(log.count),
    bigFile,
    bigBytes: options.bigBytes,
    ansibleEnv,
    inventory,
    sshdCpuSeconds: () => {
      const pid = lab?.target.pid();
      return pid ? treeCpuSeconds(pid) : 0;
    },
    machine,
    sshProfile,
    localProfile,
    async close() {
      // Masters a failed case left open.
      if (lab) {
        await bash(
          `for s in ${controlDir}/cm-*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done; true`,
          {timeoutMs: 20_000},
        );
        await lab.close();
      }
      fs.rmSync(dir, {recursive: true, force: true});
      fs.rmSync(controlDir, {recursive: true, force: true});
    },
  };
}
