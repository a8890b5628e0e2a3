/**
 * One pipeline for every event source. A source (a live session's journal, a journal
 * file being written, the PostgreSQL mirror, a recorded journal against a clock) hands
 * over journal entries in order; `feed` folds each into the store and shows it in a view
 * (plain lines, or nothing: the console reads the store). Live, resume, watch and replay
 * all go through here, so they can only differ in where the entries come from.
 */
import type {JournalEntry} from '../journal/events.js';
import {MemoryLog, type ReplayLog} from '../journal/replay-log.js';
import type {JournalEnd} from '../journal/scan.js';
import {PgTail, type PgTailOptions} from '../journal/pg-tail.js';
import type {FoldItem, SessionState} from '../store/fold.js';
import type {SessionStoreApi} from '../store/store.js';
import {FileTail} from '../team/file-tail.js';
import {describeEntry} from '../ui/plain.js';

/** Entries in seq order; a recorded journal's reader adds its end fact after the last. */
export type Deliver = (entries: readonly FoldItem[]) => void;

/** Where entries come from. */
export interface EventSource {
  /** Starts handing entries over, in seq order, never twice. */
  start(deliver: Deliver): void;
  /** Stops; nothing is delivered afterwards. */
  stop(): void | Promise<void>;
}

/** How entries are shown once folded into the store. */
export interface View {
  entry?(entry: FoldItem, state: SessionState): void;
}

/** Plain lines: one line per entry that says something (what `--plain` prints). */
export const plainView = (write: (line: string) => void): View => ({
  entry(entry, state) {
    if (entry.type === 'journal-end') {
      write(`■ journal: ${entry.text}`);
      return;
    }
    const line = describeEntry(entry, state);
    if (line !== undefined) write(line);
  },
});

/** JSON lines: each event as the journal holds it (NDJSON, for scripts: `--json`). */
export const jsonView = (write: (line: string) => void): View => ({
  entry(entry) {
    write(JSON.stringify(entry));
  },
});

/** The console reads the store itself: nothing per entry. */
export const consoleView: View = {};

/** Takes entries: the one "apply, describe, write" loop. */
export interface Sink {
  take(entries: readonly FoldItem[]): void;
}

export function storeSink(store: SessionStoreApi, view: View = consoleView): Sink {
  return {
    take(entries) {
      if (!view.entry) {
        store.getState().applyMany(entries);
        return;
      }
      for (const entry of entries) {
        store.getState().apply(entry);
        view.entry(entry, store.getState());
      }
    },
  };
}

/** The console's frame: output is folded into the store at most this often (10 fps). */
export const FRAME_MS = 100;

/** Entries that only add output: they may wait for the next frame. */
const deferrable = (entry: FoldItem): boolean =>
  entry.type === 'output' || entry.type === 'output-progress';

export interface BatchedSink extends Sink {
  /** Folds what waits now (the session ended, the source stopped). */
  flush(): void;
}

/**
 * Keeps the fold off the per-chunk path: output entries wait and go into the sink
 * together, at most once per `everyMs`, while the recorder journals every chunk as it
 * comes. Any other entry first flushes what waits, so the order holds and a prompt, a
 * result or the session's end is folded at once (drive answers prompts from the store).
 */
export function frameBatched(sink: Sink, everyMs = FRAME_MS): BatchedSink {
  let waiting: FoldItem[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!waiting.length) return;
    const batch = waiting;
    waiting = [];
    sink.take(batch);
  };
  return {
    flush,
    take(entries) {
      if (entries.every(deferrable)) {
        for (const entry of entries) waiting.push(entry);
        if (!timer) {
          timer = setTimeout(flush, everyMs);
          timer.unref?.();
        }
        return;
      }
      flush();
      sink.take(entries);
    },
  };
}

export interface Feeding {
  /** Resolves when the session closes in the stream (or `stop` is called). */
  ended: Promise<void>;
  stop(): Promise<void>;
}

/** Feeds a source into a sink until the session closes or `stop` is called. */
export function feed(source: EventSource, sink: Sink): Feeding {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await source.stop();
    end();
  };
  source.start((entries) => {
    if (stopped || !entries.length) return;
    sink.take(entries);
    if (entries.some((e) => e.type === 'session-closed')) end();
  });
  return {ended, stop};
}

