/**
 * Follows a session in the PostgreSQL mirror: LISTEN on a dedicated connection, and on
 * each notification (which carries only session and seq) SELECT the rows after the last
 * one seen. Notifications sent while the connection is down are lost, so every
 * (re)connect LISTENs first and then catches up from the last seq; a heartbeat finds a
 * link that dropped without a word.
 */
import type {JournalEntry} from './events.js';
import {
  Backoff,
  destroy,
  pause,
  queryWithin,
  reasonOf,
  settleWithin,
  type PgClient,
} from './pg-connect.js';
import {connectForReading, readEntries} from './pg-read.js';
import {CHANNEL} from './pg-schema.js';

export type TailState = 'connecting' | 'following' | 'reconnecting' | 'stopped';

export interface TailStatus {
  state: TailState;
  lastSeq: number;
  error?: string;
  reconnects: number;
}

export interface PgTailOptions {
  url: string;
  session: string;
  /** Entries after this seq are delivered (default 0: the whole session). */
  after?: number;
  /** Called with new entries, in order, never twice. */
  onEntries: (entries: JournalEntry[]) => void;
  onStatus?: (status: TailStatus) => void;
  /** Damaged rows (a checksum that does not match): reported, never skipped silently. */
  onDamage?: (text: string) => void;
  heartbeatMs?: number;
  backoff?: {initialMs: number; maxMs: number};
  applicationName?: string;
}

export class PgTail {
  private lastSeq: number;
  private client: PgClient | undefined;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  private state: TailState = 'connecting';
  private error: string | undefined;
  private connects = 0;
  private wake: (() => void) | undefined;
  private pending = false;
  private lost: string | undefined;

  constructor(private readonly options: PgTailOptions) {
    this.lastSeq = options.after ?? 0;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.wake?.();
    if (this.client) destroy(this.client);
    // Every wait in the loop has a deadline; this bounds the stop whatever happens.
    await settleWithin(this.loop, 5_000);
    this.setState('stopped');
  }

  status(): TailStatus {
    return {
      state: this.state,
      lastSeq: this.lastSeq,
      reconnects: Math.max(0, this.connects - 1),
      ...(this.error ? {error: this.error} : {}),
    };
  }

  private setState(state: TailState, error?: string): void {
    this.state = state;
    this.error = error;
    this.options.onStatus?.(this.status());
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(
      this.options.backoff?.initialMs ?? 250,
      this.options.backoff?.maxMs ?? 5_000,
    );
    const heartbeatMs = this.options.heartbeatMs ?? 5_000;
    while (!this.stopper.signal.aborted) {
      let client: PgClient | undefined;
      try {
        this.lost = undefined;
        client = await connectForReading(
          this.options.url,
          this.options.applicationName ?? 'crewchief watch',
        );
        this.client = client;
        client.on('error', (error) => this.drop(error.message));
        client.on('end', () => this.drop('the connection ended'));
        client.on('notification', (message) => {
          if (message.channel !== CHANNEL || !message.payload) return;
          try {
            const {session, seq} = JSON.parse(message.payload) as {session: string; seq: number};
            if (session === this.options.session && seq > this.lastSeq) this.poke();
          } catch {
            // Not ours.
          }
        });
        // LISTEN first, then catch up: anything committed after LISTEN is notified.
        await queryWithin(client, heartbeatMs * 2, `listen ${CHANNEL}`);
        this.pending = true;
        this.connects++;
        this.setState('following');
        backoff.reset();
        while (!this.stopper.signal.aborted && !this.lost) {
          if (this.pending) {
            this.pending = false;
            await this.catchUp(client, heartbeatMs * 2);
            continue;
          }
          const woke = await this.sleep(heartbeatMs);
          if (!woke && !this.lost && !this.stopper.signal.aborted) {
            await queryWithin(client, heartbeatMs * 2, 'select 1');
            // Cheap insurance against a lost notification: look for rows anyway.
            this.pending = true;
          }
        }
        if (this.lost) throw new Error(this.lost);
      } catch (error) {
        if (this.stopper.signal.aborted) break;
        this.setState('reconnecting', reasonOf(error));
        await pause(backoff.next(), this.stopper.signal);
      } finally {
        if (client) destroy(client);
        this.client = undefined;
      }
    }
  }

  private async catchUp(client: PgClient, timeoutMs: number): Promise<void> {
    for (;;) {
      const before = this.lastSeq;
      // A query that does not come back in time cuts the connection (and so fails).
      const deadline = setTimeout(() => destroy(client), timeoutMs);
      let batch;
      try {
        batch = await readEntries(client, this.options.session, before, 2000);
      } finally {
        clearTimeout(deadline);
      }
      for (const d of batch.damage) this.options.onDamage?.(d);
      this.lastSeq = batch.last;
      if (batch.entries.length) this.options.onEntries(batch.entries);
      if (batch.last - before < 2000) return;
    }
  }

  private poke(): void {
    this.pending = true;
    this.wake?.();
  }

  private drop(reason: string): void {
    this.lost ??= reason;
    this.wake?.();
  }

  /** Waits up to `ms` for a notification; true when one came. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), ms);
      const finish = (woke: boolean): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(woke);
      };
      this.wake = () => finish(true);
    });
  }
}
