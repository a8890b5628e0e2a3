/**
 * Host keys against a real sshd: unknown and changed keys are refused before any
 * authentication, with the SHA256 fingerprints in the message; hashed known_hosts work;
 * accept-new adds the key and reports its fingerprint; nothing connects unverified.
 */
import {execFileSync} from 'node:child_process';
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import ssh2 from 'ssh2';
import type {ConnectConfig} from 'ssh2';
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';
import {assertVerifier, openLink} from '../../source/transport/ssh/link.js';
import type {HostKeyAcceptedEvent} from '../../source/transport/ssh/index.js';
import {labTransport, logSince, run} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

let lab: SshLab;
let targetFingerprint: string;

/** `ssh-keygen -l` of a public key line: the fingerprint as OpenSSH prints it. */
const keygenFingerprint = (publicKey: string): string => {
  const file = join(lab.dir, `fp-${Date.now()}.pub`);
  writeFileSync(file, `${publicKey}\n`);
  return (
    execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]).toString().split(' ')[1] ?? ''
  );
};

beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
  targetFingerprint = keygenFingerprint(lab.target.hostPublicKey);
});

afterAll(async () => {
  await lab?.close();
});

const target = {name: 'target'};

describe('host keys (real sshd)', {timeout: 20_000}, () => {
  it('refuses an unknown host key before authenticating, naming its SHA256 fingerprint', async () => {
    const empty = join(lab.dir, 'known_hosts.empty');
    writeFileSync(empty, '');
    const mark = lab.target.log().length;
    const transport = labTransport(lab, {knownHostsFiles: empty});
    const result = await run(transport, target, 'echo should-not-run');
    expect(transport.connections?.()['target']).toBe('failed');
    await transport.close();

    expect(result.exitCode).toBeNull();
    expect(result.unknown).toBeUndefined();
    expect(result.out).toBe('');
    expect(result.error).toContain('is not known');
    expect(result.error).toContain(targetFingerprint);
    expect(targetFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    // sshd saw the connection but no authentication attempt at all
    const log = logSince(lab, 'target', mark);
    expect(log).toContain('Connection from 127.0.0.1');
    expect(log).not.toMatch(/Accepted publickey|Failed publickey|Postponed publickey/);
    // a refused host key is not retried
    expect(log.match(/Connection from 127\.0\.0\.1/g)).toHaveLength(1);
  });

  it('refuses a changed host key, showing both fingerprints', async () => {
    const other = join(lab.dir, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherLine = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const file = join(lab.dir, 'known_hosts.changed');
    writeFileSync(file, `[127.0.0.1]:${lab.target.port} ${otherLine}\n`);
    const mark = lab.target.log().length;
    const transport = labTransport(lab, {knownHostsFiles: file, strictHostKeys: 'accept-new'});
    const result = await run(transport, target, 'echo should-not-run');
    await transport.close();

    expect(result.exitCode).toBeNull();
    expect(result.error).toContain('HOST KEY CHANGED');
    expect(result.error).toContain(targetFingerprint);
    expect(result.error).toContain(keygenFingerprint(otherLine));
    expect(result.error).toContain(`${file}:1`);
    expect(logSince(lab, 'target', mark)).not.toMatch(/Accepted publickey|Failed publickey/);
    // accept-new never overrides a changed key
    expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:${lab.target.port} ${otherLine}\n`);
  });

  it('trusts keys from a known_hosts file hashed by ssh-keygen -H', async () => {
    expect(readFileSync(lab.hashedKnownHostsFile, 'utf8')).not.toContain('127.0.0.1');
    const transport = labTransport(lab, {knownHostsFiles: lab.hashedKnownHostsFile});
    const result = await run(transport, target, 'echo hashed-ok');
    await transport.close();
    expect(result).toMatchObject({exitCode: 0, out: 'hashed-ok\n'});
  });

  it('takes the known_hosts file from the ssh config (UserKnownHostsFile) by default', async () => {
    const transport = labTransport(lab);
    const result = await run(transport, target, 'echo config-ok');
    await transport.close();
    expect(result).toMatchObject({exitCode: 0, out: 'config-ok\n'});
  });

  it('accept-new adds an unknown key, reports its fingerprint, and the key is then trusted', async () => {
    const file = join(lab.dir, 'known_hosts.accept-new');
    writeFileSync(file, '');
    const accepted: HostKeyAcceptedEvent[] = [];
    const first = labTransport(lab, {
      knownHostsFiles: file,
      strictHostKeys: 'accept-new',
      onHostKeyAccepted: (event) => accepted.push(event),
    });
    expect(await run(first, target, 'echo accepted')).toMatchObject({
      exitCode: 0,
      out: 'accepted\n',
    });
    await first.close();
    expect(accepted).toEqual([
      {
        host: 'target',
        hostName: '127.0.0.1',
        port: lab.target.port,
        keyType: 'ssh-ed25519',
        fingerprint: targetFingerprint,
        file,
        recorded: true,
      },
    ]);
    // written as OpenSSH writes it: ssh-keygen finds it under [127.0.0.1]:port
    expect(
      execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${lab.target.port}`, '-f', file]).toString(),
    ).toContain(lab.target.hostPublicKey.split(' ')[1]);

    const strict = labTransport(lab, {knownHostsFiles: file, strictHostKeys: 'yes'});
    expect(await run(strict, target, 'echo strict-now')).toMatchObject({exitCode: 0});
    await strict.close();
  });

  it('refuses a @revoked key even when another line trusts it', async () => {
    const file = join(lab.dir, 'known_hosts.revoked');
    copyFileSync(lab.knownHostsFile, file);
    writeFileSync(file, `${readFileSync(file, 'utf8')}@revoked * ${lab.target.hostPublicKey}\n`);
    const transport = labTransport(lab, {knownHostsFiles: file});
    const result = await run(transport, target, 'true');
    await transport.close();
    expect(result.error).toMatch(/REVOKED/);
    expect(result.error).toContain(targetFingerprint);
  });

  it('never connects without a host key verifier', async () => {
    // Every connect the transport makes, direct or through the bastion, carries one.
    const spy = vi.spyOn(ssh2.Client.prototype, 'connect');
    try {
      const transport = labTransport(lab);
      expect(await run(transport, target, 'true')).toMatchObject({exitCode: 0});
      const behind = await run(transport, {name: 'behind'}, 'true');
      expect(behind, behind.error).toMatchObject({exitCode: 0});
      await transport.close();
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(3);
      for (const [config] of spy.mock.calls) {
        expect(typeof (config as ConnectConfig).hostVerifier).toBe('function');
      }
    } finally {
      spy.mockRestore();
    }

    // The low-level entry points refuse outright, before opening a socket.
    const mark = lab.target.log().length;
    await expect(
      openLink(
        {
          hop: {
            alias: 'target',
            hostName: '127.0.0.1',
            port: lab.target.port,
            user: lab.user,
            identityFiles: [lab.keyPath],
            identitiesOnly: true,
            hashKnownHosts: false,
          },
          verifier: undefined as never,
          agentSocket: undefined,
          keepaliveIntervalMs: 10_000,
          keepaliveCountMax: 3,
          connectTimeoutMs: 5000,
          forwardAgent: false,
        },
        8,
      ),
    ).rejects.toThrow(/without a host key verifier/);
    expect(() => assertVerifier({host: '127.0.0.1'})).toThrow(/without a host key verifier/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logSince(lab, 'target', mark)).not.toContain('Connection from');
  });
});
