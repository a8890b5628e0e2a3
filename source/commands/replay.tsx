/**
 * `crewchief replay FILE`: the journal through the same store and the same console,
 * read-only, against a clock the viewer controls (pause, speed, step, jump to a phase
 * or a time). `--follow` keeps reading a journal that is still being written. The
 * final state equals the live session's final state: the store is a pure fold.
 *
 * A journal file is read once, streamed: each chunk is parsed, checked and folded as it
 * comes, and only each entry's offset and time are kept (the player reads lines back when
 * it seeks). After the last entry the reader's end fact — sealed, closed, open, damaged —
 * is folded in like an event, so every view says how the journal ended.
 */
import type {JournalEntry} from '../journal/events.js';
import {describeDamage, readJournal} from '../journal/file.js';
import {FileLog, MemoryLog, type ReplayLog} from '../journal/replay-log.js';
import {journalEnd, type JournalEnd} from '../journal/scan.js';
import {readFile, type Read} from './replay-read.js';
import {readInWorker, takeEarlyRead} from './replay-start.js';
import {EXIT} from '../services/exit.js';
import {onInterrupt} from '../services/interrupt.js';
// The pipeline and the console are loaded when needed: the console's journal starts
// being read (on its own thread) before they are.
import type {Clock, EventSource, Sink} from '../services/pipeline.js';
import {createSessionStore, type SessionStoreApi} from '../store/store.js';
import {ReplayPlayer, type PlayerOptions} from '../ui/replay-player.js';

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
  /** Write the console's frames as an asciicast v2 file here instead of playing. */
  cast?: string;
  /** The recorded terminal's size, COLSxROWS (default 100x32). */
  size?: string;
  /** Where plain lines go (tests). */
  write?: (line: string) => void;
  /** Sees the store the view reads (tests compare it with the live run's). */
  onStore?: (store: SessionStoreApi) => void;
  /** The clock plain playback waits on (tests). */
  clock?: Clock;
}

export type {Read} from './replay-read.js';

/** A session from the PostgreSQL mirror (its lines are verbatim: the seal is checked), in memory. */
async function readMirror(url: string, session: string): Promise<Read & {log: MemoryLog}> {
  const read = await (await import('../journal/pg-read.js')).readJournalFromPg(url, session);
  const firstDamage = read.damage[0]?.line;
  const entries =
    firstDamage === undefined ? read.entries : read.entries.filter((_, i) => i + 2 < firstDamage);
  return {
    log: new MemoryLog(entries),
    end: journalEnd(read, entries.at(-1), entries.length),
    damage: read.damage,
    warnings: read.warnings,
    lastSeq: entries.at(-1)?.seq ?? 0,
  };
}

const say = (read: Read, file: string): void => {
  for (const w of read.warnings) process.stderr.write(`warning: ${w}\n`);
  if (read.damage.length) {
    process.stderr.write(
      `${describeDamage(file, read.damage)}\nreplaying the events before the first damaged line\n`,
    );
  }
};

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
  if (options.journalDb && options.follow) {
    process.stderr.write(
      `crewchief: to follow a session live from PostgreSQL: crewchief watch ${file} --journal-db URL\n`,
    );
    return 4;
  }
  if (options.cast !== undefined) return castOf(file, options);
  if (!options.plain && !process.stdin.isTTY) {
    process.stderr.write('crewchief: the console needs a terminal on stdin; use --plain\n');
    return EXIT.usage;
  }
  const store = createSessionStore();
  options.onStore?.(store);
  return options.plain ? replayPlain(file, store, options) : replayConsole(file, store, options);
}

