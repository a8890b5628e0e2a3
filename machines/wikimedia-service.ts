/**
 * Wikimedia Node.js services: code deployment through the deploy repository and
 * `git deploy` (canary first, then the rest in rolling batches, each restart checked),
 * repeated for deployment-prep; and the config deployment through ops/puppet as a second
 * site. From shared/seeds/003; numbers in titles follow the seed's numbered steps.
 *
 * Flags: `service-runner` (dependencies are built with `./server.js build --deploy-repo`
 * in a container matching production), `deployment-prep` (the service also lives there).
 * Hosts: `builder` (where the deploy repo is built and sent for review), `tin` (the
 * deployment server), `canary`, group `rest`, group `targets` (canary and rest); for
 * deployment-prep `prep-deploy`, `prep-canary`, groups `prep-rest` and `prep-targets`.
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
  type CheckProbe,
  type Phase,
  type Step,
} from '../source/runbook/vocabulary.js';

/** Step 9: process up, bound to its port, a clean start in the log, and an HTTP answer. */
const serviceChecks: readonly CheckProbe[] = [
  {process: '${service}/config.yaml'},
  {tcp: '${port}'},
  {
    command: 'journalctl -u ${service} -n 50 --no-pager',
    expect: 'listening on 0\\.0\\.0\\.0:${port}',
  },
  {http: 'http://localhost:${port}${health_path}', status: 200},
];

/** On the canary, the answer must also come from this service. */
const canaryChecks: readonly CheckProbe[] = [
  ...serviceChecks.slice(0, 3),
  {http: 'http://localhost:${port}${health_path}', status: 200, contains: '"name":"${service}"'},
];

/** Step 10: the service does its job. */
const smokeCheck: CheckProbe = {
  http: 'http://localhost:${port}${smoke_path}',
  status: 200,
  contains: '${smoke_expect}',
};

/** A restart that only counts once the service answers again. */
const restartAndWait =
  'sudo service ${service} restart && curl -fsS --retry 10 --retry-connrefused --retry-delay 1 -o /dev/null http://localhost:${port}${health_path}';

interface Project {
  /** Prefix of step and phase ids. */
  prefix: string;
  /** Title prefix. */
  label: string;
  deploy: string;
  canary: string;
  rest: string;
  targets: string;
}

/** Steps 6–11 for one project: deploy dance, canary, checks, then the rest in batches. */
function deployPhases(p: Project, extra: Pick<Phase, 'only' | 'help'> = {}): Phase[] {
  const id = (s: string): string => `${p.prefix}${s}`;
  return [
    phase({
      id: id('deploy'),
      title: `${p.label}6–7. The deploy dance on ${p.deploy}`,
      ...extra,
      steps: [
        command({
          id: id('deploy-start'),
          title: `${p.label}7. git deploy start`,
          run: 'cd ${deploy_dir} && git deploy start',
          on: p.deploy,
          timeout: '2m',
        }),
        command({
          id: id('deploy-pull'),
          title: `${p.label}7. git pull && git submodule update --init`,
          run: 'cd ${deploy_dir} && git pull && git submodule update --init && git rev-parse --short HEAD',
          on: p.deploy,
          capture: {as: 'deploy_rev', pattern: '^([0-9a-f]{7,})$'},
          timeout: '10m',
        }),
        command({
          id: id('deploy-sync'),
          title: `${p.label}7. git deploy sync`,
          run: 'cd ${deploy_dir} && git deploy sync',
          on: p.deploy,
          timeout: '30m',
        }),
        watch({
          id: id('minions'),
          title: `${p.label}7. Every target has fetched and checked out the new revision`,
          probe:
            'if [ "$(git -C ${deploy_dir} rev-parse --short HEAD)" = "${deploy_rev}" ]; then echo "1 of 1 minions on ${deploy_rev}"; else echo "0 of 1 minions on ${deploy_rev}"; fi',
          on: p.targets,
          until: {xOfX: '(\\d+) of (\\d+) minions'},
          every: '10s',
          patience: '2m',
          timeout: '15m',
          unit: 'minions on the new revision',
        }),
      ],
    }),
    phase({
      id: id('canary'),
      title: `${p.label}8–10. Restart and check one node`,
      ...extra,
      steps: [
        command({
          id: id('restart-canary'),
          title: `${p.label}8. Restart \${service} on the canary`,
          run: 'sudo service ${service} restart',
          on: p.canary,
          timeout: '5m',
        }),
        check({
          id: id('check-canary'),
          title: `${p.label}9. The canary: process up, port bound, clean start in the log, answers`,
          on: p.canary,
          probes: canaryChecks,
          retries: 10,
          interval: '5s',
        }),
        check({
          id: id('smoke-canary'),
          title: `${p.label}10. The canary works as expected`,
          on: p.canary,
          probes: [smokeCheck],
          retries: 3,
          interval: '5s',
        }),
        gate({
          id: id('canary-ok'),
          title: `${p.label}10. The canary looks good? Type go to restart the rest`,
          checks: [
            'Logs and dashboards of the canary look normal.',
            'Responses are what this change should give.',
          ],
        }),
      ],
    }),
    phase({
      id: id('rest'),
      title: `${p.label}11. Restart the rest of the hosts`,
      ...extra,
      steps: [
        command({
          id: id('restart-rest'),
          title: `${p.label}11. Rolling restart, 5 hosts at a time, each answering before the next batch`,
          help: 'A host that fails stops the rollout after its batch. Retry runs only the hosts where the restart has not succeeded yet.',
          run: restartAndWait,
          on: p.rest,
          fanOut: {batch: 5},
          timeout: '5m',
        }),
        check({
          id: id('check-rest'),
          title: `${p.label}11. Every host: process up, port bound, clean start in the log, answers`,
          on: p.rest,
          probes: serviceChecks,
          retries: 3,
          interval: '5s',
        }),
      ],
    }),
  ];
}

