/**
 * resin.io on CloudFormation, CoreOS and fleet: the path to staging and production, the
 * manual rolling update (double an auto-scaling group, wait for "X of X instances in
 * service", shrink back), the proxy deploy (online devices noted before, watched back
 * near that number after), the vpn and git deploys with downtime, the CoreOS upgrade with
 * its EXTREME CAUTION steps; and, as a second site, the recovery of a broken etcd.
 * From shared/seeds/004. Flags: `staging` or `production`.
 *
 * `ops` is where aws, resinctl and the admin API are used from; `manager`, `git`, `vpn`
 * and `proxy` are the CoreOS instances.
 */
import {
  check,
  choice,
  command,
  gate,
  manual,
  notify,
  phase,
  site,
  watch,
  type Step,
} from '../source/runbook/vocabulary.js';

/** Online devices from the admin API's top-level numbers. */
const onlineDevices =
  'curl -fsS -H "Authorization: Bearer ${secret.ADMIN_TOKEN}" ${admin_numbers_url}';
const onlinePattern = '"online_devices":\\s*(\\d+)';

const noteDevices = (id: string, title: string, as: string): Step =>
  command({
    id,
    title,
    help: 'The number to come back to after the deploy.',
    run: onlineDevices,
    on: 'ops',
    capture: {as, pattern: onlinePattern},
    repeatable: true,
    timeout: '1m',
  });

const devicesBack = (id: string, title: string, baseline: string): Step =>
  watch({
    id,
    title,
    probe: onlineDevices,
    on: 'ops',
    parse: onlinePattern,
    until: {near: baseline, tolerance: '2%'},
    every: '30s',
    patience: '5m',
    timeout: '30m',
    unit: 'online devices',
  });

/** A procedure the driver includes in this session or not. */
const optional = (id: string, title: string, question: string, steps: Step[]): Step =>
  choice({
    id,
    title,
    question,
    options: [
      {id: 'yes', label: 'Yes', steps},
      {id: 'no', label: 'Not this time', steps: []},
    ],
  });

const asg = '${stack}-${component}';

/** "X of Y instances in service": InService instances behind the ELB, of the group's desired capacity. */
const inService = `echo "$(aws elb describe-instance-health --load-balancer-name ${asg} --output text | grep -c InService) of $(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${asg} --query 'AutoScalingGroups[0].DesiredCapacity' --output text) instances in service"`;

const inServiceWatch = (id: string, title: string): Step =>
  watch({
    id,
    title,
    probe: inService,
    on: 'ops',
    until: {xOfX: '(\\d+) of (\\d+) instances in service'},
    every: '15s',
    patience: '5m',
    timeout: '30m',
    unit: 'instances in service',
  });

/**
 * Deploying resin-proxy, numbered as the seed numbers it. Within the CoreOS upgrade the
 * devices are still reconnecting from the recreated vpn: the upgrade's own count, taken
 * before it, is the one to come back to.
 */
function proxySteps(prefix: string, label: string, ownBaseline = true): Step[] {
  const id = (s: string): string => `${prefix}${s}`;
  const steps: Step[] = [
    command({
      id: id('proxy-build'),
      title: `${label}1. Build the proxy for \${env}`,
      run: 'resinctl build proxy ${env}',
      on: 'ops',
      timeout: '30m',
    }),
    noteDevices(id('proxy-devices-before'), `${label}3. Note the online devices`, 'online_before'),
    command({
      id: id('proxy-deploy'),
      title: `${label}4. Deploy the proxy`,
      run: 'resinctl deploy proxy ${env}',
      on: 'ops',
      timeout: '30m',
    }),
    command({
      id: id('proxy-devices-key'),
      title: `${label}2, 5. Load the resin_devices key into the proxy's ssh-agent`,
      help: 'The key comes from the profile’s secret RESIN_DEVICES_KEY (the contents of resin-containers/cloud_formation/ssh/resin_devices) and never reaches the journal; the file is removed once the agent holds it.',
      run: "mkdir -p ${proxy_ssh_dir} && umask 077 && printf '%s\\n' '${secret.RESIN_DEVICES_KEY}' > ${proxy_ssh_dir}/resin_devices && chmod 0400 ${proxy_ssh_dir}/resin_devices && SSH_AUTH_SOCK=/var/run/resin-proxy-ssh-agent ssh-add ${proxy_ssh_dir}/resin_devices; status=$?; rm -f ${proxy_ssh_dir}/resin_devices; exit $status",
      on: 'proxy',
      timeout: '2m',
    }),
    check({
      id: id('proxy-agent-has-key'),
      title: `${label}5. The proxy's agent holds the key, and the file is gone`,
      on: 'proxy',
      probes: [
        {
          command: 'SSH_AUTH_SOCK=/var/run/resin-proxy-ssh-agent ssh-add -l',
          expect: 'resin_devices',
        },
        {command: 'test ! -e ${proxy_ssh_dir}/resin_devices'},
      ],
      retries: 1,
    }),
    devicesBack(
      id('proxy-devices-back'),
      `${label}6. Online devices back close to the number noted`,
      'online_before',
    ),
  ];
  const counts = [id('proxy-devices-before'), id('proxy-devices-back')];
  return ownBaseline ? steps : steps.filter((s) => !counts.includes(s.id));
}

