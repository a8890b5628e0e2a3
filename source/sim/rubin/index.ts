import type {SimSite} from '../programs.js';
import {cleanupAll, cleanupLove, docker, git, kubectl, python} from './site.js';

export const rubin: SimSite = {
  programs: {docker, kubectl, python, git, cleanup_all: cleanupAll, cleanup_love: cleanupLove},
  /** Files in the simulated home: the k8s-admin and argocd-admin checkouts, the auth file. */
  files: {
    'k8s-admin/tucson-teststand/cleanup_all': {program: 'cleanup_all'},
    'k8s-admin/tucson-teststand/cleanup_love': {program: 'cleanup_love'},
    'k8s-admin/summit/cleanup_all': {program: 'cleanup_all'},
    'argocd-admin/argocd_login.py': {text: '# simulated: run with python\n'},
    'argocd-admin/sync_apps.py': {text: '# simulated: run with python\n'},
    '.argocd/tts-auth': {text: 'demo-driver\nnot-a-real-password\n'},
    'deployment/config/.keep': {text: ''},
  },
};
