/**
 * CyVerse Atmosphere: the release process (two weeks before to deployment day) and the
 * hotfix procedure, from shared/seeds/000. Numbers in step titles follow the seed's
 * numbered steps. Flags: `cyverse` or `jetstream`.
 *
 * The seed's alias `atmosphere-docker` is the profile variable `atmosphere_docker`
 * (the script with its -f compose file), so every step runs the whole command.
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

/** `./manage.py maintenance …` inside a service container, as the seed writes it. */
const manage = (service: 'troposphere' | 'atmosphere', venv: string, args: string): string =>
  `\${raw:atmosphere_docker} exec -T ${service} /bin/bash -c "source /opt/env/${venv}/bin/activate && ./manage.py ${args}"`;

const maintenanceStart = `maintenance start --title '\${maintenance_title}' --message '\${maintenance_message}'`;

/** Points the proxy's nginx at a site config and restarts it (seed steps 2 and 8). */
const nginxSwap = (config: string): string =>
  `cd \${nginx_dir}/sites-enabled && ln -sf \${nginx_dir}/sites-available/${config} proxy.conf && systemctl restart nginx`;

/** Sets both images in docker-compose.prod.yml to one tag (seed step 6's edit). */
const setImageTags = (tag: string): string =>
  `sed -i -E 's#(image: cyverse/(atmosphere|troposphere)):.*#\\1:${tag}#' \${compose_dir}/docker-compose.prod.yml`;

/** A shallow clone and build of one repository at the release tag (seed: release candidate 4). */
const buildHere = (repo: 'atmosphere' | 'troposphere'): Step =>
  command({
    id: `build-${repo}`,
    title: `4. Shallow-clone ${repo} at \${release_tag}, build and push the image`,
    run: `rm -rf \${build_dir}/${repo} && git clone --depth 1 --branch \${release_tag} https://github.com/cyverse/${repo}.git \${build_dir}/${repo} && cd \${build_dir}/${repo} && docker build -t cyverse/${repo}:\${release_tag} . && docker push cyverse/${repo}:\${release_tag}`,
    on: 'beta',
    timeout: '45m',
  });

/**
 * Back to the images step 4 committed: compose points at them, the containers are
 * recreated from them, and run them. `prefix` keeps the ids apart where it is used twice
 * (the go-live choice's option, and the upgrade phase's rollback).
 */
const backToCommittedImages = (prefix: string, title: string): Step[] => [
  command({
    id: `${prefix}-tags`,
    title: `${title}: point docker-compose.prod.yml at the committed images`,
    run: "sed -i -E 's#image: cyverse/(atmosphere|troposphere):.*#image: old_atmosphere-docker_\\1#' ${compose_dir}/docker-compose.prod.yml",
    on: 'atmo',
    timeout: '1m',
  }),
  command({
    id: `${prefix}-up`,
    title: `${title}: recreate the containers from the committed images`,
    run: '${raw:atmosphere_docker} up -d',
    on: 'atmo',
    timeout: '10m',
  }),
  check({
    id: `${prefix}-running`,
    title: `${title}: the containers run the committed images`,
    on: 'atmo',
    probes: [
      {
        command: 'docker ps --filter name=atmosphere-docker_ --format "{{.Names}} {{.Image}}"',
        expect: 'atmosphere_1 old_atmosphere-docker_atmosphere',
      },
    ],
    retries: 3,
  }),
];

/**
 * Seed steps 8–9: the proxy back to the site, the maintenance ended in both apps, and the
 * public site answering without it. The end of a release, and the end of a rollback
 * (the maintenance phase's rollback, with `prefix` for its own ids).
 */
