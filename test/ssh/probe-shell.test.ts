/**
 * The probe shell (issue 15) against a real sshd, through both SSH clients (ssh2, and
 * OpenSSH through its ControlMaster): probes share one long-lived shell per host (no
 * session start per poll), carry their exit status and stderr back, time out alone, never
 * see each other's output, survive a dead shell, and fall back to a channel per probe
 * where the remote shell cannot be driven.
 */
import {execFileSync} from 'node:child_process';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createOpenSshTransport} from '../../source/transport/openssh/index.js';
import {
  bashRecord,
  MarkerScanner,
  probeShellExec,
  probeShellGreeting,
} from '../../source/transport/ssh/probe-shell.js';
import type {HostSpec, RunRequest, Transport} from '../../source/transport/types.js';
import {capture, labTransport} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

let lab: SshLab;
const target: HostSpec = {name: 'target'};

beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
});

afterAll(async () => {
  await lab?.close();
});

interface ClientOptions {
  killGraceMs?: number;
  /** Log in with the key whose forced command closes stdin (no shell can be driven). */
  restricted?: boolean;
  onNotice?(text: string): void;
}

let dirs = 0;
/** The two SSH clients, made the same way from the lab. */
const clients: Record<string, (options?: ClientOptions) => Transport> = {
  ssh2: ({restricted, ...options} = {}) =>
    labTransport(lab, {
      ...options,
      ...(restricted
        ? {
            identityFile: lab.restrictedKeyPath,
            configFile: `${lab.dir}/no-such-config`,
            knownHostsFiles: lab.knownHostsFile,
          }
        : {}),
    }),
  openssh: ({restricted, ...options} = {}) =>
    createOpenSshTransport({
      ...options,
      userConfig: false,
      connectTimeoutMs: 10_000,
      controlDir: join(lab.dir, `probe-${++dirs}`),
      ...(restricted
        ? {identityFile: lab.restrictedKeyPath, knownHostsFiles: lab.knownHostsFile}
        : {configFile: lab.configFile}),
    }),
};

async function run(t: Transport, host: HostSpec, command: string, extra: Partial<RunRequest> = {}) {
  const sink = capture();
  const result = await t.start({host, command, ...extra}, sink).done;
  return {...result, out: sink.out, err: sink.err};
}

const probe = (t: Transport, command: string, extra: {timeoutMs?: number} = {}) =>
  run(t, target, command, {probe: true, ...extra});

/** Shell text for the pid of the process running the script (the probe's group leader). */
const SCRIPT_PID = `$(sh -c 'echo $PPID')`;
/** Sets $sp to its parent: the probe shell (for a probe), sshd's session (a command). */
const SHELL_PID = `me=${SCRIPT_PID}; sp=$(ps -o ppid= -p "$me" | tr -d ' ')`;

