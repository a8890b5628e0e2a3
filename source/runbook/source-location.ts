/**
 * Where in a machine file a phase or step was written, so `validate` can say file:line.
 * The vocabulary helpers record their caller; plain object literals get no location and
 * errors then name the step instead.
 */
import {fileURLToPath} from 'node:url';

// One registry per process, even when a user machine loads the vocabulary from another
// copy of this module (source vs dist).
const registry = globalThis as {[key: symbol]: WeakMap<object, string> | undefined};
const key = Symbol.for('crewchief.runbook.locations');
const locations = (registry[key] ??= new WeakMap<object, string>());

export function recordCaller<T extends object>(value: T): T {
  const stack = new Error().stack?.split('\n') ?? [];
  // [0] "Error", [1] recordCaller, [2] the helper, [3] the machine file.
  const frame = stack[3] ?? '';
  const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(frame.trim());
  if (match) {
    const file = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    locations.set(value, `${file}:${match[2]}`);
  }
  return value;
}

/** `file:line` where the value was declared, if known. */
export const locationOf = (value: object): string | undefined => locations.get(value);
