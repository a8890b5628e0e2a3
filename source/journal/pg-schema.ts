/**
 * The mirror's schema, created and migrated by crewchief itself. Migrations are numbered,
 * applied in order inside one transaction, recorded in `crewchief.schema_migrations`, and
 * serialised between concurrent crewchiefs by a transaction-level advisory lock. A
 * database migrated by a newer crewchief is refused rather than guessed at.
 */
import type {PgClient} from './pg-connect.js';

export const SCHEMA = 'crewchief';

/** The channel watchers LISTEN on. Payload: `{"session": …, "seq": …}` and nothing else. */
export const CHANNEL = 'crewchief_journal';

/** Advisory lock namespace (first key of the two-key form) for everything crewchief locks. */
export const LOCK_NAMESPACE = 0x63637266; // 'ccrf'
/** Second key reserved for migrations; driver locks hash to other values. */
export const MIGRATION_LOCK = 0;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'journal events, sessions and drivers',
    sql: `
      -- One row per journal line, verbatim (with its checksum), so a session can be
      -- replayed, watched or restored to a file byte for byte.
      create table ${SCHEMA}.events (
        session text not null,
        seq integer not null,
        type text not null,
        time timestamptz not null,
        line text not null,
        primary key (session, seq)
      );
      -- What 'crewchief sessions' lists; kept up to date with each batch of events.
      create table ${SCHEMA}.sessions (
        session text primary key,
        header text not null,
        created timestamptz not null,
        site text,
        profile text,
        driver text,
        state text not null default 'open',
        started timestamptz,
        last_seq integer not null default 0,
        last_time timestamptz,
        updated timestamptz not null default now()
      );
      create index sessions_last_time on ${SCHEMA}.sessions (last_time desc);
      -- Who holds a driver lock (the advisory lock itself carries no name).
      create table ${SCHEMA}.drivers (
        lock_key integer primary key,
        site text not null,
        profile text not null,
        driver text not null,
        host text not null,
        pid integer not null,
        session text,
        since timestamptz not null,
        backend_pid integer not null
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

export class SchemaError extends Error {}

/** Brings the schema up to date. Returns the version it is at. Safe to call concurrently. */
export async function migrate(client: PgClient, by = 'crewchief'): Promise<number> {
  const current = await installedVersion(client);
  if (current === SCHEMA_VERSION) return current;
  if (current !== undefined && current > SCHEMA_VERSION) throw tooNew(current);
  await client.query('begin');
  try {
    await client.query('select pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, MIGRATION_LOCK]);
    await client.query(`create schema if not exists ${SCHEMA}`);
    await client.query(
      `create table if not exists ${SCHEMA}.schema_migrations (
         version integer primary key,
         name text not null,
         applied timestamptz not null default now(),
         by text not null
       )`,
    );
    const {rows} = await client.query<{version: number}>(
      `select coalesce(max(version), 0)::int as version from ${SCHEMA}.schema_migrations`,
    );
    const at = rows[0]?.version ?? 0;
    if (at > SCHEMA_VERSION) throw tooNew(at);
    for (const m of MIGRATIONS) {
      if (m.version <= at) continue;
      await client.query(m.sql);
      await client.query(
        `insert into ${SCHEMA}.schema_migrations (version, name, by) values ($1, $2, $3)`,
        [m.version, m.name, by],
      );
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
  return SCHEMA_VERSION;
}

/** The installed schema version, or undefined when crewchief never ran on this database. */
export async function installedVersion(client: PgClient): Promise<number | undefined> {
  const {rows} = await client.query<{present: boolean}>(
    `select to_regclass('${SCHEMA}.schema_migrations') is not null as present`,
  );
  if (!rows[0]?.present) return undefined;
  const result = await client.query<{version: number}>(
    `select coalesce(max(version), 0)::int as version from ${SCHEMA}.schema_migrations`,
  );
  return result.rows[0]?.version ?? 0;
}

const tooNew = (version: number): SchemaError =>
  new SchemaError(
    `the journal database has schema version ${version}, newer than this crewchief knows (${SCHEMA_VERSION}): upgrade crewchief`,
  );