const resin = site({
  id: 'resin',
  title: 'resin.io deployment',
  description:
    'Staging and production flow, rolling update by doubling an auto-scaling group, proxy deploy watched against the online devices, vpn/git deploys with downtime, CoreOS upgrade.',
  variables: {
    env: 'resinctl environment: staging or production',
    stack: 'the CloudFormation stack (resin-staging, resin-production)',
    component:
      'the service this deploy is about (api, registry, …): its group and load balancer are STACK-COMPONENT',
    admin_numbers_url: 'admin top-level numbers (JSON with online_devices)',
    jenkins_url: 'Jenkins (staging deploys)',
    proxy_ssh_dir: 'root’s .ssh directory on the proxy (/root/.ssh)',
    containers_dir: 'the resin-containers checkout on ops',
    coreos_ami: 'the CoreOS AMI to upgrade to',
    key_name: 'your EC2 key pair (new instances must launch with it)',
    git_instance: 'EC2 instance id of the git host',
    git_volume: 'EBS volume id attached to the git host',
    keep_parameters:
      'CloudFormation parameters that keep their previous value (all but DiscoveryURL and the AMI; never change the database ones)',
    units_branch: 'branch of the fleet service files (production, master)',
    staging_branch: 'a branch to put on staging instead of master (inadvisable)',
  },
  secrets: {
    ADMIN_TOKEN: 'admin API token (top-level numbers)',
    RESIN_DEVICES_KEY: 'the resin_devices private key for the proxy',
    JENKINS_TOKEN: 'Jenkins API token (staging deploys)',
  },
  phases: [
    phase({
      id: 'access',
      title: 'Gaining access to the instances',
      steps: [
        manual({
          id: 'ssh-keys-unit',
          title:
            'Your add_ssh_keys_<username>.service is in resin-containers/cloudformation/systemd',
          help: 'Create it and run it with fleetctl to get access; then ssh -A core@ the manager.',
        }),
        check({
          id: 'ssh-keys-running',
          title: 'fleet runs the add_ssh_keys units',
          on: 'manager',
          probes: [{command: 'fleetctl list-units --no-legend', expect: 'add_ssh_keys'}],
          retries: 1,
        }),
      ],
    }),
    phase({
      id: 'to-staging',
      title: 'From PR to staging',
      only: 'staging',
      steps: [
        manual({
          id: 'waiting-for-staging',
          title:
            'PR merged, its waffle card in "waiting for staging"; you are fine deploying everything else waiting there',
        }),
        optional(
          'switch-branch',
          'Switch the branch deployed on staging?',
          'Deploy another branch of ${component} than master on staging (inadvisable)?',
          [
            command({
              id: 'resinctl-switch-branch',
              title:
                'resinctl switch-branch ${component} ${staging_branch} (inadvisable: hope it worked)',
              run: 'resinctl switch-branch ${component} ${staging_branch} ${env}',
              on: 'ops',
              danger: true,
              timeout: '10m',
            }),
          ],
        ),
        command({
          id: 'jenkins-deploy',
          title: 'Trigger the resin-deploy Jenkins job: update ${component} from master',
          run: 'curl -fsS -X POST -u deployer:${secret.JENKINS_TOKEN} "${jenkins_url}/job/resin-deploy/buildWithParameters?action=update&component=${component}&branch=master" && echo queued',
          on: 'ops',
          timeout: '2m',
        }),
        check({
          id: 'jenkins-done',
          title: 'The job completed successfully',
          on: 'ops',
          probes: [
            {http: '${jenkins_url}/job/resin-deploy/lastBuild/api/json', contains: 'SUCCESS'},
          ],
          retries: 60,
          interval: '30s',
        }),
        manual({
          id: 'staging-verified',
          title: 'It works on staging: move the card to "testing"',
        }),
      ],
    }),
    phase({
      id: 'to-production',
      title: 'From staging to production',
      only: 'production',
      steps: [
        manual({
          id: 'waiting-for-production',
          title: 'Cards of what goes out are in "waiting for production"',
        }),
        notify({
          id: 'deploy-starting',
          title: 'Tell @team a production deploy is starting',
          channel: 'Flowdock devops',
          text: '@team a production deploy of ${component} is starting',
        }),
        manual({
          id: 'production-branch',
          title:
            'Rebase the contiguous "waiting for production" merges onto production, tag production-${release} with the CHANGELOG diff, commit chore(deploy): Update CHANGELOG on master',
        }),
      ],
    }),
    phase({
      id: 'rolling',
      title: 'Manual rolling update of ${component}',
      only: 'production',
      help: 'Auto Scaling removes the older instances first after connection draining: existing requests finish and new ones are served by the new code, without downtime. Never update a majority of instances at once: etcd suffers.',
      steps: [
        optional(
          'rolling-update',
          'Roll ${component} by doubling its auto-scaling group?',
          'Update ${component} with the manual rolling update?',
          [
            command({
              id: 'asg-desired',
              title: 'The desired capacity of ${component} now',
              run: `aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ${asg} --query 'AutoScalingGroups[0].DesiredCapacity' --output text`,
              on: 'ops',
              capture: {as: 'asg_desired', pattern: '^(\\d+)$'},
              repeatable: true,
              timeout: '1m',
            }),
            command({
              id: 'asg-double',
              title: 'Double the desired number of machines',
              run: `aws autoscaling set-desired-capacity --auto-scaling-group-name ${asg} --desired-capacity $((\${asg_desired} * 2))`,
              on: 'ops',
              timeout: '2m',
            }),
            inServiceWatch(
              'asg-in-service',
              'All instances in service behind the load balancer (X of X)',
            ),
            command({
              id: 'asg-restore',
              title: 'Back to the original number of machines (the oldest go first)',
              run: `aws autoscaling set-desired-capacity --auto-scaling-group-name ${asg} --desired-capacity \${asg_desired}`,
              on: 'ops',
              timeout: '2m',
            }),
            inServiceWatch('asg-settled', 'Back to X of X, the new instances only'),
            manual({id: 'trello-cards', title: 'Move the trello cards to the appropriate column'}),
          ],
        ),
      ],
    }),
    phase({
      id: 'proxy',
      title: 'Deploying resin-proxy',
      steps: [
        optional(
          'proxy-deploy-this-time',
          'Deploy resin-proxy?',
          'Is resin-proxy part of this deploy?',
          proxySteps('', ''),
        ),
      ],
    }),
    phase({
      id: 'interrupted',
      title: 'Deploying interrupted services (vpn, git)',
      steps: [
        optional('vpn', 'Deploy the vpn (downtime)?', 'Is the vpn part of this deploy?', [
          manual({
            id: 'vpn-downtime',
            title: '1. Schedule the downtime on statuspage.io',
          }),
          manual({
            id: 'vpn-fast-forward',
            title: '2. Fast-forward production to the deploy commit and push',
          }),
          manual({id: 'vpn-changelog', title: '3. Update CHANGELOG on master and push'}),
          noteDevices('vpn-devices-before', '4. Note the connected devices', 'online_before'),
          command({
            id: 'vpn-build',
            title: '5. Build the vpn',
            run: 'resinctl build vpn ${env}',
            on: 'ops',
            timeout: '30m',
          }),
          gate({
            id: 'vpn-window',
            title: '6. Wait for the scheduled downtime window, then type go',
            checks: ['The downtime window on statuspage.io has started.'],
          }),
          command({
            id: 'vpn-deploy',
            title: '7. Deploy the vpn: every device reconnects',
            run: 'sudo resinctl deploy vpn ${env}',
            on: 'ops',
            danger: 'vpn',
            timeout: '30m',
          }),
          devicesBack(
            'vpn-devices-back',
            '8. Connected devices match the pre-deploy number',
            'online_before',
          ),
        ]),
        optional('git', 'Deploy git (downtime)?', 'Is git part of this deploy?', [
          manual({id: 'git-downtime', title: 'Schedule the downtime on statuspage.io'}),
          command({
            id: 'git-build',
            title: 'Build the git image',
            run: 'sudo resinctl build git ${env}',
            on: 'ops',
            timeout: '30m',
          }),
          gate({
            id: 'git-window',
            title: 'Wait for the scheduled downtime window, then type go',
            checks: ['The downtime window on statuspage.io has started.'],
          }),
          command({
            id: 'git-pull',
            title: 'Pull the image on the git host',
            run: 'docker pull resin/resin-git:${env}',
            on: 'git',
            timeout: '20m',
          }),
          command({
            id: 'git-restart',
            title: 'Restart resin-git',
            run: 'sudo systemctl restart resin-git@${env}.service',
            on: 'git',
            danger: 'git',
            timeout: '10m',
          }),
          check({
            id: 'git-active',
            title: 'resin-git is active again',
            on: 'git',
            probes: [{command: 'systemctl is-active resin-git@${env}.service', expect: '^active$'}],
            retries: 10,
            interval: '10s',
          }),
        ]),
      ],
    }),
    phase({
      id: 'coreos',
      title: 'Deploying an upgrade to CoreOS',
      help: 'The CoreOS version in VPC.template recreates the manager, git and vpn instances at once; they drop out of etcd, since the manager is the sole leader.',
      steps: [
        optional('coreos-upgrade', 'Upgrade CoreOS?', 'Is a CoreOS upgrade part of this deploy?', [
          manual({
            id: 'coreos-downtime',
            title: 'Schedule the downtime ~24 hours before',
            due: 'T-1d',
          }),
          check({
            id: 'coreos-key-pair',
            title: 'AWS launches instances with your public key (${key_name})',
            on: 'ops',
            probes: [
              {
                command: 'aws ec2 describe-key-pairs --key-names ${key_name} --output text',
                expect: '${key_name}',
              },
            ],
            retries: 1,
          }),
          command({
            id: 'coreos-ami',
            title: 'Update VPC.template: the CoreOS AMI ${coreos_ami}',
            run: `sed -i -E 's/("CoreOSAmi": *)"ami-[0-9a-f]+"/\\1"\${coreos_ami}"/' \${containers_dir}/cloud_formation/VPC.template && grep -c '"\${coreos_ami}"' \${containers_dir}/cloud_formation/VPC.template`,
            on: 'ops',
            repeatable: true,
            timeout: '1m',
          }),
          command({
            id: 'coreos-discovery',
            title: 'A new etcd discovery URL',
            run: "curl -fsS 'https://discovery.etcd.io/new?size=1'",
            on: 'ops',
            capture: {as: 'discovery_url', pattern: '(https://discovery\\.etcd\\.io/[0-9a-f]+)'},
            timeout: '1m',
          }),
          command({
            id: 'coreos-asg-sizes',
            title: 'Desired instances of every auto-scaling group (the form must match)',
            run: "aws autoscaling describe-auto-scaling-groups --query 'AutoScalingGroups[].[AutoScalingGroupName,DesiredCapacity]' --output text",
            on: 'ops',
            repeatable: true,
            timeout: '1m',
          }),
          manual({
            id: 'coreos-form',
            title:
              'Upload the template, do not submit yet: check every field (new ones too), the discovery URL, the desired instances, your SSH key',
          }),
          command({
            id: 'coreos-detach-volume',
            title: 'Detach the EBS volume from the git instance (this will not happen yet)',
            run: 'aws ec2 detach-volume --volume-id ${git_volume}',
            on: 'ops',
            danger: true,
            timeout: '2m',
          }),
          command({
            id: 'coreos-stop-git',
            title: 'Shut down the git instance',
            run: 'aws ec2 stop-instances --instance-ids ${git_instance}',
            on: 'ops',
            danger: true,
            timeout: '2m',
          }),
          watch({
            id: 'coreos-volume-detached',
            title: 'Wait for the volume to be detached',
            probe:
              "aws ec2 describe-volumes --volume-ids ${git_volume} --query 'Volumes[0].State' --output text | grep -c '^available$'",
            on: 'ops',
            until: {equals: 1},
            every: '10s',
            patience: '5m',
            timeout: '20m',
            unit: 'volume available',
          }),
          noteDevices(
            'coreos-devices-before',
            'Note the connected devices',
            'coreos_online_before',
          ),
          command({
            id: 'coreos-submit',
            title: 'Submit the VPC template: recreates manager, git and vpn',
            help: 'EXTREME CAUTION: changes to this template can wipe the production database and worse. Only apply what was tested on staging; database parameters keep their previous values.',
            run: `aws cloudformation update-stack --stack-name \${stack} --template-body file://\${containers_dir}/cloud_formation/VPC.template --parameters ParameterKey=DiscoveryURL,ParameterValue=\${discovery_url} ParameterKey=CoreOSAmi,ParameterValue=\${coreos_ami} $(for p in \${raw:keep_parameters}; do printf 'ParameterKey=%s,UsePreviousValue=true ' "$p"; done)`,
            on: 'ops',
            danger: '${stack}',
            timeout: '5m',
          }),
          watch({
            id: 'coreos-stack-updated',
            title: 'The stack update completes',
            probe:
              "aws cloudformation describe-stacks --stack-name ${stack} --query 'Stacks[0].StackStatus' --output text | grep -c '^UPDATE_COMPLETE$'",
            on: 'ops',
            until: {equals: 1},
            every: '30s',
            patience: '15m',
            timeout: '1h',
            unit: 'stack updated',
          }),
          command({
            id: 'coreos-fleet-units',
            title: 'On the new manager: submit the service files, start manager@${units_branch}',
            run: 'cd ~ && rm -rf resin-containers && git clone git@github.com:resin-io/resin-containers.git && cd resin-containers/cloud_formation/systemd/services && git checkout ${units_branch} && fleetctl submit * && fleetctl start manager@${units_branch}.service',
            on: 'manager',
            timeout: '20m',
          }),
          command({
            id: 'coreos-ssh-keys',
            title: 'On the new manager: start add_ssh_keys',
            run: 'cd ~ && rm -rf resin-ssh-keys && git clone git@github.com:resin-io/resin-ssh-keys.git && cd resin-ssh-keys/systemd/services && fleetctl start add_ssh_keys.service',
            on: 'manager',
            timeout: '10m',
          }),
          check({
            id: 'coreos-manager-running',
            title: 'fleet runs manager@${units_branch}',
            on: 'manager',
            probes: [
              {
                command: 'fleetctl list-units --no-legend',
                expect: 'manager@${units_branch}\\.service\\s+\\S+\\s+active\\s+running',
              },
            ],
            retries: 10,
            interval: '10s',
          }),
          ...proxySteps('coreos-', 'CoreOS: ', false),
          command({
            id: 'coreos-redeploy',
            title: 'Re-deploy the other services: new discovery token, new cluster, new CoreOS',
            run: 'for service in delta registry admin img ui registry2 builder; do echo "deploying $service to ${env}..."; sudo resinctl deploy $service ${env} || exit 1; done',
            on: 'ops',
            timeout: '1h',
          }),
          devicesBack(
            'coreos-devices-back',
            'Connected devices back to the number before the upgrade',
            'coreos_online_before',
          ),
        ]),
      ],
    }),
    phase({
      id: 'done',
      title: 'Done',
      steps: [
        notify({
          id: 'deploy-finished',
          title: 'Tell @team the deploy finished',
          channel: 'Flowdock devops',
          text: '@team the ${env} deploy (${component}) has finished',
        }),
        manual({
          id: 'verify',
          title: 'Go and verify nothing has gone horribly wrong; move the cards to "done"',
        }),
      ],
    }),
  ],
});

