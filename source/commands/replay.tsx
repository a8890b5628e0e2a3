/**
 * `crewchief replay FILE`: the journal through the same store and the same console,
 * read-only, against a clock the viewer controls (pause, speed, step, jump to a phase
 * or a time). `--follow` keeps reading a journal that is still being written. The
 * final state equals the live session's final state: the store is a pure fold.
 */
import {render} from 'ink';
import React from 'react';
import type {JournalEntry} from '../journal/events.js';
import {describeDamage, readJournal} from '../journal/file.js';
import {createSessionStore, type SessionStoreApi} from '../store/store.js';
import {FileTail} from '../team/file-tail.js';
import {App} from '../ui/app.js';
import {describeEntry} from '../ui/plain.js';
import {ReplayPlayer} from '../ui/replay-player.js';

export interface ReplayOptions {
  plain: boolean;
  /** The journal's events as NDJSON on stdout (one entry a line), for scripts. */
  json?: boolean;
  /** 1 = as it happened; 0 = as fast as possible (default 0 with --plain, 10 otherwise). */
  speed?: number;
  /** Keep reading the journal as it grows. */
  follow?: boolean;
  /** Team mode: read the session (the argument is its id) from this PostgreSQL mirror. */
  journalDb?: string;
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

/** Follows the journal file; `onEntries` gets only the entries after `lastSeq`. */
function follow(
  file: string,
  lastSeq: number,
  onEntries: (entries: JournalEntry[]) => void,
  onProblem: (text: string) => void,
): () => void {
  const tail = new FileTail({
    file,
    onEntries: (entries) => {
      const fresh = entries.filter((e) => e.seq > lastSeq);
      if (fresh.length) onEntries(fresh);
    },
    onProblem,
  });
  tail.start();
  return () => tail.stop();
}

export async function replay(args: string[], options: ReplayOptions): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('crewchief: replay expects one journal FILE\n');
    return 2;
  }
  if (options.speed !== undefined && !(options.speed >= 0)) {
    process.stderr.write('crewchief: --speed expects a number (1 = as it happened)\n');
    return 2;
  }
  let read;
  try {
    // Team mode: the same playback, from the PostgreSQL mirror (follow a live one with watch).
    if (options.journalDb && options.follow)
      throw new Error(
        `to follow a session live from PostgreSQL: crewchief watch ${file} --journal-db URL`,
      );
    read = options.journalDb
      ? await (await import('../journal/pg-read.js')).readJournalFromPg(options.journalDb, file)
      : readJournal(file);
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
      const line = options.json ? JSON.stringify(e) : describeEntry(e, store.getState());
      if (line !== undefined) process.stdout.write(`${line}\n`);
    });
    if (options.follow && !read.damage.length) {
      await new Promise<void>((resolve) => {
        const stop = follow(
          file,
          entries.at(-1)?.seq ?? 0,
          (more) => {
            for (const e of more) {
              store.getState().apply(e);
              const line = options.json ? JSON.stringify(e) : describeEntry(e, store.getState());
              if (line !== undefined) process.stdout.write(`${line}\n`);
              if (e.type === 'session-closed') {
                stop();
                resolve();
              }
            }
          },
          (text) => process.stderr.write(`warning: ${text}\n`),
        );
      });
    }
    return read.damage.length ? 4 : 0;
  }
  if (!process.stdin.isTTY) {
    process.stderr.write('crewchief: the console needs a terminal on stdin; use --plain\n');
    return 2;
  }
  // --speed 0 starts at the end; stepping back plays at the fastest speed.
  const player = new ReplayPlayer(store, entries, {
    speed: options.speed === 0 ? 256 : (options.speed ?? 10),
    follow: !!options.follow && !read.damage.length,
  });
  const stop = player.position().follow
    ? follow(
        file,
        entries.at(-1)?.seq ?? 0,
        (more) => player.append(more),
        () => {},
      )
    : undefined;
  // --speed 0: at once, straight to the end (the controls still go back from there).
  if (options.speed === 0) player.end();
  process.stdout.write('\u001b[?1049h');
  const restore = (): void => void process.stdout.write('\u001b[?1049l');
  process.once('exit', restore);
  const instance = render(<App store={store} mode="replay" replay={player} clearOnResize />, {
    maxFps: 10,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  if (options.speed !== 0) player.play();
  await instance.waitUntilExit();
  stop?.();
  player.dispose();
  restore();
  process.removeListener('exit', restore);
  return read.damage.length ? 4 : 0;
}
