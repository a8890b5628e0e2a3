/**
 * Commands over the pooled connection to a real sshd: output streams, env and cwd, stdin,
 * timeout and cancel killing the remote process group (checked on the far side), and
 * more concurrent commands than sshd's MaxSessions allows on one connection.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {HostSpec} from '../../source/transport/types.js';
import {capture, labTransport, logSince, run} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

let lab: SshLab;
const target: HostSpec = {name: 'target'};

beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
});

afterAll(async () => {
  await lab?.close();
});

const accepted = (text: string): number => (text.match(/Accepted publickey/g) ?? []).length;

/**
 * Live processes on the far side still in process group `pgid`. Zombies do not count: a
 * container's pid 1 may never reap the orphans it inherits.
 */
async function groupMembers(
  transport: ReturnType<typeof labTransport>,
  pgid: number,
): Promise<string> {
  const ps = await run(
    transport,
    target,
    `ps -eo pgid=,pid=,stat=,comm= | awk '$1 == ${pgid} && $3 !~ /Z/ {print $2, $4}'`,
  );
  return ps.out.trim();
}

/** `alive` or `gone` (absent or a zombie), asked on the far side. */
async function liveness(transport: ReturnType<typeof labTransport>, pid: string): Promise<string> {
  const ps = await run(
    transport,
    target,
    `ps -o stat= -p ${pid} | grep -qv Z && echo alive || echo gone`,
  );
  return ps.out.trim();
}