const etcdRecovery = site({
  id: 'resin-etcd',
  title: 'resin.io: etcd is broken',
  description:
    'Stop and wipe etcd on the manager and git, a new discovery URL through CloudFormation, services back into fleet, git and every other instance rejoin.',
  variables: {
    stack: 'the CloudFormation stack',
    etcd_data_dir: 'etcd’s data directory on the instances (/var/lib/etcd2)',
    containers_dir: 'the resin-containers checkout on the manager',
    units_branch: 'branch of the fleet service files (master, production)',
    keep_parameters:
      'CloudFormation parameters that keep their previous value (all but DiscoveryURL)',
    fleet_size: 'how many machines fleet should list when everything is back',
  },
  phases: [
    phase({
      id: 'reset',
      title: 'Reset etcd on the manager and git',
      steps: [
        command({
          id: 'stop-etcd',
          title: 'Stop all the etcd instances on the manager and git',
          run: 'sudo systemctl stop etcd2 load-etcd',
          on: '@etcd',
          timeout: '2m',
        }),
        command({
          id: 'wipe-etcd',
          title: 'Clean the etcd data directories on the manager and git',
          run: 'sudo rm -rf ${etcd_data_dir}/*',
          on: '@etcd',
          danger: true,
          timeout: '2m',
        }),
        command({
          id: 'new-discovery',
          title: 'A new discovery URL',
          run: "curl -fsS 'https://discovery.etcd.io/new?size=1'",
          on: 'ops',
          capture: {as: 'discovery_url', pattern: '(https://discovery\\.etcd\\.io/[0-9a-f]+)'},
          timeout: '1m',
        }),
        command({
          id: 'discovery-in-stack',
          title: 'Change the discovery URL in CloudFormation (restarts etcd on the manager)',
          help: 'EXTREME CAUTION: the previous template and every other parameter stay as they are; a changed database parameter can drop the database.',
          run: `aws cloudformation update-stack --stack-name \${stack} --use-previous-template --parameters ParameterKey=DiscoveryURL,ParameterValue=\${discovery_url} $(for p in \${raw:keep_parameters}; do printf 'ParameterKey=%s,UsePreviousValue=true ' "$p"; done)`,
          on: 'ops',
          danger: '${stack}',
          timeout: '5m',
        }),
        watch({
          id: 'stack-updated',
          title: 'The stack update completes',
          probe:
            "aws cloudformation describe-stacks --stack-name ${stack} --query 'Stacks[0].StackStatus' --output text | grep -c '^UPDATE_COMPLETE$'",
          on: 'ops',
          until: {equals: 1},
          every: '30s',
          patience: '15m',
          timeout: '1h',
          unit: 'stack updated',
        }),
        watch({
          id: 'manager-etcd',
          title: 'etcd on the manager is healthy in the new cluster',
          probe: "etcdctl cluster-health 2>&1 | grep -c '^member .* is healthy'",
          on: 'manager',
          until: {atLeast: 1},
          every: '10s',
          patience: '5m',
          timeout: '20m',
          unit: 'healthy etcd members',
        }),
      ],
    }),
    phase({
      id: 'rejoin',
      title: 'Bring fleet back',
      steps: [
        command({
          id: 'fleet-services',
          title: 'Add all the services to fleet',
          run: 'cd ${containers_dir}/cloudformation/systemd/services && fleetctl start manager@${units_branch}.service',
          on: 'manager',
          timeout: '10m',
        }),
        command({
          id: 'git-etcd',
          title: 'Restart etcd on git',
          run: 'sudo systemctl start etcd2',
          on: 'git',
          timeout: '5m',
        }),
        command({
          id: 'rejoin-others',
          title: 'Bring the missing instances back into fleet: wipe and restart their etcd',
          run: 'sudo rm -rf ${etcd_data_dir}/* && sudo systemctl restart etcd2',
          on: '@others',
          fanOut: {parallel: 4},
          danger: true,
          timeout: '5m',
        }),
        watch({
          id: 'fleet-machines',
          title: 'Every machine is back in fleet',
          probe: 'fleetctl list-machines --no-legend | wc -l',
          on: 'manager',
          until: {near: 'fleet_size', tolerance: 0},
          every: '15s',
          patience: '5m',
          timeout: '30m',
          unit: 'machines in fleet',
        }),
        check({
          id: 'fleet-units-running',
          title: 'fleet runs manager@${units_branch} again',
          on: 'manager',
          probes: [
            {
              command: 'fleetctl list-units --no-legend',
              expect: 'manager@${units_branch}\\.service\\s+\\S+\\s+active\\s+running',
            },
          ],
          retries: 10,
          interval: '10s',
        }),
      ],
    }),
  ],
});

export const sites = [resin, etcdRecovery];
