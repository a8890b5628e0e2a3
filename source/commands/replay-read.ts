/**
 * Reading a journal file for replay, in one pass (shared by the console's reading thread,
 * commands/replay-worker.ts, and the main thread): light, so the thread starts soon.
 */
import type {JournalEntry} from '../journal/events.js';
import {journalEnd, scanJournalFile, type JournalDamage, type JournalEnd} from '../journal/scan.js';

/** What reading a journal gave: how it ended, and what was wrong with it. */
export interface Read {
  end: JournalEnd;
  damage: readonly JournalDamage[];
  warnings: readonly string[];
  lastSeq: number;
}

/**
 * Reads a journal file in one pass, handing each batch of entries (up to the first damaged
 * line) to `batch` as it is parsed and checked.
 */
export function readFile(
  file: string,
  batch: (entries: JournalEntry[], starts: number[], ends: number[]) => void,
): Read {
  let last: JournalEntry | undefined;
  let events = 0;
  const scan = scanJournalFile(
    file,
    (entries, starts, ends) => {
      last = entries.at(-1);
      events += entries.length;
      batch(entries, starts, ends);
    },
    {untilDamage: true},
  );
  return {
    end: journalEnd(scan, last, events),
    damage: scan.damage,
    warnings: scan.warnings,
    lastSeq: last?.seq ?? 0,
  };
}
