/**
 * The simulated POWO clusters on GKE, one state file per cluster: node pools and nodes,
 * builder-managed releases (a namespace with portal, solr and db pods), the builder helm
 * release and its cron job, and the DNS name the builder swaps. Pods are scheduled onto
 * Ready, uncordoned nodes with room for their CPU request; a rebuild creates a new release,
 * swaps DNS once it runs, and (deleteExisting) deletes the old one.
 *
 * Faults: `small-nodes` makes new pools' nodes too small for every pod (one stays Pending
 * until the pool grows).
 */
import fs from 'node:fs';
import path from 'node:path';
import {fail, out, simMs, sleep} from '../state.js';
import {fault, hexId, option, positionals, read, stateFile, update} from '../common/host.js';

interface Node {
  name: string;
  pool: string;
  cpu: number;
  readyAt: number;
  cordoned: boolean;
}

interface Pod {
  ns: string;
  name: string;
  cpu: number;
  createdAt: number;
  node?: string;
  runningAt?: number;
  completed?: boolean;
}

interface Release {
  ns: string;
  ip: string;
  createdAt: number;
  deleteExisting: boolean;
  liveAt?: number;
}

interface Cluster {
  name: string;
  env: string;
  nodes: Node[];
  pods: Pod[];
  releases: Release[];
  /** The IP the public name resolves to. */
  dns: string;
  helm: {revision: number; tag: string; deleteExisting: boolean; updated: number};
  jobs: string[];
  /** When the nightly rebuild would start on its own (a cordoned pool waiting for it). */
  scheduledAt?: number;
}

const K8S_VERSION = 'v1.27.8-gke.1067000';

const contextFile = (): string => stateFile('kubeconfig.json');
const clusterFile = (name: string): string => stateFile('clusters', `${name}.json`);

/** The release a rebuild brings up: pods and their CPU requests (millicores). */
const RELEASE_PODS: [string, number][] = [
  ['portal', 300],
  ['portal', 300],
  ['solr', 800],
  ['db', 500],
];

function releasePods(ns: string, now: number): Pod[] {
  const pods: Pod[] = RELEASE_PODS.map(([name, cpu], i) => ({
    ns,
    name: `${name}-${hexId(`${ns}-${name}`, 10)}-${hexId(`${ns}-${i}`, 5)}`,
    cpu,
    createdAt: now,
  }));
  pods.push({ns, name: `harvest-${hexId(ns, 5)}`, cpu: 0, createdAt: now, completed: true});
  return pods;
}

function initial(name: string): Cluster {
  const now = Date.now();
  const env = name.replace(/^powo-/, '');
  const nodes = [0, 1].map((i) => ({
    name: `gke-${name}-default-pool-${hexId(`${name}-d${i}`, 8)}-${hexId(`${name}-n${i}`, 4)}`,
    pool: 'default-pool',
    cpu: 1930,
    readyAt: now - 86_400_000 * 200,
    cordoned: false,
  }));
  const ns = `${env}-${hexId(`${name}-release-0`, 5)}`;
  const pods = releasePods(ns, now - 86_400_000).map((p, i) => ({
    ...p,
    node: nodes[i % 2]!.name,
    runningAt: now - 86_300_000,
  }));
  pods.push(
    ...nodes.map((n, i) => ({
      ns: 'kube-system',
      name: `kube-proxy-${hexId(`${n.name}-proxy`, 5)}`,
      cpu: 100,
      createdAt: now - 86_400_000,
      node: n.name,
      runningAt: now - 86_400_000 + i,
    })),
  );
  const ip = ipFor(ns);
  return {
    name,
    env,
    nodes,
    pods,
    releases: [
      {
        ns,
        ip,
        createdAt: now - 86_400_000,
        deleteExisting: env === 'prod',
        liveAt: now - 86_000_000,
      },
    ],
    dns: ip,
    helm: {
      revision: 6,
      tag: '1.3.0',
      deleteExisting: env === 'prod',
      updated: now - 86_400_000 * 30,
    },
    jobs: [],
  };
}

const ipFor = (ns: string): string => `203.0.113.${(parseInt(hexId(ns, 4), 16) % 200) + 20}`;

