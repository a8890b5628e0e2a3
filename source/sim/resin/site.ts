/**
 * The simulated resin.io: AWS (auto-scaling groups behind load balancers, a CloudFormation
 * stack, EC2 volumes and instances), resinctl builds and deploys, the admin API's online
 * device count (a proxy or vpn deploy knocks devices off, they reconnect over minutes),
 * Jenkins, the etcd discovery service, and the CoreOS instances: fleet units and machines,
 * etcd membership, the proxy's ssh-agent, resin-git.
 *
 * Faults: `devices-stay-offline` (after a proxy or vpn deploy 15% of the devices never come
 * back); `etcd-broken` (the cluster has lost its leader: nothing is healthy, fleet lists no
 * machines, until the recovery).
 */
import fs from 'node:fs';
import path from 'node:path';
import {fail, out, simHost, simMs, sleep, spread} from '../state.js';
import {
  fault,
  hexId,
  option,
  positionals,
  read,
  runAndExit,
  stateFile,
  update,
} from '../common/host.js';
import {curlProgram, type HttpAnswer} from '../common/probes.js';

interface Instance {
  id: string;
  launchedAt: number;
  terminatedAt?: number;
}

interface Dip {
  at: number;
  fraction: number;
  recover: number;
}

interface Etcd {
  running: boolean;
  /** The discovery URL of the cluster whose member data is on disk (none: wiped). */
  data?: string;
}

interface World {
  groups: Record<string, {desired: number; instances: Instance[]}>;
  stack: {status: string; updatedAt: number; params: Record<string, string>; applied: boolean};
  volumes: Record<string, {state: 'in-use' | 'detaching' | 'available'; detachRequested?: boolean}>;
  instances: Record<string, 'running' | 'stopping' | 'stopped'>;
  devices: {base: number; dips: Dip[]};
  jenkins: {queuedAt?: number};
  units: Record<string, 'inactive' | 'launched'>;
  etcd: Record<string, Etcd>;
  /** The cluster etcd members join, from the stack's DiscoveryURL. */
  discovery: string;
  agentKeys: string[];
  gitService: 'active' | 'activating';
  builds: string[];
}

const worldFile = (): string => stateFile('resin.json');
const MEMBERS = ['manager', 'git', 'vpn', 'proxy'];

function initialWorld(): World {
  const now = Date.now();
  const discovery = `https://discovery.etcd.io/${hexId('discovery-0', 32)}`;
  const broken = !!fault('etcd-broken');
  return {
    groups: {},
    stack: {
      status: 'UPDATE_COMPLETE',
      updatedAt: now - 86_400_000 * 40,
      params: {DiscoveryURL: discovery},
      applied: true,
    },
    volumes: {},
    instances: {},
    devices: {base: Math.round(spread('devices', 12000, 14000)), dips: []},
    jenkins: {},
    units: broken
      ? {}
      : {
          'manager@production.service': 'launched',
          'manager@master.service': 'launched',
          'add_ssh_keys.service': 'launched',
        },
    etcd: {},
    discovery: broken ? `https://discovery.etcd.io/${hexId('lost-leader', 32)}` : discovery,
    agentKeys: [],
    gitService: 'active',
    builds: [],
  };
}

const load = (): World => {
  const w = read(worldFile(), initialWorld);
  settle(w);
  return w;
};
const change = <T>(fn: (w: World) => T): T => {
  let result!: T;
  update(worldFile(), initialWorld, (w) => {
    settle(w);
    result = fn(w);
  });
  return result;
};

/** Whether an instance's etcd is a member of the current cluster. */
function etcdOf(w: World, host: string): Etcd {
  return (
    w.etcd[host] ?? {
      running: true,
      data: fault('etcd-broken')
        ? `https://discovery.etcd.io/${hexId('discovery-0', 32)}`
        : w.discovery,
    }
  );
}

const isMember = (w: World, host: string): boolean => {
  const e = etcdOf(w, host);
  return e.running && e.data === w.discovery;
};

/** Instances in the current etcd cluster: the CoreOS ones and every one seen since. */
const membersOf = (w: World): string[] =>
  [...new Set([...MEMBERS, ...Object.keys(w.etcd)])].filter((h) => isMember(w, h));

