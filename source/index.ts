/**
 * What a runbook author imports: `import {site, phase, command, watch} from 'crewchief'`.
 */
export * from './runbook/vocabulary.js';
