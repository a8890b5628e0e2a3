/**
 * Dead links against a real sshd, and links that heal (issue 11 #2): sshd killed under a
 * running command (outcome unknown, never failed), sshd restarted mid-watch directly and
 * through a bastion, a frozen peer (its sshd processes SIGSTOPped) caught by keepalive.
 * In each case the transport reconnects by itself, reports down → reconnecting → up, and
 * the next poll or command goes through. The reconnect time is printed, not asserted.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {HostSpec, LinkChange, Transport} from '../../source/transport/types.js';
import {capture, labTransport, run} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

/** Every link event of a transport, and a way to wait for one. */
function linkLog(transport: Transport): {
  changes: (LinkChange & {at: number})[];
  waitFor(match: (c: LinkChange) => boolean, after?: number): Promise<LinkChange & {at: number}>;
} {
  const changes: (LinkChange & {at: number})[] = [];
  const waiters: (() => void)[] = [];
  transport.onLink?.((change) => {
    changes.push({...change, at: performance.now()});
    for (const w of waiters.splice(0)) w();
  });
  return {
    changes,
    waitFor(match, after = 0) {
      return new Promise((resolve) => {
        const check = (): void => {
          const found = changes.slice(after).find(match);
          if (found) resolve(found);
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** Waits for a condition (checked every 20 ms). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** The states in order, with consecutive reconnect attempts folded into one. */
const sequence = (changes: readonly LinkChange[]): string[] =>
  changes.map((c) => c.state).filter((s, i, all) => s !== 'reconnecting' || all[i - 1] !== s);

/** A watch: polls every `everyMs` until stopped, keeping every result. */
function watch(transport: Transport, host: HostSpec, probe: boolean, everyMs = 100) {
  const results: {exitCode: number | null; out: string; error?: string; unknown?: boolean}[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const sink = capture();
      const result = await transport.start(
        {host, command: 'echo polled', ...(probe ? {probe: true} : {})},
        sink,
      ).done;
      results.push({
        exitCode: result.exitCode,
        out: sink.out,
        ...(result.error ? {error: result.error} : {}),
        ...(result.unknown ? {unknown: true} : {}),
      });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    results,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

let lab: SshLab;
const target: HostSpec = {name: 'target'};

beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
});

afterAll(async () => {
  lab?.target.thaw();
  lab?.target.resumeListener();
  await lab?.close();
});

describe('dead links (real sshd)', {timeout: 30_000}, () => {
  it('sshd stopped mid-command: the outcome is unknown, then the next command reconnects', async () => {
    const transport = labTransport(lab, {reconnect: {baseDelayMs: 100}, reconnectWaitMs: 300});
    const links = linkLog(transport);
    const sink = capture();
    const running = transport.start(
      {host: target, command: 'echo "started $$"; sleep 30; echo finished'},
      sink,
    );
    const match = await sink.waitFor(/started (\d+)/);
    await lab.target.stop();
    const result = await running.done;

    expect(result.unknown).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.canceled).toBe(false);
    expect(result.timedOut).toBe(false);
    expect(result.error).toMatch(/outcome unknown/);
    await links.waitFor((c) => c.state === 'reconnecting');
    expect(transport.connections?.()['target']).toMatch(/down|reconnecting/);

    // While sshd is down, a command waits a bounded time, then fails saying the link is down.
    const refused = await run(transport, target, 'true');
    expect(refused.exitCode).toBeNull();
    expect(refused.unknown).toBeUndefined();
    expect(refused.error).toMatch(/the link to target is down: cannot connect to target/);
    expect(refused.error).toMatch(/waited 0.3 s for it to come back/);

    const mark = links.changes.length;
    await lab.target.start();
    // nothing asked: the transport reconnects by itself
    await links.waitFor((c) => c.state === 'up', mark);
    const back = await run(
      transport,
      target,
      `echo back; kill -0 ${match[1]} && echo still-running`,
    );
    expect(back, back.error).toMatchObject({exitCode: 0});
    expect(back.out).toContain('back\n');
    // the command outlived its link: that is why "unknown" and not "failed"
    expect(back.out).toContain('still-running');
    expect(transport.connections?.()['target']).toBe('up');
    const states = transport.states.filter((s) => s.host === 'target').map((s) => s.state);
    expect(states).toEqual(expect.arrayContaining(['up', 'down', 'reconnecting']));
    expect(states[states.length - 1]).toBe('up');
    expect(sequence(links.changes)).toEqual(['up', 'down', 'reconnecting', 'up']);
    await run(transport, target, `kill -KILL -${match[1]}`);
    await transport.close();
  });

  it('a frozen peer is detected within the keepalive bound; a fresh connection is used next', async () => {
    const interval = 500;
    const countMax = 2;
    const transport = labTransport(lab, {
      keepaliveIntervalMs: interval,
      keepaliveCountMax: countMax,
    });
    const sink = capture();
    const running = transport.start({host: target, command: 'echo "started $$"; sleep 30'}, sink);
    const match = await sink.waitFor(/started (\d+)/);

    const frozen = lab.target.freeze();
    expect(frozen.length).toBeGreaterThan(0);
    const frozenAt = Date.now();
    const result = await running.done;
    const detectedAfter = Date.now() - frozenAt;

    expect(result.unknown).toBe(true);
    expect(result.error).toMatch(/Keepalive timeout/);
    // ssh2 gives up after countMax unanswered keepalives: (countMax + 1) intervals at most
    console.log(
      `[link-failure] frozen peer detected after ${detectedAfter} ms (keepalive ${interval} ms × ${countMax})`,
    );

    // The listener is not frozen: the next command gets a new connection at once.
    const next = await run(transport, target, 'echo fresh');
    expect(next, next.error).toMatchObject({exitCode: 0, out: 'fresh\n'});

    lab.target.thaw();
    await run(transport, target, `kill -KILL -${match[1]} 2>/dev/null; true`);
    await transport.close();
  });

  for (const via of ['direct', 'bastion'] as const) {
    it(`sshd restarted mid-watch (${via}): the link heals by itself and the watch polls on`, async () => {
      const host: HostSpec = via === 'direct' ? target : {name: 'target', address: 'behind'};
      const transport = labTransport(lab, {reconnectWaitMs: 20_000});
      const links = linkLog(transport);
      // directly through the probe shell, through the bastion a channel per poll
      const poller = watch(transport, host, via === 'direct');
      await links.waitFor((c) => c.state === 'up');
      await until(() => poller.results.filter((r) => r.exitCode === 0).length >= 2);

      await lab.target.stop();
      await links.waitFor((c) => c.state === 'down');
      const polledBefore = poller.results.length;
      await lab.target.start();
      const backAt = performance.now();
      const up = await links.waitFor((c) => c.state === 'up', 1);
      console.log(
        `[link-failure] sshd restarted mid-watch (${via}): link up ${Math.round(up.at - backAt)} ms after sshd was back`,
      );
      // the watch goes on: polls after the restart succeed
      await until(() => poller.results.slice(polledBefore).some((r) => r.exitCode === 0));
      await poller.stop();

      expect(sequence(links.changes)).toEqual(['up', 'down', 'reconnecting', 'up']);
      const down = links.changes.find((c) => c.state === 'down');
      expect(down?.error).toBeTruthy();
      const attempts = links.changes
        .filter((c) => c.state === 'reconnecting')
        .map((c) => c.attempt);
      expect(attempts).toEqual(attempts.map((_, i) => i + 1));
      expect(transport.connections?.()['target']).toBe('up');
      // no poll was mistaken for a failure: each went through, or was unknown (in flight at
      // the drop), or said the link was down
      for (const r of poller.results) {
        if (r.exitCode === 0) expect(r.out).toBe('polled\n');
        else
          expect(
            r.unknown ||
              /link to target is down|could not start the probe shell/.test(r.error ?? ''),
            r.error,
          ).toBe(true);
      }
      expect(poller.results.at(-1)).toMatchObject({exitCode: 0, out: 'polled\n'});
      await transport.close();
    });
  }

  it('a frozen session (SIGSTOP, keepalive timeout) mid-watch: reconnects and the watch goes on', async () => {
    const transport = labTransport(lab, {keepaliveIntervalMs: 300, keepaliveCountMax: 2});
    const links = linkLog(transport);
    const poller = watch(transport, target, true);
    await links.waitFor((c) => c.state === 'up');
    const frozen = lab.target.freeze();
    expect(frozen.length).toBeGreaterThan(0);
    const frozenAt = performance.now();
    const down = await links.waitFor((c) => c.state === 'down');
    const up = await links.waitFor((c) => c.state === 'up', 1);
    console.log(
      `[link-failure] frozen session: down after ${Math.round(down.at - frozenAt)} ms (keepalive 300 ms × 2), up again ${Math.round(up.at - down.at)} ms later`,
    );
    expect(down.error).toMatch(/Keepalive timeout/);
    const mark = poller.results.length;
    await until(() => poller.results.slice(mark).some((r) => r.exitCode === 0));
    await poller.stop();
    lab.target.thaw();
    expect(sequence(links.changes)).toEqual(['up', 'down', 'reconnecting', 'up']);
    await transport.close();
  });

  it('sshd restarted mid-command: the command is unknown, a command sent while down waits and runs once back', async () => {
    const transport = labTransport(lab, {reconnectWaitMs: 20_000});
    const links = linkLog(transport);
    const sink = capture();
    const running = transport.start({host: target, command: 'echo "started $$"; sleep 30'}, sink);
    const match = await sink.waitFor(/started (\d+)/);
    await lab.target.stop();
    const result = await running.done;
    expect(result).toMatchObject({exitCode: null, unknown: true, timedOut: false, canceled: false});
    await links.waitFor((c) => c.state === 'down');

    // sent while the host is down: waits for the link, then runs (once)
    const waiting = run(transport, target, 'echo "ran once"');
    await links.waitFor((c) => c.state === 'reconnecting' && (c.attempt ?? 0) >= 2);
    await lab.target.start();
    const backAt = performance.now();
    const up = await links.waitFor((c) => c.state === 'up', 1);
    console.log(
      `[link-failure] sshd restarted mid-command: link up ${Math.round(up.at - backAt)} ms after sshd was back`,
    );
    const after = await waiting;
    expect(after, after.error).toMatchObject({exitCode: 0, out: 'ran once\n'});
    expect(sequence(links.changes)).toEqual(['up', 'down', 'reconnecting', 'up']);
    await run(transport, target, `kill -KILL -${match[1]} 2>/dev/null; true`);
    await transport.close();
  });

  it('gives up connecting after connectTimeoutMs when nothing answers the handshake', async () => {
    const transport = labTransport(lab, {connectTimeoutMs: 500, reconnect: {attempts: 1}});
    lab.target.pauseListener();
    try {
      const result = await run(transport, target, 'echo never');
      expect(result.exitCode).toBeNull();
      expect(result.unknown).toBeUndefined();
      expect(result.error).toMatch(/timed out connecting to target .* after 500 ms/);
    } finally {
      lab.target.resumeListener();
    }
    // once sshd answers again, so does the transport
    expect(await run(transport, target, 'echo answered')).toMatchObject({exitCode: 0});
    await transport.close();
  });
});
