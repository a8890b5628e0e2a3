/**
 * Connections to the PostgreSQL journal mirror. Every client gets an 'error' listener at
 * birth (an unhandled one kills the process), and queries can be given a deadline that
 * cuts the socket: a silently dropped link raises no event, and a query on it would wait
 * for TCP to give up, which takes minutes.
 */
import type pg from 'pg';

export type PgClient = pg.Client;

/** The URL with any password replaced, for messages and the journal. */
export function describeDb(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    u.searchParams.delete('password');
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@/]*@/, '://$1:***@');
  }
}

export interface ConnectOptions {
  /** Shown in pg_stat_activity, so an operator can tell the mirror, the lock and watchers apart. */
  applicationName: string;
  connectTimeoutMs?: number;
  /** Called once when the connection fails or ends, whatever the reason. */
  onLost?: (reason: string) => void;
  /**
   * Server-side bounds on every statement of this connection (default 30 s) and on any
   * wait for a lock (default 5 s): a table someone holds with LOCK TABLE fails the
   * statement instead of holding crewchief (and its exit) for as long as the lock lasts.
   */
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
}

/** Opens a dedicated client (never a pool: LISTEN and advisory locks belong to one session). */
export async function connect(url: string, options: ConnectOptions): Promise<PgClient> {
  // Loaded on first use: pg (and Node's fetch, which it touches at load) costs ~20 ms of
  // start-up that a session without a team database never needs.
  const {default: pgModule} = await import('pg');
  const client = new pgModule.Client({
    connectionString: url,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    lock_timeout: options.lockTimeoutMs ?? 5_000,
  });
  // A failure while connecting rejects connect(); onLost is for a connection that was up.
  let state: 'connecting' | 'up' | 'lost' = 'connecting';
  const onLost = (reason: string): void => {
    if (state !== 'up') return;
    state = 'lost';
    options.onLost?.(reason);
  };
  client.on('error', (error) => onLost(error.message));
  client.on('end', () => onLost('the connection ended'));
  try {
    await client.connect();
  } catch (error) {
    state = 'lost';
    destroy(client);
    throw error;
  }
  state = 'up';
  return client;
}

/** Cuts the connection at once, without waiting for the server (which may be gone). */
export function destroy(client: PgClient): void {
  const stream = (client as unknown as {connection?: {stream?: {destroy(): void}}}).connection
    ?.stream;
  stream?.destroy();
  client.end().catch(() => {});
}

export class QueryTimeout extends Error {}

/** Runs a query; after `ms` the connection is cut and the query fails with QueryTimeout. */
export async function queryWithin<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: PgClient,
  ms: number,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      destroy(client);
      reject(new QueryTimeout(`PostgreSQL did not answer within ${Math.round(ms / 1000)}s`));
    }, ms);
  });
  try {
    return await Promise.race([client.query<R>(text, values), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for work done on a client (several queries, e.g. a migration); after `ms` the
 * connection is cut and the wait fails with QueryTimeout. A frozen link answers nothing
 * and raises nothing: without a deadline, such work waits for TCP keepalive (minutes).
 */
export async function within<T>(client: PgClient, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      destroy(client);
      reject(new QueryTimeout(`PostgreSQL did not answer within ${Math.round(ms / 1000)}s`));
    }, ms);
  });
  work.catch(() => {}); // settles after the cut; its error is the deadline's
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the promise, or after `ms` (whichever first); never rejects. */
export async function settleWithin(
  promise: Promise<unknown> | undefined,
  ms: number,
): Promise<void> {
  if (!promise) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** A short reason for a connection or query error. */
export function reasonOf(error: unknown): string {
  const e = error as {message?: string; code?: string; errors?: {message: string}[]};
  const nested = e.errors?.[0]?.message;
  const message = e.message || nested || String(error);
  return e.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}

/** Doubling delays with a little jitter, capped. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 250,
    private readonly maxMs = 5_000,
  ) {}

  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt++);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
export const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, {once: true});
  });
