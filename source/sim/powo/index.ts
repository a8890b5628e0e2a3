import {quietOnClosedPipe} from '../common/host.js';
import type {SimSite} from '../programs.js';
import {dig, gcloud, helm, kubectl, mvn} from './site.js';

const overrides = (env: string, deleteExisting: boolean): string => `cluster: powo-${env}
environment: ${env}
deleteExisting: ${deleteExisting}
dns:
  - zone: powo-example
    name: ${env === 'prod' ? 'powo.science.example.org' : 'powo-dev.science.example.org'}
    service: portal
schedule: "0 2 * * 6"
strictErrorChecking: ${env === 'prod'}
`;

/** POWO: the powop-infrastructure and powop checkouts in the workstation's home. */
export const powo: SimSite = {
  programs: quietOnClosedPipe({kubectl, helm, gcloud, mvn, dig}),
  files: {
    'powop-infrastructure/powo-builder/Chart.yaml': {
      text: 'apiVersion: v2\nname: powo-builder\nversion: 0.4.0\n',
    },
    'powop-infrastructure/powo-builder/values.yaml': {
      text: 'builder:\n  image: eu.gcr.io/powo-example/powo-builder\n  tag: 1.3.0\n',
    },
    'powop-infrastructure/powo-builder/prod.yaml': {text: overrides('prod', true)},
    'powop-infrastructure/powo-builder/dev.yaml': {text: overrides('dev', false)},
    'powop-infrastructure/secrets/prod/secrets.yaml': {text: 'dbPassword: not-a-real-password\n'},
    'powop-infrastructure/secrets/dev/secrets.yaml': {text: 'dbPassword: not-a-real-password\n'},
    'powop-infrastructure/secrets/deployer/secrets.yaml': {text: 'serviceAccount: deployer\n'},
    'powop/powo-builder/pom.xml': {
      text: '<project>\n  <artifactId>powo-builder</artifactId>\n  <version>1.4.0</version>\n</project>\n',
    },
  },
};