const codeDeployment = site({
  id: 'wikimedia-service',
  title: 'Wikimedia service code deployment',
  description:
    'Source and deploy repositories, git deploy start/sync, restart on one node, checks, then the rest of the hosts, then deployment-prep.',
  variables: {
    service: 'the service name (its init script, log unit and config directory)',
    port: 'the port the service listens on',
    health_path: 'path answering with the service’s name (/_info for service-runner)',
    smoke_path: 'a request that exercises the service',
    smoke_expect: 'text the smoke request’s answer contains',
    source_dir:
      'the deploy repository checkout on the builder (its src submodule is the source repository)',
    deploy_dir: 'the deploy directory on the deployment server and the targets',
  },
  phases: [
    phase({
      id: 'prepare',
      title: '1–5. Prepare the deploy repository',
      steps: [
        manual({
          id: 'decide',
          title:
            '1–2. Time to deploy: enough commits, important changes, or days since the last deploy',
        }),
        command({
          id: 'update-submodule',
          title: '3. Update the source submodule of the deploy repository',
          run: 'cd ${source_dir} && git submodule update --remote src && git -C src log -1 --oneline',
          on: 'builder',
          timeout: '5m',
        }),
        command({
          id: 'build-deps',
          title: '3. Rebuild the node modules in a container matching production',
          help: 'Building elsewhere can pull in incompatible node/npm versions or distro libraries: service-runner builds in a Docker container of the target system (Trusty, Jessie for RESTBase).',
          run: 'cd ${source_dir}/src && ./server.js build --deploy-repo --force',
          on: 'builder',
          only: 'service-runner',
          timeout: '30m',
        }),
        manual({
          id: 'build-deps-by-hand',
          title: '3. Rebuild the node modules by hand on a system matching production',
          help: 'Not a service-runner service (Parsoid, CXServer, OCG): build the dependencies the way this service documents, on the production distro.',
          unless: 'service-runner',
        }),
        command({
          id: 'commit-review',
          title: '4. git commit && git review (the deploy repository)',
          run: 'cd ${source_dir} && git commit -a -m "Update ${service} to $(git -C src rev-parse --short HEAD)" && git review',
          on: 'builder',
          capture: {as: 'change', pattern: '/\\+/(\\d+)'},
          timeout: '5m',
        }),
        manual({
          id: 'gerrit-votes',
          title: '5. C:+2, V:+2 in Gerrit on the deploy change',
          help: 'Deployers have +2 on the deploy repository; wait for it to merge.',
        }),
      ],
    }),
    ...deployPhases({
      prefix: '',
      label: '',
      deploy: 'tin',
      canary: 'canary',
      rest: '@rest',
      targets: '@targets',
    }),
    ...deployPhases(
      {
        prefix: 'prep-',
        label: 'deployment-prep: ',
        deploy: 'prep-deploy',
        canary: 'prep-canary',
        rest: '@prep-rest',
        targets: '@prep-targets',
      },
      {
        only: 'deployment-prep',
        help: '12. Steps 6–11 again for deployment-prep (and any other Labs project the service lives in).',
      },
    ),
    phase({
      id: 'done',
      title: 'Done',
      steps: [
        notify({
          id: 'deployed',
          title: 'Log the deploy',
          channel: '#wikimedia-operations',
          text: '!log deployed ${service} ${deploy_rev} (gerrit change ${change})',
        }),
      ],
    }),
  ],
});

