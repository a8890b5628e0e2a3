/**
 * The simulated Atmosphere servers: `atmo` and `beta` run atmosphere-docker (an
 * atmosphere and a troposphere container from docker-compose.prod.yml), `proxy` runs the
 * nginx in front of the public site. State: containers, local images, the maintenance
 * flags, nginx's live config, crontab and git checkouts. The databases are real: the
 * runbook's pg_dump talks to the PostgreSQL on this machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import {fail, out, simHost, simMs, sleep} from '../state.js';
import {
  fault,
  hexId,
  option,
  options,
  positionals,
  read,
  readStdin,
  stateFile,
  sudo as runSudo,
  update,
} from '../common/host.js';
import {curlProgram, type HttpAnswer} from '../common/probes.js';

interface Container {
  service: string;
  image: string;
  state: 'running' | 'exited';
  startedAt: number;
}

interface Host {
  containers: Record<string, Container>;
  images: string[];
  maintenance: Record<string, string | false>;
  /** The container troposphere's nginx sends atmosphere requests to (resolved at its start). */
  upstream?: string;
  crontab: string;
  /** proxy: the site nginx serves. */
  nginx?: 'proxy' | 'maintenance';
}

const PROJECT = 'atmosphere-docker';
const OLD_TAG = 'v36-0';
/** Seconds an atmosphere container takes for its setup tasks (migrations, collectstatic). */
const SETUP_SECONDS = 20;

const hostFile = (host: string): string => stateFile('hosts', `${host}.json`);

function initial(host: string): Host {
  const started = Date.now() - 86_400_000;
  const containers: Record<string, Container> = {};
  if (host !== 'proxy') {
    for (const service of ['atmosphere', 'troposphere']) {
      containers[`${PROJECT}_${service}_1`] = {
        service,
        image: `cyverse/${service}:${OLD_TAG}`,
        state: 'running',
        startedAt: started,
      };
    }
  }
  const compose = `/opt/dev/atmosphere-docker/atmosphere-docker.sh -f /opt/dev/atmosphere-docker/docker-compose.prod.yml`;
  return {
    containers,
    images:
      host === 'proxy' ? [] : [`cyverse/atmosphere:${OLD_TAG}`, `cyverse/troposphere:${OLD_TAG}`],
    maintenance: {atmosphere: false, troposphere: false},
    ...(host !== 'proxy' ? {upstream: `${PROJECT}_atmosphere_1`} : {}),
    crontab: [
      '# m h dom mon dow command',
      `*/15 * * * * ${compose} exec -T atmosphere ./manage.py monitor_instances`,
      `0 3 * * * ${compose} exec -T atmosphere ./manage.py clearsessions`,
      '',
    ].join('\n'),
    ...(host === 'proxy' ? {nginx: 'proxy' as const} : {}),
  };
}

const load = (host = simHost()): Host => read(hostFile(host), () => initial(host));
const change = (fn: (h: Host) => void, host = simHost()): Host =>
  update(hostFile(host), () => initial(host), fn);

const ready = (c: Container | undefined, now = Date.now()): boolean =>
  !!c &&
  c.state === 'running' &&
  (c.service !== 'atmosphere' || now - c.startedAt >= simMs(SETUP_SECONDS));

const tagOf = (image: string): string => image.split(':')[1] ?? image;

/** Images a compose file names, by service. */
function composeImages(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return fail(`ERROR: .FileNotFoundError: [Errno 2] No such file or directory: '${file}'`);
  }
  const images: Record<string, string> = {};
  let service: string | undefined;
  for (const line of text.split('\n')) {
    const s = /^ {2}([a-z0-9_-]+):\s*$/.exec(line);
    if (s) service = s[1];
    const i = /^\s+image:\s*(\S+)/.exec(line);
    if (i && service) images[service] = i[1]!;
  }
  return images;
}

/** Public registry: cyverse/* tags exist (the Dockerhub build); anything else does not. */
const published = (image: string): boolean =>
  /^cyverse\/(atmosphere|troposphere):v\d+-\d+/.test(image) && !fault('dockerhub-missing');