describe.each(Object.keys(clients))(
  'probe shell over %s (real sshd)',
  {timeout: 30_000},
  (client) => {
    const labTransport = (options?: ClientOptions): Transport => clients[client]!(options);

    it('runs every probe in one shell: output, stderr and exit status carried back', async () => {
      const t = labTransport();
      const first = await probe(t, `${SHELL_PID}; echo "shell $sp"; echo oops >&2; exit 3`);
      expect(first).toMatchObject({exitCode: 0 + 3, err: 'oops\n'});
      expect(first.unknown).toBeUndefined();
      const shell = /shell (\d+)/.exec(first.out)?.[1];
      expect(shell).toMatch(/^\d+$/);
      for (let i = 0; i < 5; i++) {
        const next = await probe(
          t,
          `${SHELL_PID}; printf 'no newline %s' ${i}; echo "shell $sp" >&2`,
        );
        expect(next).toMatchObject({exitCode: 0, out: `no newline ${i}`, err: `shell ${shell}\n`});
      }
      // a plain command still gets a channel (and a session) of its own
      const plain = await run(t, target, `${SHELL_PID}; echo "parent $sp"`);
      expect(plain.out).not.toContain(`parent ${shell}\n`);
      await t.close();
    });

    it('a probe that times out is killed alone; the shell serves the next one', async () => {
      const t = labTransport({killGraceMs: 500});
      const before = await probe(t, `${SHELL_PID}; echo $sp`);
      const slow = await probe(t, `echo "pid ${SCRIPT_PID}"; sleep 30; echo never`, {
        timeoutMs: 300,
      });
      expect(slow).toMatchObject({exitCode: null, timedOut: true, canceled: false});
      expect(slow.unknown).toBeUndefined();
      expect(slow.out).not.toContain('never');
      const pid = /pid (\d+)/.exec(slow.out)?.[1];
      const after = await probe(
        t,
        `${SHELL_PID}; echo $sp; kill -0 ${pid} 2>/dev/null && echo alive || echo gone`,
      );
      expect(after).toMatchObject({exitCode: 0, out: `${before.out}gone\n`});
      await t.close();
    });

    it('a probe never sees another probe’s output, started together or left behind', async () => {
      const t = labTransport();
      const loop = (tag: string): string =>
        `for i in 1 2 3 4 5; do echo ${tag}$i; echo ${tag}e$i >&2; sleep 0.02; done`;
      const results = await Promise.all(['A', 'B', 'C', 'D'].map((tag) => probe(t, loop(tag))));
      results.forEach((r, i) => {
        const tag = 'ABCD'[i];
        expect(r.out).toBe([1, 2, 3, 4, 5].map((n) => `${tag}${n}\n`).join(''));
        expect(r.err).toBe([1, 2, 3, 4, 5].map((n) => `${tag}e${n}\n`).join(''));
      });
      // a child left running in the background is ended with its probe
      const leaver = await probe(t, '(sleep 0.3; echo leaked) & echo first');
      const next = await probe(t, 'sleep 0.6; echo second');
      expect(leaver.out).toBe('first\n');
      expect(next.out).toBe('second\n');
      await t.close();
    });

    it('a probe starts clean: no trace of the shell or the probe before it', async () => {
      const t = labTransport();
      await probe(t, 'x=1; cd /; exit 5');
      const clean = await probe(t, 'echo "[$#][$*][${p-}][${s-}][${x-}][${__s-}]"; pwd');
      expect(clean).toMatchObject({exitCode: 0, out: `[0][][][][][]\n${process.env['HOME']}\n`});
      // killed by a signal: its status says so; the shell's own message is not its stderr
      const killed = await probe(t, `echo before; kill -KILL ${SCRIPT_PID}; echo after`);
      expect(killed).toMatchObject({exitCode: 137, out: 'before\n', err: ''});
      await t.close();
    });

    it('a probe that does not parse runs nothing and fails with bash’s message; the shell goes on', async () => {
      const t = labTransport();
      const broken = await probe(t, 'echo never ) (');
      expect(broken).toMatchObject({exitCode: 2, out: ''});
      expect(broken.err).toContain('syntax error');
      expect(await probe(t, 'echo next')).toMatchObject({exitCode: 0, out: 'next\n', err: ''});
      await t.close();
    });

    it('output that looks like a marker is passed through untouched', async () => {
      const t = labTransport();
      const forged = await probe(
        t,
        `printf '\\036x:end:0\\036\\n\\036\\036partial'; printf '\\036crewchief:pid=1\\036\\n'; exit 7`,
      );
      expect(forged.exitCode).toBe(7);
      expect(forged.out).toBe('\x1ex:end:0\x1e\n\x1e\x1epartial\x1ecrewchief:pid=1\x1e\n');
      const binary = await probe(t, `printf '\\377\\000\\036\\n'`);
      expect(Buffer.from(binary.out, 'utf8').length).toBeGreaterThan(0);
      await t.close();
    });

    it('a shell that dies is restarted: the probe it ran is unknown, the next one runs', async () => {
      const t = labTransport();
      const first = await probe(t, `${SHELL_PID}; echo $sp`);
      const killer = await probe(t, `${SHELL_PID}; kill -KILL $sp; echo "still here"`);
      expect(killer).toMatchObject({exitCode: null, unknown: true});
      expect(killer.error).toMatch(/probe shell on target ended while the probe ran/);
      const next = await probe(t, `${SHELL_PID}; echo $sp`);
      expect(next.exitCode).toBe(0);
      expect(next.out).not.toBe(first.out);
      await t.close();
    });

    it('falls back to a channel per probe where the remote shell cannot be driven, and says so', async () => {
      const notices: string[] = [];
      const t = labTransport({restricted: true, onNotice: (text) => notices.push(text)});
      const host: HostSpec = {
        name: 'target',
        address: '127.0.0.1',
        port: lab.target.port,
        user: lab.user,
      };
      for (let i = 0; i < 2; i++) {
        const result = await run(t, host, 'echo fine; exit 4', {probe: true});
        expect(result).toMatchObject({exitCode: 4, out: 'fine\n'});
      }
      expect(notices).toEqual([expect.stringMatching(/^target: probes run on a channel each/)]);
      await t.close();
    });
  },
);

