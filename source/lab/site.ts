/**
 * A site's simulated twin behind real SSH: two unprivileged sshd on loopback (a bastion
 * and a target), a key pair, an ssh config that reaches the target through the bastion
 * (ProxyJump), a known_hosts with both host keys, the simulated site prepared, and a
 * profile that runs the site's demo over all of it. What `crewchief lab` starts.
 */
import type {ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import {userInfo} from 'node:os';
import path from 'node:path';
import {parse, stringify} from 'yaml';
import {prepareSim} from '../sim/index.js';
import {freePort, keygen, spawnSshd, stopSshd, writeSshd, type SshdFiles} from './sshd.js';

export interface LabOptions {
  /** The demo profile the lab is derived from (a `*-demo.yaml` with `sim:`). */
  demoProfile: string;
  dir: string;
  /** Simulated seconds per real second instead of the demo profile's. */
  speed?: number;
}

/** One running sshd of the lab. */
export interface LabSshd {
  name: 'bastion' | 'target';
  port: number;
  pid: number;
  logFile: string;
}

export interface Lab {
  dir: string;
  /** The profile to run: `crewchief run SITE --profile FILE`. */
  profileFile: string;
  sshConfig: string;
  knownHosts: string;
  identity: string;
  bastion: LabSshd;
  target: LabSshd;
  /** Stops both sshd (and every connection they serve). */
  stop(): Promise<void>;
}

type Yaml = Record<string, unknown>;

/** The ssh config: `target` through `bastion`, this user, this key, these host keys only. */
function sshConfig(bastion: number, target: number, user: string, key: string, known: string) {
  return [
    'Host bastion',
    '  HostName 127.0.0.1',
    `  Port ${bastion}`,
    '',
    'Host target',
    '  HostName 127.0.0.1',
    `  Port ${target}`,
    '  ProxyJump bastion',
    '',
    'Host bastion target',
    `  User ${user}`,
    `  IdentityFile ${key}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${known}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '',
  ].join('\n');
}

/**
 * The demo profile turned into an SSH one: every host is `target`, reached through
 * `bastion`, its commands run with the simulated site's environment on the far side.
 */
function labProfile(
  demo: Yaml,
  demoFile: string,
  lab: Omit<Lab, 'stop' | 'profileFile' | 'bastion' | 'target'>,
  env: Record<string, string>,
  user: string,
): Yaml {
  const hosts = Object.keys((demo['hosts'] as Yaml | undefined) ?? {});
  const profile: Yaml = {
    ...demo,
    title: `${String(demo['title'] ?? demo['site'])} (over SSH through a bastion)`,
    transport: 'ssh',
    ssh: {
      config: lab.sshConfig,
      known_hosts: lab.knownHosts,
      identity: lab.identity,
      user,
      jump: 'bastion',
      strict_host_keys: 'yes',
      keepalive: {interval: '5s', count: 3},
    },
    hosts: Object.fromEntries(
      hosts.map((host) => [host, {address: 'target', env: {...env, CREWCHIEF_HOST: host}}]),
    ),
  };
  const secrets = demo['secrets'] as Yaml | undefined;
  if (secrets) profile['secrets'] = anchoredSecrets(secrets, path.dirname(demoFile));
  delete profile['sim'];
  return profile;
}

/** Secret files named relative to the demo profile, made absolute: the lab's profile lives elsewhere. */
function anchoredSecrets(secrets: Yaml, from: string): Yaml {
  const anchor = (file: string): string => (file.startsWith('~') ? file : path.resolve(from, file));
  return Object.fromEntries(
    Object.entries(secrets).map(([name, ref]) => [
      name,
      typeof ref === 'string'
        ? anchor(ref)
        : ref && typeof ref === 'object' && typeof (ref as Yaml)['file'] === 'string'
          ? {...(ref as Yaml), file: anchor((ref as Yaml)['file'] as string)}
          : ref,
    ]),
  );
}

/** Prepares `dir` and starts the bastion and the target; stop() ends both. */
export async function startLab(options: LabOptions): Promise<Lab> {
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, {recursive: true});
  const demo = parse(fs.readFileSync(options.demoProfile, 'utf8')) as Yaml;
  const sim = demo['sim'] as
    {site: string; speed?: number; pace?: Record<string, number>} | undefined;
  if (!sim?.site) throw new Error(`${options.demoProfile} names no simulated site (sim:)`);
  const simulated = prepareSim(sim.site, path.join(dir, 'sim'), {
    speed: options.speed ?? sim.speed ?? 1,
    ...(sim.pace && options.speed === undefined ? {pace: sim.pace} : {}),
  });

  const user = userInfo().username;
  const identity = path.join(dir, 'id_ed25519');
  for (const file of fs.readdirSync(dir)) {
    // a second lab in the same directory makes its keys afresh
    if (/^(id_ed25519|\w+_host_ed25519)(\.pub)?$/.test(file)) fs.rmSync(path.join(dir, file));
  }
  const authorizedKeys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, `${keygen(identity)}\n`, {mode: 0o600});
  const [bastionPort, targetPort] = [await freePort(), await freePort()];
  const files: SshdFiles[] = [
    writeSshd({
      name: 'bastion',
      dir,
      port: bastionPort,
      authorizedKeys,
      // DEBUG1 logs each forwarded channel (`direct_tcpip: … target 127.0.0.1 port N`): the jump.
      extra: ['AllowTcpForwarding yes', 'LogLevel DEBUG1'],
    }),
    writeSshd({
      name: 'target',
      dir,
      port: targetPort,
      authorizedKeys,
      extra: ['AllowTcpForwarding no', 'LogLevel VERBOSE'],
    }),
  ];
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(
    knownHosts,
    files.map((f) => `[127.0.0.1]:${f.port} ${f.hostPublicKey}\n`).join(''),
  );
  const sshConfigFile = path.join(dir, 'ssh_config');
  fs.writeFileSync(sshConfigFile, sshConfig(bastionPort, targetPort, user, identity, knownHosts));
  const profileFile = path.join(dir, 'profile.yaml');
  const paths = {dir, sshConfig: sshConfigFile, knownHosts, identity};
  fs.writeFileSync(
    profileFile,
    `# ${String(demo['site'])} over real SSH through a bastion, against its simulated site.\n` +
      `# Written by crewchief lab; valid while it runs.\n` +
      stringify(labProfile(demo, options.demoProfile, paths, simulated.env, user)),
  );

  const started: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((proc) => stopSshd(proc, 'SIGTERM')));
  };
  try {
    for (const f of files) started.push(await spawnSshd(f));
  } catch (error) {
    await stop();
    throw error;
  }
  const running = (i: 0 | 1): LabSshd => ({
    name: files[i]!.name as LabSshd['name'],
    port: files[i]!.port,
    pid: started[i]!.pid ?? 0,
    logFile: files[i]!.logFile,
  });
  return {...paths, profileFile, bastion: running(0), target: running(1), stop};
}