const endMaintenance = (prefix = ''): Step[] => [
  command({
    id: `${prefix}proxy-live`,
    title: '8. Remove the maintenance page from the proxy',
    run: nginxSwap('proxy.conf'),
    on: 'proxy',
    timeout: '2m',
  }),
  command({
    id: `${prefix}maintenance-stop-tropo`,
    title: '9. End the maintenance in Troposphere',
    help: 'If this does not work, go inside the container and run ./manage.py maintenance stop there; then mark the step done.',
    run: manage('troposphere', 'troposphere', 'maintenance stop'),
    on: 'atmo',
    timeout: '5m',
  }),
  command({
    id: `${prefix}maintenance-stop-atmo`,
    title: '9. End the maintenance in Atmosphere',
    help: 'If this does not work, go inside the container and run ./manage.py maintenance stop there; then mark the step done.',
    run: manage('atmosphere', 'atmo', 'maintenance stop'),
    on: 'atmo',
    timeout: '5m',
  }),
  check({
    id: `${prefix}public-site-live`,
    title: '8–9. The public site answers without the maintenance',
    on: 'proxy',
    probes: [
      {http: '${public_url}', status: 200},
      {http: '${public_url}/api/v2/maintenance_records', contains: '"in_maintenance": false'},
    ],
    retries: 10,
    interval: '5s',
  }),
];

/** The public site answers, with or without the maintenance banner. */
const appAnswers = (id: string, title: string, url: string, extra: object = {}): Step =>
  check({
    id,
    title,
    on: 'atmo',
    probes: [{http: url, status: 200, contains: '${release_tag}'}],
    retries: 30,
    interval: '10s',
    ...extra,
  });

