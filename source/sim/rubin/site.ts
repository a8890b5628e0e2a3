/**
 * The simulated Rubin TTS/Summit: bare-metal hosts running docker-compose deployments,
 * a Kubernetes cluster, LOVE, and the main OSPL daemon whose durability.log counts the
 * federations (connected daemons and single-process CSCs). Shutting a deployment down
 * makes its federations leave after 30 s – 2 min (simulated); starting one makes them
 * join after the containers are pulled.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  fail,
  out,
  readJson,
  simFaults,
  simHost,
  simMs,
  sleep,
  spread,
  stateDir,
  writeJson,
} from '../state.js';

interface Federation {
  name: string;
  /** Epoch ms when it joined (absent: not connected, or joining at joinAt in the future). */
  joinAt?: number;
  leaveAt?: number;
}

interface HostState {
  federations: Federation[];
  containers: Record<string, {state: 'running' | 'exited'; startedAt: number}>;
  namespaces?: string[];
}

/** Who runs what at the start of the demo, by host. */
const layout: Record<string, string[]> = {
  dm01: ['dm-header-service', 'dm-ocps'],
  camera01: ['comcam-ccs', 'comcam-daemon', 'comcam-hcu'],
  love: ['love-producer'],
  auxtel01: ['atdome', 'atmcs', 'atptg'],
  m1m3: ['m1m3-daemon', 'mtm1m3'],
  hexrot: ['mthexapod', 'mtrotator'],
};
/** Federations in Kubernetes, by the sync_apps.py stage that brings them up. */
export const k8sStages: Record<string, string[]> = {
  'ospl-daemon': ['k8s-ospl-daemon-1', 'k8s-ospl-daemon-2'],
  'kafka-producers': ['kp-at', 'kp-mt', 'kp-eas', 'kp-m1m3'],
  obssys: ['watcher', 'scriptqueue-1'],
  rest: ['scriptqueue-2', 'authorize'],
};

const file = (host: string): string => path.join(stateDir(), 'hosts', `${host}.json`);

function initial(host: string, now: number): HostState {
  const names = host === 'k8s' ? Object.values(k8sStages).flat() : (layout[host] ?? []);
  const state: HostState = {
    federations: names.map((name) => ({name, joinAt: now - 3600_000})),
    containers: {},
  };
  if (host === 'ospl')
    state.containers['ospl-daemon'] = {state: 'running', startedAt: now - 3600_000};
  if (host === 'k8s')
    state.namespaces = ['argocd', 'nb-alice', 'nb-bob', 'obssys', 'kafka-producers'];
  return state;
}

export function load(host = simHost()): HostState {
  const f = file(host);
  if (!fs.existsSync(f)) {
    const state = initial(host, Date.now());
    writeJson(f, state);
    return state;
  }
  return readJson(f, initial(host, Date.now()));
}

export const save = (state: HostState, host = simHost()): void => writeJson(file(host), state);

const connected = (f: Federation, now: number): boolean =>
  f.joinAt !== undefined && f.joinAt <= now && (f.leaveAt === undefined || f.leaveAt > now);

/** Federations leave after the daemon notices: 30 s to 2 min, simulated. */
export function leave(state: HostState, names: string[] | 'all'): number {
  const now = Date.now();
  const rogue = simFaults().includes('rogue-daemon');
  let n = 0;
  for (const f of state.federations) {
    if (names !== 'all' && !names.includes(f.name)) continue;
    if (!connected(f, now) && f.joinAt !== undefined && f.joinAt > now) delete f.joinAt;
    if (rogue && f.name === 'atdome') continue;
    if (f.leaveAt === undefined || f.leaveAt > now) {
      f.leaveAt = now + simMs(spread(f.name, 30, 120), 'leave');
      n++;
    }
  }
  return n;
}

/** Federations join once their containers are pulled: 20 s to 1 min, simulated. */
export function join(state: HostState, names: string[] | 'all'): number {
  const now = Date.now();
  let n = 0;
  for (const f of state.federations) {
    if (names !== 'all' && !names.includes(f.name)) continue;
    if (connected(f, now)) continue;
    f.joinAt = now + simMs(spread(`${f.name}-up`, 20, 60));
    delete f.leaveAt;
    n++;
  }
  return n;
}