/** Time-driven changes: the stack update finishes and (re)creates the CoreOS instances. */
function settle(w: World, now = Date.now()): void {
  if (w.stack.status === 'UPDATE_IN_PROGRESS' && now - w.stack.updatedAt >= simMs(90)) {
    w.stack.status = 'UPDATE_COMPLETE';
  }
  if (w.stack.status === 'UPDATE_COMPLETE' && !w.stack.applied) {
    w.stack.applied = true;
    const discovery = w.stack.params['DiscoveryURL'];
    const recreated =
      w.stack.params['CoreOSAmi'] !== undefined && w.stack.params['recreate'] === 'yes';
    if (discovery && discovery !== w.discovery) {
      w.discovery = discovery;
      // cloud-config restarts etcd on the manager (a new manager when CoreOS changed)
      const manager = etcdOf(w, 'manager');
      w.etcd['manager'] =
        recreated || !manager.data
          ? {running: true, data: discovery}
          : {running: false, ...(manager.data ? {data: manager.data} : {})};
    }
    if (recreated) {
      // the vpn instance is recreated too: every device drops and reconnects
      w.devices.dips.push({at: now, fraction: 0.95, recover: simMs(120)});
      for (const host of ['git', 'vpn']) w.etcd[host] = {running: true, data: w.discovery};
      w.units = {};
      w.instances = Object.fromEntries(
        Object.keys(w.instances).map((i) => [i, 'running' as const]),
      );
      for (const v of Object.values(w.volumes)) v.state = 'in-use';
      delete w.stack.params['recreate'];
    }
  }
  for (const [id, v] of Object.entries(w.volumes)) {
    if (v.detachRequested && w.instances[id.replace(/^vol-/, 'i-')] === 'stopped') {
      v.state = 'available';
      delete v.detachRequested;
    }
  }
  for (const [id, state] of Object.entries(w.instances)) {
    if (state === 'stopping') w.instances[id] = 'stopped';
  }
}

function group(w: World, name: string): {desired: number; instances: Instance[]} {
  const now = Date.now();
  let g = w.groups[name];
  if (!g) {
    const desired = Math.round(spread(name, 2, 4));
    g = {
      desired,
      instances: Array.from({length: desired}, (_, i) => ({
        id: `i-${hexId(`${name}-${i}`, 17)}`,
        launchedAt: now - 86_400_000 * (10 + i),
      })),
    };
    w.groups[name] = g;
  }
  return g;
}

const liveInstances = (g: {instances: Instance[]}): Instance[] =>
  g.instances.filter((i) => i.terminatedAt === undefined);
const inService = (i: Instance, now = Date.now()): boolean =>
  i.terminatedAt === undefined && now - i.launchedAt >= simMs(60);

/** Online devices now: the base, less what recent deploys knocked off and has not come back. */
function onlineDevices(w: World, now = Date.now()): number {
  const stuck = !!fault('devices-stay-offline');
  let lost = 0;
  for (const d of w.devices.dips) {
    if (now < d.at) continue;
    const left = d.fraction * Math.max(0, 1 - (now - d.at) / d.recover);
    lost += stuck ? Math.max(left, Math.min(d.fraction, 0.15)) : left;
  }
  const wobble = Math.round(spread(String(Math.floor(now / 5000)), -8, 8));
  return Math.max(0, Math.round(w.devices.base * (1 - Math.min(lost, 1))) + wobble);
}