/** Brings the cluster up to now: nodes become Ready, pods get scheduled and run, releases go live. */
function reconcile(c: Cluster, now = Date.now()): void {
  if (c.scheduledAt !== undefined && now >= c.scheduledAt) {
    delete c.scheduledAt;
    startRelease(c, `builder-${c.env}-${hexId(String(now), 8)}`, now);
  }
  const used = (node: string): number =>
    c.pods.filter((p) => p.node === node && !p.completed).reduce((s, p) => s + p.cpu, 0);
  for (const pod of c.pods) {
    if (pod.node || pod.completed) continue;
    const node = c.nodes.find(
      (n) => !n.cordoned && n.readyAt <= now && n.cpu - used(n.name) >= pod.cpu,
    );
    if (!node) continue;
    pod.node = node.name;
    pod.runningAt =
      now + simMs(pod.ns === 'kube-system' ? 5 : 15 + (parseInt(hexId(pod.name, 2), 16) % 25));
  }
  for (const release of c.releases) {
    if (release.liveAt !== undefined) continue;
    const pods = c.pods.filter((p) => p.ns === release.ns && !p.completed);
    if (!pods.length || pods.some((p) => p.runningAt === undefined || p.runningAt > now)) continue;
    const loaded = Math.max(...pods.map((p) => p.runningAt!)) + simMs(30);
    if (now < loaded) continue;
    release.liveAt = now;
    c.dns = release.ip;
    if (release.deleteExisting) {
      const old = c.releases.filter((r) => r.ns !== release.ns).map((r) => r.ns);
      c.releases = c.releases.filter((r) => !old.includes(r.ns));
      c.pods = c.pods.filter((p) => !old.includes(p.ns));
    }
  }
}

function startRelease(c: Cluster, job: string, now: number): string {
  const ns = `${c.env}-${hexId(`${c.name}-${job}`, 5)}`;
  c.jobs.push(job);
  c.releases.push({ns, ip: ipFor(ns), createdAt: now, deleteExisting: c.helm.deleteExisting});
  c.pods.push(...releasePods(ns, now));
  return ns;
}

function currentCluster(): string {
  const ctx = read<{current?: string}>(contextFile(), () => ({}));
  if (!ctx.current)
    fail(
      'The connection to the server localhost:8080 was refused - did you specify the right host or port?\n(run gcloud container clusters get-credentials first)',
    );
  return ctx.current;
}

/** Reads and reconciles the current cluster, applies `fn`, saves. */
function withCluster<T>(fn: (c: Cluster) => T, name = currentCluster()): T {
  let result!: T;
  update(
    clusterFile(name),
    () => initial(name),
    (c) => {
      reconcile(c);
      result = fn(c);
    },
  );
  return result;
}

const age = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
};

function podStatus(p: Pod, now: number): string {
  if (p.completed) return 'Completed';
  if (!p.node) return 'Pending';
  if ((p.runningAt ?? 0) > now) return 'ContainerCreating';
  return 'Running';
}

const selector = (args: string[]): ((n: Node) => boolean) => {
  const l = option(args, '-l', '--selector');
  if (!l) return () => true;
  const [key, value] = l.split('=');
  return (n) => key === 'cloud.google.com/gke-nodepool' && n.pool === value;
};

const table = (rows: string[][], headers: boolean): void => {
  const shown = headers ? rows : rows.slice(1);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)) + 3);
  for (const r of shown)
    out(r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join(''));
};