/** The count the main daemon reports: federations connected while it has been running. */
function federationCount(now: number): number {
  const dir = path.join(stateDir(), 'hosts');
  let total = 0;
  const hosts = new Set([
    ...fs.readdirSync(dir).map((f) => f.replace(/\.json$/, '')),
    ...Object.keys(layout),
    'k8s',
  ]);
  for (const host of hosts) {
    if (host === 'ospl' || host.endsWith('.tmp')) continue;
    for (const f of load(host).federations) if (connected(f, now)) total++;
  }
  return total;
}

const stamp = (ms: number): string => new Date(ms).toISOString();

/** `docker …` as the simulated hosts answer it. */
export async function docker(args: string[]): Promise<void> {
  const host = simHost();
  const state = load(host);
  const [verb, ...rest] = args;
  const now = Date.now();
  switch (verb) {
    case 'compose': {
      const fIndex = rest.indexOf('-f');
      const composeFile = fIndex >= 0 ? rest[fIndex + 1] : 'docker-compose.yaml';
      const action = rest.find((a) => a === 'up' || a === 'down' || a === 'ps');
      if (action === 'down') {
        const gone = state.federations.filter((f) => connected(f, now));
        for (const f of gone) out(`Container ${f.name}  Stopping`);
        await sleep(simMs(3));
        leave(state, 'all');
        for (const f of gone) out(`Container ${f.name}  Removed`);
        out(`Network ${path.basename(path.dirname(composeFile ?? '.'))}_default  Removed`);
      } else if (action === 'up') {
        const only = rest.slice(rest.indexOf('up') + 1).filter((a) => !a.startsWith('-'));
        if (host === 'ospl' || only.includes('ospl-daemon')) {
          state.containers['ospl-daemon'] = {state: 'running', startedAt: now};
          out('Container ospl-daemon  Started');
        } else {
          out(`Pulling images for ${composeFile}`);
          await sleep(simMs(5));
          join(state, 'all');
          for (const f of state.federations) out(`Container ${f.name}  Started`);
        }
      } else {
        for (const f of state.federations)
          out(`${f.name}  ${connected(f, now) ? 'running' : 'exited'}`);
      }
      save(state, host);
      return;
    }
    case 'exec': {
      const [container, ...command] = rest;
      const c = state.containers[container ?? ''];
      if (!c || c.state !== 'running') {
        fail(`Error response from daemon: container ${container} is not running`);
      }
      if (command[0] === 'grep' && command.at(-1) === 'durability.log') {
        const start = c.startedAt;
        out(`${stamp(start)} INFO  durability: service started, federations: 0`);
        out(`${stamp(now)} INFO  durability: fellow federations: ${federationCount(now)}`);
        return;
      }
      return fail(
        `OCI runtime exec failed: ${command.join(' ')}: not found in the simulation`,
        126,
      );
    }
    case 'logs': {
      const c = state.containers[rest[0] ?? ''];
      if (!c) fail(`Error response from daemon: No such container: ${rest[0]}`);
      out(`${stamp(c.startedAt)} ospl-daemon: starting OpenSplice durability service`);
      if (now - c.startedAt >= simMs(10))
        out(`${stamp(c.startedAt + simMs(10))} ospl-daemon: daemon ready`);
      return;
    }
    case 'stop':
    case 'rm': {
      for (const name of rest) {
        const c = state.containers[name];
        if (!c) fail(`Error response from daemon: No such container: ${name}`);
        if (verb === 'stop') c.state = 'exited';
        else if (c.state === 'running')
          fail(
            `Error response from daemon: cannot remove running container ${name}: stop it first`,
          );
        else delete state.containers[name];
        out(name);
      }
      save(state, host);
      return;
    }
    default:
      fail(`docker: '${verb}' is not simulated`);
  }
}

/** `kubectl` for namespaces. */
export function kubectl(args: string[]): void {
  const state = load('k8s');
  const [verb, kind, ...rest] = args;
  if (verb === 'get' && (kind === 'namespaces' || kind === 'ns')) {
    const names = state.namespaces ?? [];
    if (rest.includes('-o') && rest.includes('name')) for (const n of names) out(`namespace/${n}`);
    else {
      out('NAME               STATUS   AGE');
      for (const n of names) out(`${n.padEnd(18)} Active   41d`);
    }
    return;
  }
  if (verb === 'delete') {
    const targets = [kind, ...rest].filter((a): a is string => !!a && a.startsWith('namespace/'));
    for (const t of targets) {
      state.namespaces = (state.namespaces ?? []).filter((n) => `namespace/${n}` !== t);
      out(`${t} deleted`);
    }
    save(state, 'k8s');
    return;
  }
  fail(`kubectl: '${args.join(' ')}' is not simulated`);
}

