/**
 * The OpenSSH transport (issue 15) against a real sshd: commands through one ControlMaster
 * per host with its socket under the session's state directory, timeouts that kill the
 * remote group, what ssh2 cannot do (a user certificate signed by a test CA with
 * `@cert-authority` in known_hosts, a ProxyCommand hop), the warnings for options that are
 * not honoured, and a link that heals after sshd restarts.
 */
import {existsSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {
  createOpenSshTransport,
  type OpenSshTransportOptions,
} from '../../source/transport/openssh/index.js';
import type {HostSpec, LinkChange, Transport} from '../../source/transport/types.js';
import {capture, labTransport, run} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

let lab: SshLab;
let extraConfig: string;

beforeAll(async () => {
  lab = await startSshLab({aliases: 0, certificates: true});
  extraConfig = join(lab.dir, 'ssh_config.extra');
  writeFileSync(
    extraConfig,
    [
      'Host viaproxy',
      '  HostName 127.0.0.1',
      `  Port ${lab.target.port}`,
      `  ProxyCommand ssh -F ${lab.configFile} -W %h:%p bastion`,
      'Host odd',
      '  HostName 127.0.0.1',
      `  Port ${lab.target.port}`,
      '  RemoteCommand echo hijacked',
      '  Ciphers aes128-ctr',
      'Host *',
      `Include ${lab.configFile}`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await lab?.close();
});

const openssh = (options: OpenSshTransportOptions = {}) =>
  createOpenSshTransport({
    configFile: lab.configFile,
    userConfig: false,
    controlDir: join(lab.dir, 'state'),
    connectTimeoutMs: 10_000,
    ...options,
  });

async function go(t: Transport, host: HostSpec, command: string, timeoutMs?: number) {
  const sink = capture();
  const result = await t.start(
    {host, command, ...(timeoutMs !== undefined ? {timeoutMs} : {})},
    sink,
  ).done;
  return {...result, out: sink.out, err: sink.err};
}

const target: HostSpec = {name: 'target'};

describe('OpenSSH transport (real sshd)', {timeout: 30_000}, () => {
  it('runs commands through one master whose socket is under the state directory', async () => {
    const t = openssh();
    const changes: LinkChange[] = [];
    t.onLink?.((c) => changes.push(c));
    const first = await go(t, target, 'echo out; echo err >&2; echo "sshd $PPID"; exit 3');
    expect(first).toMatchObject({exitCode: 3, err: 'err\n'});
    expect(first.out).toMatch(/^out\nsshd \d+\n$/);
    const second = await go(t, target, 'echo again');
    expect(second).toMatchObject({exitCode: 0, out: 'again\n'});
    const sockets = readdirSync(join(lab.dir, 'state')).filter((f) => f.startsWith('cm-'));
    expect(sockets).toHaveLength(1);
    expect(changes).toEqual([{host: 'target', state: 'up'}]);
    expect(t.connections?.()).toEqual({target: 'up'});
    await t.close();
    expect(existsSync(join(lab.dir, 'state', sockets[0] ?? ''))).toBe(false);
  });

  it('a timeout kills the remote process group', async () => {
    const t = openssh({killGraceMs: 500});
    const slow = await go(t, target, 'echo "pid $$"; sleep 30 & sleep 30; echo never', 400);
    expect(slow).toMatchObject({exitCode: null, timedOut: true});
    expect(slow.out).not.toContain('never');
    const pid = /pid (\d+)/.exec(slow.out)?.[1];
    // killed processes linger as zombies until reaped: gone within 5 s, polled remotely
    const check = await go(
      t,
      target,
      `for i in $(seq 50); do kill -0 -${pid} 2>/dev/null || { echo gone; exit; }; sleep 0.1; done; echo alive`,
    );
    expect(check.out).toBe('gone\n');
    await t.close();
  });

  it('logs in with a user certificate signed by a test CA, trusting the host by @cert-authority', async () => {
    const certs = lab.certificates;
    if (!certs) throw new Error('the lab has no certificates');
    const host: HostSpec = {
      name: 'ca-host',
      address: '127.0.0.1',
      port: lab.target.port,
      user: lab.user,
    };
    const common = {
      userConfig: false,
      knownHostsFiles: certs.caKnownHostsFile,
      identityFile: certs.certKeyPath,
    } as const;
    const t = createOpenSshTransport({...common, controlDir: join(lab.dir, 'state-ca')});
    const result = await go(t, host, 'echo "certified as $(id -un)"');
    expect(result, result.error).toMatchObject({exitCode: 0, out: `certified as ${lab.user}\n`});
    await t.close();
    // the built-in client cannot, and says what to use instead
    const notices: string[] = [];
    const builtin = labTransport(lab, {
      ...common,
      configFile: join(lab.dir, 'no-such-config'),
      onNotice: (text) => notices.push(text),
    });
    const refused = await run(builtin, host, 'echo no');
    expect(refused.exitCode).toBeNull();
    expect(refused.error).toMatch(/host key of ca-host .*(unknown|not known)|not in/i);
    expect(notices.join('\n')).toMatch(
      /ca-host: the ssh config asks for @cert-authority in known_hosts, which the built-in ssh client cannot do: set ssh\.client: openssh/,
    );
    await builtin.close();
  });

  it('reaches a host through a ProxyCommand hop', async () => {
    const t = openssh({configFile: extraConfig});
    const result = await go(t, {name: 'proxied', address: 'viaproxy'}, 'echo "through the proxy"');
    expect(result, result.error).toMatchObject({exitCode: 0, out: 'through the proxy\n'});
    await t.close();
    const notices: string[] = [];
    const builtin = labTransport(lab, {
      configFile: extraConfig,
      onNotice: (text) => notices.push(text),
    });
    const refused = await run(builtin, {name: 'proxied', address: 'viaproxy'}, 'true');
    expect(refused.error).toMatch(/ProxyCommand .*set ssh\.client: openssh/);
    expect(notices.join('\n')).toMatch(/proxied: the ssh config asks for ProxyCommand/);
    await builtin.close();
  });

  it('warns about options it does not honour, never silently', async () => {
    const notices: string[] = [];
    const t = openssh({configFile: extraConfig, onNotice: (text) => notices.push(text)});
    const result = await go(t, {name: 'odd', address: 'odd'}, 'echo mine');
    // crewchief's command runs, not the config's RemoteCommand, and the driver is told
    expect(result, result.error).toMatchObject({exitCode: 0, out: 'mine\n'});
    expect(notices).toEqual([
      expect.stringMatching(
        /^odd: ssh config options not honoured by crewchief's OpenSSH client: RemoteCommand \(crewchief sends its own command\)$/,
      ),
    ]);
    await t.close();
    const builtinNotices: string[] = [];
    const builtin = labTransport(lab, {
      configFile: extraConfig,
      onNotice: (text) => builtinNotices.push(text),
    });
    await run(builtin, {name: 'odd', address: 'odd'}, 'true');
    expect(builtinNotices.join('\n')).toMatch(
      /odd: ssh config options not honoured by crewchief's built-in client: .*StrictHostKeyChecking.*Ciphers.*RemoteCommand/,
    );
    await builtin.close();
  });

  it('probes go to one shell through the master; sshd restarted, the next probe gets a new one', async () => {
    const t = openssh({reconnect: {baseDelayMs: 100}});
    const probe = (command: string) => {
      const sink = capture();
      return t
        .start({host: target, command, probe: true}, sink)
        .done.then((result) => ({...result, out: sink.out, err: sink.err}));
    };
    const first = await probe('echo "shell $PPID"; echo warn >&2; exit 5');
    expect(first).toMatchObject({exitCode: 5, err: 'warn\n'});
    const shell = first.out;
    expect(shell).toMatch(/^shell \d+\n$/);
    for (let i = 0; i < 3; i++) expect((await probe('echo "shell $PPID"')).out).toBe(shell);
    // a probe in flight when sshd goes is unknown, never failed
    const sink = capture();
    const running = t.start({host: target, command: 'echo up; sleep 30', probe: true}, sink);
    await sink.waitFor(/up/);
    await lab.target.stop();
    expect(await running.done).toMatchObject({exitCode: null, unknown: true});
    await lab.target.start();
    const after = await probe('echo "shell $PPID"');
    expect(after, after.error).toMatchObject({exitCode: 0});
    expect(after.out).toMatch(/^shell \d+\n$/);
    expect(after.out).not.toBe(shell);
    await t.close();
  });

  it('sshd restarted: the command in flight is unknown, the master comes back by itself', async () => {
    const t = openssh({reconnect: {baseDelayMs: 100}});
    const changes: (LinkChange & {at: number})[] = [];
    let notify = (): void => {};
    t.onLink?.((c) => {
      changes.push({...c, at: performance.now()});
      notify();
    });
    const until = async (match: (c: LinkChange) => boolean, from = 0) => {
      for (;;) {
        const found = changes.slice(from).find(match);
        if (found) return found;
        await new Promise<void>((resolve) => (notify = resolve));
      }
    };
    const sink = capture();
    const running = t.start({host: target, command: 'echo "started $$"; sleep 30'}, sink);
    const match = await sink.waitFor(/started (\d+)/);
    await lab.target.stop();
    const result = await running.done;
    expect(result).toMatchObject({exitCode: null, unknown: true});
    await until((c) => c.state === 'down');
    const mark = changes.length;
    await lab.target.start();
    const backAt = performance.now();
    const up = await until((c) => c.state === 'up', mark);
    console.log(
      `[openssh] sshd restarted: master up ${Math.round(up.at - backAt)} ms after sshd was back`,
    );
    const next = await go(t, target, 'echo back');
    expect(next).toMatchObject({exitCode: 0, out: 'back\n'});
    const states = changes
      .map((c) => c.state)
      .filter((s, i, all) => s !== 'reconnecting' || all[i - 1] !== s);
    expect(states).toEqual(['up', 'down', 'reconnecting', 'up']);
    await go(t, target, `kill -KILL -${match[1]} 2>/dev/null; true`);
    await t.close();
  });
});
