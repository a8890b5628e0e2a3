/**
 * One driver at a time, per site and profile. Two layers:
 *
 * - a lock file, which keeps two crewchiefs of this user on this machine apart (and is
 *   all there is for file-only journals);
 * - a PostgreSQL advisory lock, held on its own connection for the whole session, which
 *   keeps drivers on different machines apart. PostgreSQL frees it the moment that
 *   connection dies (the holder crashed or lost its link); the holder then no longer has
 *   it, and must not start another step until it has it again.
 *
 * The advisory lock carries no name, so the holder writes who it is in
 * `crewchief.drivers`; a refused driver is told who, from where and since when.
 */
import {createHash} from 'node:crypto';
import {EventEmitter} from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Backoff,
  connect,
  describeDb,
  destroy,
  pause,
  queryWithin,
  reasonOf,
  settleWithin,
  within,
  type PgClient,
} from '../journal/pg-connect.js';
import {removeStaleLock} from '../journal/lock.js';
import {LOCK_NAMESPACE, migrate, SCHEMA} from '../journal/pg-schema.js';

/** Who holds (or asks for) a driver lock. */
export interface Holder {
  driver: string;
  host: string;
  pid: number;
  session?: string;
  /** ISO time the lock was taken. */
  since: string;
  site: string;
  profile: string;
  journal?: string;
  /** Where the holder's PostgreSQL connection comes from. */
  from?: string;
}

