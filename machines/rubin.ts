/**
 * Rubin Observatory T&S: deploying an upgrade at the Summit or the TTS.
 * From shared/seeds/002 ("Deploying the Upgrade"). Numbers in step titles follow the
 * seed's numbered steps. Flags: `summit` or `tts`.
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
} from '../source/runbook/vocabulary.js';

/** The federation count from the main OSPL daemon's durability log (seed 4.1, 6.2). */
const federations = 'docker exec ospl-daemon grep "federations" durability.log';
const federationCount = 'federations: (\\d+)';

export default site({
  id: 'rubin',
  title: 'Rubin T&S deployment',
  description:
    'Full shutdown to OFFLINE, cleanup of CSCs and OSPL daemons, configuration update, staged startup, monitoring until CSCs reach STANDBY/OFFLINE.',
  variables: {
    compose_file: 'docker-compose file of the bare-metal deployments',
    love_compose: 'docker-compose file of LOVE',
    ospl_compose: 'docker-compose file of the main OSPL daemon',
    k8s_admin_dir: 'checkout of lsst-ts/k8s-admin (site directory)',
    argocd_admin_dir: 'checkout of lsst-ts/argocd-admin',
    argocd_auth_file: 'file with the site Argo CD username and password on separate lines',
    config_dir: 'configuration repositories on the bare-metal machines',
    config_branch: 'branch with this release’s configuration',
    expected_federations: 'federations when everything is up',
    slack_channel: 'site-specific Slack channel',
  },
  phases: [
    phase({
      id: 'access',
      title: '1. Log in',
      steps: [
        manual({
          id: 'login',
          title: '1. Log into the bare-metal machines and Kubernetes access',
          help: 'You need credentials for ${site} bare metal and Kubernetes. As the driver you have absolute control: no one does anything without your express consent.',
        }),
      ],
    }),
    phase({
      id: 'offline',
      title: '2–3. Send every CSC to OFFLINE',
      steps: [
        manual({
          id: 'cscs-offline',
          title: '2. Send all CSC systems to OFFLINE with LOVE (Nublado as fall-back)',
          help: 'Watcher and ScriptQueues come down last when using LOVE. Overall status: LOVE, or the Chronograf Summary State Monitors (AT, MT, EAS, Observatory Systems).',
          links: [
            'LOVE summary',
            'Chronograf: AT/MT/EAS/Observatory Systems Summary State Monitor',
          ],
        }),
        manual({
          id: 'heartbeats',
          title: '2. Check heartbeats of CSCs that report STANDBY instead of OFFLINE',
          help: 'Not all CSCs report OFFLINE; some show STANDBY as the last state seen.',
          only: 'summit',
        }),
        manual({id: 'nublado-logout', title: '3. Log out of your Nublado instance'}),
      ],
    }),
    phase({
      id: 'cleanup',
      title: '4. Clean up CSCs and OSPL daemons',
      steps: [
        command({
          id: 'federations-before',
          title: '4.1 Count daemons/CSCs still connected to the main OSPL daemon',
          run: federations,
          on: 'ospl',
          capture: {as: 'federations_before', pattern: federationCount},
          repeatable: true,
          timeout: '1m',
          only: 'tts',
        }),
        command({
          id: 'dm-camera-down',
          title: '4.2 Clean up CSCs and daemons on the DM and Camera machines',
          help: 'Coordinate with the system principals; give the daemon 30 s to 2 min to notice.',
          run: 'docker compose -f ${compose_file} down',
          on: '@dm-camera',
          fanOut: {parallel: 8},
          timeout: '5m',
        }),
        command({
          id: 'love-down',
          title: '4.3 Shut down LOVE and its daemon',
          run: 'docker compose -f ${love_compose} down',
          on: 'love',
          timeout: '5m',
        }),
        command({
          id: 'bare-metal-down',
          title: '4.4 Shut down and clean up the bare-metal deployments',
          run: 'docker compose -f ${compose_file} down',
          on: '@bare-metal',
          fanOut: {parallel: 8},
          timeout: '5m',
        }),
        command({
          id: 'k8s-cleanup',
          title:
            '4.5 Clean up the Kubernetes deployment (cleanup_all -d also removes the OSPL daemons)',
          run: './cleanup_all -d',
          cwd: '${k8s_admin_dir}',
          on: 'k8s',
          timeout: '15m',
          // Deletes every job, deployment and daemonset of the site: nothing runs after it
          // until the new system is deployed.
          danger: 'cleanup_all',
        }),
        choice({
          id: 'k8s-cleanup-result',
          title: '4.5 Did cleanup_all remove every job, deployment and daemonset?',
          question: 'Did ./cleanup_all -d finish cleanly?',
          options: [
            {id: 'yes', label: 'Yes, everything is gone', steps: []},
            {
              id: 'argocd',
              label: 'No: delete what is left in Argo CD',
              steps: [
                manual({
                  id: 'argocd-delete',
                  title: 'Delete the job/deployment/daemonset of each application in Argo CD',
                  help: 'Delete the job/deployment/daemonset box, not the application. auxtel and the other app-of-apps have no jobs: handle each application.',
                }),
              ],
            },
          ],
        }),
        command({
          id: 'cleanup-love',
          title: '4.5 Clean up LOVE in Kubernetes',
          run: './cleanup_love',
          cwd: '${k8s_admin_dir}',
          on: 'k8s',
          timeout: '10m',
          only: 'tts',
        }),
        command({
          id: 'nublado-namespaces',
          title: '4.6 Clean up Nublado namespaces',
          run: "kubectl get namespaces -o name | grep '^namespace/nb-' | xargs -r kubectl delete",
          on: 'k8s',
          timeout: '10m',
        }),
        watch({
          id: 'federations-zero',
          title: '4.7 Wait until every daemon has disconnected',
          help: 'Give the daemon 30 s to 2 min before worrying. If the count does not reach 0, find the rogue process.',
          probe: federations,
          on: 'ospl',
          parse: federationCount,
          until: {equals: 0},
          every: '5s',
          patience: '2m',
          timeout: '30m',
          unit: 'connected daemons',
        }),
        command({
          id: 'main-daemon-down',
          title: '4.8 Shut down and clean up the main OSPL daemon',
          run: 'docker stop ospl-daemon && docker rm ospl-daemon',
          on: 'ospl',
          timeout: '5m',
        }),
      ],
    }),
    phase({
      id: 'configuration',
      title: '5. Update the configuration',
      steps: [
        manual({
          id: 'cachemachine-pr',
          title: '5. Make sure SQuaRE approved the cachemachine PR, then merge it',
        }),
        manual({
          id: 'argocd-pr',
          title: '5. Rebase the Argo CD branch to a single commit, open a PR and merge it',
        }),
        manual({
          id: 'config-branches',
          title: '5. Check every other configuration repository has its commits pushed on branches',
        }),
        command({
          id: 'config-update',
          title: '5. Update the T&S configuration repositories on the bare-metal machines',
          help: 'Only the T&S systems handled here; DM and Camera are handled by the system principals.',
          run: 'cd ${config_dir} && git fetch --all --prune && git checkout ${config_branch} && git pull --ff-only',
          on: '@bare-metal',
          fanOut: {parallel: 8},
          timeout: '5m',
        }),
      ],
    }),
    phase({
      id: 'deployment',
      title: '6. Deploy the new system',
      help: 'Be patient with container pulling.',
      steps: [
        manual({
          id: 'nublado-update',
          title: '6.1 Update Nublado: sync cachemachine in Argo CD and restart its pod',
          help: 'cachemachine shows OutOfSync: Sync, delete the new pod so another starts; done when its children finish and no downstream APIs show.',
        }),
        command({
          id: 'main-daemon-up',
          title: '6.2 Start the main OSPL daemon',
          run: 'docker compose -f ${ospl_compose} up -d ospl-daemon',
          on: 'ospl',
          timeout: '10m',
        }),
        check({
          id: 'main-daemon-ready',
          title: '6.2 Verify the main daemon says "daemon ready"',
          on: 'ospl',
          probes: [{command: 'docker logs ospl-daemon', expect: 'daemon ready'}],
          retries: 20,
          interval: '15s',
        }),
        command({
          id: 'argocd-login',
          title: '6.3 Log into Argo CD',
          run: 'python argocd_login.py ${argocd_auth_file}',
          cwd: '${argocd_admin_dir}',
          on: 'k8s',
          timeout: '2m',
          only: 'tts',
        }),
        command({
          id: 'sync-apps',
          title:
            '6.3 Start sync_apps.py (csc-cluster-config, ospl-config, ospl-daemon sync, then it pauses)',
          run: 'python sync_apps.py -p --no-sync=love',
          cwd: '${argocd_admin_dir}',
          on: 'k8s',
          background: {name: 'sync_apps', readyWhen: 'Type go'},
          timeout: '30m',
          only: 'tts',
        }),
        gate({
          id: 'go-kafka',
          title: '6.3 Daemons ready? Type go to sync the kafka-producers',
          checks: ['Check the Argo CD logs: the OSPL daemons are ready.'],
          send: {to: 'sync_apps', until: 'Type go', timeout: '30m'},
          only: 'tts',
        }),
        manual({
          id: 'kafka-running',
          title:
            '6.3 All kafka-producer logs say "Running"; M1M3 says "Partial producers are all running"',
          help: 'Stop here, but leave sync_apps.py alive.',
          only: 'tts',
        }),
        command({
          id: 'love-up',
          title: '6.4 Start bare-metal LOVE',
          run: 'docker compose -f ${love_compose} up -d',
          on: 'love',
          timeout: '10m',
        }),
        gate({
          id: 'go-obssys',
          title: '6.5 Type go to sync the obssys apps',
          checks: ['LOVE is up.'],
          send: {to: 'sync_apps', until: 'Type go', timeout: '30m'},
          only: 'tts',
        }),
        manual({
          id: 'obssys-running',
          title: '6.5 Argo CD shows the obssys containers pulling and running',
          help: 'The script pauses again: do not go on with it yet, leave it alive.',
          only: 'tts',
        }),
        notify({
          id: 'minimal-system',
          title: '6.6 Tell the system principals the minimal system is up',
          channel: '${slack_channel}',
          text: 'The minimal system is up on ${site}: system principals may start their daemons/CSCs now.',
        }),
        gate({
          id: 'go-rest',
          title: '6.7 Type go to sync the rest of the apps',
          send: {to: 'sync_apps', until: 'All apps synced', timeout: '60m'},
          only: 'tts',
        }),
        command({
          id: 'bare-metal-up',
          title: '6.8 Start the services on the bare-metal deployments',
          run: 'docker compose -f ${compose_file} up -d',
          on: '@bare-metal',
          fanOut: {parallel: 8},
          timeout: '15m',
        }),
      ],
    }),
    phase({
      id: 'monitoring',
      title: '7–9. Monitor until CSCs reach STANDBY/OFFLINE',
      steps: [
        watch({
          id: 'federations-up',
          title: '7. Watch daemons connect again',
          probe: federations,
          on: 'ospl',
          parse: federationCount,
          until: {near: 'expected_federations', tolerance: 0},
          every: '10s',
          patience: '5m',
          timeout: '30m',
          unit: 'connected daemons',
        }),
        choice({
          id: 'cscs-state',
          title: '7. Are all CSCs in STANDBY/OFFLINE?',
          question: 'All CSCs in STANDBY/OFFLINE (or ~30 minutes spent on the rest)?',
          help: 'Report issues directly to the system principals (DMs are OK).',
          options: [
            {id: 'all-good', label: 'Yes, all CSCs are in STANDBY/OFFLINE', steps: []},
            {
              id: 'some-broken',
              label: 'No: some CSCs could not be fixed in ~30 minutes',
              steps: [
                notify({
                  id: 'report-broken',
                  title: '7. Report the CSCs in non-working order',
                  channel: '${slack_channel}',
                  text: 'Deployment on ${site}: some CSCs are not in working order; see the thread for the list.',
                }),
              ],
            },
          ],
        }),
        manual({
          id: 'cscs-enabled',
          title: '8. Put the CSCs this site requires into ENABLED',
        }),
        choice({
          id: 'integration-testing',
          title: '9. Carrying on with integration testing?',
          question: 'Carry on with integration testing now?',
          options: [
            {id: 'yes', label: 'Yes: Nublado stays closed', steps: []},
            {
              id: 'no',
              label: 'No: tell people Nublado is open again',
              steps: [
                notify({
                  id: 'nublado-open',
                  title: '9. Tell everyone Nublado can be used again',
                  channel: '${slack_channel}',
                  text: 'The deployment on ${site} is done: Nublado can be used again.',
                }),
              ],
            },
          ],
        }),
      ],
    }),
  ],
});
