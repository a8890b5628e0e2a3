import {quietOnClosedPipe} from '../common/host.js';
import type {Program, SimSite} from '../programs.js';
import {
  aws,
  curl,
  docker,
  etcdctl,
  fleetctl,
  git,
  resinctl,
  sshAdd,
  sudo,
  systemctl,
} from './site.js';

const programs: Record<string, Program> = {
  aws,
  resinctl,
  curl,
  'ssh-add': sshAdd,
  fleetctl,
  etcdctl,
  systemctl,
  sudo,
  git,
  docker,
};

/** Runs each program with a fault set, as if CREWCHIEF_SIM_FAULTS named it. */
const withFault = (name: string, all: Record<string, Program>): Record<string, Program> =>
  Object.fromEntries(
    Object.entries(all).map(([program, run]) => [
      program,
      (args: string[]) => {
        const faults = process.env['CREWCHIEF_SIM_FAULTS'];
        process.env['CREWCHIEF_SIM_FAULTS'] = faults ? `${faults},${name}` : name;
        return run(args);
      },
    ]),
  );

const files: SimSite['files'] = {
  'resin-containers/cloud_formation/VPC.template': {
    text: '{\n  "Parameters": {\n    "CoreOSAmi": {"Type": "String"},\n    "DiscoveryURL": {"Type": "String"}\n  },\n  "Mappings": {"CoreOS": {"us-east-1": {"CoreOSAmi": "ami-0a1b2c3d"}}}\n}\n',
  },
  'resin-containers/cloudformation/systemd/services/manager@.service': {
    text: '[Service]\nExecStart=/usr/bin/docker run resin/resin-manager\n',
  },
  'proxy-root/.keep': {text: ''},
  'var/lib/etcd2/member/.keep': {text: ''},
};

/** resin.io: AWS, resinctl, the admin API and the CoreOS instances. */
export const resin: SimSite = {programs: quietOnClosedPipe(programs), files};

/** The same, with etcd broken (the cluster lost its leader): the recovery runbook's world. */
export const resinEtcd: SimSite = {
  programs: quietOnClosedPipe(withFault('etcd-broken', programs)),
  files,
};