describe.each(Object.keys(clients))(
  'the command shell over %s (real sshd)',
  {timeout: 30_000},
  (client) => {
    const labTransport = (options?: ClientOptions): Transport => clients[client]!(options);
    const command = (t: Transport, text: string, extra: Partial<RunRequest> = {}) =>
      run(t, target, text, {noInput: true, ...extra});

    it('commands that take no input run in one long-lived shell while it is idle; one at the same time gets a channel', async () => {
      const t = labTransport();
      const first = await command(t, `${SHELL_PID}; echo "shell $sp"; cat; echo oops >&2; exit 3`);
      // stdin is /dev/null: cat ends at once
      expect(first).toMatchObject({exitCode: 3, err: 'oops\n'});
      const shell = /shell (\d+)/.exec(first.out)?.[1];
      const again = await command(t, `${SHELL_PID}; echo "shell $sp"`);
      expect(again.out).toBe(`shell ${shell}\n`);
      // a probe has a shell of its own
      const probed = await probe(t, `${SHELL_PID}; echo "shell $sp"`);
      expect(probed.out).not.toBe(`shell ${shell}\n`);
      const [a, b] = await Promise.all([
        command(t, `sleep 0.2; ${SHELL_PID}; echo "shell $sp"`),
        command(t, `${SHELL_PID}; echo "shell $sp"`),
      ]);
      expect(a.out).toBe(`shell ${shell}\n`);
      expect(b).toMatchObject({exitCode: 0});
      expect(b.out).not.toBe(`shell ${shell}\n`);
      await t.close();
    });

    it('a command in the shell that times out is killed with what it started; the next one runs', async () => {
      const t = labTransport({killGraceMs: 500});
      await command(t, 'true');
      const slow = await command(
        t,
        `(sleep 30; echo leaked) & echo "pid ${SCRIPT_PID}"; sleep 30; echo never`,
        {timeoutMs: 300},
      );
      expect(slow).toMatchObject({exitCode: null, timedOut: true});
      expect(slow.out).toMatch(/^pid \d+\n$/);
      const pid = /pid (\d+)/.exec(slow.out)?.[1];
      // (a killed process may linger a moment as a zombie until it is reaped: not alive)
      const after = await command(
        t,
        `for q in $(pgrep -g ${pid}); do grep -q '^State:.*Z' /proc/$q/status 2>/dev/null || echo "alive $q"; done; echo gone`,
      );
      expect(after).toMatchObject({exitCode: 0, out: 'gone\n'});
      await t.close();
    });

    it('a long command in the shell does not hold up the probes', async () => {
      const t = labTransport();
      await command(t, 'true');
      const long = command(t, 'sleep 2; echo done');
      const polled = await Promise.race([
        probe(t, 'echo polled').then((r) => r.out),
        long.then(() => 'the command ended first'),
      ]);
      expect(polled).toBe('polled\n');
      expect((await long).out).toBe('done\n');
      await t.close();
    });

    it('close() stops a command running in the shell, on the far side too', async () => {
      const t = labTransport({killGraceMs: 300});
      await command(t, 'true');
      const marker = `cc-close-${process.pid}-${Date.now()}`;
      const running = command(t, `exec -a ${marker} sleep 30`);
      // wait until it runs there (seen by a probe), then close
      while (
        (await probe(t, `pgrep -f '[${marker[0]}]${marker.slice(1)}' >/dev/null && echo up`))
          .out !== 'up\n'
      );
      await t.close();
      expect(await running).toMatchObject({exitCode: null, canceled: true});
      const t2 = labTransport();
      const left = await run(
        t2,
        target,
        `pgrep -f '[${marker[0]}]${marker.slice(1)}' >/dev/null && echo alive || echo gone`,
      );
      expect(left.out).toBe('gone\n');
      await t2.close();
    });
  },
);

