/**
 * The connections to one host. Commands and polls lease a channel slot on a live link; a
 * link carries at most `maxChannels` command channels (below sshd's MaxSessions, which
 * refuses the 11th at once by default), and a second link is opened when more are asked
 * for. Links are opened lazily.
 *
 * Healing: once a host has been up, losing its last link starts reconnecting at once, in
 * the background, with exponential backoff and jitter, until it is back, the transport
 * closes, or the server refuses for good (host key, authentication). Every step is
 * reported (down with the reason, reconnecting with the attempt, up). A lease asked for
 * while the host is down waits at most `reconnectWaitMs` for it, then fails saying the
 * link is down and why.
 */
import {SshConnectError, type Link} from './link.js';

/** What the pool needs of a connection (an ssh2 link, an OpenSSH master). */
export interface PoolLink {
  readonly up: boolean;
  /** Leases in use; the pool keeps this. */
  inUse: number;
  capacity: number;
  onClose(listener: (reason: string | undefined) => void): () => void;
  end(): void;
}

/** What the header shows for a host. */
export type ConnectionState =
  'idle' | 'connecting' | 'up' | 'down' | 'reconnecting' | 'failed' | 'closed';

export interface Lease<L extends PoolLink = Link> {
  readonly link: L;
  /** Gives the slot back. Idempotent. */
  release(): void;
}

export interface PoolOptions<L extends PoolLink = Link> {
  maxChannels: number;
  maxConnections: number;
  /** Connect tries per lease before giving up (transient failures only). */
  connectAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a lease waits for a host whose link is down (default 30 s). */
  reconnectWaitMs?: number;
  /** The host, for messages. */
  name?: string;
  open(): Promise<L>;
  onState(state: ConnectionState, detail: {error?: string; attempt?: number}): void;
}

/** A lease refused because the host's link is down and did not come back in time. */
export class LinkDownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkDownError';
  }
}

interface Waiter<L extends PoolLink> {
  resolve(lease: Lease<L>): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, {once: true});
  });

export class HostPool<L extends PoolLink = Link> {
  readonly links: L[] = [];
  private readonly waiters: Waiter<L>[] = [];
  private connecting = false;
  /** Failed connects in a row, for the backoff. */
  private failures = 0;
  private everUp = false;
  /** Lost every link after being up: reconnect without waiting to be asked. */
  private healing = false;
  /** Reconnect attempts in the current outage. */
  private attempt = 0;
  /** Why the host is down (the drop, then the last failed attempt). */
  private downReason: string | undefined;
  /** The server refused for good: no more reconnecting until someone asks again. */
  private refused: Error | undefined;
  private closed = false;
  private readonly closing = new AbortController();
  private current: ConnectionState = 'idle';

  constructor(private readonly options: PoolOptions<L>) {}

  get state(): ConnectionState {
    return this.current;
  }

  private setState(state: ConnectionState, detail: {error?: string; attempt?: number} = {}): void {
    if (state === this.current && detail.error === undefined && detail.attempt === undefined)
      return;
    this.current = state;
    this.options.onState(state, detail);
  }

  private get live(): boolean {
    return this.links.some((l) => l.up);
  }

  /** A waiter on a host that was up and is not: bounded by reconnectWaitMs. */
  private bound(waiter: Waiter<L>): void {
    if (waiter.timer || !this.everUp || this.live) return;
    const waitMs = this.options.reconnectWaitMs ?? 30_000;
    waiter.timer = setTimeout(() => {
      const i = this.waiters.indexOf(waiter);
      if (i < 0) return;
      this.waiters.splice(i, 1);
      waiter.reject(this.downError(waitMs));
    }, waitMs);
  }

  private downError(waitedMs?: number): LinkDownError {
    const name = this.options.name ?? 'the host';
    const why = this.downReason ? `: ${this.downReason}` : '';
    const waited =
      waitedMs === undefined
        ? ''
        : `; waited ${Math.round(waitedMs / 100) / 10} s for it to come back` +
          (this.attempt
            ? ` (${this.attempt} reconnect attempt${this.attempt === 1 ? '' : 's'})`
            : '');
    return new LinkDownError(`the link to ${name} is down${why}${waited}`);
  }

