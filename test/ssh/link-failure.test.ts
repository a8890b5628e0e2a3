/**
 * Dead links against a real sshd: sshd killed under a running command (outcome unknown,
 * never failed; the next command reconnects), and a frozen peer (its sshd processes
 * SIGSTOPped) caught by keepalive within its bound.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {HostSpec} from '../../source/transport/types.js';
import {capture, labTransport, run} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

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
    const transport = labTransport(lab, {reconnect: {baseDelayMs: 100}});
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
    expect(transport.connections?.()['target']).toBe('down');

    // While sshd is down, a command fails to connect (after its retries) without hanging.
    const refused = await run(transport, target, 'true');
    expect(refused.exitCode).toBeNull();
    expect(refused.unknown).toBeUndefined();
    expect(refused.error).toMatch(/cannot connect to target/);

    await lab.target.start();
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
    expect(states).toEqual(expect.arrayContaining(['up', 'down', 'reconnecting', 'failed']));
    expect(states[states.length - 1]).toBe('up');
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
    expect(detectedAfter).toBeLessThanOrEqual(interval * (countMax + 1) + 500);
    expect(detectedAfter).toBeGreaterThanOrEqual(interval);

    // The listener is not frozen: the next command gets a new connection at once.
    const next = await run(transport, target, 'echo fresh');
    expect(next, next.error).toMatchObject({exitCode: 0, out: 'fresh\n'});

    lab.target.thaw();
    await run(transport, target, `kill -KILL -${match[1]} 2>/dev/null; true`);
    await transport.close();
  });

  it('gives up connecting after connectTimeoutMs when nothing answers the handshake', async () => {
    const transport = labTransport(lab, {connectTimeoutMs: 500, reconnect: {attempts: 1}});
    lab.target.pauseListener();
    const started = Date.now();
    try {
      const result = await run(transport, target, 'echo never');
      expect(result.exitCode).toBeNull();
      expect(result.unknown).toBeUndefined();
      expect(result.error).toMatch(/timed out connecting to target .* after 500 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      lab.target.resumeListener();
    }
    // once sshd answers again, so does the transport
    expect(await run(transport, target, 'echo answered')).toMatchObject({exitCode: 0});
    await transport.close();
  });
});
