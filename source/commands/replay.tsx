/**
 * `crewchief replay FILE`: the journal through the same store against a clock. The
 * final state equals the live session's final state.
 */
import {render} from 'ink';
import React from 'react';
import {describeDamage, readJournal} from '../journal/file.js';
import type {JournalEntry} from '../journal/events.js';
import {createSessionStore, type SessionStoreApi} from '../store/store.js';
import {App} from '../ui/app.js';
import {describeEntry} from '../ui/plain.js';

export interface ReplayOptions {
  plain: boolean;
  /** 1 = as it happened; 0 = as fast as possible (default 0 with --plain, 10 otherwise). */
  speed?: number;
}

/** Feeds entries into the store, waiting the recorded gaps divided by speed (capped at 2 s). */
export async function play(
  entries: readonly JournalEntry[],
  store: SessionStoreApi,
  speed: number,
  onEntry?: (e: JournalEntry) => void,
): Promise<void> {
  let previous: number | undefined;
  for (const entry of entries) {
    const at = Date.parse(entry.time);
    if (speed > 0 && previous !== undefined) {
      const gap = Math.min(2000, (at - previous) / speed);
      if (gap > 5) await new Promise((r) => setTimeout(r, gap));
    }
    previous = at;
    store.getState().apply(entry);
    onEntry?.(entry);
  }
}

export async function replay(args: string[], options: ReplayOptions): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('crewchief: replay expects one journal FILE\n');
    return 2;
  }
  let read;
  try {
    read = readJournal(file);
  } catch (error) {
    process.stderr.write(`crewchief: ${(error as Error).message}\n`);
    return 4;
  }
  for (const w of read.warnings) process.stderr.write(`warning: ${w}\n`);
  if (read.damage.length) {
    process.stderr.write(
      `${describeDamage(file, read.damage)}\nreplaying the events before the first damaged line\n`,
    );
  }
  const firstDamage = read.damage[0]?.line;
  const entries =
    firstDamage === undefined ? read.entries : read.entries.filter((_, i) => i + 2 < firstDamage);
  const store = createSessionStore();
  if (options.plain) {
    await play(entries, store, options.speed ?? 0, (e) => {
      const line = describeEntry(e, store.getState());
      if (line !== undefined) process.stdout.write(`${line}\n`);
    });
    return read.damage.length ? 4 : 0;
  }
  const instance = render(<App store={store} mode="replay" />, {maxFps: 10});
  await play(entries, store, options.speed ?? 10);
  await instance.waitUntilExit();
  return read.damage.length ? 4 : 0;
}