/** `aws autoscaling|elb|cloudformation|ec2 …`. */
export async function aws(args: string[]): Promise<void> {
  const [service, verb] = positionals(args, [
    '--auto-scaling-group-names',
    '--auto-scaling-group-name',
    '--desired-capacity',
    '--load-balancer-name',
    '--query',
    '--output',
    '--stack-name',
    '--template-body',
    '--parameters',
    '--volume-id',
    '--volume-ids',
    '--instance-ids',
    '--key-names',
    '--region',
  ]);
  const query = option(args, '--query') ?? '';
  const text = option(args, '--output') === 'text';
  const now = Date.now();
  if (service === 'autoscaling' && verb === 'describe-auto-scaling-groups') {
    const names = option(args, '--auto-scaling-group-names');
    const w = change((w) => {
      if (names) group(w, names);
      return w;
    });
    const groups = names ? [[names, w.groups[names]!] as const] : Object.entries(w.groups);
    if (/DesiredCapacity/.test(query) && names) {
      out(String(groups[0]![1].desired));
      return;
    }
    if (/AutoScalingGroupName,DesiredCapacity/.test(query)) {
      for (const [name, g] of groups)
        out(text ? `${name}\t${g.desired}` : JSON.stringify([name, g.desired]));
      return;
    }
    out(
      JSON.stringify(
        {
          AutoScalingGroups: groups.map(([name, g]) => ({
            AutoScalingGroupName: name,
            DesiredCapacity: g.desired,
            Instances: liveInstances(g).map((i) => ({
              InstanceId: i.id,
              LifecycleState: inService(i) ? 'InService' : 'Pending',
            })),
          })),
        },
        null,
        2,
      ),
    );
    return;
  }
  if (service === 'autoscaling' && verb === 'set-desired-capacity') {
    const name = option(args, '--auto-scaling-group-name');
    const desired = Number(option(args, '--desired-capacity'));
    if (!name || !Number.isInteger(desired) || desired < 0)
      fail(
        'An error occurred (ValidationError): --auto-scaling-group-name and a whole --desired-capacity are required',
        255,
      );
    change((w) => {
      const g = group(w, name);
      const live = liveInstances(g);
      if (desired > live.length) {
        for (let i = live.length; i < desired; i++)
          g.instances.push({id: `i-${hexId(`${name}-${now}-${i}`, 17)}`, launchedAt: now});
      } else {
        // OldestInstance first, after connection draining
        for (const old of [...live]
          .sort((a, b) => a.launchedAt - b.launchedAt)
          .slice(0, live.length - desired))
          old.terminatedAt = now;
      }
      g.desired = desired;
    });
    return;
  }
  if (service === 'elb' && verb === 'describe-instance-health') {
    const name = option(args, '--load-balancer-name');
    if (!name) fail('aws: error: --load-balancer-name is required', 255);
    const g = change((w) => group(w, name));
    for (const i of liveInstances(g)) {
      const state = inService(i, now) ? 'InService' : 'OutOfService';
      const reason = state === 'InService' ? 'N/A' : 'Instance';
      if (text)
        out(
          `INSTANCESTATES\t${state === 'InService' ? 'N/A' : 'Instance is in pending state.'}\t${i.id}\t${reason}\t${state}`,
        );
      else out(JSON.stringify({InstanceId: i.id, State: state}));
    }
    return;
  }
  if (service === 'cloudformation' && verb === 'update-stack') {
    const stack = option(args, '--stack-name');
    const body = option(args, '--template-body');
    if (body?.startsWith('file://') && !fs.existsSync(body.slice(7)))
      fail(
        `Error parsing parameter '--template-body': Unable to load paramfile ${body}: [Errno 2] No such file or directory`,
        255,
      );
    const params: Record<string, string> = {};
    const start = args.indexOf('--parameters');
    for (const p of start >= 0 ? args.slice(start + 1) : []) {
      if (p.startsWith('--')) break;
      const key = /ParameterKey=([^,]+)/.exec(p)?.[1];
      const value = /ParameterValue=([^,]+)/.exec(p)?.[1];
      if (key && value) params[key] = value;
    }
    const w = load();
    if (w.stack.status.endsWith('IN_PROGRESS'))
      fail(
        `An error occurred (ValidationError) when calling the UpdateStack operation: Stack:${stack} is in ${w.stack.status} state and can not be updated.`,
        255,
      );
    const changed = Object.entries(params).filter(([k, v]) => w.stack.params[k] !== v);
    if (!changed.length && !body)
      fail(
        'An error occurred (ValidationError) when calling the UpdateStack operation: No updates are to be performed.',
        255,
      );
    change((w) => {
      w.stack.status = 'UPDATE_IN_PROGRESS';
      w.stack.updatedAt = Date.now();
      w.stack.applied = false;
      Object.assign(w.stack.params, params);
      if (params['CoreOSAmi']) w.stack.params['recreate'] = 'yes';
    });
    out(
      JSON.stringify(
        {
          StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${stack}/${hexId(String(stack), 8)}-0000-0000-0000-000000000000`,
        },
        null,
        4,
      ),
    );
    return;
  }
  if (service === 'cloudformation' && verb === 'describe-stacks') {
    const w = change((w) => w);
    if (/StackStatus/.test(query)) out(w.stack.status);
    else
      out(
        JSON.stringify(
          {Stacks: [{StackName: option(args, '--stack-name'), StackStatus: w.stack.status}]},
          null,
          2,
        ),
      );
    return;
  }
  if (service === 'ec2' && verb === 'describe-key-pairs') {
    const key = option(args, '--key-names') ?? '';
    out(
      text
        ? `KEYPAIRS\t${hexId(key, 47).replace(/(..)(?=.)/g, '$1:')}\t${key}`
        : JSON.stringify({KeyPairs: [{KeyName: key}]}),
    );
    return;
  }
  if (service === 'ec2' && verb === 'detach-volume') {
    const volume = option(args, '--volume-id') ?? '';
    const instance = volume.replace(/^vol-/, 'i-');
    change((w) => {
      w.volumes[volume] = {state: 'detaching', detachRequested: true};
      w.instances[instance] ??= 'running';
    });
    out(
      JSON.stringify(
        {VolumeId: volume, InstanceId: instance, State: 'detaching', Device: '/dev/xvdf'},
        null,
        4,
      ),
    );
    return;
  }
  if (service === 'ec2' && verb === 'stop-instances') {
    const instance = option(args, '--instance-ids') ?? '';
    change((w) => (w.instances[instance] = 'stopping'));
    out(
      JSON.stringify(
        {
          StoppingInstances: [
            {
              InstanceId: instance,
              CurrentState: {Name: 'stopping'},
              PreviousState: {Name: 'running'},
            },
          ],
        },
        null,
        4,
      ),
    );
    return;
  }
  if (service === 'ec2' && verb === 'describe-volumes') {
    const volume = option(args, '--volume-ids') ?? '';
    const w = change((w) => w);
    const state = w.volumes[volume]?.state ?? 'in-use';
    out(
      /State/.test(query) ? state : JSON.stringify({Volumes: [{VolumeId: volume, State: state}]}),
    );
    return;
  }
  fail(`aws: '${service} ${verb}' is not simulated`, 255);
}

/** `resinctl build|deploy|switch-branch COMPONENT ENV`. */
export async function resinctl(args: string[]): Promise<void> {
  const [verb, component, env, third] = positionals(args);
  if (!verb || !component)
    fail('usage: resinctl build|deploy|switch-branch COMPONENT [BRANCH] ENVIRONMENT');
  if (verb === 'build') {
    out(`Building resin/resin-${component}:${env} on Jenkins...`);
    await sleep(simMs(10));
    change((w) => w.builds.push(`${component}:${env}`));
    out(`Build of resin-${component}:${env} finished: SUCCESS`);
    return;
  }
  if (verb === 'deploy') {
    const w = load();
    if (
      (component === 'proxy' || component === 'vpn' || component === 'git') &&
      !w.builds.includes(`${component}:${env}`)
    )
      fail(`no ${env} build of ${component}: run resinctl build ${component} ${env} first`);
    out(`Deploying resin-${component} to ${env}...`);
    await sleep(simMs(4));
    change((w) => {
      if (component === 'proxy')
        w.devices.dips.push({
          at: Date.now(),
          fraction: spread(`proxy-${w.devices.dips.length}`, 0.05, 0.12),
          recover: simMs(90),
        });
      if (component === 'vpn')
        w.devices.dips.push({at: Date.now(), fraction: 0.95, recover: simMs(120)});
    });
    out(
      `resin-${component}@${env}.service restarted on ${component === 'proxy' || component === 'vpn' ? 1 : Math.round(spread(component, 2, 4))} instance(s)`,
    );
    return;
  }
  if (verb === 'switch-branch') {
    out(`Switching ${component} on ${third ?? 'staging'} to branch ${env}...`);
    await sleep(simMs(5));
    out('Done. Check that it worked.');
    return;
  }
  fail(`resinctl: unknown command ${verb}`);
}

function serve(request: {url: URL; headers: Record<string, string>; method: string}): HttpAnswer {
  const {url} = request;
  const now = Date.now();
  if (url.hostname === 'discovery.etcd.io' && url.pathname === '/new')
    return {status: 200, body: `https://discovery.etcd.io/${hexId(`discovery-${now}`, 32)}`};
  if (url.pathname.includes('top-level-numbers')) {
    if (!/^Bearer \S+/.test(request.headers['authorization'] ?? ''))
      return {status: 401, body: '{"error":"unauthorized"}\n'};
    const w = load();
    return {
      status: 200,
      body: `{"online_devices": ${onlineDevices(w, now)}, "devices": ${Math.round(w.devices.base * 1.9)}, "applications": 3121}\n`,
    };
  }
  if (url.pathname.includes('/job/resin-deploy/buildWithParameters') && request.method === 'POST') {
    change((w) => (w.jenkins.queuedAt = now));
    return {status: 201, body: ''};
  }
  if (url.pathname.includes('/job/resin-deploy/lastBuild/api/json')) {
    const queued = load().jenkins.queuedAt;
    const building = queued !== undefined && now - queued < simMs(40);
    return {
      status: 200,
      body: `{"building":${building},"result":${building ? 'null' : '"SUCCESS"'},"fullDisplayName":"resin-deploy #${Math.floor((queued ?? 0) / 1000) % 1000}"}\n`,
    };
  }
  return {status: 404, body: 'Not Found\n'};
}

export const curl = curlProgram(serve);

/** `ssh-add FILE` and `ssh-add -l` against the proxy's agent (SSH_AUTH_SOCK). */
export function sshAdd(args: string[]): void {
  if (!process.env['SSH_AUTH_SOCK'])
    fail('Could not open a connection to your authentication agent.', 2);
  if (args.includes('-l')) {
    const keys = load().agentKeys;
    if (!keys.length) fail('The agent has no identities.');
    for (const k of keys) out(`4096 SHA256:${hexId(k, 43)} ${k} (RSA)`);
    return;
  }
  const file = positionals(args)[0];
  if (!file) fail('usage: ssh-add FILE');
  let key = '';
  try {
    key = fs.readFileSync(file, 'utf8');
  } catch {
    fail(`${file}: No such file or directory`);
  }
  if (!/PRIVATE KEY-----/.test(key)) fail(`Error loading key "${file}": invalid format`);
  const name = path.basename(file);
  change((w) => {
    if (!w.agentKeys.includes(name)) w.agentKeys.push(name);
  });
  process.stderr.write(`Identity added: ${file} (${name})\n`);
}

/** `fleetctl submit|start|list-units|list-machines` on the cluster. */
export function fleetctl(args: string[]): void {
  const [verb, ...units] = positionals(args);
  const host = simHost();
  const w = load();
  if (!isMember(w, host))
    fail(
      'Error retrieving list of units from repository: googleapi: Error 503: fleet server unable to communicate with etcd',
    );
  const members = membersOf(w);
  switch (verb) {
    case 'submit':
      change((w) => {
        for (const u of units) if (u.endsWith('.service')) w.units[u] ??= 'inactive';
      });
      for (const u of units) out(`Unit ${u} inactive`);
      return;
    case 'start':
      change((w) => {
        for (const u of units) w.units[u] = 'launched';
      });
      for (const u of units)
        out(
          `Unit ${u} launched on ${hexId(`machine-${host}`, 8)}/10.0.${members.indexOf('manager') + 1}.${u.length}`,
        );
      return;
    case 'list-units':
      if (!args.includes('--no-legend')) out('UNIT\t\t\t\tMACHINE\t\t\t\tACTIVE\tSUB');
      for (const [u, state] of Object.entries(w.units))
        out(
          `${u}\t${hexId(`machine-manager`, 8)}/10.0.1.10\t${state === 'launched' ? 'active\trunning' : 'inactive\tdead'}`,
        );
      return;
    case 'list-machines':
      if (!args.includes('--no-legend')) out('MACHINE\t\tIP\t\tMETADATA');
      for (const m of members)
        out(
          `${hexId(`machine-${m}`, 8)}...\t10.0.${MEMBERS.indexOf(m) + 2}.${m.length * 7}\trole=${m}`,
        );
      return;
    default:
      fail(`fleetctl: unknown command ${verb}`);
  }
}

/** `etcdctl cluster-health`. */
export function etcdctl(args: string[]): void {
  if (args[0] !== 'cluster-health') fail(`etcdctl: '${args[0]}' is not simulated`);
  const w = load();
  const members = membersOf(w);
  if (!members.length) {
    out('cluster may be unhealthy: failed to list members');
    fail(
      'Error:  client: etcd cluster is unavailable or misconfigured; error #0: dial tcp 127.0.0.1:2379: getsockopt: connection refused',
    );
  }
  for (const m of members)
    out(
      `member ${hexId(`member-${m}`, 16)} is healthy: got healthy result from http://10.0.${MEMBERS.indexOf(m) + 2}.${m.length * 7}:2379`,
    );
  out('cluster is healthy');
}

/** `systemctl start|stop|restart|is-active UNIT…` for etcd2, load-etcd and resin-git. */
export async function systemctl(args: string[]): Promise<void> {
  const [verb, ...units] = positionals(args);
  const host = simHost();
  if (verb === 'is-active') {
    const w = load();
    for (const u of units)
      out(
        u.startsWith('resin-git')
          ? w.gitService
          : u.startsWith('etcd2')
            ? etcdOf(w, host).running
              ? 'active'
              : 'inactive'
            : 'active',
      );
    return;
  }
  let error: string | undefined;
  for (const unit of units) {
    if (unit.startsWith('etcd2')) {
      change((w) => {
        const e = etcdOf(w, host);
        if (verb === 'stop') w.etcd[host] = {...e, running: false};
        else if (e.data && e.data !== w.discovery) {
          w.etcd[host] = {...e, running: false};
          error = `Job for etcd2.service failed because the control process exited with error code.\netcdmain: member ${hexId(`member-${host}`, 16)} has already been bootstrapped (data from another cluster in the data dir)`;
        } else w.etcd[host] = {running: true, data: w.discovery};
      });
    } else if (unit.startsWith('resin-git')) {
      change((w) => (w.gitService = 'active'));
      await sleep(simMs(3));
    } else if (!unit.startsWith('load-etcd')) {
      fail(`Failed to ${verb} ${unit}: Unit ${unit} not found.`);
    }
  }
  if (error) fail(error);
}

/** `sudo …`: `rm -rf …etcd2…` also wipes this host's etcd member data; the rest runs as is. */
export function sudo(args: string[]): void {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i++;
  const [command, ...rest] = args.slice(i);
  if (!command) fail('usage: sudo command');
  if (command === 'rm' && rest.some((a) => a.includes('etcd2'))) {
    const host = simHost();
    change((w) => {
      const e = etcdOf(w, host);
      w.etcd[host] = {running: e.running};
    });
  }
  runAndExit(command, rest);
}

/** `git clone|checkout` of resin-containers and resin-ssh-keys on the manager. */
export function git(args: string[]): void {
  const [verb, url, into] = positionals(args);
  if (verb === 'checkout') {
    out(`Switched to branch '${url}'`);
    return;
  }
  if (verb !== 'clone' || !url) fail(`git: '${verb}' is not simulated`);
  const name = into ?? path.basename(url, '.git');
  const units =
    name === 'resin-ssh-keys'
      ? ['systemd/services/add_ssh_keys.service']
      : [
          'cloud_formation/systemd/services/manager@.service',
          'cloud_formation/systemd/services/api@.service',
          'cloud_formation/systemd/services/registry@.service',
          'cloudformation/systemd/services/manager@.service',
          'cloud_formation/VPC.template',
        ];
  out(`Cloning into '${name}'...`);
  for (const file of units) {
    const target = path.join(name, file);
    fs.mkdirSync(path.dirname(target), {recursive: true});
    fs.writeFileSync(
      target,
      file.endsWith('.template')
        ? '{"Parameters": {"CoreOSAmi": {"Default": "ami-0a1b2c3d"}}}\n'
        : '[Service]\nExecStart=/usr/bin/docker run resin/service\n',
    );
  }
}

/** `docker pull` on the git host. */
export async function docker(args: string[]): Promise<void> {
  const [verb, image] = positionals(args);
  if (verb !== 'pull' || !image) fail(`docker: '${verb}' is not simulated`);
  out(`${image.split(':')[1] ?? 'latest'}: Pulling from ${image.split(':')[0]}`);
  await sleep(simMs(5));
  out(`Digest: sha256:${hexId(image, 64)}`);
  out(`Status: Downloaded newer image for ${image}`);
}
