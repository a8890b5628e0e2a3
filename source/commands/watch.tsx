/**
 * `crewchief watch [SESSION] --journal-db URL | --file PATH`: the crew chief's view. The
 * same console (or plain lines) fed by a live session's journal, read-only, from the
 * PostgreSQL mirror (LISTEN/NOTIFY, then the new rows) or from a journal file. Takes
 * no lock and changes nothing.
 */
import {render} from 'ink';
import React from 'react';
import {findJournal} from '../services/catalogue.js';
import {LaunchError} from '../services/exit.js';
import type {JournalEntry} from '../journal/events.js';
import {describeDb, destroy, pause} from '../journal/pg-connect.js';
import {connectForReading, listMirroredSessions, MirrorReadError} from '../journal/pg-read.js';
import {PgTail, type TailStatus} from '../journal/pg-tail.js';
import {createSessionStore} from '../store/store.js';
import {FileTail} from '../team/file-tail.js';
import {App} from '../ui/app.js';
import {describeEntry} from '../ui/plain.js';

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
    return 2;
  }
  const url = options.file ? undefined : options.journalDb || env['CREWCHIEF_JOURNAL_DB'];
  let stop!: () => void;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const done = (code: number): number => {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
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
    return done(error instanceof LaunchError ? error.code : 2);
  }
  if (!session) return done(0);

  const store = createSessionStore();
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const deliver = (entries: JournalEntry[]): void => {
    options.onEntries?.(entries, Date.now());
    if (options.plain) {
      for (const e of entries) {
        store.getState().apply(e);
        const line = options.json ? JSON.stringify(e) : describeEntry(e, store.getState());
        if (line !== undefined) write(line);
      }
    } else store.getState().applyMany(entries);
    if (entries.some((e) => e.type === 'session-closed')) finish?.();
  };

  let lastState: TailStatus['state'] | undefined;
  const source = url
    ? new PgTail({
        url,
        session,
        onEntries: deliver,
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
    : new FileTail({file: file!, onEntries: deliver, onProblem: (text) => say(text)});
  if (options.plain)
    say(`following ${url ? `session ${session} in ${describeDb(url)}` : file} (read-only)`);

  source.start();
  let code = 0;
  if (options.plain) await Promise.race([finished, interrupted]);
  else {
    if (!process.stdin.isTTY) {
      process.stderr.write('crewchief: the console needs a terminal on stdin; use --plain\n');
      code = 2;
    } else {
      process.stdout.write('\u001b[?1049h');
      const instance = render(<App store={store} mode="read-only" clearOnResize />, {
        maxFps: 10,
        exitOnCtrlC: false,
        patchConsole: false,
      });
      await Promise.race([instance.waitUntilExit(), interrupted]);
      instance.unmount();
      process.stdout.write('\u001b[?1049l');
    }
  }
  if (source instanceof PgTail) await source.stop();
  else source.stop();
  return done(code);
}