describe('commands (real sshd)', {timeout: 20_000}, () => {
  it('streams stdout and stderr apart and returns the exit code; polls reuse one connection', async () => {
    const mark = lab.target.log().length;
    const transport = labTransport(lab);
    const result = await run(transport, target, 'echo out; echo err >&2; exit 7');
    expect(result).toMatchObject({exitCode: 7, out: 'out\n', err: 'err\n', timedOut: false});
    for (let i = 0; i < 10; i++) {
      expect(await run(transport, target, `echo poll ${i}`)).toMatchObject({out: `poll ${i}\n`});
    }
    await transport.close();
    expect(accepted(logSince(lab, 'target', mark))).toBe(1);
  });

  it('applies host env (quoted), prelude and cwd; types into stdin', async () => {
    const transport = labTransport(lab);
    const host: HostSpec = {
      name: 'target',
      env: {GREETING: `it's "quoted" $HOME`, RELEASE: '2026.11'},
      prelude: 'umask 027',
    };
    const env = await run(
      transport,
      host,
      'printf "%s|%s|%s|" "$GREETING" "$RELEASE" "$(umask)"; pwd',
      {
        cwd: lab.dir,
      },
    );
    expect(env.out).toBe(`it's "quoted" $HOME|2026.11|0027|${lab.dir}\n`);

    const missing = await run(transport, target, 'echo never', {cwd: '/no/such/dir'});
    expect(missing.exitCode).toBe(125);
    expect(missing.out).toBe('');

    const sink = capture();
    const running = transport.start({host: target, command: 'read line; echo "got $line"'}, sink);
    running.write('go\n');
    expect(await running.done).toMatchObject({exitCode: 0});
    expect(sink.out).toBe('got go\n');

    const pty = await run(transport, target, 'tty >/dev/null && echo has-tty; echo e >&2', {
      pty: true,
    });
    // a pty merges stderr into stdout, with CRLF line ends
    expect(pty.out).toBe('has-tty\r\ne\r\n');
    await transport.close();
  });

  it('a timeout kills the whole remote process group', async () => {
    const transport = labTransport(lab);
    const sink = capture();
    const running = transport.start(
      {
        host: target,
        command: 'sleep 300 & echo "group $$ child $!"; sleep 301; echo survived',
        timeoutMs: 1000,
      },
      sink,
    );
    const match = await sink.waitFor(/group (\d+) child (\d+)/);
    const result = await running.done;
    expect(result).toMatchObject({
      timedOut: true,
      canceled: false,
      exitCode: null,
      signal: 'SIGTERM',
    });
    expect(result.unknown).toBeUndefined();
    expect(sink.out).not.toContain('survived');
    expect(await groupMembers(transport, Number(match[1]))).toBe('');
    expect(await liveness(transport, match[2] ?? '')).toBe('gone');
    await transport.close();
  });

  it('cancel kills the remote process group, background children included', async () => {
    const transport = labTransport(lab);
    const sink = capture();
    const abort = new AbortController();
    const running = transport.start(
      {
        host: target,
        command:
          'sleep 300 & a=$!; sh -c "sleep 302; true" & b=$!; echo "group $$ kids $a $b"; wait',
        signal: abort.signal,
      },
      sink,
    );
    const match = await sink.waitFor(/group (\d+) kids (\d+ \d+)/);
    const pgid = Number(match[1]);
    expect(await groupMembers(transport, pgid)).toMatch(/sleep/);
    abort.abort();
    const result = await running.done;
    expect(result).toMatchObject({canceled: true, timedOut: false, exitCode: null});
    expect(result.unknown).toBeUndefined();
    // On the far side: nothing left in the group, and each child is gone.
    expect(await groupMembers(transport, pgid)).toBe('');
    for (const pid of (match[2] ?? '').trim().split(' ')) {
      expect(await liveness(transport, pid)).toBe('gone');
    }
    await transport.close();
  });

  it('a command that ignores TERM gets KILL after the grace period', async () => {
    const transport = labTransport(lab, {killGraceMs: 300});
    const sink = capture();
    const running = transport.start(
      {host: target, command: `trap '' TERM; echo "group $$"; sleep 300`, timeoutMs: 300},
      sink,
    );
    const match = await sink.waitFor(/group (\d+)/);
    const result = await running.done;
    expect(result).toMatchObject({timedOut: true, signal: 'SIGKILL'});
    expect(await groupMembers(transport, Number(match[1]))).toBe('');
    await transport.close();
  });

  it('cancelling a command still waiting for a channel never starts it', async () => {
    const transport = labTransport(lab, {maxChannelsPerConnection: 1, maxConnectionsPerHost: 1});
    const first = transport.start({host: target, command: 'sleep 0.5; echo first'}, capture());
    const abort = new AbortController();
    const sink = capture();
    const queued = transport.start(
      {host: target, command: 'echo queued', signal: abort.signal},
      sink,
    );
    abort.abort();
    expect(await queued.done).toMatchObject({canceled: true, exitCode: null});
    expect(sink.out).toBe('');
    expect(await first.done).toMatchObject({exitCode: 0});
    await transport.close();
  });

  it('runs 12 commands at once on one host: 8 channels per connection, then a second connection', async () => {
    const mark = lab.target.log().length;
    const transport = labTransport(lab);
    const results = await Promise.all(
      Array.from({length: 12}, (_, i) => run(transport, target, `sleep 0.4; echo n${i}`)),
    );
    await transport.close();
    results.forEach((r, i) => expect(r, r.error).toMatchObject({exitCode: 0, out: `n${i}\n`}));
    expect(accepted(logSince(lab, 'target', mark))).toBe(2);
  });

  it('copes when the server allows fewer sessions than configured (the 11th channel is refused)', async () => {
    const mark = lab.target.log().length;
    const transport = labTransport(lab, {maxChannelsPerConnection: 14, maxConnectionsPerHost: 1});
    const results = await Promise.all(
      Array.from({length: 12}, (_, i) => run(transport, target, `sleep 0.4; echo m${i}`)),
    );
    await transport.close();
    results.forEach((r, i) => expect(r, r.error).toMatchObject({exitCode: 0, out: `m${i}\n`}));
    expect(accepted(logSince(lab, 'target', mark))).toBe(1);
  });

  it('close() stops the commands still running, on the far side too', async () => {
    const transport = labTransport(lab, {killGraceMs: 500});
    const sink = capture();
    const running = transport.start({host: target, command: 'echo "group $$"; sleep 300'}, sink);
    const match = await sink.waitFor(/group (\d+)/);
    await transport.close();
    expect(await running.done).toMatchObject({canceled: true, exitCode: null});
    const check = labTransport(lab);
    expect(await groupMembers(check, Number(match[1]))).toBe('');
    // a closed transport refuses new work plainly
    expect((await run(transport, target, 'true')).error).toMatch(/closed/);
    await check.close();
  });

  it('leaves host "local" to the local transport', () => {
    const transport = labTransport(lab);
    expect(() => transport.start({host: 'local', command: 'true'}, capture())).toThrow(
      /local transport/,
    );
  });
});