/** `kubectl …` against the current context. */
export function kubectl(args: string[]): void {
  const [verb, kind, ...rest] = args;
  const now = Date.now();
  const headers = !args.includes('--no-headers');
  if (verb === 'config' && kind === 'current-context') {
    const c = read<{current?: string; project?: string; zone?: string}>(contextFile(), () => ({}));
    if (!c.current) fail('error: current-context is not set');
    out(`gke_${c.project ?? 'powo-example'}_${c.zone ?? 'europe-west1-b'}_${c.current}`);
    return;
  }
  if (verb === 'get' && (kind === 'nodes' || kind === 'node' || kind === 'no')) {
    const nodes = withCluster((c) => c.nodes.filter(selector(args)));
    if (option(args, '-o') === 'name') {
      for (const n of nodes) out(`node/${n.name}`);
      return;
    }
    table(
      [
        ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
        ...nodes.map((n) => [
          n.name,
          `${n.readyAt <= now ? 'Ready' : 'NotReady'}${n.cordoned ? ',SchedulingDisabled' : ''}`,
          '<none>',
          age(now - n.readyAt),
          K8S_VERSION,
        ]),
      ],
      headers,
    );
    return;
  }
  if (verb === 'cordon' || verb === 'uncordon') {
    const names = [kind, ...rest].filter(
      (a): a is string => !!a && !a.startsWith('-') && a !== option(args, '-l'),
    );
    const done = withCluster((c) => {
      const match = selector(args);
      const hit = c.nodes.filter((n) => (option(args, '-l') ? match(n) : names.includes(n.name)));
      for (const n of hit) n.cordoned = verb === 'cordon';
      // the nightly rebuild finds the cordoned pool a while later
      if (verb === 'cordon' && hit.length) c.scheduledAt ??= now + simMs(180);
      return hit.map((n) => n.name);
    });
    if (!done.length) fail(`Error from server (NotFound): nodes "${names[0] ?? ''}" not found`);
    for (const n of done) out(`node/${n} ${verb}ed`);
    return;
  }
  if (verb === 'get' && (kind === 'pods' || kind === 'pod' || kind === 'po')) {
    const all = args.includes('--all-namespaces') || args.includes('-A');
    const ns = option(args, '-n', '--namespace') ?? 'default';
    const pods = withCluster((c) => c.pods.filter((p) => all || p.ns === ns));
    const wide = option(args, '-o') === 'wide';
    table(
      [
        [
          ...(all ? ['NAMESPACE'] : []),
          'NAME',
          'READY',
          'STATUS',
          'RESTARTS',
          'AGE',
          ...(wide ? ['IP', 'NODE'] : []),
        ],
        ...pods.map((p) => {
          const status = podStatus(p, now);
          return [
            ...(all ? [p.ns] : []),
            p.name,
            status === 'Running' ? '1/1' : '0/1',
            status,
            '0',
            age(now - p.createdAt),
            ...(wide
              ? [p.node ? `10.4.${p.name.length}.${p.cpu % 250}` : '<none>', p.node ?? '<none>']
              : []),
          ];
        }),
      ],
      headers,
    );
    return;
  }
  if (verb === 'describe' && (kind === 'pod' || kind === 'pods')) {
    const ns = option(rest, '-n', '--namespace') ?? 'default';
    const name = positionals(rest, ['-n'])[0];
    const {pod, cluster} = withCluster((c) => ({
      pod: c.pods.find((p) => p.ns === ns && p.name === name),
      cluster: c,
    }));
    if (!pod) fail(`Error from server (NotFound): pods "${name}" not found`);
    const status = podStatus(pod, now);
    out(
      `Name:         ${pod.name}\nNamespace:    ${pod.ns}\nNode:         ${pod.node ?? '<none>'}\nStatus:       ${status === 'ContainerCreating' ? 'Pending' : status}`,
    );
    out(`Containers:\n  ${pod.name.split('-')[0]}:\n    Requests:\n      cpu:  ${pod.cpu}m`);
    out(
      'Events:\n  Type     Reason            Age   From               Message\n  ----     ------            ----  ----               -------',
    );
    if (!pod.node) {
      const ready = cluster.nodes.filter((n) => n.readyAt <= now);
      const cordoned = ready.filter((n) => n.cordoned).length;
      out(
        `  Warning  FailedScheduling  ${age(now - pod.createdAt)}   default-scheduler  0/${ready.length} nodes are available: ${ready.length - cordoned} Insufficient cpu, ${cordoned} node(s) were unschedulable.`,
      );
    } else
      out(
        `  Normal   Scheduled         ${age(now - pod.createdAt)}   default-scheduler  Successfully assigned ${pod.ns}/${pod.name} to ${pod.node}`,
      );
    return;
  }
  if (verb === 'logs') {
    const ns = option(args, '-n', '--namespace') ?? 'default';
    const name = positionals([kind ?? '', ...rest], ['-n'])[0];
    const pod = withCluster((c) => c.pods.find((p) => p.ns === ns && p.name === name));
    if (!pod) fail(`Error from server (NotFound): pods "${name}" not found`);
    if (!pod.node || (pod.runningAt ?? 0) > now)
      fail(
        `Error from server (BadRequest): container "${pod.name.split('-')[0]}" in pod "${pod.name}" is waiting to start: ${pod.node ? 'ContainerCreating' : 'PodInitializing'}`,
      );
    out(`${new Date(pod.runningAt!).toISOString()} INFO  Starting ${pod.name.split('-')[0]}`);
    out(`${new Date(pod.runningAt! + 2000).toISOString()} INFO  Started in 2.1 seconds`);
    return;
  }
  if (verb === 'get' && (kind === 'services' || kind === 'svc')) {
    const releases = withCluster((c) => c.releases);
    table(
      [
        ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
        ['default', 'kubernetes', 'ClusterIP', '10.7.240.1', '<none>', '443/TCP', '200d'],
        ...releases.flatMap((r) => [
          [
            r.ns,
            'portal',
            'LoadBalancer',
            `10.7.${r.ip.split('.')[3]}.10`,
            r.ip,
            '80:31380/TCP',
            age(now - r.createdAt),
          ],
          [
            r.ns,
            'solr',
            'ClusterIP',
            `10.7.${r.ip.split('.')[3]}.11`,
            '<none>',
            '8983/TCP',
            age(now - r.createdAt),
          ],
        ]),
      ],
      headers,
    );
    return;
  }
  if (verb === 'get' && (kind === 'namespaces' || kind === 'ns')) {
    const c = withCluster((c) => c);
    const names = [
      {ns: 'builder', createdAt: now - 86_400_000 * 200},
      {ns: 'default', createdAt: now - 86_400_000 * 200},
      {ns: 'kube-system', createdAt: now - 86_400_000 * 200},
      ...c.releases,
    ].sort((a, b) => a.createdAt - b.createdAt);
    if (option(args, '-o') === 'name') for (const n of names) out(`namespace/${n.ns}`);
    else
      table(
        [['NAME', 'STATUS', 'AGE'], ...names.map((n) => [n.ns, 'Active', age(now - n.createdAt)])],
        headers,
      );
    return;
  }
  if (verb === 'create' && kind === 'job') {
    const from = option(args, '--from') ?? '';
    const name = positionals(rest, ['-n', '--from'])[0];
    if (!name) fail('error: exactly one NAME is required');
    const ns = withCluster((c) => {
      if (from !== `cronjob/builder-${c.env}`)
        fail(`Error from server (NotFound): cronjobs.batch "${from.split('/')[1]}" not found`);
      if (c.jobs.includes(name))
        fail(`Error from server (AlreadyExists): jobs.batch "${name}" already exists`);
      delete c.scheduledAt;
      return startRelease(c, name, Date.now());
    });
    out(`job.batch/${name} created`);
    process.stderr.write(`(builder: installing release ${ns})\n`);
    return;
  }
  if (verb === 'get' && (kind === 'cronjobs' || kind === 'cronjob')) {
    const c = withCluster((c) => c);
    table(
      [
        ['NAME', 'SCHEDULE', 'SUSPEND', 'ACTIVE'],
        [`builder-${c.env}`, '0 2 * * *', 'False', '0'],
      ],
      headers,
    );
    return;
  }
  fail(`kubectl: '${args.join(' ')}' is not simulated`);
}

