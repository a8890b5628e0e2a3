/**
 * The connections to one host. Commands and polls lease a channel slot on a live link; a
 * link carries at most `maxChannels` command channels (below sshd's MaxSessions, which
 * refuses the 11th at once by default), and a second link is opened when more are asked
 * for. Links are opened lazily; one that drops is forgotten, and the next lease opens a
 * new one, with backoff between failed attempts.
 */
import {SshConnectError, type Link} from './link.js';

/** What the header shows for a host. */
export type ConnectionState =
  'idle' | 'connecting' | 'up' | 'down' | 'reconnecting' | 'failed' | 'closed';

export interface Lease {
  readonly link: Link;
  /** Gives the slot back. Idempotent. */
  release(): void;
}

export interface PoolOptions {
  maxChannels: number;
  maxConnections: number;
  /** Connect tries per lease before giving up (transient failures only). */
  connectAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  open(): Promise<Link>;
  onState(state: ConnectionState, error?: string): void;
}

interface Waiter {
  resolve(lease: Lease): void;
  reject(error: Error): void;
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

export class HostPool {
  readonly links: Link[] = [];
  private readonly waiters: Waiter[] = [];
  private connecting = false;
  /** Failed connects in a row, for the backoff. */
  private failures = 0;
  private everUp = false;
  private closed = false;
  private readonly closing = new AbortController();
  private current: ConnectionState = 'idle';

  constructor(private readonly options: PoolOptions) {}

  get state(): ConnectionState {
    return this.current;
  }

  private setState(state: ConnectionState, error?: string): void {
    if (state === this.current && error === undefined) return;
    this.current = state;
    this.options.onState(state, error);
  }

  /** Waits for a channel slot, connecting as needed. */
  acquire(signal?: AbortSignal): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
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
        reject(new AbortedError());
      };
      const waiter: Waiter = {
        resolve: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, {once: true});
      this.waiters.push(waiter);
      this.pump();
    });
  }

  private lease(link: Link): Lease {
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
    if (this.waiters.length && !this.connecting && live < this.options.maxConnections) {
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
    while (!this.closed && this.waiters.length) {
      const delay = this.backoff();
      if (delay) await sleep(delay, this.closing.signal);
      if (this.closed || !this.waiters.length) break;
      this.setState(this.everUp || attempts > 0 ? 'reconnecting' : 'connecting');
      try {
        const link = await this.options.open();
        if (this.closed) {
          link.end();
          break;
        }
        this.failures = 0;
        this.everUp = true;
        this.links.push(link);
        link.onClose((reason) => this.dropped(link, reason));
        this.connecting = false;
        this.setState('up');
        this.pump();
        return;
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
        this.failures++;
        attempts++;
        const permanent = error instanceof SshConnectError && error.permanent;
        if (permanent || attempts >= this.options.connectAttempts) break;
      }
    }
    this.connecting = false;
    if (this.closed) return;
    if (lastError) {
      const live = this.links.some((l) => l.up);
      if (!live) {
        // Nobody can be served: say why to everyone waiting.
        for (const waiter of this.waiters.splice(0)) waiter.reject(lastError);
      }
      this.setState(live ? 'up' : 'failed', lastError.message);
    }
    this.pump();
  }

  private dropped(link: Link, reason: string | undefined): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
    if (this.closed) return;
    if (!this.links.some((l) => l.up)) this.setState('down', reason);
    this.pump();
  }

  /** Ends every link; waiting leases fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const waiter of this.waiters.splice(0))
      waiter.reject(new Error('the ssh transport is closed'));
    for (const link of this.links.splice(0)) link.end();
    this.setState('closed');
  }
}
