/**
 * The journal catalogue: which sessions this machine has, and the journal a session id,
 * a path or "the latest unfinished one" names.
 */
import fs from 'node:fs';
import path from 'node:path';
import {readJournal, sessionsDir} from '../journal/file.js';
import {EXIT, LaunchError} from './exit.js';

/** The journal of a session id, a path, or (none given) the latest unfinished session. */
export function findJournal(idOrPath: string | undefined, env = process.env): string {
  const dir = sessionsDir(env);
  if (idOrPath) {
    if (fs.existsSync(idOrPath)) return path.resolve(idOrPath);
    const file = path.join(dir, idOrPath.endsWith('.jsonl') ? idOrPath : `${idOrPath}.jsonl`);
    if (fs.existsSync(file)) return file;
    throw new LaunchError(
      `no session "${idOrPath}" (looked for ${idOrPath} and ${file}; crewchief list shows the sessions)`,
      EXIT.usage,
    );
  }
  const open = listSessions(env).filter((s) => !s.closed);
  if (!open.length)
    throw new LaunchError(
      `no unfinished session in ${dir} (crewchief list shows the sessions)`,
      EXIT.usage,
    );
  return open[0]!.file;
}

export interface SessionSummary {
  id: string;
  file: string;
  site: string;
  profile: string;
  driver: string;
  started: string;
  last: string;
  closed?: string;
  events: number;
}

/** Sessions in the sessions directory, newest first. Unreadable files are listed as such. */
export function listSessions(env = process.env): SessionSummary[] {
  const dir = sessionsDir(env);
  if (!fs.existsSync(dir)) return [];
  const out: SessionSummary[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    const file = path.join(dir, name);
    try {
      const read = readJournal(file);
      const opened = read.entries.find((e) => e.type === 'session-opened');
      const closed = read.entries.find((e) => e.type === 'session-closed');
      const last = read.entries.at(-1);
      out.push({
        id: read.header.session,
        file,
        site: opened?.type === 'session-opened' ? opened.site : '?',
        profile: opened?.type === 'session-opened' ? opened.profile : '?',
        driver: opened?.type === 'session-opened' ? opened.driver : '?',
        started: read.header.created,
        last: last?.time ?? read.header.created,
        ...(closed?.type === 'session-closed' ? {closed: closed.outcome} : {}),
        events: read.entries.length,
      });
    } catch {
      out.push({
        id: name.replace(/\.jsonl$/, ''),
        file,
        site: '?',
        profile: '?',
        driver: '?',
        started: '',
        last: '',
        closed: 'unreadable',
        events: 0,
      });
    }
  }
  return out.sort((a, b) => b.last.localeCompare(a.last));
}