/** Step 4 of the config deployment: the checks of the code deployment. */
const configCheck = (id: string, title: string, on: string): Step =>
  check({
    id,
    title,
    on,
    probes: on === 'canary' ? [...canaryChecks, smokeCheck] : serviceChecks,
    retries: 10,
    interval: '5s',
  });

const configDeployment = site({
  id: 'wikimedia-service-config',
  title: 'Wikimedia service config deployment (puppet)',
  description:
    'The service configuration lives in ops/puppet: a patch, an opsen +2 and puppet-merge, puppet applies it on the targets and restarts the service, then the usual checks.',
  variables: {
    service: 'the service name',
    port: 'the port the service listens on',
    health_path: 'path answering with the service’s name',
    smoke_path: 'a request that exercises the service',
    smoke_expect: 'text the smoke request’s answer contains',
    puppet_dir: 'the ops/puppet checkout on the builder',
    config_summary: 'one line saying what the config change does',
  },
  phases: [
    phase({
      id: 'patch',
      title: '1–2. The puppet patch',
      steps: [
        manual({
          id: 'edit-config',
          title: '1. Edit the ${service} configuration in ops/puppet',
        }),
        command({
          id: 'submit-patch',
          title: '1. Submit the patch for ops/puppet',
          run: 'cd ${puppet_dir} && git commit -a -m "${service}: ${config_summary}" && git review',
          on: 'builder',
          capture: {as: 'config_change', pattern: '/\\+/(\\d+)'},
          timeout: '5m',
        }),
        manual({
          id: 'opsen-review',
          title: '2. Wait for an opsen to +2 it',
        }),
        command({
          id: 'puppet-merge',
          title: '2. puppet-merge on the puppetmaster (the opsen, after +2)',
          run: 'sudo puppet-merge',
          on: 'puppetmaster',
          timeout: '5m',
        }),
      ],
    }),
    phase({
      id: 'apply',
      title: '3. Puppet applies the config and restarts the service',
      steps: [
        choice({
          id: 'puppet-run',
          title: '3. Run puppet now, or wait for the agents?',
          question:
            'The agents run every 30 minutes. Run puppet on the targets now (canary first)?',
          options: [
            {
              id: 'now',
              label: 'Run puppet now: the canary, then the rest 5 at a time',
              steps: [
                command({
                  id: 'puppet-canary',
                  title: '3. puppet agent --test on the canary',
                  run: 'sudo puppet agent --test',
                  on: 'canary',
                  okExit: [0, 2],
                  timeout: '10m',
                }),
                configCheck(
                  'config-canary-first',
                  '3. The canary runs with the new config before the rest',
                  'canary',
                ),
                command({
                  id: 'puppet-rest',
                  title: '3. puppet agent --test on the rest, 5 at a time',
                  run: 'sudo puppet agent --test',
                  on: '@rest',
                  fanOut: {batch: 5},
                  okExit: [0, 2],
                  timeout: '10m',
                }),
              ],
            },
            {id: 'wait', label: 'Wait for the agents', steps: []},
          ],
        }),
        watch({
          id: 'config-applied',
          title: '3. Every target runs with the new config',
          probe:
            'if sudo puppet agent --test --noop >/dev/null 2>&1; then echo "1 of 1 hosts up to date"; else echo "0 of 1 hosts up to date"; fi',
          on: '@targets',
          until: {xOfX: '(\\d+) of (\\d+) hosts'},
          every: '1m',
          patience: '35m',
          timeout: '1h',
          unit: 'hosts with the new config',
        }),
      ],
    }),
    phase({
      id: 'verify',
      title: '4. Check the service',
      steps: [
        configCheck(
          'config-check-canary',
          '4. The canary: process up, port bound, clean start in the log, answers',
          'canary',
        ),
        configCheck('config-check-rest', '4. Every other host: the same checks', '@rest'),
      ],
    }),
  ],
});

export const sites = [codeDeployment, configDeployment];
