/** Runs the built CLI (dist/) the way a driver would, with its own state directory. */
import {execa, type ResultPromise} from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import {readJournal} from '../../source/journal/file.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {repoRoot} from './fixtures.js';

export const cliPath = path.join(repoRoot, 'dist', 'source', 'cli.js');

export function cli(
  args: string[],
  options: {state: string; env?: Record<string, string>; cwd?: string},
): ResultPromise<{reject: false; all: true; stdin: 'ignore'}> {
  if (!fs.existsSync(cliPath))
    throw new Error(`${cliPath} is missing: run npm run build first (npm test does)`);
  return execa('node', [cliPath, ...args], {
    reject: false,
    all: true,
    stdin: 'ignore',
    cwd: options.cwd ?? repoRoot,
    env: {
      XDG_STATE_HOME: options.state,
      CREWCHIEF_DRIVER: 'tester@bastion',
      CI: 'true',
      ...options.env,
    },
  });
}

/** Entries of a journal that may be being written right now (a torn tail is fine). */
export function entriesNow(file: string): JournalEntry[] {
  if (!fs.existsSync(file)) return [];
  try {
    return readJournal(file).entries;
  } catch {
    return [];
  }
}

/** Polls until a condition holds (a file another process writes). */
export async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls a journal until an entry matches (the process writes it; no sleeps in assertions). */
export async function waitForEntry(
  file: string,
  match: (e: JournalEntry) => boolean,
  timeoutMs = 30_000,
): Promise<JournalEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = entriesNow(file).find(match);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(
        `no matching entry in ${file} after ${timeoutMs} ms; last: ${JSON.stringify(entriesNow(file).at(-1))}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}
