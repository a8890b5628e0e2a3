/**
 * `crewchief watch [SESSION] --journal-db URL | --file PATH`: the crew chief's view. The
 * same console (or plain lines) fed by a live session's journal, read-only, from the
 * PostgreSQL mirror (LISTEN/NOTIFY, then the new rows) or from a journal file. Takes
 * no lock and changes nothing.
 */
import type {JournalEntry} from '../journal/events.js';
import {describeDb, destroy, pause} from '../journal/pg-connect.js';
import {connectForReading, listMirroredSessions, MirrorReadError} from '../journal/pg-read.js';
import type {TailStatus} from '../journal/pg-tail.js';
import {findJournal} from '../services/catalogue.js';
import {EXIT, LaunchError} from '../services/exit.js';
import {onInterrupt} from '../services/interrupt.js';
import {
  consoleView,
  feed,
  fileTailSource,
  pgTailSource,
  jsonView,
  plainView,
  storeSink,
  type EventSource,
} from '../services/pipeline.js';
import {createSessionStore, type SessionStoreApi} from '../store/store.js';
import {mountConsole} from '../ui/render.js';

export interface WatchOptions {
  plain: boolean;
  /** The journal's events as NDJSON on stdout (one entry a line), for scripts. */
  json?: boolean;
  journalDb?: string;
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Where lines go (tests). */
  write?: (line: string) => void;
  /** Called with each batch as it arrives, with the time it arrived (measurements). */
  onEntries?: (entries: JournalEntry[], at: number) => void;
  heartbeatMs?: number;
  /** Sees the store the view reads (tests compare it with the live run's). */
  onStore?: (store: SessionStoreApi) => void;
}

const say = (text: string): void => void process.stderr.write(`watch: ${text}\n`);

/**
 * The session to follow in the mirror: the one named, or the newest open one — waiting
 * for one to start when there is none yet (the crew chief may be there first).
 */
async function pickSession(
  url: string,
  named: string | undefined,
  plain: boolean,
  interrupted: Promise<void>,
): Promise<string | undefined> {
  if (named) return named.replace(/\.jsonl$/, '');
  let said = false;
  let stop = false;
  void interrupted.then(() => (stop = true));
  while (!stop) {
    let client;
    try {
      client = await connectForReading(url, 'crewchief watch');
      const open = (await listMirroredSessions(client, 50)).find((s) => s.state === 'open');
      if (open) return open.session;
    } catch (error) {
      if (!(error instanceof MirrorReadError)) throw error;
    } finally {
      if (client) destroy(client);
    }
    if (!said && plain) say(`no open session in ${describeDb(url)} yet; waiting for one to start`);
    said = true;
    await pause(1_000);
  }
  return undefined;
}

export async function watch(args: string[], options: WatchOptions): Promise<number> {
  const env = options.env ?? process.env;
  if (args.length > 1) {
    process.stderr.write('crewchief: watch expects at most one SESSION\n');
    return EXIT.usage;
  }
  if (!options.plain && !process.stdin.isTTY) {
    process.stderr.write('crewchief: the console needs a terminal on stdin; use --plain\n');
    return EXIT.usage;
  }
  const url = options.file ? undefined : options.journalDb || env['CREWCHIEF_JOURNAL_DB'];
  let stop!: () => void;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  const offInterrupt = onInterrupt(() => stop());
  const done = (code: number): number => {
    offInterrupt();
    return code;
  };
  let session: string | undefined;
  let file: string | undefined;
  try {
    if (url) session = await pickSession(url, args[0], options.plain, interrupted);
    else {
      file = options.file ?? findJournal(args[0], env);
      session = file;
    }
  } catch (error) {
    process.stderr.write(`crewchief: ${(error as Error).message}\n`);
    return done(error instanceof LaunchError ? error.code : EXIT.usage);
  }
  if (!session) return done(EXIT.ok);

  const store = createSessionStore();
  options.onStore?.(store);
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  let lastState: TailStatus['state'] | undefined;
  const source: EventSource = url
    ? pgTailSource({
        url,
        session,
        onDamage: (text) => say(`damaged event in the mirror: ${text}`),
        onStatus: (status) => {
          if (!options.plain || status.state === lastState) return;
          if (status.state === 'reconnecting')
            say(`lost ${describeDb(url)} (${status.error ?? 'no reason given'}); reconnecting`);
          else if (status.state === 'following' && lastState === 'reconnecting')
            say(`following again from event ${status.lastSeq}`);
          lastState = status.state;
        },
        ...(options.heartbeatMs ? {heartbeatMs: options.heartbeatMs} : {}),
      })
    : fileTailSource(file!, {onProblem: (text) => say(text)});
  if (options.plain)
    say(`following ${url ? `session ${session} in ${describeDb(url)}` : file} (read-only)`);

  // The one pipeline: the tail into the store and the view.
  const sink = storeSink(
    store,
    options.json ? jsonView(write) : options.plain ? plainView(write) : consoleView,
  );
  const feeding = feed(source, {
    take(entries) {
      options.onEntries?.(entries as JournalEntry[], Date.now());
      sink.take(entries);
    },
  });
  if (options.plain) await Promise.race([feeding.ended, interrupted]);
  else {
    const mounted = mountConsole({store, mode: 'read-only', ...(file ? {journalPath: file} : {})});
    await Promise.race([mounted.done, interrupted]);
    mounted.unmount();
  }
  await feeding.stop();
  return done(EXIT.ok);
}
