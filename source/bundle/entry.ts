/**
 * The single-file build's entry: the CLI, plus what a user machine imports from
 * `crewchief` (a user machine gets this very file, already loaded: see build.js).
 */
export * from '../runbook/vocabulary.js';
await import('../cli.js');