/** ./cleanup_all -d: removes every Kubernetes deployment; with -d the OSPL daemons too. */
export async function cleanupAll(args: string[]): Promise<void> {
  const state = load('k8s');
  const daemons = args.includes('-d');
  if (simFaults().includes('cleanup-fails')) {
    out('Deleting job auxtel/atdome-sim ...');
    fail(
      'error: the server has asked for the client to provide credentials (argocd token expired)',
    );
  }
  for (const [stage, names] of Object.entries(k8sStages)) {
    if (stage === 'ospl-daemon' && !daemons) continue;
    for (const n of names) {
      out(`deployment.apps "${n}" deleted`);
      await sleep(simMs(0.5));
    }
    leave(state, names);
  }
  if (!daemons) out('warning: OSPL daemons left running (use -d to remove them)');
  save(state, 'k8s');
}

export function cleanupLove(): void {
  out('deployment.apps "love-manager" deleted');
  out('deployment.apps "love-frontend" deleted');
}

/** python SCRIPT …: argocd_login.py and sync_apps.py. */
export async function python(args: string[]): Promise<void> {
  const [script, ...rest] = args;
  if (script?.endsWith('argocd_login.py')) {
    const auth = rest[0] ?? '';
    const lines = fs.existsSync(auth) ? fs.readFileSync(auth, 'utf8').split('\n') : [];
    if (!lines[0]) fail(`argocd_login.py: cannot read the username and password from ${auth}`);
    out(`'admin:login' logged in successfully as ${lines[0]}`);
    out('Context argocd-server.argocd updated');
    return;
  }
  if (script?.endsWith('sync_apps.py')) return syncApps(rest);
  fail(`python: can't open file '${script}': not in the simulation`, 2);
}

async function syncApps(args: string[]): Promise<void> {
  const pause = args.includes('-p');
  const state = (): HostState => load('k8s');
  const syncStage = async (stage: string, apps: string[]): Promise<void> => {
    for (const app of apps) {
      out(`Syncing ${app} ...`);
      await sleep(simMs(4));
      out(`${app} synced`);
    }
    const s = state();
    join(s, k8sStages[stage] ?? []);
    save(s, 'k8s');
  };
  const lines = lineReader();
  const waitForGo = async (next: string): Promise<void> => {
    if (!pause) return;
    process.stdout.write(`Paused before ${next}. Type go and press enter to continue: `);
    for (;;) {
      const line = await lines();
      if (line === null) fail('sync_apps.py: stdin closed while paused');
      if (line.trim() === 'go') return;
      process.stdout.write('Type go and press enter to continue: ');
    }
  };
  await syncStage('ospl-daemon', ['csc-cluster-config', 'ospl-config', 'ospl-daemon']);
  await waitForGo('kafka-producers');
  await syncStage('kafka-producers', ['kafka-producers']);
  await waitForGo('obssys');
  await syncStage('obssys', ['obssys']);
  await waitForGo('the rest of the apps');
  await syncStage('rest', ['auxtel', 'maintel', 'eas', 'calsys', 'simonyitel', 'uns', 'nublado']);
  out('All apps synced');
  process.stdin.destroy();
}

/** Reads stdin line by line across several waits (a for-await loop would close it). */
function lineReader(): () => Promise<string | null> {
  const queue: string[] = [];
  const waiting: ((line: string | null) => void)[] = [];
  let buffer = '';
  let ended = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buffer += chunk;
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  process.stdin.on('end', () => {
    ended = true;
    for (const w of waiting.splice(0)) w(null);
  });
  return () =>
    new Promise((resolve) => {
      const line = queue.shift();
      if (line !== undefined) resolve(line);
      else if (ended) resolve(null);
      else waiting.push(resolve);
    });
}

/** git in the configuration checkouts. */
export function git(args: string[]): void {
  const [verb] = args;
  if (verb === 'fetch') out('Fetching origin');
  else if (verb === 'checkout') out(`Switched to branch '${args[1]}'`);
  else if (verb === 'pull') out('Already up to date.');
  else out(`git ${args.join(' ')}: done`);
}