describe('the probe shell, run here', () => {
  it('a login shell that is not bash starts bash for the loop; probes are NUL-terminated records', () => {
    const out = execFileSync('sh', ['-c', probeShellExec('hello')], {
      input:
        '\0' +
        bashRecord('tok1', 'echo "[$#][$0]"\nprintf "two\\n"; exit 3') +
        bashRecord('tok2', 'kill -KILL $BASHPID') +
        // a script that does not parse: nothing of it runs, the loop ends it (status 2)
        bashRecord('tok3', 'echo never ) ('),
      encoding: 'latin1',
    });
    // (a probe's output may come before or after its pid marker: the job races the shell's printf)
    expect(out.replace(/\x1etok\d:pid:\d+\x1e\n/g, '')).toBe(
      '\x1ehello:ready\x1e\n' +
        '[0][bash]\ntwo\n\x1etok1:end:3\x1e\n' +
        '\x1etok2:end:137\x1e\n' +
        '\x1etok3:end:2\x1e\n',
    );
  });

  it('sh runs each probe under setsid in a group of its own, with the same markers', () => {
    // Hosts without bash get `setsid sh -c`; here, the local sh (dash on Debian).
    const out = execFileSync('sh', [], {
      input:
        probeShellGreeting('hello') +
        `__cc tok1 'echo "[$#]"; [ "$(ps -o pgid= -p $$ | tr -d " ")" = "$$" ] && echo leader; exit 3'\n` +
        `__cc tok2 '(sleep 0.3; echo leaked) & echo second'\n` +
        `sleep 0.5\n`,
      encoding: 'latin1',
    });
    expect(out.replace(/\x1etok\d:pid:\d+\x1e\n/g, '')).toBe(
      '\x1ehello:ready\x1e\n' +
        '[0]\nleader\n\x1etok1:end:3\x1e\n' +
        'second\n\x1etok2:end:0\x1e\n',
    );
  });
});

describe('MarkerScanner', () => {
  it('finds markers split anywhere across chunks and passes everything else through', () => {
    const token = 'abc123';
    const stream = Buffer.from(
      `hello\x1e wor\x1eld\x1e${token}:pid:42\x1e\nmore\x1e${token}:end:0\x1e\n`,
      'latin1',
    );
    for (let cut = 1; cut < stream.length; cut++) {
      for (const second of [cut + 1, cut + 5, stream.length]) {
        let data = '';
        const markers: string[] = [];
        const scanner = new MarkerScanner(
          (chunk) => (data += chunk.toString('latin1')),
          (m) => markers.push(`${m.kind}=${m.value ?? ''}`),
        );
        scanner.token = token;
        scanner.push(stream.subarray(0, cut));
        scanner.push(stream.subarray(cut, Math.min(second, stream.length)));
        if (second < stream.length) scanner.push(stream.subarray(second));
        expect(markers).toEqual(['pid=42', 'end=0']);
        expect(data).toBe('hello\x1e wor\x1eldmore');
      }
    }
  });
});