/** The lock is someone else's. */
export class LockRefused extends Error {
  constructor(
    readonly holder: Holder | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A positive 31-bit key for a site and profile (the second key of the advisory lock). */
export function lockKey(site: string, profile: string): number {
  const digest = createHash('sha256').update(`crewchief\0${site}\0${profile}`).digest();
  return digest.readUInt32BE(0) & 0x7fffffff || 1;
}

const ago = (iso: string, now = Date.now()): string => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')} ago`;
};

/** The refusal a second driver sees. */
export function describeHolder(holder: Holder, via: string): string {
  return [
    `${holder.site} on profile ${holder.profile} is being driven by ${holder.driver}`,
    `  where: ${holder.host}${holder.from ? ` (PostgreSQL connection from ${holder.from})` : ''}, process ${holder.pid}`,
    `  since: ${holder.since.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (${ago(holder.since)})`,
    ...(holder.session ? [`  session: ${holder.session}`] : []),
    `  lock: ${via}`,
    `Only one driver at a time. Follow it read-only with crewchief watch${holder.session ? ` ${holder.session}` : ''}, or ask ${holder.driver} to hand over.`,
  ].join('\n');
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The lock file of a site and profile: created atomically, removed on release. */
export class FileLock {
  private released = false;

  private constructor(readonly file: string) {}

  static acquire(dir: string, holder: Holder): FileLock {
    fs.mkdirSync(dir, {recursive: true, mode: 0o700});
    const name = `${holder.site}--${holder.profile}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    const file = path.join(dir, `${name}.lock`);
    const text = `${JSON.stringify(holder)}\n`;
    for (let attempt = 0; attempt < 5; attempt++) {
      // Written whole under a private name, then linked in: the lock never exists half-written.
      const temp = `${file}.${process.pid}.${attempt}.new`;
      fs.writeFileSync(temp, text, {mode: 0o600});
      try {
        fs.linkSync(temp, file);
        return new FileLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        fs.rmSync(temp, {force: true});
      }
      const current = readHolder(file);
      if (!current) continue; // removed meanwhile: try again
      const sameHost = current.host === os.hostname();
      if (!sameHost || alive(current.pid)) {
        throw new LockRefused(current, describeHolder(current, `lock file ${file}`));
      }
      // The holder's process is gone: its lock goes (unless another crewchief got there first).
      removeStaleLock(file, current, readHolder);
    }
    const current = readHolder(file);
    throw new LockRefused(
      current,
      current ? describeHolder(current, `lock file ${file}`) : `cannot take the lock file ${file}`,
    );
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const current = readHolder(this.file);
    if (current?.pid === process.pid) fs.rmSync(this.file, {force: true});
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

/** PostgreSQL is not there (as opposed to: the lock is someone else's). */
export class LockUnavailable extends Error {}

/**
 * `held`: this process holds it. `regaining`: it had it, the connection died, it is
 * trying to take it again. `waiting`: it never had it (PostgreSQL was down at the start)
 * and is trying. `taken`: someone else holds it now. `released`: given back.
 */
export type PgLockState = 'held' | 'regaining' | 'waiting' | 'taken' | 'released';

export interface PgLockOptions {
  url: string;
  holder: Holder;
  heartbeatMs?: number;
  backoff?: {initialMs: number; maxMs: number};
}

/** Events: 'change' (state, reason). */
export class PgDriverLock extends EventEmitter<{change: [PgLockState, string]}> {
  private client: PgClient | undefined;
  /** The connection of an attempt under way. */
  private attempt: PgClient | undefined;
  private stateValue: PgLockState;
  private readonly stopper = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private trying: Promise<void> | undefined;
  readonly key: number;
  /** Who took it when the state is `taken`. */
  takenBy: Holder | undefined;

  private constructor(
    private readonly options: PgLockOptions,
    state: PgLockState,
  ) {
    super();
    this.stateValue = state;
    this.key = lockKey(options.holder.site, options.holder.profile);
  }

  get state(): PgLockState {
    return this.stateValue;
  }

  get held(): boolean {
    return this.stateValue === 'held';
  }

  /** Takes the lock now. Throws LockRefused (someone holds it) or LockUnavailable. */
  static async acquire(options: PgLockOptions): Promise<PgDriverLock> {
    const lock = new PgDriverLock(options, 'waiting');
    const outcome = await lock.tryOnce();
    if (outcome === 'held') return lock;
    if (outcome instanceof LockRefused) throw outcome;
    throw new LockUnavailable(
      `cannot reach the journal database ${describeDb(options.url)} to take the driver lock: ${outcome}`,
    );
  }

  /** A lock that could not be taken at the start (PostgreSQL down): keeps trying. */
  static later(options: PgLockOptions): PgDriverLock {
    const lock = new PgDriverLock(options, 'waiting');
    lock.keepTrying();
    return lock;
  }

  /** Resolves true once held (within `ms`), false when not. */
  async waitHeld(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.held) return true;
    if (this.stateValue === 'taken' || this.stateValue === 'released') return false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), ms);
      const onChange = (state: PgLockState): void => {
        if (state === 'held') finish(true);
        else if (state === 'taken' || state === 'released') finish(false);
      };
      const onAbort = (): void => finish(false);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.off('change', onChange);
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      this.on('change', onChange);
      signal?.addEventListener('abort', onAbort, {once: true});
    });
  }

  /** Gives the lock back (on the connection that holds it) and closes that connection. */
  async release(): Promise<void> {
    this.stopper.abort();
    clearInterval(this.heartbeat);
    // An attempt under way is cut: the lock is being given up anyway.
    if (this.attempt) destroy(this.attempt);
    // One query at a time on a connection: let a heartbeat under way finish first (each
    // has its deadline; this bounds the wait whatever happens).
    await settleWithin(Promise.all([this.trying, this.beating]), 5_000);
    const client = this.client;
    this.client = undefined;
    if (client && this.held) {
      try {
        await queryWithin(
          client,
          3_000,
          `delete from ${SCHEMA}.drivers where lock_key = $1 and backend_pid = pg_backend_pid()`,
          [this.key],
        );
        await queryWithin(client, 3_000, 'select pg_advisory_unlock($1::int, $2::int)', [
          LOCK_NAMESPACE,
          this.key,
        ]);
        await client.end();
      } catch {
        destroy(client);
      }
    } else if (client) destroy(client);
    this.setState('released', 'released');
  }

  private setState(state: PgLockState, reason: string): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('change', state, reason);
  }

  /** One attempt: 'held', a LockRefused, or the reason PostgreSQL could not be asked. */
  private async tryOnce(): Promise<'held' | LockRefused | string> {
    let client: PgClient;
    try {
      client = await connect(this.options.url, {
        applicationName: 'crewchief driver lock',
        onLost: (reason) => this.lost(client, reason),
      });
    } catch (error) {
      return reasonOf(error);
    }
    this.attempt = client;
    try {
      if (this.stopper.signal.aborted) throw new Error('released');
      await within(client, 10_000, migrate(client));
      const {rows} = await queryWithin<{ok: boolean}>(
        client,
        10_000,
        'select pg_try_advisory_lock($1::int, $2::int) as ok',
        [LOCK_NAMESPACE, this.key],
      );
      if (!rows[0]?.ok) {
        // The holder names itself just after it takes the lock: give it a moment.
        let holder = await this.currentHolder(client);
        for (let i = 0; i < 20 && holder?.pid === 0; i++) {
          await pause(100);
          holder = await this.currentHolder(client);
        }
        destroy(client);
        return new LockRefused(
          holder,
          holder
            ? describeHolder(holder, `PostgreSQL advisory lock at ${describeDb(this.options.url)}`)
            : `the driver lock for ${this.options.holder.site} on ${this.options.holder.profile} is held in ${describeDb(this.options.url)}, and the holder left no name`,
        );
      }
      const h = this.options.holder;
      await queryWithin(
        client,
        10_000,
        `insert into ${SCHEMA}.drivers (lock_key, site, profile, driver, host, pid, session, since, backend_pid)
         values ($1, $2, $3, $4, $5, $6, $7, $8, pg_backend_pid())
         on conflict (lock_key) do update set site = excluded.site, profile = excluded.profile,
           driver = excluded.driver, host = excluded.host, pid = excluded.pid,
           session = excluded.session, since = excluded.since, backend_pid = excluded.backend_pid`,
        [this.key, h.site, h.profile, h.driver, h.host, h.pid, h.session ?? null, h.since],
      );
      this.client = client;
      this.startHeartbeat(client);
      this.setState('held', this.stateValue === 'regaining' ? 'regained' : 'acquired');
      return 'held';
    } catch (error) {
      destroy(client);
      return reasonOf(error);
    } finally {
      this.attempt = undefined;
    }
  }

  private startHeartbeat(client: PgClient): void {
    clearInterval(this.heartbeat);
    const every = this.options.heartbeatMs ?? 5_000;
    this.heartbeat = setInterval(() => {
      if (this.beating || this.client !== client) return;
      this.beating = queryWithin(client, every * 2, 'select 1')
        .then(
          () => undefined,
          (error: unknown) => this.lost(client, reasonOf(error)),
        )
        .finally(() => (this.beating = undefined));
    }, every);
    this.heartbeat.unref();
  }

  private lost(client: PgClient | undefined, reason: string): void {
    if (!client || this.client !== client || this.stopper.signal.aborted) return;
    this.client = undefined;
    clearInterval(this.heartbeat);
    destroy(client);
    this.setState('regaining', `the lock's connection to PostgreSQL was lost: ${reason}`);
    this.keepTrying();
  }

  private keepTrying(): void {
    if (this.trying) return;
    const backoff = new Backoff(
      this.options.backoff?.initialMs ?? 250,
      this.options.backoff?.maxMs ?? 5_000,
    );
    this.trying = (async () => {
      while (!this.stopper.signal.aborted) {
        const outcome = await this.tryOnce();
        if (outcome === 'held') break;
        if (outcome instanceof LockRefused) {
          this.takenBy = outcome.holder;
          this.setState('taken', outcome.message);
          break;
        }
        await pause(backoff.next(), this.stopper.signal);
      }
    })().finally(() => (this.trying = undefined));
  }

  private async currentHolder(client: PgClient): Promise<Holder | undefined> {
    const {rows} = await queryWithin<{
      driver: string | null;
      host: string | null;
      pid: number | null;
      session: string | null;
      since: Date | null;
      current: boolean | null;
      client_addr: string | null;
      backend_start: Date | null;
      application_name: string | null;
    }>(
      client,
      10_000,
      `select d.driver, d.host, d.pid, d.session, d.since, d.backend_pid = l.pid as current,
              host(a.client_addr) as client_addr, a.backend_start, a.application_name
         from pg_locks l
         left join pg_stat_activity a on a.pid = l.pid
         left join ${SCHEMA}.drivers d on d.lock_key = $2
        where l.locktype = 'advisory' and l.granted and l.objsubid = 2
          and l.classid = $1::int::oid and l.objid = $2::int::oid
        limit 1`,
      [LOCK_NAMESPACE, this.key],
    );
    const row = rows[0];
    if (!row) return undefined;
    const from = row.client_addr ?? (row.backend_start ? 'a local socket' : undefined);
    if (row.current && row.driver && row.host && row.pid !== null && row.since) {
      return {
        driver: row.driver,
        host: row.host,
        pid: row.pid,
        ...(row.session ? {session: row.session} : {}),
        since: row.since.toISOString(),
        site: this.options.holder.site,
        profile: this.options.holder.profile,
        ...(from ? {from} : {}),
      };
    }
    return {
      driver: `an unnamed PostgreSQL session (${row.application_name || 'no application name'})`,
      host: from ?? 'unknown',
      pid: 0,
      since: (row.backend_start ?? new Date()).toISOString(),
      site: this.options.holder.site,
      profile: this.options.holder.profile,
    };
  }
}
