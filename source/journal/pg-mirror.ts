/**
 * The PostgreSQL mirror of a journal. The JSONL file stays the primary record: the mirror
 * copies its lines, in order, in batches, and never holds the session up (strict mode
 * aside, which waits through `caughtUp`). Writes are idempotent on (session, seq), so a
 * batch sent twice (the answer lost with the link) changes nothing. When PostgreSQL is
 * down the mirror keeps what it has not sent in memory, or, past a cap, reads it back
 * from the journal file when PostgreSQL returns.
 */
import {formatEntry, parseJournal} from './file.js';
import fs from 'node:fs';
import {syncEvents, type JournalEntry} from './events.js';
import type {JournalWriter} from './file.js';
import {
  Backoff,
  connect,
  destroy,
  queryWithin,
  reasonOf,
  settleWithin,
  within,
  type PgClient,
} from './pg-connect.js';
import {CHANNEL, migrate, SCHEMA} from './pg-schema.js';

export type MirrorState = 'connecting' | 'up' | 'behind' | 'closed';

export interface MirrorStatus {
  state: MirrorState;
  /** The highest seq PostgreSQL has (every seq below it too). */
  mirrored: number;
  /** The highest seq the journal has. */
  journaled: number;
  /** Why it is behind. */
  error?: string;
  /** Since when (epoch ms) it has been behind. */
  behindSince?: number;
}

export interface PgMirrorOptions {
  url: string;
  session: string;
  /** The journal file: its header line goes with the session row, and catch-up reads it. */
  journalPath: string;
  /** The last seq already in the journal when the mirror starts (resume). */
  lastSeq: number;
  /**
   * The file stays the primary record: PostgreSQL must never hold an event the file could
   * still lose in a crash. `durableSeq` says up to which seq the journal is on disk; the
   * mirror sends no further, and when an event has waited `flushAfterMs` (default 20 ms)
   * for the journal's group commit, it calls `flush` to put it on disk now.
   */
  durableSeq?: () => number;
  flush?: () => void;
  flushAfterMs?: number;
  /** Said when the mirror falls behind and when it has caught up (the session journals these). */
  report?: (level: 'info' | 'warn' | 'error', text: string) => void;
  /** Events per INSERT (default 1000). */
  batchMax?: number;
  /** Unsent events kept in memory before the mirror falls back on reading the file (default 50 000). */
  queueMax?: number;
  /** A write that takes longer cuts the connection (a dropped link raises no event). */
  writeTimeoutMs?: number;
  /** When idle this long, a heartbeat checks the connection (default 10 s). */
  heartbeatMs?: number;
  backoff?: {initialMs: number; maxMs: number};
  applicationName?: string;
}

interface Row {
  seq: number;
  type: string;
  time: string;
  line: string;
}

const rowOf = (entry: JournalEntry, line?: string): Row => ({
  seq: entry.seq,
  type: entry.type,
  time: entry.time,
  line: (line ?? formatEntry(entry)).replace(/\n$/, ''),
});

const SUMMARY_TYPES = new Set(['session-opened', 'session-resumed', 'decision', 'session-closed']);

/** What a batch says about the session, for its `sessions` row. */
function summarise(entries: readonly JournalEntry[]) {
  let site: string | null = null;
  let profile: string | null = null;
  let driver: string | null = null;
  let state: string | null = null;
  let started: string | null = null;
  for (const e of entries) {
    if (e.type === 'session-opened') {
      ({site, profile, driver} = e);
      started = e.time;
      state = 'open';
    } else if (e.type === 'session-resumed') {
      driver = e.driver;
      state = 'open';
    } else if (e.type === 'decision' && e.decision === 'hand-over') {
      state = 'handed-over';
    } else if (e.type === 'session-closed') {
      state = e.outcome;
    }
  }
  return {site, profile, driver, state, started};
}