/** Simple `key: value` lines of the helm values files, the last file winning. */
function valuesOf(files: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const f of files) {
    let text = '';
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      fail(`Error: open ${f}: no such file or directory`);
    }
    for (const line of text.split('\n')) {
      const m = /^\s*([A-Za-z]+):\s*(\S+)\s*$/.exec(line);
      if (m) values[m[1]!] = m[2]!;
    }
  }
  return values;
}

/** `helm upgrade|status|history` for the builder release. */
export async function helm(args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  const files = rest.flatMap((a, i) =>
    rest[i - 1] === '-f' || rest[i - 1] === '--values' ? [a] : [],
  );
  const [release, chart] = positionals(rest, ['-f', '--values', '-n', '--namespace']);
  const env = release?.replace(/^builder-/, '');
  const now = Date.now();
  const ownCluster = (): string => {
    const name = currentCluster();
    if (!name.endsWith(`-${env}`))
      fail(`Error: UPGRADE FAILED: "${release}" has no deployed releases in cluster ${name}`);
    return name;
  };
  if (verb === 'upgrade') {
    if (!chart || !fs.existsSync(path.join(chart, 'Chart.yaml')))
      fail(`Error: path "${chart}" not found`);
    const values = valuesOf(files);
    await sleep(simMs(4));
    const h = withCluster((c) => {
      c.helm = {
        revision: c.helm.revision + 1,
        tag: values['tag'] ?? c.helm.tag,
        deleteExisting: (values['deleteExisting'] ?? String(c.helm.deleteExisting)) === 'true',
        updated: now,
      };
      return c.helm;
    }, ownCluster());
    out(`Release "${release}" has been upgraded. Happy Helming!`);
    out(
      `NAME: ${release}\nLAST DEPLOYED: ${new Date(now).toUTCString()}\nNAMESPACE: builder\nSTATUS: deployed\nREVISION: ${h.revision}`,
    );
    out(`builder image: powo-builder:${h.tag}; deleteExisting: ${h.deleteExisting}`);
    return;
  }
  if (verb === 'delete' || verb === 'uninstall') {
    const name = positionals(rest, ['-n', '--namespace'])[0];
    withCluster((c) => {
      if (!c.releases.some((r) => r.ns === name)) fail(`Error: release: "${name}" not found`);
      c.releases = c.releases.filter((r) => r.ns !== name);
      c.pods = c.pods.filter((p) => p.ns !== name);
    });
    out(`release "${name}" deleted`);
    return;
  }
  if (verb === 'status' || verb === 'history') {
    const h = withCluster((c) => c.helm, ownCluster());
    if (verb === 'status')
      out(
        `NAME: ${release}\nLAST DEPLOYED: ${new Date(h.updated).toUTCString()}\nNAMESPACE: builder\nSTATUS: deployed\nREVISION: ${h.revision}`,
      );
    else {
      out('REVISION  UPDATED                   STATUS      CHART                DESCRIPTION');
      out(
        `${h.revision}         ${new Date(h.updated).toISOString()}  deployed    powo-builder-${h.tag}  Upgrade complete`,
      );
    }
    return;
  }
  fail(`helm: '${verb}' is not simulated`);
}