async function replayPlain(
  file: string,
  store: SessionStoreApi,
  options: ReplayOptions,
): Promise<number> {
  const {feed, jsonView, plainView, replayClockSource, sequence, storeSink} = await pipeline();
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const sink = storeSink(store, options.json ? jsonView(write) : plainView(write));
  const speed = options.speed ?? 0;
  let read: Read;
  let log: ReplayLog | undefined;
  try {
    if (options.journalDb) ({log, ...read} = await readMirror(options.journalDb, file));
    else if (speed > 0) {
      const fileLog = new FileLog(file);
      read = readFile(file, (entries, starts, ends) => fileLog.add(entries, starts, ends));
      log = fileLog;
    } else {
      // As fast as possible: the one pass is the replay (nothing kept but the store).
      read = readFile(file, (entries) => sink.take(entries));
    }
  } catch (error) {
    process.stderr.write(`crewchief: ${(error as Error).message}\n`);
    return 4;
  }
  say(read, file);
  const follow = !!options.follow && !read.damage.length;
  let stop!: () => void;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  const offInterrupt = onInterrupt(() => stop());
  // The one pipeline: the recorded journal against the clock, its end fact (then,
  // following, the file as it grows) into the store and plain lines.
  const recorded = log
    ? replayClockSource(log, {
        speed,
        ...(options.clock ? {clock: options.clock} : {}),
        ...(follow ? {} : {end: read.end}),
      })
    : doneSource(follow ? [] : [read.end]);
  const feeding = feed(
    follow ? sequence(recorded, await tail(file, read.lastSeq)) : recorded,
    sink,
  );
  await Promise.race([follow ? feeding.ended : recorded.played, interrupted]);
  await feeding.stop();
  offInterrupt();
  return read.damage.length ? EXIT.journal : EXIT.ok;
}

/** A replay ready to show: the player over the journal, and what reading it found. */
export interface LoadedReplay {
  player: ReplayPlayer;
  read: Read;
  /** Following a journal still being written (its end fact waits). */
  following: boolean;
}

/**
 * Reads a journal for the console in one pass: each batch is folded into `store` as it is
 * read, with checkpoints for going back; then the end fact. Throws when it cannot be read.
 */
export async function loadReplay(
  file: string,
  store: SessionStoreApi,
  options: LoadOptions = {},
): Promise<LoadedReplay> {
  const make = playerFor(store, options, (await pipeline()).storeSink(store).take);
  let read: Read;
  let player: ReplayPlayer;
  if (options.journalDb) {
    const mirror = await readMirror(options.journalDb, file);
    player = make(mirror.log);
    player.loaded();
    read = mirror;
  } else {
    const log = new FileLog(file);
    const made = make(log);
    player = made;
    read = readFile(file, (entries, starts, ends) => {
      log.add(entries, starts, ends);
      made.loaded();
    });
  }
  return ready(player, read, options);
}

type LoadOptions = Pick<ReplayOptions, 'speed' | 'follow' | 'journalDb'> &
  Pick<PlayerOptions, 'now' | 'setTimer' | 'clearTimer'>;

/** Makes the player over a log. */
const playerFor =
  (store: SessionStoreApi, options: LoadOptions, take: Sink['take']) =>
  (log: ReplayLog): ReplayPlayer => {
    const {speed, follow, journalDb: _db, ...clock} = options;
    return new ReplayPlayer(store, log, {
      // --speed 0 starts at the end; stepping back plays at the fastest speed.
      speed: speed === 0 ? 256 : (speed ?? 10),
      follow: !!follow,
      take,
      ...clock,
    });
  };

/** The loaded player with the end fact (unless following). */
function ready(player: ReplayPlayer, read: Read, options: LoadOptions): LoadedReplay {
  const following = !!options.follow && !read.damage.length;
  if (!following) player.endWith(read.end);
  return {player, read, following};
}

/**
 * {@link loadReplay} for a journal file on a thread of its own (commands/replay-worker.ts),
 * so that the main thread can load the console meanwhile. The same scan, player and
 * checkpoints; the state comes back copied, the offsets and times moved. Undefined when
 * that thread cannot be used (a long journal, no thread module, a thread that failed):
 * then the caller reads here.
 */