/** `docker-compose` (and atmosphere-docker.sh) for the atmosphere-docker project. */
export async function dockerCompose(args: string[]): Promise<void> {
  const file = path.resolve(option(args, '-f', '--file') ?? 'docker-compose.yml');
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-f' || args[i] === '--file' || args[i] === '-p') i++;
    else rest.push(args[i]!);
  }
  const [verb, ...more] = rest;
  const images = composeImages(file);
  const host = simHost();
  switch (verb) {
    case 'stop': {
      const h = change((h) => {
        for (const c of Object.values(h.containers)) c.state = 'exited';
      });
      await sleep(simMs(2));
      for (const name of Object.keys(h.containers)) out(`Stopping ${name} ... done`);
      return;
    }
    case 'pull': {
      const missing = Object.values(images).filter(
        (i) => !published(i) && !load().images.includes(i),
      );
      for (const [service, image] of Object.entries(images)) {
        if (missing.includes(image)) continue;
        out(`Pulling ${service} ... ${published(image) ? 'done' : 'skipped (local image)'}`);
      }
      if (missing.length)
        fail(
          `ERROR: pull access denied for ${missing[0]!.split(':')[0]}, repository does not exist or may require 'docker login'`,
        );
      await sleep(simMs(3));
      change((h) => {
        for (const i of Object.values(images)) if (!h.images.includes(i)) h.images.push(i);
      });
      return;
    }
    case 'up': {
      const scale: Record<string, number> = {};
      for (const s of options(more, '--scale')) {
        const [service, n] = s.split('=');
        if (service) scale[service] = Number(n);
      }
      const noRecreate = more.includes('--no-recreate');
      const lines: string[] = [];
      let error: string | undefined;
      change((h) => {
        const now = Date.now();
        for (const [service, image] of Object.entries(images)) {
          if (!h.images.includes(image)) {
            if (!published(image)) {
              error = `ERROR: pull access denied for ${image.split(':')[0]}, repository does not exist or may require 'docker login'`;
              return;
            }
            lines.push(`Pulling ${service} (${image})... done`);
            h.images.push(image);
          }
          for (let i = 1; i <= (scale[service] ?? 1); i++) {
            const name = `${PROJECT}_${service}_${i}`;
            const c = h.containers[name];
            if (!c) {
              h.containers[name] = {service, image, state: 'running', startedAt: now};
              lines.push(`Creating ${name} ... done`);
            } else if (c.image !== image && !noRecreate) {
              h.containers[name] = {service, image, state: 'running', startedAt: now};
              lines.push(`Recreating ${name} ... done`);
            } else if (c.state !== 'running') {
              c.state = 'running';
              c.startedAt = now;
              lines.push(`Starting ${name} ... done`);
            } else lines.push(`${name} is up-to-date`);
          }
        }
        // troposphere's nginx resolves the atmosphere container when it (re)starts
        const tropo = h.containers[`${PROJECT}_troposphere_1`];
        if (tropo && tropo.startedAt === now) h.upstream = firstAtmosphere(h);
        if (!h.upstream || !h.containers[h.upstream]) h.upstream = firstAtmosphere(h);
      }, host);
      if (error) fail(error);
      await sleep(simMs(2));
      for (const l of lines) out(l);
      return;
    }
    case 'exec': {
      const flags = more.filter((a) => a.startsWith('-'));
      const [service, ...command] = more.filter((a) => !a.startsWith('-') || a === '-c');
      const index = Number(flags.find((f) => f.startsWith('--index='))?.slice(8) ?? 1);
      const name = `${PROJECT}_${service}_${index}`;
      const h = load();
      if (!h.containers[name] || h.containers[name].state !== 'running')
        fail(`ERROR: No container found for ${service}_${index}`);
      const text = command.join(' ');
      if (/manage\.py maintenance start/.test(text)) {
        const title = /--title '([^']*)'/.exec(text)?.[1] ?? 'maintenance';
        change((h) => (h.maintenance[service!] = title));
        out(`Maintenance record created: "${title}" (${service})`);
      } else if (/manage\.py maintenance stop/.test(text)) {
        change((h) => (h.maintenance[service!] = false));
        out(`Maintenance ended (${service})`);
      } else if (/service nginx restart/.test(text)) {
        change((h) => (h.upstream = firstAtmosphere(h)));
        out('Restarting nginx: nginx.');
      } else out(`(simulated) ${text}: done`);
      return;
    }
    case 'ps': {
      const h = load();
      out('Name                                Command               State    Ports');
      for (const [name, c] of Object.entries(h.containers))
        out(`${name.padEnd(36)}/docker-entrypoint.sh  ${c.state === 'running' ? 'Up' : 'Exit 0'}`);
      return;
    }
    default:
      fail(`docker-compose: '${verb}' is not simulated`);
  }
}

