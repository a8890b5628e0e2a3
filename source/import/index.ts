/**
 * `crewchief import`: a runbook written as Markdown or exported from a wiki as plain text,
 * as a machine file. Three steps, one concern each: tokenize (markdown.ts), classify
 * (classify.ts), emit (emit.ts).
 */
import {classify} from './classify.js';
import {emitMachine, type EmitOptions, type ImportCounts} from './emit.js';
import {tokenize} from './markdown.js';

export {emitDraftProfile, PLACEHOLDER_HOST, plural, slug, type ImportCounts} from './emit.js';

/** The machine file's text for a runbook's text, and what it holds. */
export function importRunbook(
  text: string,
  options: EmitOptions,
): {machine: string; counts: ImportCounts} {
  const {text: machine, counts} = emitMachine(classify(tokenize(text)), options);
  return {machine, counts};
}
