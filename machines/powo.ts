/**
 * Kew POWO on Google Kubernetes Engine: builder update, builder helm upgrade with the
 * environment overrides, node-pool update by cordoning the old pool, and the seed's
 * troubleshooting as a branch. From shared/seeds/001. Flag `delete-existing`: the builder
 * deletes the old release once the new one is live (prod).
 *
 * kubectl, helm, gcloud and mvn run on the host `admin` (a workstation or bastion with
 * the cluster credentials and the powop-infrastructure checkout).
 */
import {check, choice, command, manual, phase, site, watch} from '../source/runbook/vocabulary.js';

/** Namespaces of builder-managed releases, newest last. */
const releases =
  "kubectl get namespaces --sort-by=.metadata.creationTimestamp -o name | cut -d/ -f2 | grep '^${env}-'";

/** "X of Y pods Running" in the newest release that is not the one live before the rebuild. */
const newReleasePods = `ns=$(${releases} | grep -vx '\${old_release}' | tail -1); if [ -z "$ns" ]; then echo "0 of 1 pods Running (no new release yet)"; else kubectl get pods -n "$ns" --no-headers | awk -v ns="$ns" '$3 != "Completed" {n++; if ($3 == "Running") r++} END {printf "%d of %d pods Running in %s\\n", r, n, ns}'; fi`;

const podsRunning = (id: string, title: string) =>
  watch({
    id,
    title,
    help: 'If a pod stays Pending, it may not have the resources it needs on any node.',
    probe: newReleasePods,
    on: 'admin',
    until: {xOfX: '(\\d+) of (\\d+) pods Running'},
    every: '30s',
    patience: '10m',
    timeout: '1h',
    unit: 'pods Running',
  });