function firstAtmosphere(h: Host): string | undefined {
  return Object.keys(h.containers)
    .filter(
      (n) => h.containers[n]!.service === 'atmosphere' && h.containers[n]!.state === 'running',
    )
    .sort()[0];
}

/** `atmosphere-docker.sh -f FILE …`: the repository's wrapper around docker-compose. */
export const atmosphereDocker = (args: string[]): Promise<void> =>
  dockerCompose(['-p', PROJECT, ...args]);

/** `docker …` on an app server. */
export async function docker(args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'commit': {
      const [container, image] = positionals(rest);
      if (!container || !image)
        fail('"docker commit" requires at least 1 and at most 2 arguments.');
      const h = load();
      if (!h.containers[container])
        fail(`Error response from daemon: No such container: ${container}`);
      await sleep(simMs(3));
      change((h) => {
        if (!h.images.includes(image)) h.images.push(image);
      });
      out(`sha256:${hexId(`${simHost()}-${container}-${image}`, 64)}`);
      return;
    }
    case 'kill':
    case 'rm': {
      for (const name of positionals(rest)) {
        let error: string | undefined;
        change((h) => {
          const c = h.containers[name];
          if (!c) error = `Error response from daemon: No such container: ${name}`;
          else if (verb === 'kill') {
            if (c.state !== 'running')
              error = `Error response from daemon: Cannot kill container: ${name}: Container is not running`;
            else c.state = 'exited';
          } else if (c.state === 'running')
            error = `Error response from daemon: You cannot remove a running container ${name}. Stop the container before attempting removal or force remove`;
          else delete h.containers[name];
        });
        if (error) fail(error);
        out(name);
      }
      return;
    }
    case 'ps': {
      const filters = options(rest, '--filter');
      const format = option(rest, '--format');
      const h = load();
      const now = Date.now();
      const rows = Object.entries(h.containers)
        .filter(([, c]) => rest.includes('-a') || c.state === 'running')
        .filter(([name, c]) =>
          filters.every((f) => {
            const [k, v = ''] = f.split('=');
            if (k === 'name') return name.includes(v);
            if (k === 'health')
              return (
                (c.service !== 'atmosphere' ? 'none' : ready(c, now) ? 'healthy' : 'starting') === v
              );
            return true;
          }),
        )
        .sort(([a], [b]) => a.localeCompare(b));
      if (format) {
        for (const [name, c] of rows)
          out(format.replace(/\{\{\.Names\}\}/g, name).replace(/\{\{\.Image\}\}/g, c.image));
        return;
      }
      out('CONTAINER ID   IMAGE                           STATUS                    NAMES');
      for (const [name, c] of rows) {
        const health =
          c.service === 'atmosphere' ? (ready(c, now) ? ' (healthy)' : ' (health: starting)') : '';
        out(
          `${hexId(name, 12)}   ${c.image.padEnd(31)} Up ${Math.round((now - c.startedAt) / 1000)}s${health}   ${name}`,
        );
      }
      return;
    }
    case 'images': {
      out('REPOSITORY                        TAG       IMAGE ID');
      for (const i of load().images) {
        const [repo, tag = 'latest'] = i.split(':');
        out(`${repo!.padEnd(33)} ${tag.padEnd(9)} ${hexId(i, 12)}`);
      }
      return;
    }
    case 'image':
      if (rest[0] === 'prune') {
        out('Total reclaimed space: 0B');
        return;
      }
      return fail(`docker image ${rest[0]}: not simulated`);
    case 'manifest': {
      const image = positionals(rest).at(-1) ?? '';
      if (!published(image)) fail(`no such manifest: docker.io/${image}`);
      out(
        `{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"digest": "sha256:${hexId(image, 64)}"}}`,
      );
      return;
    }
    case 'build': {
      const tag = option(rest, '-t', '--tag');
      if (!tag) fail('docker build: give a tag with -t');
      if (!fs.existsSync('Dockerfile'))
        fail(
          'unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat Dockerfile: no such file or directory',
        );
      for (const step of [
        'FROM ubuntu:18.04',
        'RUN apt-get update && apt-get install -y …',
        'COPY . /opt/dev/',
        'RUN pip install -r requirements.txt',
      ]) {
        out(`Step: ${step}`);
        await sleep(simMs(2));
      }
      change((h) => {
        if (!h.images.includes(tag)) h.images.push(tag);
      });
      out(`Successfully tagged ${tag}`);
      return;
    }
    case 'push':
      out(`The push refers to repository [docker.io/${rest[0]?.split(':')[0]}]`);
      out(`${rest[0]?.split(':')[1]}: digest: sha256:${hexId(rest[0] ?? '', 64)} size: 4078`);
      return;
    default:
      fail(`docker: '${verb}' is not simulated`);
  }
}

