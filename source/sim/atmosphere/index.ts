import {quietOnClosedPipe} from '../common/host.js';
import type {SimSite} from '../programs.js';
import {
  aptGet,
  atmosphereDocker,
  crontab,
  curl,
  docker,
  dockerCompose,
  git,
  sudo,
  systemctl,
} from './site.js';

const compose = `version: '3'
services:
  atmosphere:
    image: cyverse/atmosphere:v36-0
    restart: always
  troposphere:
    image: cyverse/troposphere:v36-0
    restart: always
`;

/** Atmosphere: the checkouts under ~/opt/dev and the proxy's nginx under ~/etc/nginx. */
export const atmosphere: SimSite = {
  programs: quietOnClosedPipe({
    docker,
    'docker-compose': dockerCompose,
    'atmosphere-docker.sh': atmosphereDocker,
    git,
    systemctl,
    'apt-get': aptGet,
    crontab,
    curl,
    sudo,
  }),
  files: {
    'opt/dev/atmosphere-docker/atmosphere-docker.sh': {program: 'atmosphere-docker.sh'},
    'opt/dev/atmosphere-docker/docker-compose.prod.yml': {text: compose},
    'opt/dev/atmosphere-docker-secrets/variables.yml': {text: 'ATMOSPHERE_SERVER_URL: example\n'},
    'etc/nginx/sites-available/default': {
      text: '# the maintenance page\nserver { listen 443 ssl; root /var/www/maintenance; }\n',
    },
    'etc/nginx/sites-available/proxy.conf': {
      text: '# proxy to atmosphere-docker\nserver { listen 443 ssl; location / { proxy_pass http://atmo; } }\n',
    },
    'etc/nginx/sites-enabled/proxy.conf': {
      text: '# proxy to atmosphere-docker\nserver { listen 443 ssl; location / { proxy_pass http://atmo; } }\n',
    },
    'build/.keep': {text: ''},
  },
};
