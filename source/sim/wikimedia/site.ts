/**
 * The simulated Wikimedia service cluster: a builder with the deploy repository, the
 * deployment servers (`tin`, and `prep-deploy` for deployment-prep) running trebuchet's
 * `git deploy`, target hosts whose code follows their deployment server's last sync a few
 * seconds later, a node service per target (upstart `service`, a port, a journal), Gerrit
 * changes, and puppet (a merged config revision each agent applies).
 *
 * Hosts whose name starts with `prep-` belong to deployment-prep and follow `prep-deploy`;
 * all others follow `tin`.
 *
 * Faults: `unhealthy-once:HOST` (the next restart on HOST leaves a crashing worker that
 * never binds its port; the restart after that is fine).
 */
import path from 'node:path';
import {fail, out, simHost, simMs, sleep, spread} from '../state.js';
import {fault, hexId, read, stateFile, sudo as runSudo, update} from '../common/host.js';
import {curlProgram, pgrepProgram, timeoutProgram, type HttpAnswer} from '../common/probes.js';

/** The ports of the services the sim knows, as in production. */
const PORTS: Record<string, number> = {
  citoid: 1970,
  parsoid: 8000,
  mathoid: 10042,
  mobileapps: 8888,
  cxserver: 8080,
  graphoid: 19000,
  restbase: 7231,
  zotero: 1969,
};
const portOf = (service: string): number => PORTS[service] ?? 8080;

const OLD_REV = hexId('release-2026-11', 7);

interface Service {
  name: string;
  pid: number;
  startedAt: number;
  rev: string;
  configRev: string;
  /** The workers crash on start and never bind the port. */
  crashing?: boolean;
}

interface HostState {
  services: Record<string, Service>;
  configRev: string;
  faultsUsed: string[];
}

interface Global {
  /** The builder's deploy repository: src submodule and HEAD. */
  srcRev: string;
  head: string;
  /** Deploy commits sent for review, merged on +2 (the sim merges at once). */
  merged: string;
  gerrit: number;
  /** Per deployment server: its checkout and its last sync. */
  deployServers: Record<
    string,
    {head: string; started: boolean; synced?: {rev: string; at: number}}
  >;
  /** The config revision the puppetmaster serves. */
  configRev: string;
  configMergedAt?: number;
}

const globalFile = (): string => stateFile('wikimedia.json');
const hostFile = (host: string): string => stateFile('hosts', `${host}.json`);

const initialGlobal = (): Global => ({
  srcRev: hexId('src-0', 7),
  head: OLD_REV,
  merged: OLD_REV,
  gerrit: 512340,
  deployServers: {},
  configRev: hexId('config-0', 7),
});

const initialHost = (): HostState => ({
  services: {},
  configRev: hexId('config-0', 7),
  faultsUsed: [],
});

const deployServerOf = (host: string): string => (host.startsWith('prep-') ? 'prep-deploy' : 'tin');

/** The revision checked out on a target: its deployment server's last sync, once fetched. */
function codeRev(host: string, g: Global, now = Date.now()): string {
  const synced = g.deployServers[deployServerOf(host)]?.synced;
  if (!synced) return OLD_REV;
  return now >= synced.at + simMs(spread(`${host}-fetch`, 1, 6)) ? synced.rev : OLD_REV;
}

/** The service on a host: running since long on the old code unless restarted here. */
function serviceOn(h: HostState, host: string, name: string): Service {
  return (
    h.services[name] ?? {
      name,
      pid: 1000 + (parseInt(hexId(`${host}-${name}`, 4), 16) % 30000),
      startedAt: Date.now() - 86_400_000 * 3,
      rev: OLD_REV,
      configRev: h.configRev,
    }
  );
}

const listening = (s: Service, now = Date.now()): boolean =>
  !s.crashing && now - s.startedAt >= simMs(3);