interface Repo {
  branch: string;
  rev: string;
  /** Commits on the remote not pulled yet. */
  behind: string[];
}

const reposFile = (): string => stateFile('repos.json');

/** `git` in the checkouts: atmosphere-docker, its secrets, release clones. */
export function git(args: string[]): void {
  let dir = process.cwd();
  const a = [...args];
  while (a[0] === '-C') {
    dir = path.resolve(dir, a[1] ?? '.');
    a.splice(0, 2);
  }
  const [verb, ...rest] = a;
  const fresh = (): Repo => ({
    branch: path.basename(dir).includes('secrets') ? 'atmobeta' : 'master',
    rev: hexId(`${dir}-0`),
    behind: path.basename(dir).includes('secrets')
      ? []
      : [
          `${hexId(`${dir}-1`)} Bump nginx to 1.16`,
          `${hexId(`${dir}-2`)} Add celery beat healthcheck`,
        ],
  });
  const repos = read<Record<string, Repo>>(reposFile(), () => ({}));
  const repo = repos[dir] ?? fresh();
  const save = (fn: (r: Repo) => void): void => {
    update<Record<string, Repo>>(
      reposFile(),
      () => ({}),
      (all) => {
        const r = all[dir] ?? fresh();
        fn(r);
        all[dir] = r;
      },
    );
  };
  switch (verb) {
    case 'fetch':
      out(`From github.com:cyverse/${path.basename(dir)}`);
      return;
    case 'checkout': {
      const branch = positionals(rest)[0];
      if (!branch) fail('git checkout: which branch?');
      save((r) => (r.branch = branch));
      out(`Switched to branch '${branch}'`);
      out(`Your branch is up to date with 'origin/${branch}'.`);
      return;
    }
    case 'pull': {
      if (!repo.behind.length) {
        out('Already up to date.');
        return;
      }
      const head = repo.behind.at(-1)!.split(' ')[0]!;
      out(`Updating ${repo.rev}..${head}`);
      out('Fast-forward');
      out(' docker-compose.prod.yml | 4 ++--');
      save((r) => {
        r.rev = head;
        r.behind = [];
      });
      return;
    }
    case 'reset':
      out(`HEAD is now at ${repo.rev} Release ${OLD_TAG}`);
      return;
    case 'status':
      if (rest.includes('--short')) out(' M docker-compose.prod.yml');
      else out(`On branch ${repo.branch}`);
      return;
    case 'log':
      for (const line of [...repo.behind].reverse()) out(line);
      return;
    case 'rev-parse':
      out(rest.includes('--abbrev-ref') ? repo.branch : repo.rev);
      return;
    case 'clone': {
      const branch = option(rest, '--branch', '-b') ?? 'master';
      const [url, target] = positionals(rest, ['--depth', '--branch', '-b']);
      const into = path.resolve(target ?? path.basename(url ?? 'repo', '.git'));
      out(`Cloning into '${target ?? path.basename(into)}'...`);
      fs.mkdirSync(into, {recursive: true});
      fs.writeFileSync(path.join(into, 'Dockerfile'), `FROM ubuntu:18.04\n# ${url} at ${branch}\n`);
      out(`Note: switching to '${hexId(`${url}-${branch}`)}'.`);
      return;
    }
    default:
      fail(`git: '${verb}' is not simulated`);
  }
}