const atmosphere = site({
  id: 'atmosphere',
  title: 'Atmosphere release',
  description:
    'Release process from two weeks before to deployment day: crew chief and driver, release candidate, beta deploy, backups, maintenance, nginx maintenance page, container swap, tests, maintenance end; a rollback to the committed images.',
  variables: {
    crew_chief: 'who owns this deployment (seed: two weeks prior, 1)',
    driver: 'who performs the technical tasks (seed: two weeks prior, 2)',
    release_tag: 'the release tag, Major-Minor, e.g. v36-1',
    maintenance_title: 'title of the maintenance record, e.g. "2019-06-16 v36-1 deployment"',
    maintenance_message: 'what users see during the maintenance',
    atmosphere_docker:
      'the seed’s alias: atmosphere-docker.sh with -f docker-compose.prod.yml, full paths',
    compose_dir: 'the atmosphere-docker checkout (/opt/dev/atmosphere-docker)',
    secrets_dir: 'the atmosphere-docker-secrets checkout',
    secrets_branch: 'the secrets branch for this server (prod, jetstream-prod, atmobeta …)',
    pg_host: 'PostgreSQL host for the backups',
    pg_user: 'PostgreSQL user for the backups (atmo_app)',
    atmo_db: 'the Atmosphere database (atmo_prod)',
    tropo_db: 'the Troposphere database (troposphere)',
    backup_dir: 'where the dumps go on the server (an absolute path)',
    nginx_dir: 'nginx configuration directory on the proxy (/etc/nginx)',
    public_url: 'the production site, through the proxy',
    beta_url: 'atmobeta',
    build_dir: 'scratch directory for a local image build',
    user_manual_url: 'the Atmosphere User Manual, for the maintenance banner',
  },
  phases: [
    phase({
      id: 'two-weeks-prior',
      title: 'Two weeks prior to release',
      due: 'T-14d',
      steps: [
        manual({
          id: 'crew-chief',
          title: '1. Crew chief: ${crew_chief}',
          help: 'Owns the deployment and sees this process completed, delegating as needed; point person for other teams and leadership; makes sure the driver has what they need. The name is in this session’s variables.',
        }),
        manual({
          id: 'driver',
          title: '2. Driver: ${driver}',
          help: 'Performs the technical deployment tasks; tells the crew chief about progress, setbacks and blocking issues.',
        }),
        notify({
          id: 'maintenance-notice',
          title: 'Send the maintenance notice to atmosphere-users',
          only: 'cyverse',
          due: 'T-2wd',
          channel: 'atmosphere-users mailing list',
          text: 'Atmosphere will be down for a scheduled maintenance on ${release} (${maintenance_title}): ${maintenance_message}',
          help: 'Worst case: the notice must go out two working days before the release.',
        }),
        manual({
          id: 'maintenance-banner',
          title: 'Post a maintenance banner to the Atmosphere User Manual',
          only: 'cyverse',
          due: 'T-2wd',
          links: ['${user_manual_url}'],
        }),
        manual({
          id: 'maintenance-calendar',
          title:
            'The maintenance window is on the "CyVerse Maintenance and Release Schedule" calendar',
          only: 'cyverse',
        }),
        manual({
          id: 'statusio',
          title: 'A scheduled maintenance is on status.io',
          only: 'cyverse',
        }),
        manual({
          id: 'jetstream-team',
          title:
            'The Jetstream tech team knows the date and time, has it on their calendar and has told their users',
          only: 'jetstream',
        }),
      ],
    }),
    phase({
      id: 'release-candidate',
      title: 'Week prior: create a release candidate',
      due: 'T-7d',
      help: 'A release is a tag Major-Minor (34-0, 34-1): a tag always names one exact snapshot, a branch does not.',
      steps: [
        manual({
          id: 'changelog',
          title: '1. Update the changelog: move "Unreleased" items into ${release_tag}',
        }),
        manual({
          id: 'changelog-pr',
          title: '2. Open a PR for the changelog and merge it into master',
        }),
        manual({
          id: 'tag-release',
          title: '3. Draft a new release on GitHub tagged ${release_tag}',
          help: 'This triggers the tagged build on Dockerhub.',
        }),
        choice({
          id: 'dockerhub-build',
          title: '4. The tagged Dockerhub build',
          question: 'Wait for the Dockerhub build of ${release_tag}, or build the images here?',
          options: [
            {
              id: 'dockerhub',
              label: 'Dockerhub built it',
              steps: [
                check({
                  id: 'images-published',
                  title: '4. Dockerhub has cyverse/atmosphere and troposphere at ${release_tag}',
                  on: 'beta',
                  probes: [
                    {command: 'docker manifest inspect cyverse/atmosphere:${release_tag}'},
                    {command: 'docker manifest inspect cyverse/troposphere:${release_tag}'},
                  ],
                  retries: 20,
                  interval: '1m',
                }),
              ],
            },
            {
              id: 'build-here',
              label: 'Cannot wait: shallow-clone and build',
              steps: [buildHere('atmosphere'), buildHere('troposphere')],
            },
          ],
        }),
      ],
    }),
    phase({
      id: 'beta',
      title: 'Week prior: prepare the release on atmobeta',
      due: 'T-5d',
      steps: [
        manual({
          id: 'merge-prs',
          title:
            '1. Merge the PRs slated for release in Atmosphere, Troposphere and Atmosphere-Ansible',
        }),
        command({
          id: 'beta-repo',
          title: '2. Deploy to atmobeta: update the atmosphere-docker checkout',
          run: 'cd ${compose_dir} && git pull',
          on: 'beta',
          timeout: '2m',
        }),
        command({
          id: 'beta-tags',
          title: '2. Deploy to atmobeta: image tags ${release_tag} in docker-compose.prod.yml',
          run: setImageTags('${release_tag}'),
          on: 'beta',
          repeatable: true,
          timeout: '1m',
        }),
        command({
          id: 'beta-up',
          title: '2. Deploy to atmobeta: pull the images and start the containers',
          run: '${raw:atmosphere_docker} pull && ${raw:atmosphere_docker} up -d',
          on: 'beta',
          timeout: '30m',
        }),
        check({
          id: 'beta-answers',
          title: '3. atmobeta answers with ${release_tag}',
          on: 'beta',
          probes: [{http: '${beta_url}', status: 200, contains: '${release_tag}'}],
          retries: 30,
          interval: '10s',
        }),
        manual({id: 'beta-test', title: '3. Test the changes on atmobeta'}),
        manual({id: 'prod-variables', title: '4. Prepare the production variables'}),
      ],
    }),
    phase({
      id: 'first-time',
      title: 'Deployment day: a new server?',
      help: 'Only for the first Atmosphere-Docker deployment on a server (seed: "Deploying Atmosphere-Docker for the First Time"; the week-prior step 5).',
      steps: [
        choice({
          id: 'new-server',
          title: 'Is this the first Atmosphere-Docker deployment on this server?',
          question: 'Upgrade an existing deployment, or set up a new server first?',
          options: [
            {id: 'upgrade', label: 'Existing server: go on with the upgrade', steps: []},
            {
              id: 'first-time',
              label: 'New server: clone, set up PostgreSQL, load the dumps',
              steps: [
                manual({
                  id: 'clone-repos',
                  title:
                    '1. Clone atmosphere-docker and atmosphere-docker-secrets (typically into /opt/dev/)',
                }),
                command({
                  id: 'install-postgres',
                  title: '2.1 Install PostgreSQL',
                  run: 'apt-get install -y postgresql',
                  on: 'atmo',
                  timeout: '10m',
                }),
                manual({
                  id: 'postgres-conf',
                  title:
                    "2.2–2.4 postgresql.conf: listen_addresses = 'localhost,172.17.0.1', ssl = off; pg_hba.conf: host all all 172.16.0.0/12 md5",
                  help: 'ssl must be off, otherwise user logins fail. The pg_hba line lets the Docker network connect.',
                }),
                command({
                  id: 'restart-postgres-new',
                  title: '2.5 Restart PostgreSQL',
                  run: 'systemctl restart postgresql',
                  on: 'atmo',
                  timeout: '2m',
                }),
                manual({
                  id: 'create-databases',
                  title:
                    '2.6 Create the atmo_app user (CREATEDB NOSUPERUSER CREATEROLE, with a password), then as atmo_app the databases ${atmo_db} and ${tropo_db}',
                }),
                command({
                  id: 'load-dumps',
                  title: '2.7 Load the database dumps',
                  run: 'psql -h ${pg_host} -U ${pg_user} ${atmo_db} < ${backup_dir}/atmo-load.sql && psql -h ${pg_host} -U ${pg_user} ${tropo_db} < ${backup_dir}/tropo-load.sql',
                  on: 'atmo',
                  timeout: '1h',
                }),
              ],
            },
          ],
        }),
      ],
    }),
    phase({
      id: 'maintenance',
      title: 'Deployment day: back up and start the maintenance',
      // Rolled back last: the site comes back, on whatever images the upgrade's rollback left.
      rollback: [
        ...endMaintenance('undo-'),
        notify({
          id: 'rolled-back-notice',
          title: 'Rollback: tell the crew chief',
          text: '${release_tag} was rolled back on ${profile}: the site runs the images committed before the upgrade, and the maintenance is over.',
        }),
      ],
      steps: [
        command({
          id: 'backup-atmo',
          title: '1. Back up the Atmosphere database',
          help: 'The database is outside Docker and is not touched, but back it up anyway. The next step waits until the dump exists and is not empty.',
          run: 'mkdir -p ${backup_dir} && pg_dump -h ${pg_host} -U ${pg_user} ${atmo_db} > ${backup_dir}/atmo-${release}.sql',
          on: 'atmo',
          produces: '${backup_dir}/atmo-${release}.sql',
          timeout: '1h',
        }),
        command({
          id: 'backup-tropo',
          title: '1. Back up the Troposphere database',
          run: 'mkdir -p ${backup_dir} && pg_dump -h ${pg_host} -U ${pg_user} ${tropo_db} > ${backup_dir}/tropo-${release}.sql',
          on: 'atmo',
          produces: '${backup_dir}/tropo-${release}.sql',
          timeout: '1h',
        }),
        command({
          id: 'maintenance-tropo',
          title: '2. Start the maintenance in Troposphere',
          run: manage('troposphere', 'troposphere', maintenanceStart),
          on: 'atmo',
          timeout: '5m',
        }),
        command({
          id: 'maintenance-atmo',
          title: '2. Start the maintenance in Atmosphere',
          run: manage('atmosphere', 'atmo', maintenanceStart),
          on: 'atmo',
          timeout: '5m',
        }),
        command({
          id: 'proxy-maintenance-page',
          title: '2. Switch the proxy to the maintenance page',
          help: 'You could also set this (and the switch back) up beforehand as `at` jobs on the proxy server.',
          run: nginxSwap('default'),
          on: 'proxy',
          timeout: '2m',
        }),
        check({
          id: 'maintenance-page-up',
          title: '2. The public site shows the maintenance page',
          on: 'proxy',
          probes: [{http: '${public_url}', status: 503, contains: 'Scheduled Maintenance'}],
          retries: 5,
          interval: '5s',
        }),
      ],
    }),
    phase({
      id: 'upgrade',
      title: 'Deployment day: upgrade with Atmosphere-Docker',
      // Aborted before the site is live again: back to the images committed in step 4.
      rollback: backToCommittedImages('undo', 'Rollback'),
      steps: [
        command({
          id: 'secrets-branch',
          title: '3. Check out the secrets branch ${secrets_branch}',
          run: 'cd ${secrets_dir} && git fetch && git checkout ${secrets_branch} && git pull',
          on: 'atmo',
          timeout: '2m',
        }),
        check({
          id: 'secrets-on-branch',
          title: '3. The secrets checkout is on ${secrets_branch}',
          on: 'atmo',
          probes: [
            {
              command: 'cd ${secrets_dir} && git rev-parse --abbrev-ref HEAD',
              expect: '^${secrets_branch}$',
            },
          ],
          retries: 1,
        }),
        manual({
          id: 'secrets-variables',
          title:
            '3. Double-check the variables are right for this server and include your latest updates',
        }),
        command({
          id: 'stop-containers',
          title: '4. Stop the current containers',
          run: '${raw:atmosphere_docker} stop',
          on: 'atmo',
          timeout: '10m',
        }),
        command({
          id: 'commit-containers',
          title: '4. Back the stopped containers up as images (the rollback path)',
          help: 'There is no way to keep the containers without an image: docker-compose uses the container IDs even after a rename. (The seed commits the atmosphere container twice; the second is troposphere.)',
          run: 'docker commit atmosphere-docker_atmosphere_1 old_atmosphere-docker_atmosphere && docker commit atmosphere-docker_troposphere_1 old_atmosphere-docker_troposphere',
          on: 'atmo',
          timeout: '20m',
        }),
        command({
          id: 'incoming-changes',
          title: '5. Note the incoming changes to atmosphere-docker before resetting',
          run: 'cd ${compose_dir} && git fetch && git status --short && git log --oneline HEAD..@{u}',
          on: 'atmo',
          repeatable: true,
          timeout: '2m',
        }),
        gate({
          id: 'changes-noted',
          title: '5. Significant changes noted? Type go to reset and pull',
          checks: [
            'Read the incoming commits and any local edits above: git reset --hard throws local edits away.',
          ],
        }),
        command({
          id: 'reset-pull',
          title: '5. Bring atmosphere-docker up to date',
          run: 'cd ${compose_dir} && git reset --hard && git pull',
          on: 'atmo',
          timeout: '2m',
        }),
        command({
          id: 'image-tags',
          title: '6. Image tags ${release_tag} in docker-compose.prod.yml',
          help: 'Only changes the file if the new tags are not in the repository already.',
          run: setImageTags('${release_tag}'),
          on: 'atmo',
          repeatable: true,
          timeout: '1m',
        }),
        command({
          id: 'pull-up',
          title: '6. Pull the images and start the containers',
          help: 'If this gives trouble, type the whole command out rather than the alias.',
          run: '${raw:atmosphere_docker} pull && ${raw:atmosphere_docker} up -d',
          on: 'atmo',
          timeout: '30m',
        }),
      ],
    }),
    phase({
      id: 'test',
      title: 'Deployment day: use and test, test, test',
      steps: [
        check({
          id: 'containers-up',
          title: '7. Both containers run ${release_tag}',
          on: 'atmo',
          probes: [
            {
              command:
                'docker ps --filter name=atmosphere-docker_ --format "{{.Names}} {{.Image}}"',
              expect: 'atmosphere_1 cyverse/atmosphere:${release_tag}',
            },
            {
              command:
                'docker ps --filter name=atmosphere-docker_ --format "{{.Names}} {{.Image}}"',
              expect: 'troposphere_1 cyverse/troposphere:${release_tag}',
            },
          ],
          retries: 3,
        }),
        appAnswers(
          'app-answers',
          '7. Atmosphere answers on the server with ${release_tag}',
          'http://localhost/',
        ),
        choice({
          id: 'postgres-connections',
          title: '7.4 Can the containers connect to PostgreSQL?',
          question: 'Do the containers reach PostgreSQL?',
          options: [
            {id: 'connected', label: 'Yes', steps: []},
            {
              id: 'restart-postgres',
              label: 'No: restart PostgreSQL',
              steps: [
                command({
                  id: 'restart-postgresql',
                  title: '7.4 Restart the postgresql service',
                  run: 'systemctl restart postgresql',
                  on: 'atmo',
                  timeout: '2m',
                }),
              ],
            },
          ],
        }),
        manual({id: 'use-and-test', title: '7. Use and test the new release'}),
        command({
          id: 'apt-upgrade',
          title: '7.1 apt-get update and upgrade',
          run: 'apt-get update && apt-get -y upgrade',
          on: 'atmo',
          timeout: '30m',
        }),
        manual({
          id: 'reboot',
          title: '7.1 Reboot the server, then wait for it and the containers to come back',
          help: 'The link to the server drops during the reboot: do it from a shell, then tick.',
        }),
        appAnswers(
          'app-after-reboot',
          '7.1 Atmosphere answers again after the reboot',
          'http://localhost/',
        ),
        command({
          id: 'log-sizes',
          title: '7.2 Logs rotate and are not getting too big',
          run: 'du -sh /var/lib/docker/containers/*/*-json.log 2>/dev/null | sort -h | tail -5; ls -l /etc/logrotate.d',
          on: 'atmo',
          repeatable: true,
          okExit: [0, 1, 2],
          timeout: '1m',
        }),
        choice({
          id: 'go-live',
          title: 'Keep the new release, or roll back to the committed images?',
          question: 'Are the services ready to go, or roll back to the images committed in step 4?',
          options: [
            {id: 'keep', label: 'Keep ${release_tag}', steps: []},
            {
              id: 'rollback',
              label: 'Roll back to old_atmosphere-docker_* images',
              steps: [
                ...backToCommittedImages('rollback', 'Rollback'),
                notify({
                  id: 'rollback-notice',
                  title: 'Rollback: tell the crew chief',
                  text: '${release_tag} was rolled back on ${profile} to the images committed before the upgrade.',
                }),
              ],
            },
          ],
        }),
        command({
          id: 'prune-images',
          title:
            '7.3 Delete unnecessary images (dangling only: the old_ images stay for a rollback)',
          run: 'docker image prune -f',
          on: 'atmo',
          timeout: '10m',
        }),
      ],
    }),
    phase({
      id: 'end-maintenance',
      title: 'Deployment day: end the maintenance',
      // Once users are back on the release, rolling back is no longer offered.
      pointOfNoReturn: true,
      steps: [
        ...endMaintenance(),
        notify({
          id: 'released',
          title: 'Tell everyone the maintenance is over',
          text: 'Atmosphere ${release_tag} is deployed on ${profile}; the maintenance is over.',
        }),
      ],
    }),
  ],
});