export class PgMirror {
  private queue: JournalEntry[] = [];
  /** Events read back from the file to fill a gap in memory. */
  private backlog: Row[] = [];
  private mirrored = -1;
  private journaled: number;
  private client: PgClient | undefined;
  /** A client still being set up (close() cuts it too). */
  private connecting: PgClient | undefined;
  private hurry: (() => void) | undefined;
  private state: MirrorState = 'connecting';
  private error: string | undefined;
  private behindSince: number | undefined;
  private reportedBehind = false;
  private wake: (() => void) | undefined;
  private readonly stop = new AbortController();
  private stopping = false;
  private waiters: {seq: number; resolve: () => void}[] = [];
  private loop: Promise<void> | undefined;
  private header: string | undefined;
  private lastActivity = Date.now();
  private waitingForDisk: number | undefined;
  /** Events sent (for measurements). */
  readonly stats = {batches: 0, events: 0, reconnects: 0};

  constructor(private readonly options: PgMirrorOptions) {
    this.journaled = options.lastSeq;
  }

  /** Takes an entry as the journal appends it. Never blocks, never throws. */
  push(entry: JournalEntry): void {
    this.journaled = Math.max(this.journaled, entry.seq);
    this.queue.push(entry);
    const max = this.options.queueMax ?? 50_000;
    // Past the cap, forget the oldest half: they are on disk and catch-up reads them back.
    if (this.queue.length > max) this.queue = this.queue.slice(Math.floor(max / 2));
    this.wake?.();
  }

  start(): void {
    this.loop ??= this.run();
  }

  status(): MirrorStatus {
    return {
      state: this.state,
      mirrored: Math.max(0, this.mirrored),
      journaled: this.journaled,
      ...(this.error ? {error: this.error} : {}),
      ...(this.behindSince ? {behindSince: this.behindSince} : {}),
    };
  }

  /** Whether PostgreSQL has every event up to `seq`. */
  hasUpTo(seq: number): boolean {
    return this.mirrored >= seq;
  }