// Sources

/** A live session: each entry as the journal writer appends it. */
export function liveSource(journal: {
  onEntry(listener: (entry: JournalEntry) => void): () => void;
}): EventSource {
  let off: (() => void) | undefined;
  return {
    start(deliver) {
      off = journal.onEntry((entry) => deliver([entry]));
    },
    stop() {
      off?.();
      off = undefined;
    },
  };
}

/** Entries already read (a resumed session's history, a recorded journal), at once. */
export function entriesSource(entries: readonly JournalEntry[]): EventSource {
  return {
    start(deliver) {
      deliver(entries);
    },
    stop() {},
  };
}

/** A journal file as it is written; only entries after `afterSeq`. */
export function fileTailSource(
  file: string,
  options: {afterSeq?: number; onProblem?: (text: string) => void; pollMs?: number} = {},
): EventSource {
  let tail: FileTail | undefined;
  return {
    start(deliver) {
      const after = options.afterSeq ?? 0;
      tail = new FileTail({
        file,
        onEntries: (entries) => {
          const fresh = after ? entries.filter((e) => e.seq > after) : entries;
          if (fresh.length) deliver(fresh);
        },
        ...(options.onProblem ? {onProblem: options.onProblem} : {}),
        ...(options.pollMs ? {pollMs: options.pollMs} : {}),
      });
      tail.start();
    },
    stop() {
      tail?.stop();
    },
  };
}

/** A session in the PostgreSQL mirror, as it is written (LISTEN/NOTIFY, then the rows). */
export function pgTailSource(options: Omit<PgTailOptions, 'onEntries'>): EventSource {
  let tail: PgTail | undefined;
  return {
    start(deliver) {
      tail = new PgTail({...options, onEntries: (entries) => deliver(entries)});
      tail.start();
    },
    async stop() {
      await tail?.stop();
    },
  };
}

export interface Clock {
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {sleep: (ms) => new Promise((r) => setTimeout(r, ms))};

/**
 * A recorded journal against a clock: the recorded gaps divided by `speed` (capped at
 * `maxGapMs`); speed 0 delivers everything at once. Then the reader's end fact, if given.
 */
export function replayClockSource(
  entries: readonly JournalEntry[] | ReplayLog,
  options: {speed: number; maxGapMs?: number; clock?: Clock; end?: JournalEnd},
): EventSource & {played: Promise<void>} {
  let stopped = false;
  let played!: () => void;
  const done = new Promise<void>((resolve) => (played = resolve));
  const clock = options.clock ?? realClock;
  const maxGap = options.maxGapMs ?? 2000;
  const log = Array.isArray(entries)
    ? new MemoryLog(entries as readonly JournalEntry[])
    : (entries as ReplayLog);
  const BLOCK = 1024;
  return {
    played: done,
    start(deliver) {
      if (!(options.speed > 0)) {
        for (let i = 0; i < log.length && !stopped; i += BLOCK)
          deliver(log.slice(i, Math.min(log.length, i + BLOCK)));
        if (options.end && !stopped) deliver([options.end]);
        played();
        return;
      }
      void (async () => {
        let previous: number | undefined;
        for (let i = 0; i < log.length && !stopped; i += BLOCK) {
          for (const entry of log.slice(i, Math.min(log.length, i + BLOCK))) {
            const at = Date.parse(entry.time);
            if (previous !== undefined) {
              const gap = Math.min(maxGap, (at - previous) / options.speed);
              if (gap > 5) await clock.sleep(gap);
            }
            if (stopped) break;
            previous = at;
            deliver([entry]);
          }
        }
        if (options.end && !stopped) deliver([options.end]);
        played();
      })();
    },
    stop() {
      stopped = true;
    },
  };
}

/** A source that delivers `first`, then `then` (a recorded journal, then its tail). */
export function sequence(
  first: EventSource & {played?: Promise<void>},
  then: EventSource,
): EventSource {
  let second = false;
  let stopped = false;
  return {
    start(deliver) {
      first.start(deliver);
      void (first.played ?? Promise.resolve()).then(() => {
        if (stopped) return;
        second = true;
        then.start(deliver);
      });
    },
    async stop() {
      stopped = true;
      await first.stop();
      if (second) await then.stop();
    },
  };
}