  /** Waits for a channel slot, connecting as needed. */
  acquire(signal?: AbortSignal): Promise<Lease<L>> {
    return new Promise<Lease<L>>((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the ssh transport is closed'));
        return;
      }
      if (signal?.aborted) {
        reject(new AbortedError());
        return;
      }
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        clearTimeout(waiter.timer);
        reject(new AbortedError());
      };
      const waiter: Waiter<L> = {
        resolve: (lease) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        reject: (error) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, {once: true});
      this.waiters.push(waiter);
      if (this.refused && !this.live && !this.connecting) {
        // Asked again after a refusal: try once more (the key may have been fixed).
        this.refused = undefined;
      }
      this.bound(waiter);
      this.pump();
    });
  }

  private lease(link: L): Lease<L> {
    link.inUse++;
    let released = false;
    return {
      link,
      release: () => {
        if (released) return;
        released = true;
        link.inUse--;
        this.pump();
      },
    };
  }

  private pump(): void {
    while (this.waiters.length) {
      const link = this.links.find((l) => l.up && l.inUse < l.capacity);
      if (!link) break;
      this.waiters.shift()?.resolve(this.lease(link));
    }
    const live = this.links.filter((l) => l.up).length;
    const wanted = this.waiters.length > 0 || (this.healing && live === 0);
    if (wanted && !this.connecting && !this.refused && live < this.options.maxConnections) {
      this.connecting = true;
      void this.connect();
    }
  }

  private backoff(): number {
    if (this.failures === 0) return 0;
    const base = this.options.backoffBaseMs * 2 ** (this.failures - 1);
    const capped = Math.min(this.options.backoffMaxMs, base);
    return Math.round(capped * (0.8 + Math.random() * 0.4));
  }

  private async connect(): Promise<void> {
    let attempts = 0;
    let lastError: Error | undefined;
    // Healing runs until the host is back; a first connect gives up after connectAttempts.
    const wanted = (): boolean => this.waiters.length > 0 || (this.healing && !this.live);
    while (!this.closed && wanted()) {
      const delay = this.backoff();
      if (delay) await sleep(delay, this.closing.signal);
      if (this.closed || !wanted()) break;
      if (this.healing) {
        this.attempt++;
        this.setState('reconnecting', {
          attempt: this.attempt,
          ...(lastError ? {error: lastError.message} : {}),
        });
      } else {
        this.setState(this.everUp || attempts > 0 ? 'reconnecting' : 'connecting');
      }
      try {
        const link = await this.options.open();
        if (this.closed) {
          link.end();
          break;
        }
        this.failures = 0;
        this.everUp = true;
        this.healing = false;
        this.attempt = 0;
        this.downReason = undefined;
        this.links.push(link);
        link.onClose((reason) => this.dropped(link, reason));
        this.connecting = false;
        this.setState('up');
        this.pump();
        return;
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
        this.downReason = lastError.message;
        this.failures++;
        attempts++;
        const permanent = error instanceof SshConnectError && error.permanent;
        if (permanent) {
          this.refused = lastError;
          break;
        }
        if (!this.healing && attempts >= this.options.connectAttempts) break;
      }
    }
    this.connecting = false;
    if (this.closed) return;
    if (lastError && !this.live) {
      // Nobody can be served: say why to everyone waiting.
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(this.healing ? this.downError() : lastError);
      }
      this.healing = false;
      this.setState('failed', {error: lastError.message});
    } else if (lastError) {
      this.setState('up', {error: lastError.message});
    }
    this.pump();
  }

  private dropped(link: L, reason: string | undefined): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
    if (this.closed) return;
    if (!this.live) {
      this.downReason = reason ?? 'connection lost';
      this.healing = true;
      this.attempt = 0;
      this.failures = 0;
      this.setState('down', {error: this.downReason});
      for (const waiter of this.waiters) this.bound(waiter);
    }
    this.pump();
  }

  /** Ends every link; waiting leases fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(new Error('the ssh transport is closed'));
    }
    for (const link of this.links.splice(0)) link.end();
    this.setState('closed');
  }
}