/** Restarts a service on this host (service restart, or puppet's refresh). */
function restart(name: string, host = simHost()): Service {
  const g = read(globalFile(), initialGlobal);
  let started!: Service;
  update(hostFile(host), initialHost, (h) => {
    const key = `unhealthy-once:${host}`;
    const crashing =
      !!fault('unhealthy-once') &&
      fault('unhealthy-once')?.arg === host &&
      !h.faultsUsed.includes(key);
    if (crashing) h.faultsUsed.push(key);
    const previous = serviceOn(h, host, name);
    started = {
      name,
      pid: previous.pid + 7,
      startedAt: Date.now(),
      rev: codeRev(host, g),
      configRev: h.configRev,
      ...(crashing ? {crashing: true} : {}),
    };
    h.services[name] = started;
  });
  return started;
}

/** `service NAME restart|start|stop|status` (upstart). */
export async function service(args: string[]): Promise<void> {
  const [name, verb] = args;
  if (!name || !verb)
    fail(
      'Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]',
    );
  const host = simHost();
  if (verb === 'restart' || verb === 'start') {
    out(`${name} stop/waiting`);
    await sleep(simMs(1));
    const s = restart(name, host);
    out(`${name} start/running, process ${s.pid}`);
    return;
  }
  const h = read(hostFile(host), initialHost);
  if (verb === 'status') {
    out(`${name} start/running, process ${serviceOn(h, host, name).pid}`);
    return;
  }
  fail(`${name}: unrecognized service command ${verb}`);
}

/** `journalctl -u NAME …`: the service's log since its last start. */
export function journalctl(args: string[]): void {
  const name = args[args.indexOf('-u') + 1] ?? '';
  const host = simHost();
  const s = serviceOn(read(hostFile(host), initialHost), host, name);
  const stamp = (ms: number): string => new Date(ms).toISOString();
  const line = (ms: number, level: number, msg: string): void =>
    out(
      `${stamp(ms)} ${host} ${name}[${s.pid}]: {"name":"${name}","hostname":"${host}","pid":${s.pid},"level":${level},"msg":"${msg}"}`,
    );
  line(s.startedAt, 30, `master(${s.pid}) initializing 4 workers`);
  if (s.crashing) {
    line(s.startedAt + 200, 60, "Error: Cannot find module 'preq'");
    line(s.startedAt + 250, 40, `worker ${s.pid + 1} died (1), restarting.`);
    line(s.startedAt + 400, 60, "Error: Cannot find module 'preq'");
    return;
  }
  if (listening(s))
    line(s.startedAt + simMs(3), 30, `Worker ${s.pid + 1} listening on 0.0.0.0:${portOf(name)}`);
}

