/**
 * `crewchief replay FILE`: the journal through the same store and the same console,
 * read-only, against a clock the viewer controls (pause, speed, step, jump to a phase
 * or a time). `--follow` keeps reading a journal that is still being written. The
 * final state equals the live session's final state: the store is a pure fold.
 */
import {describeDamage, readJournal} from '../journal/file.js';
import {parseSize, writeCast} from './cast.js';
import {EXIT} from '../services/exit.js';
import {onInterrupt} from '../services/interrupt.js';
import {
  feed,
  fileTailSource,
  jsonView,
  plainView,
  replayClockSource,
  sequence,
  storeSink,
  type Clock,
} from '../services/pipeline.js';
import {createSessionStore, type SessionStoreApi} from '../store/store.js';
import {mountConsole} from '../ui/render.js';
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
  if (options.cast !== undefined) {
    const size = parseSize(options.size);
    if (!size) {
      process.stderr.write('crewchief: --size expects COLSxROWS, e.g. 100x32 (at least 40x10)\n');
      return EXIT.usage;
    }
    try {
      const cast = await writeCast(entries, options.cast, size);
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
  const store = createSessionStore();
  options.onStore?.(store);
  const lastSeq = entries.at(-1)?.seq ?? 0;
  const follow = !!options.follow && !read.damage.length;
  const tail = (): ReturnType<typeof fileTailSource> =>
    fileTailSource(file, {
      afterSeq: lastSeq,
      onProblem: (text) => process.stderr.write(`warning: ${text}\n`),
    });
  let stop!: () => void;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  const offInterrupt = onInterrupt(() => stop());
  const code = read.damage.length ? EXIT.journal : EXIT.ok;
  if (options.plain) {
    // The one pipeline: the recorded journal against the clock (then, following, the
    // file as it grows) into the store and plain lines.
    const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const clock = replayClockSource(entries, {
      speed: options.speed ?? 0,
      ...(options.clock ? {clock: options.clock} : {}),
    });
    const feeding = feed(
      follow ? sequence(clock, tail()) : clock,
      storeSink(store, options.json ? jsonView(write) : plainView(write)),
    );
    await Promise.race([follow ? feeding.ended : clock.played, interrupted]);
    await feeding.stop();
    offInterrupt();
    return code;
  }
  if (!process.stdin.isTTY) {
    offInterrupt();
    process.stderr.write('crewchief: the console needs a terminal on stdin; use --plain\n');
    return EXIT.usage;
  }
  // --speed 0 starts at the end; stepping back plays at the fastest speed.
  const player = new ReplayPlayer(store, entries, {
    speed: options.speed === 0 ? 256 : (options.speed ?? 10),
    follow,
    take: storeSink(store).take,
  });
  // Following: the file as it grows goes to the player, which plays it at the live edge.
  const feeding = player.position().follow
    ? feed(tail(), {take: (more) => player.append(more)})
    : undefined;
  // --speed 0: at once, straight to the end (the controls still go back from there).
  if (options.speed === 0) player.end();
  const mounted = mountConsole({store, mode: 'replay', replay: player});
  if (options.speed !== 0) player.play();
  await Promise.race([mounted.done, interrupted]);
  mounted.unmount();
  await feeding?.stop();
  player.dispose();
  offInterrupt();
  return code;
}
