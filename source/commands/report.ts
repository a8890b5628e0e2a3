/**
 * `crewchief report SESSION|FILE [--md OUT] [--html OUT] [--json]`: what ran, who decided
 * what, how long each phase took and what the counts did, from the journal (a file, a
 * session id in the sessions directory, or the PostgreSQL mirror with --journal-db).
 * With no output named, the Markdown goes to stdout.
 */
import fs from 'node:fs';
import {findJournal} from '../services/catalogue.js';
import {LaunchError} from '../services/exit.js';
import {describeDamage, readJournal, verifySeal, type JournalRead} from '../journal/file.js';
import {renderHtml} from '../report/html.js';
import {renderMarkdown} from '../report/markdown.js';
import {buildReport, type Report} from '../report/model.js';

export interface ReportOptions {
  md?: string;
  html?: string;
  json?: boolean;
  journalDb?: string;
  env?: NodeJS.ProcessEnv;
}

/** Reads the journal a report is about: the entries up to the first damaged line. */
export async function reportFromJournal(
  what: string,
  options: Pick<ReportOptions, 'journalDb' | 'env'> = {},
): Promise<Report> {
  let read: JournalRead;
  let name = what;
  if (options.journalDb) {
    read = await (await import('../journal/pg-read.js')).readJournalFromPg(options.journalDb, what);
  } else {
    name = findJournal(what, options.env ?? process.env);
    read = readJournal(name);
  }
  const firstDamage = read.damage[0]?.line;
  const entries =
    firstDamage === undefined ? read.entries : read.entries.filter((_, i) => i + 2 < firstDamage);
  const close = entries.find((e) => e.type === 'session-closed');
  // the mirror keeps the lines verbatim: its seal is checked as a file's is
  const seal = verifySeal(read);
  const verify =
    seal === 'sealed' && close?.type === 'session-closed' && close.seal
      ? {
          sealed: true,
          text: `closed and sealed (${close.seal.events} lines, sha256 ${close.seal.sha256.slice(0, 12)}…, verified)`,
        }
      : seal === 'broken'
        ? {
            sealed: false,
            text: 'BROKEN SEAL: lines were changed, lost or added after the close',
          }
        : {
            sealed: false,
            text: close ? 'closed, without a seal (an older crewchief)' : 'ended without a close',
          };
  return buildReport({
    header: read.header,
    entries,
    verify,
    ...(read.damage.length ? {damage: describeDamage(name, read.damage).split('\n')} : {}),
  });
}

export async function report(args: string[], options: ReportOptions): Promise<number> {
  const what = args[0];
  if (!what || args.length > 1) {
    process.stderr.write(
      'crewchief: report expects one SESSION (an id or a journal file): crewchief report SESSION [--md OUT] [--html OUT] [--json]\n',
    );
    return 2;
  }
  let built: Report;
  try {
    built = await reportFromJournal(what, options);
  } catch (error) {
    process.stderr.write(`crewchief: ${(error as Error).message}\n`);
    return error instanceof LaunchError ? error.code : 4;
  }
  const write = (target: string, text: string): void => {
    if (target === '-') process.stdout.write(text);
    else fs.writeFileSync(target, text);
  };
  try {
    if (options.md) write(options.md, renderMarkdown(built));
    if (options.html) write(options.html, renderHtml(built));
    if (options.json) process.stdout.write(`${JSON.stringify(built, null, 2)}\n`);
    else if (!options.md && !options.html) process.stdout.write(renderMarkdown(built));
  } catch (error) {
    process.stderr.write(`crewchief: cannot write the report: ${(error as Error).message}\n`);
    return 1;
  }
  for (const [kind, target] of [
    ['Markdown', options.md],
    ['HTML', options.html],
  ] as const)
    if (target && target !== '-') process.stderr.write(`${kind} report: ${target}\n`);
  return built.integrity.damage.length ? 4 : 0;
}