  /** Resolves when PostgreSQL has every event up to `seq` (or the signal aborts). */
  caughtUp(seq: number, signal?: AbortSignal): Promise<void> {
    if (this.hasUpTo(seq) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {seq, resolve: () => done()};
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve();
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', done, {once: true});
    });
  }

  /**
   * Sends what is left (waiting up to `timeoutMs`), then disconnects. Resolves with the
   * status at the end: `mirrored < journaled` means the rest is only in the file.
   */
  async close(timeoutMs = 10_000): Promise<MirrorStatus> {
    this.stopping = true;
    this.start();
    // Disconnected (PostgreSQL down or unreachable): try again at once, and not for long.
    const away = !this.client && this.state === 'behind';
    this.hurry?.();
    const deadline = AbortSignal.timeout(away ? Math.min(timeoutMs, 5_000) : timeoutMs);
    await this.caughtUp(this.journaled, deadline);
    this.stop.abort();
    this.wake?.();
    if (this.client) destroy(this.client);
    if (this.connecting) destroy(this.connecting);
    // Every wait in the loop has a deadline; this one bounds the close whatever happens.
    await settleWithin(this.loop, 5_000);
    const status = this.status();
    this.state = 'closed';
    return status;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(
      this.options.backoff?.initialMs ?? 250,
      this.options.backoff?.maxMs ?? 5_000,
    );
    while (!this.stop.signal.aborted) {
      try {
        if (!this.client) await this.connect();
        const wait = this.notOnDiskYet();
        if (wait) {
          await this.idle(wait);
          continue;
        }
        const batch = this.nextBatch();
        if (!batch) {
          if (this.stopping && this.mirrored >= this.journaled) await this.idle(60_000);
          else await this.idle(this.options.heartbeatMs ?? 10_000);
          continue;
        }
        await this.send(batch);
        backoff.reset();
      } catch (error) {
        if (this.stop.signal.aborted) break;
        this.fellBehind(reasonOf(error));
        if (this.client) destroy(this.client);
        this.client = undefined;
        await this.backOff(this.stopping ? 500 : backoff.next());
      }
    }
  }

  /** Waits before trying again; close() cuts the wait short (one last try). */
  private async backOff(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        this.hurry = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.hurry = done;
      this.stop.signal.addEventListener('abort', done, {once: true});
    });
  }

  private async connect(): Promise<void> {
    this.state = this.reportedBehind ? 'behind' : 'connecting';
    const timeout = this.options.writeTimeoutMs ?? 15_000;
    const client = await connect(this.options.url, {
      applicationName: this.options.applicationName ?? 'crewchief mirror',
      statementTimeoutMs: timeout,
      onLost: (reason) => {
        if (this.client !== client) return;
        this.client = undefined;
        this.fellBehind(reason);
        this.wake?.();
      },
    });
    this.connecting = client;
    try {
      if (this.stop.signal.aborted) throw new Error('the mirror is closed');
      await within(client, timeout, migrate(client));
      const {rows} = await queryWithin<{max: number}>(
        client,
        timeout,
        `select coalesce(max(seq), 0)::int as max from ${SCHEMA}.events where session = $1`,
        [this.options.session],
      );
      const max = rows[0]?.max ?? 0;
      if (max > this.journaled) {
        throw new Error(
          `PostgreSQL has event ${max} of session ${this.options.session}, past this journal's ${this.journaled}: another journal wrote there; not mirroring over it`,
        );
      }
      this.mirrored = max;
      this.stats.reconnects++;
      this.client = client;
      this.state = 'up';
      this.lastActivity = Date.now();
      this.settleWaiters();
      this.checkCaughtUp();
    } catch (error) {
      destroy(client);
      throw error;
    } finally {
      this.connecting = undefined;
    }
  }

  /**
   * How long to wait for the next event to be on disk (0: it is, or nothing to send).
   * Past `flushAfterMs`, flushes the journal instead: one fsync for a whole batch.
   */
  private notOnDiskYet(): number {
    const need = this.mirrored + 1;
    if (!this.options.durableSeq || need > this.journaled || need <= this.durable()) {
      this.waitingForDisk = undefined;
      return 0;
    }
    const waited = Date.now() - (this.waitingForDisk ??= Date.now());
    const after = this.options.flushAfterMs ?? 20;
    if (waited < after) return after - waited;
    this.options.flush?.();
    this.waitingForDisk = undefined;
    return 0;
  }

  private durable(): number {
    return this.options.durableSeq?.() ?? Number.POSITIVE_INFINITY;
  }

  /** The next run of events after `mirrored`, from memory or from the file (on disk only). */
  private nextBatch(): Row[] | undefined {
    const need = this.mirrored + 1;
    if (need > this.journaled || need > this.durable()) return undefined;
    let drop = 0;
    while (drop < this.queue.length && this.queue[drop]!.seq < need) drop++;
    if (drop) this.queue = this.queue.slice(drop);
    const max = this.options.batchMax ?? 1000;
    const first = this.queue[0];
    if (first && first.seq === need) {
      const rows: Row[] = [];
      let bytes = 0;
      const durable = this.durable();
      for (const entry of this.queue) {
        if (rows.length >= max || bytes > 4 << 20 || entry.seq > durable) break;
        const row = rowOf(entry);
        bytes += row.line.length;
        rows.push(row);
      }
      return rows;
    }
    // A gap in memory (resume, or the queue overflowed): read it back from the file, once.
    while (this.backlog.length && this.backlog[0]!.seq < need) this.backlog.shift();
    if (this.backlog[0]?.seq !== need) {
      const until = first?.seq ?? this.journaled + 1;
      const text = fs.readFileSync(this.options.journalPath, 'utf8');
      const read = parseJournal(text, this.options.journalPath);
      this.backlog = read.entries
        .filter((e) => e.seq >= need && e.seq < until)
        .map((e) => rowOf(e));
    }
    if (this.backlog[0]?.seq !== need) {
      // Not flushed yet (group commit): try again shortly.
      throw new Error(`event ${need} is not in ${this.options.journalPath} yet`);
    }
    return this.backlog.slice(0, max);
  }

  private headerLine(): string {
    if (this.header) return this.header;
    const fd = fs.openSync(this.options.journalPath, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
      const text = buffer.subarray(0, n).toString('utf8');
      this.header = text.slice(0, text.indexOf('\n'));
      return this.header;
    } finally {
      fs.closeSync(fd);
    }
  }

  private async send(rows: Row[]): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('not connected');
    const header = this.headerLine();
    const s = summarise(
      rows.filter((r) => SUMMARY_TYPES.has(r.type)).map((r) => JSON.parse(r.line) as JournalEntry),
    );
    const last = rows.at(-1)!;
    const created = (JSON.parse(header) as {created: string}).created;
    await queryWithin(
      client,
      this.options.writeTimeoutMs ?? 15_000,
      `with ins as (
         insert into ${SCHEMA}.events (session, seq, type, time, line)
         select $1, u.seq, u.type, u.time, u.line
           from unnest($2::int[], $3::text[], $4::timestamptz[], $5::text[]) as u(seq, type, time, line)
         on conflict (session, seq) do nothing
         returning 1
       ), ses as (
         insert into ${SCHEMA}.sessions as s
           (session, header, created, site, profile, driver, state, started, last_seq, last_time)
         values ($1, $6, $7, $8, $9, $10, coalesce($11, 'open'), $12, $13, $14)
         on conflict (session) do update set
           site = coalesce(excluded.site, s.site),
           profile = coalesce(excluded.profile, s.profile),
           driver = case when excluded.last_seq >= s.last_seq then coalesce($10, s.driver) else s.driver end,
           state = case when excluded.last_seq >= s.last_seq then coalesce($11, s.state) else s.state end,
           started = coalesce(s.started, excluded.started),
           last_seq = greatest(s.last_seq, excluded.last_seq),
           last_time = greatest(s.last_time, excluded.last_time),
           updated = now()
         returning 1
       )
       select pg_notify($15, $16), (select count(*) from ins)::int as inserted, (select count(*) from ses)::int as sessions`,
      [
        this.options.session,
        rows.map((r) => r.seq),
        rows.map((r) => r.type),
        rows.map((r) => r.time),
        rows.map((r) => r.line),
        header,
        created,
        s.site,
        s.profile,
        s.driver,
        s.state,
        s.started,
        last.seq,
        last.time,
        CHANNEL,
        JSON.stringify({session: this.options.session, seq: last.seq}),
      ],
    );
    this.stats.batches++;
    this.stats.events += rows.length;
    this.mirrored = last.seq;
    this.lastActivity = Date.now();
    this.settleWaiters();
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.reportedBehind && this.mirrored >= this.journaled) {
      const behindFor = this.behindSince ? Date.now() - this.behindSince : 0;
      this.reportedBehind = false;
      this.behindSince = undefined;
      this.error = undefined;
      this.state = 'up';
      this.options.report?.(
        'info',
        `journal mirror caught up: PostgreSQL has every event again (behind for ${Math.round(behindFor / 1000)}s)`,
      );
    }
  }

  private fellBehind(reason: string): void {
    this.error = reason;
    this.state = 'behind';
    this.behindSince ??= Date.now();
    if (this.reportedBehind || this.stop.signal.aborted) return;
    this.reportedBehind = true;
    this.options.report?.(
      'warn',
      `journal mirror behind: ${reason}; the session goes on, ${this.options.journalPath} has every event, and the mirror catches up when PostgreSQL is back`,
    );
  }

  private settleWaiters(): void {
    for (const w of this.waiters.filter((w) => w.seq <= this.mirrored)) w.resolve();
  }

  /** Waits for new events; after `ms` of silence, checks the connection is still there. */
  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    const client = this.client;
    const heartbeatMs = this.options.heartbeatMs ?? 10_000;
    if (client && Date.now() - this.lastActivity >= heartbeatMs && !this.stop.signal.aborted) {
      await queryWithin(client, this.options.writeTimeoutMs ?? 15_000, 'select 1');
      this.lastActivity = Date.now();
    }
  }
}

/**
 * Up to which seq a journal is on disk. Effect-bearing events are fsynced before their
 * listeners run (and with them everything before); output waits for the group commit,
 * so an output event is on disk once the journal has fsynced again after it.
 */
export function journalOnDisk(journal: JournalWriter): {saw(e: JournalEntry): void; seq(): number} {
  let durable = journal.lastSeq;
  const waiting: {seq: number; fsyncs: number}[] = [];
  return {
    saw(e) {
      if (syncEvents.has(e.type)) {
        durable = e.seq;
        waiting.length = 0;
      } else waiting.push({seq: e.seq, fsyncs: journal.stats.fsyncs});
    },
    seq() {
      const fsyncs = journal.stats.fsyncs;
      let i = 0;
      while (i < waiting.length && waiting[i]!.fsyncs < fsyncs) durable = waiting[i++]!.seq;
      if (i) waiting.splice(0, i);
      return durable;
    },
  };
}
