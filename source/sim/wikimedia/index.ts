import {quietOnClosedPipe} from '../common/host.js';
import type {SimSite} from '../programs.js';
import {
  curl,
  git,
  journalctl,
  pgrep,
  puppet,
  puppetMerge,
  serverJs,
  service,
  sudo,
  timeout,
} from './site.js';

/** Wikimedia: the deploy repo on the builder, the deploy directory, the puppet checkout. */
export const wikimedia: SimSite = {
  programs: quietOnClosedPipe({
    git,
    sudo,
    service,
    curl,
    timeout,
    pgrep,
    journalctl,
    puppet,
    'puppet-merge': puppetMerge,
    'server.js': serverJs,
  }),
  files: {
    'service/deploy/src/server.js': {program: 'server.js'},
    'service/deploy/.gitmodules': {
      text: '[submodule "src"]\n\tpath = src\n\turl = https://gerrit.example.org/r/mediawiki/services/service\n',
    },
    'srv/deployment/service/deploy/.git/HEAD': {text: 'ref: refs/heads/master\n'},
    'puppet/.git/HEAD': {text: 'ref: refs/heads/production\n'},
    'puppet/hieradata/role/common/service.yaml': {text: 'service::num_workers: 4\n'},
  },
};
