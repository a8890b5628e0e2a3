/**
 * PostgreSQL for team-mode tests: a database of its own per test file (so files run
 * concurrently), outages that touch only that database, and a whole cluster of its own
 * for the test that stops the server.
 */
import {execa} from 'execa';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** The server on this machine (trust auth); override with CREWCHIEF_TEST_PG. */
export const ADMIN_URL =
  process.env['CREWCHIEF_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({connectionString: url, application_name: 'crewchief test'});
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database with a unique name. */
export async function createDatabase(prefix: string, admin = ADMIN_URL): Promise<TestDatabase> {
  const name = `cc_${prefix}_${randomBytes(4).toString('hex')}`;
  await query(admin, `create database ${name}`);
  return {
    name,
    url: withDatabase(admin, name),
    drop: async () => {
      await query(admin, `drop database if exists ${name} with (force)`);
    },
  };
}

/** Kills the backends of one database whose application_name matches (a pattern). */
export async function terminate(db: TestDatabase, application: string): Promise<number> {
  const rows = await query<{pid: number}>(
    withDatabase(db.url, 'postgres'),
    `select pg_terminate_backend(pid) as done, pid from pg_stat_activity
      where datname = $1 and application_name like $2 and pid <> pg_backend_pid()`,
    [db.name, application],
  );
  return rows.length;
}

/** Refuses (or again allows) new connections to one database; with `kill`, drops the open ones. */
export async function allowConnections(db: TestDatabase, allow: boolean): Promise<void> {
  const admin = withDatabase(db.url, 'postgres');
  await query(admin, `alter database ${db.name} allow_connections ${allow}`);
  if (!allow)
    await query(
      admin,
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
      [db.name],
    );
}

/** Polls until `check` resolves truthy (no fixed sleeps in assertions). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

const BIN = '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of this test's own (initdb in a temp dir, its own port), so that
 * stopping the server cannot disturb any other test file.
 */
export class OwnCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static available(): boolean {
    return fs.existsSync(path.join(BIN, 'initdb'));
  }

  static async create(): Promise<OwnCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-pg-'));
    const port = await freePort();
    const cluster = new OwnCluster(dir, port);
    if (process.getuid?.() === 0) fs.chownSync(dir, pgUid().uid, pgUid().gid);
    await cluster.run('initdb', [
      '-D',
      path.join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await cluster.start();
    return cluster;
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await this.run('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
      '-w',
      'start',
    ]);
  }

  async stop(): Promise<void> {
    await this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    fs.rmSync(this.dir, {recursive: true, force: true});
  }

  private async run(program: string, args: string[]): Promise<void> {
    const file = path.join(BIN, program);
    const result =
      process.getuid?.() === 0
        ? await execa('runuser', ['-u', 'postgres', '--', file, ...args], {
            reject: false,
            all: true,
          })
        : await execa(file, args, {reject: false, all: true});
    if (result.exitCode !== 0) throw new Error(`${program} failed: ${result.all}`);
  }
}

function pgUid(): {uid: number; gid: number} {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('no postgres user to run initdb as');
  return {uid: Number(uid), gid: Number(gid)};
}
