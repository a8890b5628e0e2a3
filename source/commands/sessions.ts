/**
 * `crewchief sessions [--journal-db URL]`: sessions with their site, profile, driver,
 * state, start and last event — from the PostgreSQL mirror, or from this machine's
 * sessions directory. An open session is `driving` while its driver holds the lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {listSessions} from '../services/catalogue.js';
import {sessionsDir} from '../journal/file.js';
import {describeDb, destroy} from '../journal/pg-connect.js';
import {connectForReading, EmptyMirror, listMirroredSessions} from '../journal/pg-read.js';
import {lockDirOf} from '../team/index.js';
import type {Holder} from '../team/lock.js';

export interface SessionsOptions {
  journalDb?: string;
  env?: NodeJS.ProcessEnv;
  write?: (line: string) => void;
  /** One JSON document: {source, sessions: [...]}. */
  json?: boolean;
}

export interface SessionRow {
  session: string;
  site: string;
  profile: string;
  driver: string;
  state: string;
  started: string;
  last: string;
}

const when = (iso: string): string => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

/** Lock files whose holder is alive on this machine, by session. */
function liveLocks(dir: string): Map<string, Holder> {
  const held = new Map<string, Holder>();
  if (!fs.existsSync(dir)) return held;
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.lock'))) {
    try {
      const holder = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Holder;
      if (holder.host === os.hostname()) process.kill(holder.pid, 0);
      if (holder.session) held.set(holder.session, holder);
    } catch {
      // Stale or unreadable: not driving.
    }
  }
  return held;
}

export async function sessionRows(options: SessionsOptions): Promise<SessionRow[]> {
  const env = options.env ?? process.env;
  const url = options.journalDb || env['CREWCHIEF_JOURNAL_DB'];
  if (url) {
    const client = await connectForReading(url, 'crewchief sessions');
    try {
      return (await listMirroredSessions(client)).map((s) => ({
        session: s.session,
        site: s.site,
        profile: s.profile,
        driver: s.driver,
        state: s.state === 'open' ? (s.drivenBy ? 'driving' : 'open, no driver') : s.state,
        started: s.started,
        last: s.last,
      }));
    } finally {
      destroy(client);
    }
  }
  const locks = liveLocks(lockDirOf(env));
  return listSessions(env).map((s) => ({
    session: s.id,
    site: s.site,
    profile: s.profile,
    driver: s.driver,
    state: s.closed ?? (locks.has(s.id) ? 'driving' : 'open, no driver'),
    started: s.started,
    last: s.last,
  }));
}

export async function sessions(options: SessionsOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const url = options.journalDb || env['CREWCHIEF_JOURNAL_DB'];
  let rows: SessionRow[];
  try {
    rows = await sessionRows(options);
  } catch (error) {
    // A journal database nobody has mirrored to yet: no sessions, not an error.
    if (error instanceof EmptyMirror) rows = [];
    else {
      process.stderr.write(`crewchief: ${(error as Error).message}\n`);
      return 4;
    }
  }
  if (options.json) {
    write(
      JSON.stringify({source: url ? describeDb(url) : sessionsDir(env), sessions: rows}, null, 2),
    );
    return 0;
  }
  write(`Sessions in ${url ? describeDb(url) : sessionsDir(env)}:`);
  if (!rows.length) {
    write('  no sessions yet');
    return 0;
  }
  const header: SessionRow = {
    session: 'SESSION',
    site: 'SITE',
    profile: 'PROFILE',
    driver: 'DRIVER',
    state: 'STATE',
    started: 'STARTED',
    last: 'LAST EVENT',
  };
  const shown = rows.map((r) => ({...r, started: when(r.started), last: when(r.last)}));
  const keys = Object.keys(header) as (keyof SessionRow)[];
  const widths = keys.map((k) => Math.max(...[header, ...shown].map((r) => r[k].length)));
  for (const r of [header, ...shown])
    write(
      `  ${keys
        .map((k, i) => r[k].padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}`,
    );
  return 0;
}