/** What the node service on this host answers. */
function serve(url: URL): HttpAnswer {
  const host = simHost();
  if (url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') return 'refused';
  const port = Number(url.port || 80);
  const name = Object.keys(PORTS).find((n) => PORTS[n] === port) ?? 'service';
  const s = serviceOn(read(hostFile(host), initialHost), host, name);
  if (!listening(s)) return 'refused';
  if (url.pathname === '/_info' || url.pathname === '/_version')
    return {
      status: 200,
      body: `{"name":"${name}","version":"0.5.1","description":"${name} (deploy ${s.rev}, config ${s.configRev})","home":"https://example.org/${name}"}\n`,
    };
  if (name === 'citoid' && url.pathname === '/api')
    return {
      status: 200,
      body: '[{"itemType":"journalArticle","title":"A simulated citation","DOI":"10.1038/nature12373"}]\n',
    };
  if (url.pathname.includes('/page/html/'))
    return {status: 200, body: '<!DOCTYPE html>\n<html><body>Main Page</body></html>\n'};
  return {status: 404, body: `{"type":"not_found","title":"Not found.","uri":"${url.pathname}"}\n`};
}

export const curl = curlProgram(({url}) => serve(url));

export const timeout = timeoutProgram((address, port) => {
  if (address !== '127.0.0.1' && address !== 'localhost') return false;
  const host = simHost();
  const h = read(hostFile(host), initialHost);
  const name = Object.keys(PORTS).find((n) => PORTS[n] === port);
  return !!name && listening(serviceOn(h, host, name));
});

export const pgrep = pgrepProgram(() => {
  const host = simHost();
  const h = read(hostFile(host), initialHost);
  // every service the sim knows runs on every target (the profile names the one checked)
  return Object.keys(PORTS).map((name) => {
    const s = serviceOn(h, host, name);
    return {pid: s.pid, command: `/usr/bin/nodejs src/server.js -c /etc/${name}/config.yaml`};
  });
});

/** `git …`: the builder's deploy repo, trebuchet on the deployment servers, checkouts on targets. */
export async function git(args: string[]): Promise<void> {
  let dir = process.cwd();
  const a = [...args];
  while (a[0] === '-C') {
    dir = path.resolve(dir, a[1] ?? '.');
    a.splice(0, 2);
  }
  const [verb, ...rest] = a;
  const host = simHost();
  const g = read(globalFile(), initialGlobal);
  const server = g.deployServers[host] ?? {head: OLD_REV, started: false};
  const isSubmodule = path.basename(dir) === 'src';
  const change = (fn: (g: Global) => void): Global => update(globalFile(), initialGlobal, fn);
  switch (verb) {
    case 'submodule': {
      if (rest.includes('--remote')) {
        const g2 = change((g) => (g.srcRev = hexId(`src-${g.gerrit}`, 7)));
        out(`Submodule path 'src': checked out '${g2.srcRev}${hexId(g2.srcRev, 33)}'`);
      } else out(`Submodule path 'src': checked out '${g.srcRev}${hexId(g.srcRev, 33)}'`);
      return;
    }
    case 'log':
      out(`${g.srcRev} Merge "Update dependencies and fix the DOI lookup"`);
      return;
    case 'rev-parse': {
      if (host === 'builder') out(isSubmodule ? g.srcRev : g.head);
      else if (g.deployServers[host]) out(server.head);
      else out(codeRev(host, g));
      return;
    }
    case 'commit': {
      const message = rest[rest.indexOf('-m') + 1] ?? 'update';
      const head = hexId(`${message}-${g.srcRev}`, 7);
      change((g) => (g.head = head));
      out(`[master ${head}] ${message}`);
      out(' 2 files changed, 1841 insertions(+), 1377 deletions(-)');
      return;
    }
    case 'review': {
      const number = g.gerrit + 1;
      const project = dir.includes('puppet') ? 'operations/puppet' : 'mediawiki/services/deploy';
      change((g) => {
        g.gerrit = number;
        // a deploy change merges on +2 (the next manual step); puppet's waits for puppet-merge
        if (project !== 'operations/puppet') g.merged = g.head;
      });
      out('remote: Processing changes: new: 1, done');
      out('remote:');
      out('remote: New Changes:');
      out(`remote:   https://gerrit.example.org/r/c/${project}/+/${number} Update to ${g.head}`);
      out('remote:');
      return;
    }
    case 'pull':
      change((g) => {
        const s = (g.deployServers[host] ??= {head: OLD_REV, started: false});
        if (s.head === g.merged) out('Already up to date.');
        else {
          out(`Updating ${s.head}..${g.merged}`);
          out('Fast-forward');
          out(' src | 2 +-');
          s.head = g.merged;
        }
      });
      return;
    case 'deploy': {
      const action = rest[0];
      if (action === 'start') {
        if (server.started)
          fail(
            'A deployment is already in progress: finish it with git deploy sync, or git deploy abort',
          );
        change((g) => ((g.deployServers[host] ??= {head: OLD_REV, started: false}).started = true));
        out(
          `Deployment started for ${path.basename(path.dirname(dir))}/deploy; run git deploy sync when ready`,
        );
        return;
      }
      if (action === 'sync') {
        if (!server.started) fail('No deployment in progress: run git deploy start first');
        change((g) => {
          const s = g.deployServers[host]!;
          s.started = false;
          s.synced = {rev: s.head, at: Date.now()};
        });
        out(
          `Repo: ${path.basename(path.dirname(dir))}/deploy; checking tag: sync-${new Date().toISOString().slice(0, 10)}-${server.head}`,
        );
        out('Fetch and checkout sent to the minions; they report in as they finish.');
        await sleep(simMs(2));
        out(`Deployment of ${server.head} finished`);
        return;
      }
      if (action === 'abort') {
        change(
          (g) => ((g.deployServers[host] ??= {head: OLD_REV, started: false}).started = false),
        );
        out('Deployment aborted');
        return;
      }
      return fail(`git deploy: unknown action ${action}`);
    }
    default:
      fail(`git: '${verb}' is not simulated`);
  }
}

/** `./server.js build --deploy-repo --force` in the source repository (service-runner). */
export async function serverJs(args: string[]): Promise<void> {
  if (!args.includes('build') || !args.includes('--deploy-repo'))
    fail('usage: server.js build --deploy-repo [--force] [--review]');
  out('Building the deploy repository in a Docker container (debian:jessie, nodejs 6.11)...');
  for (const step of [
    'FROM docker-registry.example.org/nodejs-slim',
    'npm install --production',
    'copying node_modules into the deploy repository',
  ]) {
    out(`  ${step}`);
    await sleep(simMs(3));
  }
  out('Deploy repository updated: node_modules rebuilt.');
}

/** `puppet agent --test [--noop]`: applies (or would apply) the merged config, restarting the service. */
export async function puppet(args: string[]): Promise<void> {
  if (args[0] !== 'agent' || !args.includes('--test'))
    fail('puppet: only agent --test is simulated');
  const host = simHost();
  const g = read(globalFile(), initialGlobal);
  let h = read(hostFile(host), initialHost);
  // the agent's own run (every 30 minutes) may have applied the merged config meanwhile
  const agentRun = (g.configMergedAt ?? Infinity) + simMs(spread(`${host}-agent`, 60, 1800));
  if (h.configRev !== g.configRev && Date.now() >= agentRun) {
    h = update(hostFile(host), initialHost, (h) => (h.configRev = g.configRev));
    for (const n of Object.keys(h.services)) restart(n, host);
  }
  out("Info: Using configured environment 'production'");
  out(`Info: Applying configuration version '${g.configRev}'`);
  if (h.configRev === g.configRev) {
    out('Notice: Applied catalog in 4.12 seconds');
    process.exit(0);
  }
  const services = Object.keys(PORTS).filter((n) => h.services[n]);
  const name = services[0] ?? 'service';
  const noop = args.includes('--noop');
  out(
    `Notice: /Stage[main]/Service::Node/File[/etc/${name}/config.yaml]/content: ${noop ? 'current_value' : 'content changed'} '{md5}${hexId(h.configRev, 32)}' ${noop ? 'should be' : 'to'} '{md5}${hexId(g.configRev, 32)}'${noop ? ' (noop)' : ''}`,
  );
  if (noop) {
    out('Notice: Applied catalog in 3.87 seconds');
    process.exit(2);
  }
  update(hostFile(host), initialHost, (h) => (h.configRev = g.configRev));
  await sleep(simMs(2));
  for (const n of services.length ? services : []) {
    restart(n, host);
    out(`Notice: /Stage[main]/Service::Node/Service[${n}]: Triggered 'refresh' from 1 event`);
  }
  out('Notice: Applied catalog in 9.02 seconds');
  process.exit(2);
}

/** `puppet-merge` on the puppetmaster: the +2'd patch goes live for the agents. */
export function puppetMerge(): void {
  const g = update(globalFile(), initialGlobal, (g) => {
    g.configRev = hexId(`config-${g.gerrit}`, 7);
    g.configMergedAt = Date.now();
  });
  out(
    `Fetching origin\nRunning git clean to clean any untracked files.\nHEAD is now at ${g.configRev}`,
  );
  out(`Merging ${hexId(`config-before-${g.gerrit}`, 7)} into ${g.configRev}`);
  out(' hieradata/role/common/service.yaml | 2 +-');
  out(' 1 file changed, 1 insertion(+), 1 deletion(-)');
}

/** `sudo …`: the sim's own programs run in this process (one start less per call). */
export async function sudo(args: string[]): Promise<void> {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i++;
  const [command, ...rest] = args.slice(i);
  const own: Record<string, (a: string[]) => void | Promise<void>> = {
    service,
    puppet,
    'puppet-merge': puppetMerge,
  };
  const program = command ? own[command] : undefined;
  if (program) return program(rest);
  return runSudo(args);
}