/** `systemctl restart nginx|postgresql` and friends. */
export async function systemctl(args: string[]): Promise<void> {
  const [verb, unit] = positionals(args);
  if (!verb || !unit) fail('systemctl: give a verb and a unit');
  if (unit.startsWith('nginx')) {
    if (verb === 'restart' || verb === 'reload' || verb === 'start') {
      const conf = path.join(
        process.env['HOME'] ?? '',
        'etc',
        'nginx',
        'sites-enabled',
        'proxy.conf',
      );
      let text = '';
      try {
        text = fs.readFileSync(conf, 'utf8');
      } catch {
        fail(
          `Job for nginx.service failed because the control process exited with error code.\nnginx: [emerg] open() "${conf}" failed (2: No such file or directory)`,
        );
      }
      await sleep(simMs(1));
      change((h) => (h.nginx = /maintenance/i.test(text) ? 'maintenance' : 'proxy'));
      return;
    }
    if (verb === 'is-active' || verb === 'status') {
      out('active');
      return;
    }
  }
  if (unit.startsWith('postgresql')) {
    await sleep(simMs(2));
    if (verb === 'status')
      out('● postgresql.service - PostgreSQL RDBMS\n   Active: active (exited)');
    return;
  }
  fail(`Failed to ${verb} ${unit}: Unit ${unit} not found.`);
}

/** `apt-get update|upgrade|install` without touching this machine. */
export async function aptGet(args: string[]): Promise<void> {
  const verb = positionals(args)[0];
  if (verb === 'update') {
    out('Hit:1 http://archive.ubuntu.com/ubuntu bionic InRelease');
    out('Get:2 http://security.ubuntu.com/ubuntu bionic-security InRelease [88.7 kB]');
    out('Reading package lists... Done');
  } else if (verb === 'upgrade' || verb === 'dist-upgrade' || verb === 'install') {
    out('Reading package lists... Done');
    out('Building dependency tree');
    await sleep(simMs(5));
    out('3 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.');
  } else fail(`E: Invalid operation ${verb}`, 100);
}

/** `crontab -l` and `crontab -` (or a file). */
export function crontab(args: string[]): void {
  if (args.includes('-l')) {
    process.stdout.write(load().crontab);
    return;
  }
  const source = positionals(args)[0] ?? '-';
  const text = source === '-' ? readStdin() : fs.readFileSync(source, 'utf8');
  change((h) => (h.crontab = text));
}

/** The public site goes through the proxy; `localhost` is the app on this host. */
function serve(url: URL): HttpAnswer {
  const here = simHost();
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  const appHost = local ? here : url.hostname.includes('beta') ? 'beta' : 'atmo';
  if (!local && !url.hostname.includes('beta')) {
    const proxy = load('proxy');
    if (proxy.nginx === 'maintenance')
      return {
        status: 503,
        body: '<html><body><h1>Atmosphere is down for a Scheduled Maintenance</h1></body></html>\n',
      };
  }
  const h = load(appHost);
  if (appHost === 'proxy') return 'refused';
  const tropo = h.containers[`${PROJECT}_troposphere_1`];
  if (!tropo || tropo.state !== 'running')
    return local ? 'refused' : {status: 502, body: '502 Bad Gateway\n'};
  const atmo = h.upstream ? h.containers[h.upstream] : undefined;
  if (!atmo || atmo.state !== 'running')
    return {status: 502, body: '<html><head><title>502 Bad Gateway</title></head></html>\n'};
  if (!ready(atmo)) return {status: 503, body: 'Atmosphere is starting\n'};
  // CREWCHIEF_SIM_FAULTS=release-broken[:HOST]: a released image (cyverse/*) answers 500 there.
  const broken = fault('release-broken');
  if (broken && appHost === (broken.arg ?? 'atmo') && /^cyverse\//.test(atmo.image))
    return {status: 500, body: 'Internal Server Error\n'};
  const inMaintenance = Object.values(h.maintenance).some(Boolean);
  if (url.pathname.startsWith('/api/v2/maintenance_records'))
    return {
      status: 200,
      body: `{"in_maintenance": ${inMaintenance}, "title": ${JSON.stringify(Object.values(h.maintenance).find(Boolean) || '')}}\n`,
    };
  return {
    status: 200,
    body: `<html><head><title>Atmosphere ${tagOf(atmo.image)}</title></head><body>troposphere ${tagOf(tropo.image)}${inMaintenance ? ' — maintenance banner shown' : ''}</body></html>\n`,
  };
}

export const curl = curlProgram(({url}) => serve(url));
export const sudo = (args: string[]): void => runSudo(args);