const hotfix = site({
  id: 'atmosphere-hotfix',
  title: 'Atmosphere hotfix',
  description:
    'Swap the atmosphere container for one from a new image without a maintenance: scale to 2 without recreating, wait for the new one, kill and remove the old one, restart nginx, fix crontab --index=2.',
  variables: {
    hotfix_tag: 'the image tag with the fix',
    atmosphere_docker: 'atmosphere-docker.sh with -f docker-compose.prod.yml, full paths',
    compose_dir: 'the atmosphere-docker checkout (/opt/dev/atmosphere-docker)',
    public_url: 'the production site',
  },
  phases: [
    phase({
      id: 'hotfix',
      title: 'Hotfixing',
      steps: [
        command({
          id: 'hotfix-tag',
          title: '1. Set the atmosphere image to ${hotfix_tag} in docker-compose.prod.yml',
          run: "sed -i -E 's#(image: cyverse/atmosphere):.*#\\1:${hotfix_tag}#' ${compose_dir}/docker-compose.prod.yml",
          on: 'atmo',
          repeatable: true,
          timeout: '1m',
        }),
        command({
          id: 'scale-up',
          title: '2. Scale atmosphere up to 2 without recreating the original',
          help: '--no-recreate is very important: without it compose stops and deletes the original, out-of-date container. Compose load-balances round robin between the two.',
          run: '${raw:atmosphere_docker} up -d --scale atmosphere=2 --no-recreate --no-deps',
          on: 'atmo',
          timeout: '15m',
        }),
        watch({
          id: 'new-container-ready',
          title: '3. Wait for the new container to finish its setup tasks',
          probe:
            'docker ps --filter name=atmosphere_ --filter health=healthy --format "{{.Names}}"',
          on: 'atmo',
          parse: 'lines',
          until: {atLeast: 2},
          every: '10s',
          patience: '5m',
          timeout: '30m',
          unit: 'healthy atmosphere containers',
        }),
        command({
          id: 'old-container',
          title: '3. Find the original container (names may differ slightly)',
          run: 'docker ps --filter name=atmosphere_ --format "{{.Names}}"',
          on: 'atmo',
          capture: {as: 'old_container', pattern: '^(\\S*atmosphere_1)$', value: '[\\w.-]+'},
          repeatable: true,
          timeout: '1m',
        }),
        command({
          id: 'kill-old',
          title: '3. Kill and remove the original container',
          help: 'Scaling back down to 1 would delete the newest container; renaming changes nothing (compose uses immutable labels).',
          run: 'docker kill ${old_container} && docker rm ${old_container}',
          on: 'atmo',
          danger: true,
          timeout: '5m',
        }),
        command({
          id: 'restart-nginx',
          title: '4. Restart nginx inside troposphere (hostname mapping of the docker network)',
          run: '${raw:atmosphere_docker} exec -T troposphere service nginx restart',
          on: 'atmo',
          timeout: '2m',
        }),
        check({
          id: 'hotfix-answers',
          title: '4. The site answers with ${hotfix_tag}',
          on: 'atmo',
          probes: [{http: '${public_url}', status: 200, contains: '${hotfix_tag}'}],
          retries: 10,
          interval: '5s',
        }),
        command({
          id: 'crontab-index',
          title: '5. Jetstream: add --index=2 to the crontab entries that use docker-compose',
          help: 'The new container always has index 2 and needs --index=2 on every compose command that talks to it.',
          run: "crontab -l | sed -E 's/ exec (-T )?atmosphere / exec \\1--index=2 atmosphere /' | crontab -",
          on: 'atmo',
          only: 'jetstream',
          timeout: '1m',
        }),
        check({
          id: 'crontab-has-index',
          title: '5. Jetstream: the crontab entries have --index=2',
          on: 'atmo',
          only: 'jetstream',
          probes: [{command: 'crontab -l', expect: '--index=2 atmosphere'}],
          retries: 1,
        }),
        manual({
          id: 'crontab-reminder',
          title: '5. Update any other crontab entries using docker-compose to include --index=2',
          unless: 'jetstream',
        }),
      ],
    }),
  ],
});

export const sites = [atmosphere, hotfix];