/** `gcloud container clusters get-credentials|resize` and `gcloud container node-pools create|delete|list`. */
export async function gcloud(args: string[]): Promise<void> {
  const [group, kind, verb, name] = positionals(args, [
    '--zone',
    '--project',
    '--cluster',
    '--num-nodes',
    '--machine-type',
    '--disk-size',
    '--node-pool',
  ]);
  if (group !== 'container') fail(`ERROR: (gcloud) Invalid choice: '${group}'.`);
  const zone = option(args, '--zone') ?? 'europe-west1-b';
  if (kind === 'clusters' && verb === 'get-credentials') {
    if (!name)
      fail('ERROR: (gcloud.container.clusters.get-credentials) argument NAME: Must be specified.');
    update(
      contextFile(),
      () => ({}),
      (c: {current?: string; project?: string; zone?: string}) => {
        c.current = name;
        c.zone = zone;
        c.project = option(args, '--project') ?? 'powo-example';
      },
    );
    withCluster(() => undefined, name);
    out('Fetching cluster endpoint and auth data.');
    out(`kubeconfig entry generated for ${name}.`);
    return;
  }
  const cluster = option(args, '--cluster') ?? (kind === 'clusters' ? name : undefined);
  if (!cluster) fail('ERROR: (gcloud.container) --cluster must be specified');
  if (kind === 'node-pools' && verb === 'create') {
    if (!name)
      fail('ERROR: (gcloud.container.node-pools.create) argument NAME: Must be specified.');
    const count = Number(option(args, '--num-nodes') ?? 3);
    const small = !!fault('small-nodes');
    await sleep(simMs(5));
    withCluster((c) => {
      if (c.nodes.some((n) => n.pool === name))
        fail(
          `ERROR: (gcloud.container.node-pools.create) ResponseError: code=409, message=Already exists: projects/powo-example/zones/${zone}/clusters/${cluster}/nodePools/${name}.`,
        );
      for (let i = 0; i < count; i++) {
        c.nodes.push({
          name: `gke-${cluster}-${name}-${hexId(`${cluster}-${name}`, 8)}-${hexId(`${name}-${i}`, 4)}`,
          pool: name,
          cpu: small ? 940 : 1930,
          readyAt: Date.now() + simMs(40 + i * 5),
          cordoned: false,
        });
      }
    }, cluster);
    out(`Creating node pool ${name}...done.`);
    out(
      `Created [https://container.googleapis.com/v1/projects/powo-example/zones/${zone}/clusters/${cluster}/nodePools/${name}].`,
    );
    out(
      `NAME         MACHINE_TYPE     DISK_SIZE_GB  NODE_VERSION\n${name.padEnd(12)} ${(option(args, '--machine-type') ?? 'e2-medium').padEnd(16)} ${(option(args, '--disk-size') ?? '100').padEnd(13)} 1.27.8-gke.1067000`,
    );
    return;
  }
  if (kind === 'node-pools' && verb === 'delete') {
    await sleep(simMs(10));
    withCluster((c) => {
      const gone = c.nodes.filter((n) => n.pool === name).map((n) => n.name);
      if (!gone.length)
        fail(
          `ERROR: (gcloud.container.node-pools.delete) ResponseError: code=404, message=Not found: nodePools/${name}.`,
        );
      c.nodes = c.nodes.filter((n) => n.pool !== name);
      for (const p of c.pods) {
        if (p.node && gone.includes(p.node)) {
          delete p.node;
          delete p.runningAt;
        }
      }
    }, cluster);
    out(`Deleting node pool ${name}...done.`);
    out(
      `Deleted [https://container.googleapis.com/v1/projects/powo-example/zones/${zone}/clusters/${cluster}/nodePools/${name}].`,
    );
    return;
  }
  if (kind === 'node-pools' && verb === 'list') {
    const c = withCluster((c) => c, cluster);
    out('NAME          MACHINE_TYPE  DISK_SIZE_GB  NODE_VERSION');
    for (const pool of [...new Set(c.nodes.map((n) => n.pool))])
      out(`${pool.padEnd(13)} e2-standard-2 50            1.27.8-gke.1067000`);
    return;
  }
  if (kind === 'clusters' && verb === 'resize') {
    const pool = option(args, '--node-pool');
    const count = Number(option(args, '--num-nodes'));
    if (!pool || !Number.isInteger(count))
      fail('ERROR: (gcloud.container.clusters.resize) --node-pool and --num-nodes are required');
    await sleep(simMs(5));
    withCluster((c) => {
      const nodes = c.nodes.filter((n) => n.pool === pool);
      if (!nodes.length) fail(`ERROR: node pool ${pool} not found`);
      for (let i = nodes.length; i < count; i++) {
        c.nodes.push({
          name: `gke-${cluster}-${pool}-${hexId(`${cluster}-${pool}`, 8)}-${hexId(`${pool}-${i}`, 4)}`,
          pool,
          cpu: 1930,
          readyAt: Date.now() + simMs(40),
          cordoned: false,
        });
      }
    }, cluster);
    out(`Resizing ${cluster}...done.`);
    out(
      `Updated [https://container.googleapis.com/v1/projects/powo-example/zones/${zone}/clusters/${cluster}].`,
    );
    return;
  }
  fail(`gcloud: 'container ${kind} ${verb}' is not simulated`);
}