export function loadInWorker(
  file: string,
  store: SessionStoreApi,
  options: LoadOptions,
  /** The thread's module (tests: the built one). */
  script?: string,
): Promise<LoadedReplay> | undefined {
  // The CLI entry may have started it already (commands/replay-start.ts).
  const answer = takeEarlyRead(file) ?? readInWorker(file, script);
  if (!answer) return undefined;
  return (async () => {
    const [message, {storeSink}] = await Promise.all([answer, pipeline()]);
    // A thread that failed (not the journal: that is said as here) leaves it to this one.
    if (!message || ('error' in message && !message.journal))
      return loadReplay(file, store, options);
    if ('error' in message) throw new Error(message.error);
    const player = playerFor(
      store,
      options,
      storeSink(store).take,
    )(FileLog.from(file, message.log));
    player.restore(message.player);
    return ready(player, message.read, options);
  })();
}

async function replayConsole(
  file: string,
  store: SessionStoreApi,
  options: ReplayOptions,
): Promise<number> {
  // The journal is read on a thread of its own while the console loads here (on two
  // cores they overlap); a long journal is read here, after.
  const loading = options.journalDb ? undefined : loadInWorker(file, store, options);
  const console = import('../ui/render.js');
  let loaded: LoadedReplay;
  try {
    loaded = await (loading ?? loadReplay(file, store, options));
  } catch (error) {
    process.stderr.write(`crewchief: ${(error as Error).message}\n`);
    return 4;
  }
  const {player, read, following} = loaded;
  // What the reader has to say (a torn last line, damage) is printed when the console is
  // gone, where it stays on the terminal; the end line says the damage while it is open.
  let stop!: () => void;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  const offInterrupt = onInterrupt(() => stop());
  // Following: the file as it grows goes to the player, which plays it at the live edge.
  const feeding = following
    ? (await pipeline()).feed(await tail(file, read.lastSeq), {
        take: (more) => player.append(more as JournalEntry[]),
      })
    : undefined;
  // --speed 0: straight to the end (the controls still go back from there).
  if (options.speed === 0) player.end();
  const mounted = (await console).mountConsole({store, mode: 'replay', replay: player});
  if (options.speed !== 0) player.play();
  await Promise.race([mounted.done, interrupted]);
  mounted.unmount();
  await feeding?.stop();
  player.dispose();
  offInterrupt();
  say(read, file);
  return read.damage.length ? EXIT.journal : EXIT.ok;
}

const pipeline = () => import('../services/pipeline.js');

/** The file as it grows, after `afterSeq`. */
const tail = async (file: string, afterSeq: number): Promise<EventSource> =>
  (await pipeline()).fileTailSource(file, {
    afterSeq,
    onProblem: (text) => process.stderr.write(`warning: ${text}\n`),
  });

/** Delivers `items` at once and is played. */
function doneSource(items: readonly JournalEnd[]): EventSource & {played: Promise<void>} {
  return {
    played: Promise.resolve(),
    start(deliver) {
      if (items.length) deliver(items);
    },
    stop() {},
  };
}

/** `--cast FILE`: the console's frames written as an asciicast instead of played. */
async function castOf(file: string, options: ReplayOptions): Promise<number> {
  let read;
  try {
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
  const {parseSize, writeCast} = await import('./cast.js');
  const size = parseSize(options.size);
  if (!size) {
    process.stderr.write('crewchief: --size expects COLSxROWS, e.g. 100x32 (at least 40x10)\n');
    return EXIT.usage;
  }
  try {
    const cast = await writeCast(entries, options.cast!, size);
    process.stderr.write(
      `wrote ${options.cast}: ${cast.frames} frames, ${cast.seconds.toFixed(1)}s, ${cast.bytes} bytes (${size.cols}x${size.rows})\n`,
    );
  } catch (error) {
    process.stderr.write(
      `crewchief: could not write ${options.cast}: ${(error as Error).message}\n`,
    );
    return 4;
  }
  return read.damage.length ? EXIT.journal : EXIT.ok;
}