export default site({
  id: 'powo',
  title: 'POWO production operations',
  description:
    'Builder image and configuration update, builder helm upgrade, node-pool update by cordoning the old pool and letting a rebuild move the release, troubleshooting when pods do not run.',
  variables: {
    env: 'builder environment: prod or dev (release namespaces are ENV-xxxxx)',
    project: 'Google Cloud project',
    cluster: 'GKE cluster name',
    zone: 'GKE zone',
    infra_dir: 'the powop-infrastructure checkout (with the secrets submodule synced)',
    builder_dir: 'the powop/powo-builder checkout',
    builder_tag: 'the builder image tag to deploy (builder.tag in values.yaml)',
    old_pool: 'the node pool to retire',
    new_pool: 'the node pool to create',
    new_pool_nodes: 'nodes in the new pool (2)',
    machine_type: 'machine type of the new pool (2 vCPUs, 10 GB: custom-2-10240)',
    disk_size: 'boot disk of the new nodes, GB (50)',
    dns_name: 'the public name the builder swaps to the new release',
  },
  phases: [
    phase({
      id: 'access',
      title: 'Cluster access',
      steps: [
        command({
          id: 'get-credentials',
          title: 'Point kubectl at ${cluster}',
          run: 'gcloud container clusters get-credentials ${cluster} --zone ${zone} --project ${project}',
          on: 'admin',
          repeatable: true,
          timeout: '2m',
        }),
        check({
          id: 'context',
          title: 'kubectl talks to ${cluster}',
          on: 'admin',
          probes: [{command: 'kubectl config current-context', expect: '_${cluster}$'}],
          retries: 1,
        }),
      ],
    }),
    phase({
      id: 'builder',
      title: 'Builder update',
      help: 'Skip the builder steps unless you changed the builder code or configuration.',
      steps: [
        choice({
          id: 'builder-code',
          title: '1. Builder scripts changed?',
          question: 'Did you change the builder scripts in powo/powo-builder?',
          options: [
            {
              id: 'changed',
              label: 'Yes: push a new image and bump builder.tag',
              steps: [
                command({
                  id: 'builder-image',
                  title: '1. Push the updated builder image (mvn deploy)',
                  run: 'cd ${builder_dir} && mvn deploy',
                  on: 'admin',
                  expect: 'BUILD SUCCESS',
                  timeout: '30m',
                }),
                command({
                  id: 'builder-tag',
                  title: '1. Set builder.tag to ${builder_tag} in the builder values file',
                  run: "cd ${infra_dir} && sed -i -E 's/^(  tag:).*/\\1 ${builder_tag}/' powo-builder/values.yaml",
                  on: 'admin',
                  repeatable: true,
                  timeout: '1m',
                }),
                check({
                  id: 'builder-tag-set',
                  title: '1. The values file names ${builder_tag}',
                  on: 'admin',
                  probes: [
                    {
                      command: 'cd ${infra_dir} && grep -E "^  tag:" powo-builder/values.yaml',
                      expect: 'tag: ${builder_tag}$',
                    },
                  ],
                  retries: 1,
                }),
              ],
            },
            {id: 'unchanged', label: 'No', steps: []},
          ],
        }),
        choice({
          id: 'builder-config',
          title: '2. Environment-specific builder configuration changed?',
          question: 'Change the ${env} builder overrides (powo-builder/${env}.yaml)?',
          options: [
            {
              id: 'changed',
              label: 'Yes: edit the overrides',
              steps: [
                command({
                  id: 'show-overrides',
                  title: '2. The ${env} overrides as they are',
                  run: 'cd ${infra_dir} && cat powo-builder/${env}.yaml',
                  on: 'admin',
                  repeatable: true,
                  timeout: '1m',
                }),
                manual({
                  id: 'edit-overrides',
                  title: '2. Edit powo-builder/${env}.yaml',
                  help: 'cluster: GKE cluster to deploy on · environment: prefix of every builder-managed release · deleteExisting: delete the old release once the new one is ready and DNS swapped (false keeps it for a rollback) · dns: names to manage (zone, name, the service with the external IP) · schedule: cron schedule of the rebuilds · strictErrorChecking: failed harvesting jobs fail the build and keep the existing release.',
                }),
                check({
                  id: 'overrides-cluster',
                  title: '2. The overrides still deploy to ${cluster}',
                  on: 'admin',
                  probes: [
                    {
                      command: 'cd ${infra_dir} && cat powo-builder/${env}.yaml',
                      expect: '^cluster: ${cluster}$',
                    },
                  ],
                  retries: 1,
                }),
              ],
            },
            {id: 'unchanged', label: 'No', steps: []},
          ],
        }),
        command({
          id: 'builder-helm',
          title: '3. Upgrade the builder helm release builder-${env}',
          run: 'cd ${infra_dir} && helm upgrade -f secrets/${env}/secrets.yaml -f secrets/deployer/secrets.yaml -f powo-builder/${env}.yaml builder-${env} powo-builder/',
          on: 'admin',
          expect: 'STATUS: deployed',
          timeout: '10m',
        }),
        check({
          id: 'builder-deployed',
          title: '3. builder-${env} is deployed',
          on: 'admin',
          probes: [{command: 'helm status builder-${env}', expect: 'STATUS: deployed'}],
          retries: 3,
          interval: '10s',
        }),
      ],
    }),
    phase({
      id: 'cluster',
      title: 'Cluster update: move to a new node pool',
      help: 'Node pools restart on update, so everything on them goes down: instead, add a pool, cordon the old one, and let the next rebuild schedule the release onto the new nodes.',
      steps: [
        manual({
          id: 'master-upgrade',
          title: 'Upgrade the cluster master version (no downtime; any time)',
        }),
        command({
          id: 'create-pool',
          title: 'Add the node pool ${new_pool}',
          run: 'gcloud container node-pools create ${new_pool} --cluster ${cluster} --zone ${zone} --num-nodes ${new_pool_nodes} --machine-type ${machine_type} --disk-size ${disk_size}',
          on: 'admin',
          timeout: '20m',
        }),
        watch({
          id: 'new-nodes-ready',
          title: 'The new nodes are Ready',
          probe:
            'kubectl get nodes -l cloud.google.com/gke-nodepool=${new_pool} --no-headers | awk \'$2 == "Ready"\' | wc -l',
          on: 'admin',
          until: {near: 'new_pool_nodes', tolerance: 0},
          every: '15s',
          patience: '5m',
          timeout: '20m',
          unit: 'Ready nodes',
        }),
        command({
          id: 'live-release',
          title: 'Note the release that is live now',
          run: `${releases} | tail -1`,
          on: 'admin',
          capture: {
            as: 'old_release',
            pattern: '^(\\S+)$',
            value: '[a-z0-9]([-a-z0-9.]*[a-z0-9])?',
          },
          repeatable: true,
          timeout: '1m',
        }),
        command({
          id: 'old-nodes',
          title: 'The nodes of the old pool ${old_pool}',
          run: 'kubectl get nodes -l cloud.google.com/gke-nodepool=${old_pool}',
          on: 'admin',
          repeatable: true,
          timeout: '1m',
        }),
        command({
          id: 'cordon-old',
          title: 'Cordon each node of ${old_pool}: nothing new is scheduled there',
          run: 'kubectl cordon -l cloud.google.com/gke-nodepool=${old_pool}',
          on: 'admin',
          repeatable: true,
          timeout: '2m',
        }),
        check({
          id: 'old-cordoned',
          title: 'Every node of ${old_pool} is SchedulingDisabled',
          on: 'admin',
          probes: [
            {
              command:
                "kubectl get nodes -l cloud.google.com/gke-nodepool=${old_pool} --no-headers | awk '$2 !~ /SchedulingDisabled/' | wc -l",
              expect: '^0$',
            },
          ],
          retries: 3,
        }),
        choice({
          id: 'rebuild',
          title: 'Rebuild now, or wait for the scheduled rebuild?',
          question: 'Start a rebuild from the builder cron job now, or wait for its schedule?',
          options: [
            {
              id: 'now',
              label: 'Start one now',
              steps: [
                command({
                  id: 'start-rebuild',
                  title: 'Start a rebuild from cronjob/builder-${env}',
                  run: 'kubectl create job --from=cronjob/builder-${env} builder-${env}-manual-${release} -n builder',
                  on: 'admin',
                  timeout: '2m',
                }),
              ],
            },
            {id: 'scheduled', label: 'Wait for the schedule', steps: []},
          ],
        }),
        podsRunning('new-release-running', 'The new release runs on the new nodes'),
        choice({
          id: 'pods-healthy',
          title: 'Are all pods Running?',
          question: 'Did every pod of the new release reach Running?',
          options: [
            {id: 'running', label: 'Yes', steps: []},
            {
              id: 'troubleshoot',
              label: 'No: troubleshoot (describe → logs → services → dig)',
              steps: [
                command({
                  id: 'all-pods',
                  title: 'Troubleshooting: all pods, all namespaces',
                  run: 'kubectl get pods --all-namespaces',
                  on: 'admin',
                  repeatable: true,
                  timeout: '1m',
                }),
                command({
                  id: 'bad-pod-namespace',
                  title: 'Troubleshooting: the namespace of the first pod not Running',
                  run: 'kubectl get pods --all-namespaces --no-headers | awk \'$4 != "Running" && $4 != "Completed" {print $1; exit}\'',
                  on: 'admin',
                  capture: {
                    as: 'bad_namespace',
                    pattern: '^(\\S+)$',
                    value: '[a-z0-9]([-a-z0-9.]*[a-z0-9])?',
                  },
                  repeatable: true,
                  timeout: '1m',
                }),
                command({
                  id: 'bad-pod-name',
                  title: 'Troubleshooting: its name',
                  run: 'kubectl get pods --all-namespaces --no-headers | awk \'$4 != "Running" && $4 != "Completed" {print $2; exit}\'',
                  on: 'admin',
                  capture: {
                    as: 'bad_pod',
                    pattern: '^(\\S+)$',
                    value: '[a-z0-9]([-a-z0-9.]*[a-z0-9])?',
                  },
                  repeatable: true,
                  timeout: '1m',
                }),
                command({
                  id: 'describe-pod',
                  title: 'Troubleshooting: describe the pod (events at the pod level)',
                  run: 'kubectl describe pod --namespace=${bad_namespace} ${bad_pod}',
                  on: 'admin',
                  repeatable: true,
                  timeout: '1m',
                }),
                command({
                  id: 'pod-logs',
                  title: 'Troubleshooting: the container logs',
                  run: 'kubectl logs --namespace=${bad_namespace} ${bad_pod} --all-containers',
                  on: 'admin',
                  repeatable: true,
                  okExit: [0, 1],
                  timeout: '1m',
                }),
                command({
                  id: 'services',
                  title: 'Troubleshooting: external IPs of the services',
                  run: 'kubectl get services --all-namespaces',
                  on: 'admin',
                  repeatable: true,
                  timeout: '1m',
                }),
                command({
                  id: 'dig',
                  title: 'Troubleshooting: what ${dns_name} resolves to',
                  run: 'dig ${dns_name}',
                  on: 'admin',
                  repeatable: true,
                  timeout: '1m',
                }),
                choice({
                  id: 'pending-fix',
                  title: 'Troubleshooting: what fixes it?',
                  question:
                    'A pod Pending for long has no node with the resources it asks for. Add a node to ${new_pool}, or fix the cause yourself?',
                  options: [
                    {
                      id: 'add-node',
                      label: 'Add a node to ${new_pool}',
                      steps: [
                        command({
                          id: 'grow-pool',
                          title: 'Troubleshooting: one more node in ${new_pool}',
                          run: 'gcloud container clusters resize ${cluster} --node-pool ${new_pool} --num-nodes $((${new_pool_nodes} + 1)) --zone ${zone} --quiet',
                          on: 'admin',
                          timeout: '20m',
                        }),
                      ],
                    },
                    {id: 'fixed-by-hand', label: 'I fixed it another way', steps: []},
                  ],
                }),
                podsRunning('running-after-fix', 'Troubleshooting: the new release runs now'),
              ],
            },
          ],
        }),
        command({
          id: 'new-ip',
          title: 'The external IP of the new release’s portal',
          run: 'kubectl get services --all-namespaces --no-headers | awk \'$1 ~ /^${env}-/ && $1 != "${old_release}" && $2 == "portal" {print $5}\' | tail -1',
          on: 'admin',
          capture: {as: 'new_ip', pattern: '^(\\d+\\.\\d+\\.\\d+\\.\\d+)$'},
          repeatable: true,
          timeout: '1m',
        }),
        check({
          id: 'dns-swapped',
          title: 'The builder swapped ${dns_name} to the new release',
          on: 'admin',
          probes: [{command: 'dig +short ${dns_name}', expect: '^${new_ip}$'}],
          retries: 20,
          interval: '30s',
        }),
        watch({
          id: 'old-pool-drained',
          title: 'The old release is gone from ${old_pool}',
          help: 'deleteExisting: the builder deletes the old release once the new one is live.',
          probe:
            "kubectl get pods --all-namespaces -o wide --no-headers | awk '$1 ~ /^${env}-/ && $8 ~ /-${old_pool}-/' | wc -l",
          on: 'admin',
          until: {equals: 0},
          every: '30s',
          patience: '10m',
          timeout: '1h',
          only: 'delete-existing',
          unit: 'pods on the old pool',
        }),
        choice({
          id: 'old-release',
          title: 'The old release stays (deleteExisting is false): delete it now?',
          help: 'When the old pool goes, the old release’s pods need room on the new nodes too. Keep it only if you still want it for a rollback and the new pool has room.',
          question: 'Delete the old release ${old_release} before the old pool goes?',
          unless: 'delete-existing',
          options: [
            {
              id: 'delete',
              label: 'Delete it',
              steps: [
                command({
                  id: 'delete-old-release',
                  title: 'Delete the old release',
                  run: 'helm delete --purge ${old_release}',
                  on: 'admin',
                  timeout: '10m',
                }),
              ],
            },
            {id: 'keep', label: 'Keep it for a rollback', steps: []},
          ],
        }),
        command({
          id: 'delete-old-pool',
          title: 'Delete the old node pool ${old_pool}',
          run: 'gcloud container node-pools delete ${old_pool} --cluster ${cluster} --zone ${zone} --quiet',
          on: 'admin',
          danger: '${old_pool}',
          timeout: '30m',
        }),
        check({
          id: 'all-running',
          title: 'Every pod is Running (or Completed) after the old pool went',
          on: 'admin',
          probes: [
            {
              command:
                'kubectl get pods --all-namespaces --no-headers | awk \'$4 != "Running" && $4 != "Completed"\' | wc -l',
              expect: '^0$',
            },
          ],
          retries: 20,
          interval: '30s',
        }),
      ],
    }),
  ],
});