/** `mvn deploy` in the powo-builder checkout: builds and pushes the builder image. */
export async function mvn(args: string[]): Promise<void> {
  if (!args.includes('deploy')) fail(`mvn: only deploy is simulated`);
  let pom = '';
  try {
    pom = fs.readFileSync('pom.xml', 'utf8');
  } catch {
    fail(
      '[ERROR] The goal you specified requires a project to execute but there is no POM in this directory. BUILD FAILURE',
    );
  }
  const version = /<version>([^<]+)<\/version>/.exec(pom)?.[1] ?? '0.0.0';
  out('[INFO] Scanning for projects...');
  out(`[INFO] Building powo-builder ${version}`);
  await sleep(simMs(8));
  out(`[INFO] Pushing eu.gcr.io/powo-example/powo-builder:${version}`);
  out(`[INFO] ${version}: digest: sha256:${hexId(version, 64)} size: 2419`);
  out('[INFO] BUILD SUCCESS');
}

/** `dig [+short] NAME`: the public name points at the live release of the current cluster. */
export function dig(args: string[]): void {
  const name = positionals(args).find((a) => !a.startsWith('+'));
  if (!name) fail('dig: give a name');
  const ip = withCluster((c) => c.dns);
  if (args.includes('+short')) {
    out('powo-live.example.org.');
    out(ip);
    return;
  }
  out(
    `; <<>> DiG 9.18.24 <<>> ${name}\n;; global options: +cmd\n;; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4021\n`,
  );
  out(';; ANSWER SECTION:');
  out(`${name}.   299     IN      CNAME   powo-live.example.org.`);
  out(`powo-live.example.org. 299 IN      A       ${ip}`);
}
