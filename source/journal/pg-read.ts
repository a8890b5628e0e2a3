/**
 * Reading sessions back from the PostgreSQL mirror: for replay, `sessions`, and to put a
 * session's journal on a driver's disk (the next driver after a hand-over, on another
 * machine). Lines are stored verbatim, so every line is checked against its checksum
 * exactly as a journal file's are.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {JournalEntry, JournalHeader} from './events.js';
import {JournalError, parseEntry, readJournal, type JournalRead} from './file.js';
import {connect, describeDb, destroy, reasonOf, within, type PgClient} from './pg-connect.js';
import {installedVersion, LOCK_NAMESPACE, SCHEMA, SCHEMA_VERSION} from './pg-schema.js';

export class MirrorReadError extends Error {}
/** The database is there but no driver has mirrored a journal to it yet. */
export class EmptyMirror extends MirrorReadError {}

/** Connects for reading, checking that the database holds a journal this crewchief can read. */
export async function connectForReading(url: string, applicationName: string): Promise<PgClient> {
  let client: PgClient;
  try {
    client = await connect(url, {applicationName});
  } catch (error) {
    throw new MirrorReadError(
      `cannot reach the journal database ${describeDb(url)}: ${reasonOf(error)}`,
    );
  }
  try {
    const version = await within(client, 15_000, installedVersion(client));
    if (version === undefined) {
      throw new EmptyMirror(
        `${describeDb(url)} holds no crewchief journal yet (a driver with --journal-db creates it)`,
      );
    }
    if (version > SCHEMA_VERSION) {
      throw new MirrorReadError(
        `the journal database has schema version ${version}, newer than this crewchief knows (${SCHEMA_VERSION}): upgrade crewchief`,
      );
    }
    return client;
  } catch (error) {
    destroy(client);
    throw error;
  }
}

export interface MirroredSession {
  header: JournalHeader;
  headerLine: string;
  entries: JournalEntry[];
  lines: string[];
  /** Lines that failed their checksum (never skipped silently). */
  damage: string[];
}

/** Reads entries of a session after `after`, in order, at most `limit`. */
export async function readEntries(
  client: PgClient,
  session: string,
  after: number,
  limit = 5000,
): Promise<{entries: JournalEntry[]; lines: string[]; damage: string[]; last: number}> {
  const {rows} = await client.query<{seq: number; line: string}>(
    `select seq, line from ${SCHEMA}.events where session = $1 and seq > $2 order by seq limit $3`,
    [session, after, limit],
  );
  const entries: JournalEntry[] = [];
  const lines: string[] = [];
  const damage: string[] = [];
  let expected = after + 1;
  for (const row of rows) {
    // Rows commit in order, so a gap is never waiting to be filled: stop at one anyway.
    if (row.seq !== expected) break;
    try {
      entries.push(parseEntry(row.line));
      lines.push(row.line);
    } catch (error) {
      damage.push(`event ${row.seq}: ${(error as Error).message}`);
    }
    expected++;
  }
  return {entries, lines, damage, last: expected - 1};
}

/** A whole session from the mirror. */
export async function readMirroredSession(
  client: PgClient,
  session: string,
): Promise<MirroredSession> {
  const {rows} = await client.query<{header: string}>(
    `select header from ${SCHEMA}.sessions where session = $1`,
    [session],
  );
  const headerLine = rows[0]?.header;
  if (!headerLine) {
    throw new MirrorReadError(
      `no session "${session}" in the journal database (crewchief sessions --journal-db URL lists them)`,
    );
  }
  const all: MirroredSession = {
    header: JSON.parse(headerLine) as JournalHeader,
    headerLine,
    entries: [],
    lines: [],
    damage: [],
  };
  for (let after = 0; ;) {
    const batch = await readEntries(client, session, after);
    all.entries.push(...batch.entries);
    all.lines.push(...batch.lines);
    all.damage.push(...batch.damage);
    if (batch.last - after < 5000) break;
    after = batch.last;
  }
  return all;
}

export interface MirroredSummary {
  session: string;
  site: string;
  profile: string;
  driver: string;
  state: string;
  started: string;
  last: string;
  lastSeq: number;
  /** Who holds the driver lock for this site and profile now, when it is this session. */
  drivenBy?: string;
}

/** Sessions in the mirror, newest activity first. */
export async function listMirroredSessions(
  client: PgClient,
  limit = 200,
): Promise<MirroredSummary[]> {
  const {rows} = await client.query<{
    session: string;
    site: string | null;
    profile: string | null;
    driver: string | null;
    state: string;
    started: Date | null;
    created: Date;
    last_time: Date | null;
    last_seq: number;
    driven_by: string | null;
  }>(
    `select s.session, s.site, s.profile, s.driver, s.state, s.started, s.created, s.last_time,
            s.last_seq, d.driver as driven_by
       from ${SCHEMA}.sessions s
       left join ${SCHEMA}.drivers d
         on d.session = s.session
        and exists (select 1 from pg_locks l
                     where l.locktype = 'advisory' and l.granted and l.pid = d.backend_pid
                       and l.classid = $2::int::oid and l.objid = d.lock_key::oid and l.objsubid = 2)
      order by s.last_time desc nulls last
      limit $1`,
    [limit, LOCK_NAMESPACE],
  );
  return rows.map((r) => ({
    session: r.session,
    site: r.site ?? '?',
    profile: r.profile ?? '?',
    driver: r.driver ?? '?',
    state: r.state,
    started: (r.started ?? r.created).toISOString(),
    last: r.last_time?.toISOString() ?? '',
    lastSeq: r.last_seq,
    ...(r.driven_by ? {drivenBy: r.driven_by} : {}),
  }));
}

