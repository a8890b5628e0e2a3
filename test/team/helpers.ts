/** Shared bits for team-mode tests. */
import fs from 'node:fs';
import path from 'node:path';
import {sessionsDir} from '../../source/journal/file.js';
import {tempDir} from '../helpers/fixtures.js';

export const keep = (): boolean => !!process.env['KEEP'];

/** A state directory (XDG_STATE_HOME) for one crewchief "machine". */
export function stateDir(cleanup: (() => void | Promise<void>)[]): string {
  const dir = tempDir('cc-team-');
  cleanup.push(() => (keep() ? undefined : fs.rmSync(dir, {recursive: true, force: true})));
  return dir;
}

/** Journal files in a state directory's sessions directory. */
export function journalsIn(state: string): string[] {
  const dir = sessionsDir({XDG_STATE_HOME: state});
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => path.join(dir, f));
}

/** The lines of a journal file: header first. */
export const linesOf = (file: string): string[] =>
  fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

/** Runs cleanups in reverse order, all of them, even when one fails. */
export async function runCleanups(cleanup: (() => void | Promise<void>)[]): Promise<void> {
  for (const fn of cleanup.splice(0).reverse()) await Promise.resolve(fn()).catch(() => {});
}
