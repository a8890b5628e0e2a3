/**
 * `crewchief mirror [SESSION|FILE…] --journal-db URL`: sends local journals to the
 * PostgreSQL mirror — what a session could not send because PostgreSQL was down when it
 * ended. Idempotent: events the mirror has already are left as they are.
 */
import {findJournal, listSessions} from '../services/catalogue.js';
import {readJournal} from '../journal/file.js';
import {describeDb} from '../journal/pg-connect.js';
import {PgMirror} from '../journal/pg-mirror.js';

export interface MirrorOptions {
  journalDb?: string;
  env?: NodeJS.ProcessEnv;
  write?: (line: string) => void;
  timeoutMs?: number;
}

export async function mirror(args: string[], options: MirrorOptions): Promise<number> {
  const env = options.env ?? process.env;
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const url = options.journalDb || env['CREWCHIEF_JOURNAL_DB'];
  if (!url) {
    process.stderr.write('crewchief: mirror expects --journal-db URL (or CREWCHIEF_JOURNAL_DB)\n');
    return 2;
  }
  let files: string[];
  try {
    files = args.length
      ? args.map((a) => findJournal(a, env))
      : listSessions(env).map((s) => s.file);
  } catch (error) {
    process.stderr.write(`crewchief: ${(error as Error).message}\n`);
    return 2;
  }
  let code = 0;
  for (const file of files) {
    let read;
    try {
      read = readJournal(file);
    } catch (error) {
      process.stderr.write(`crewchief: ${(error as Error).message}\n`);
      code = 4;
      continue;
    }
    const lastSeq = read.entries.at(-1)?.seq ?? 0;
    const m = new PgMirror({url, session: read.header.session, journalPath: file, lastSeq});
    m.start();
    const status = await m.close(options.timeoutMs ?? 60_000);
    if (status.mirrored < lastSeq) {
      process.stderr.write(
        `crewchief: ${read.header.session}: ${describeDb(url)} has ${status.mirrored} of ${lastSeq} events${status.error ? ` (${status.error})` : ''}\n`,
      );
      code = 4;
    } else {
      write(
        `${read.header.session}: ${lastSeq} events in ${describeDb(url)} (${m.stats.events} sent now)`,
      );
    }
  }
  return code;
}