/**
 * Makes the local journal of a session hold everything the mirror has: writes the file
 * when there is none (the next driver on another machine), or appends the lines the
 * mirror has past the file's end (this machine's copy is older). Refuses when the two
 * disagree. Returns the file, or undefined when the mirror does not know the session.
 */
export async function restoreFromMirror(
  url: string,
  session: string,
  file: string,
): Promise<{file: string; added: number} | undefined> {
  const client = await connectForReading(url, 'crewchief restore');
  let mirrored: MirroredSession;
  try {
    const {rows} = await client.query(`select 1 from ${SCHEMA}.sessions where session = $1`, [
      session,
    ]);
    if (!rows.length) return undefined;
    mirrored = await readMirroredSession(client, session);
  } finally {
    destroy(client);
  }
  if (mirrored.damage.length) {
    throw new MirrorReadError(
      `the mirror's copy of ${session} is damaged (${mirrored.damage.join('; ')}): resume from the driver's own journal file`,
    );
  }
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
    const text = [mirrored.headerLine, ...mirrored.lines].join('\n') + '\n';
    const temp = `${file}.${process.pid}.restoring`;
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    return {file, added: mirrored.lines.length};
  }
  const local = readJournal(file);
  const lastLocal = local.entries.at(-1)?.seq ?? 0;
  const lastMirrored = mirrored.entries.at(-1)?.seq ?? 0;
  if (lastMirrored <= lastLocal) return {file, added: 0};
  // The mirror is ahead: it must agree with the file where they overlap.
  const localLast = local.entries.at(-1);
  const twin = mirrored.entries[lastLocal - 1];
  if (localLast && JSON.stringify(twin) !== JSON.stringify(localLast)) {
    throw new MirrorReadError(
      `${file} and the mirror disagree at event ${lastLocal}: two journals were written for session ${session}; crewchief will not pick one`,
    );
  }
  const fd = fs.openSync(file, 'r+');
  try {
    if (fs.fstatSync(fd).size !== local.validBytes) fs.ftruncateSync(fd, local.validBytes);
    const text = mirrored.lines.slice(lastLocal).join('\n') + '\n';
    fs.writeSync(fd, text, local.validBytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return {file, added: lastMirrored - lastLocal};
}

/**
 * A mirrored session in the shape of a journal file read, for `crewchief replay
 * --journal-db URL SESSION`. A row that fails its checksum is reported as damage at the
 * line it would have in a file (seq + 1), exactly as a damaged file line is.
 */
export async function readJournalFromPg(url: string, session: string): Promise<JournalRead> {
  const client = await connectForReading(url, 'crewchief replay');
  try {
    const read = await readMirroredSession(client, session);
    const damage = read.damage.map((d) => {
      const seq = Number(/^event (\d+)/.exec(d)?.[1] ?? 0);
      return {offset: 0, line: seq + 1, reason: d};
    });
    return {
      header: read.header,
      entries: read.entries,
      warnings: [],
      damage,
      validBytes: 0,
      ...closeOf(read),
    };
  } catch (error) {
    throw new JournalError((error as Error).message);
  } finally {
    destroy(client);
  }
}

/**
 * The mirror holds the file's lines verbatim, header included, so its seal can be checked
 * as a file's is: the close, and what the lines before it hash to.
 */
function closeOf(read: MirroredSession): Pick<JournalRead, 'close' | 'closedOver'> {
  const at = read.entries.findIndex((e) => e.type === 'session-closed');
  const close = read.entries[at];
  if (close?.type !== 'session-closed' || read.damage.length) return {};
  const hash = crypto.createHash('sha256').update(`${read.headerLine}\n`);
  for (const line of read.lines.slice(0, at)) hash.update(`${line}\n`);
  return {
    close: {
      ...(close.seal ? {seal: close.seal} : {}),
      time: close.time,
      outcome: close.outcome,
      later: read.entries.length - 1 - at,
    },
    closedOver: {events: at, sha256: hash.digest('hex')},
  };
}

/** The last seq the mirror has of a session (0 when none), or undefined when unreachable. */
export async function mirroredLastSeq(url: string, session: string): Promise<number | undefined> {
  let client: PgClient;
  try {
    client = await connectForReading(url, 'crewchief check');
  } catch {
    return undefined;
  }
  try {
    const {rows} = await client.query<{max: number}>(
      `select coalesce(max(seq), 0)::int as max from ${SCHEMA}.events where session = $1`,
      [session],
    );
    return rows[0]?.max ?? 0;
  } catch {
    return undefined;
  } finally {
    destroy(client);
  }
}
