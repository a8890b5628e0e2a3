/**
 * The pool's healing, on an injected clock: after the last link drops it reconnects by
 * itself with exponential backoff and ±20 % jitter, reports every step, bounds how long a
 * lease waits for a down host, and stops on a refusal that retrying cannot fix.
 */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {SshConnectError, type Link} from '../../source/transport/ssh/link.js';
import {HostPool, LinkDownError, type ConnectionState} from '../../source/transport/ssh/pool.js';

/** A stand-in for an ssh2 link: only what the pool looks at. */
function fakeLink(): Link & {drop(reason: string): void} {
  const listeners: ((reason: string | undefined) => void)[] = [];
  let up = true;
  const link = {
    inUse: 0,
    capacity: 8,
    label: 'target',
    get up() {
      return up;
    },
    onClose(listener: (reason: string | undefined) => void) {
      listeners.push(listener);
      return () => {};
    },
    end() {
      link.drop('closed by crewchief');
    },
    drop(reason: string) {
      if (!up) return;
      up = false;
      for (const l of listeners) l(reason);
    },
  };
  return link as unknown as Link & {drop(reason: string): void};
}

type Report = {state: ConnectionState; error?: string; attempt?: number; at: number};

function makePool(opens: (() => Promise<Link>)[], reconnectWaitMs = 30_000) {
  const reports: Report[] = [];
  let calls = 0;
  const pool = new HostPool({
    name: 'target',
    maxChannels: 8,
    maxConnections: 4,
    connectAttempts: 3,
    backoffBaseMs: 250,
    backoffMaxMs: 5000,
    reconnectWaitMs,
    open: () => {
      const next = opens[Math.min(calls, opens.length - 1)];
      calls++;
      return next ? next() : Promise.reject(new Error('no more'));
    },
    onState: (state, detail) => reports.push({state, ...detail, at: Date.now()}),
  });
  return {pool, reports, calls: () => calls};
}

const refused = (): Promise<Link> =>
  Promise.reject(new SshConnectError('cannot connect to target: connect ECONNREFUSED', false));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('HostPool healing', () => {
  it('reconnects by itself after a drop, backing off with jitter, and reports each step', async () => {
    const first = fakeLink();
    const second = fakeLink();
    const {pool, reports} = makePool([
      async () => first,
      refused,
      refused,
      refused,
      refused,
      async () => second,
    ]);
    const lease = await pool.acquire();
    lease.release();
    const mark = reports.length;
    first.drop('connection closed');
    await vi.advanceTimersByTimeAsync(60_000);

    expect(pool.state).toBe('up');
    const afterDrop = reports.slice(mark);
    expect(afterDrop.map((r) => r.state)).toEqual([
      'down',
      'reconnecting',
      'reconnecting',
      'reconnecting',
      'reconnecting',
      'reconnecting',
      'up',
    ]);
    expect(afterDrop[0]?.error).toBe('connection closed');
    const tries = afterDrop.filter((r) => r.state === 'reconnecting');
    expect(tries.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(tries[1]?.error).toMatch(/ECONNREFUSED/);
    // first try at once, then 250, 500, 1000, 2000 ms, each ±20 %
    const gaps = tries.slice(1).map((r, i) => r.at - (tries[i]?.at ?? 0));
    [250, 500, 1000, 2000].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base * 0.8);
      expect(gaps[i]).toBeLessThanOrEqual(base * 1.2);
    });
    pool.close();
  });

  it('keeps reconnecting past the first-connect attempt limit, at most backoffMax apart', async () => {
    const first = fakeLink();
    const {pool, reports, calls} = makePool([async () => first, refused]);
    (await pool.acquire()).release();
    first.drop('Keepalive timeout');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls()).toBeGreaterThan(10);
    expect(pool.state).toBe('reconnecting');
    const tries = reports.filter((r) => r.state === 'reconnecting');
    const gaps = tries.slice(1).map((r, i) => r.at - (tries[i]?.at ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5000 * 1.2);
    pool.close();
  });

  it('a lease on a down host waits for the link, and gets it when it is back', async () => {
    const first = fakeLink();
    const second = fakeLink();
    const {pool} = makePool([async () => first, refused, refused, async () => second]);
    (await pool.acquire()).release();
    first.drop('connection closed');
    const waiting = pool.acquire();
    await vi.advanceTimersByTimeAsync(5000);
    const lease = await waiting;
    expect(lease.link).toBe(second);
    pool.close();
  });

  it('a lease on a down host fails after reconnectWaitMs, saying the link is down and why', async () => {
    const first = fakeLink();
    const {pool} = makePool([async () => first, refused], 2000);
    (await pool.acquire()).release();
    first.drop('connection closed');
    const waiting = pool.acquire();
    const settled = waiting.then(
      () => 'leased',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(1999);
    let done = false;
    void settled.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await settled;
    expect(error).toBeInstanceOf(LinkDownError);
    expect((error as Error).message).toMatch(
      /^the link to target is down: cannot connect to target: connect ECONNREFUSED; waited 2 s for it to come back \(\d+ reconnect attempts\)$/,
    );
    // the pool goes on healing in the background
    expect(pool.state).toBe('reconnecting');
    pool.close();
  });

  it('stops reconnecting on a refusal retrying cannot fix, and fails waiting leases with it', async () => {
    const first = fakeLink();
    const {pool, reports, calls} = makePool([
      async () => first,
      () => Promise.reject(new SshConnectError('the host key of target has changed', true)),
    ]);
    (await pool.acquire()).release();
    first.drop('connection closed');
    const waiting = pool.acquire().then(
      () => 'leased',
      (error: unknown) => (error as Error).message,
    );
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await waiting).toMatch(/host key of target has changed/);
    expect(calls()).toBe(2);
    expect(reports.at(-1)).toMatchObject({
      state: 'failed',
      error: 'the host key of target has changed',
    });
    pool.close();
  });

  it('close() stops healing', async () => {
    const first = fakeLink();
    const {pool, calls} = makePool([async () => first, refused]);
    (await pool.acquire()).release();
    first.drop('connection closed');
    await vi.advanceTimersByTimeAsync(1000);
    pool.close();
    const before = calls();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls()).toBe(before);
    expect(pool.state).toBe('closed');
  });
});
