/**
 * Authentication against a real sshd and a real ssh-agent: a wrong key fails plainly,
 * the agent is used, the config-named key is offered first so a full agent does not hit
 * MaxAuthTries, and an encrypted key asks for its passphrase, which is never shown.
 */
import {execFileSync} from 'node:child_process';
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';
import type {HostSpec} from '../../source/transport/types.js';
import {labTransport, logSince, run} from '../harness/ssh-lab.js';
import {startSshAgent, startSshLab, type SshAgent, type SshLab} from '../harness/sshd.js';

let lab: SshLab;
let home: string;
let direct: HostSpec;
const agents: SshAgent[] = [];

beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
  // An empty home: no ~/.ssh/id_* of the machine's own gets offered.
  home = join(lab.dir, 'home');
  mkdirSync(join(home, '.ssh'), {recursive: true});
  direct = {name: 'box', address: '127.0.0.1', port: lab.target.port, user: lab.user};
});

afterAll(async () => {
  for (const agent of agents) agent.stop();
  await lab?.close();
});

/** No ssh config at all: only what the test gives. */
const bare = (options: Parameters<typeof labTransport>[1] = {}) =>
  labTransport(lab, {
    configFile: join(lab.dir, 'no-such-config'),
    home,
    knownHostsFiles: lab.knownHostsFile,
    ...options,
  });

describe('authentication (real sshd)', {timeout: 20_000}, () => {
  it('fails plainly with a key the server does not accept, and says which were tried', async () => {
    const transport = bare({identityFile: lab.wrongKeyPath});
    const result = await run(transport, direct, 'echo no');
    await transport.close();
    expect(result.exitCode).toBeNull();
    expect(result.unknown).toBeUndefined();
    expect(result.error).toMatch(/authentication failed for box/);
    expect(result.error).toContain(lab.wrongKeyPath);
  });

  it('authenticates with a real ssh-agent holding the key', async () => {
    const agent = await startSshAgent(lab.dir, [lab.keyPath]);
    agents.push(agent);
    const mark = lab.target.log().length;
    const transport = bare({agentSocket: agent.socket});
    const result = await run(transport, direct, 'echo via-agent');
    await transport.close();
    expect(result).toMatchObject({exitCode: 0, out: 'via-agent\n'});
    expect(logSince(lab, 'target', mark)).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);
  });

  it('offers the config-named key first, so an agent with many keys stays under MaxAuthTries', async () => {
    const wrong = Array.from({length: 7}, (_, i) => {
      const path = join(lab.dir, `agent_wrong_${i}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
      return path;
    });
    // The right key is the agent's last: tried in agent order, sshd gives up first.
    const agent = await startSshAgent(lab.dir, [...wrong, lab.keyPath]);
    agents.push(agent);

    const blind = bare({agentSocket: agent.socket});
    const failed = await run(blind, direct, 'true');
    await blind.close();
    expect(failed.exitCode).toBeNull();
    expect(failed.error).toMatch(/too many authentication failures|authentication failed/i);

    // Naming the key (its .pub sits beside it) puts it first among the agent's keys.
    const named = bare({agentSocket: agent.socket, identityFile: lab.keyPath});
    const result = await run(named, direct, 'echo first-try');
    await named.close();
    expect(result).toMatchObject({exitCode: 0, out: 'first-try\n'});
  });

  it('asks for an encrypted key’s passphrase and never shows it', {timeout: 90_000}, async () => {
    // four bcrypt key derivations (one right, three wrong): slow on a loaded machine
    const ask = vi.fn(async () => lab.passphrase);
    const transport = bare({identityFile: lab.encryptedKeyPath, askPassphrase: ask});
    const result = await run(transport, direct, 'echo unlocked');
    // one prompt per connection, not per command
    const again = await run(transport, direct, 'echo still');
    await transport.close();
    expect(result).toMatchObject({exitCode: 0, out: 'unlocked\n'});
    expect(again).toMatchObject({exitCode: 0});
    expect(ask).toHaveBeenCalledTimes(1);
    expect(ask).toHaveBeenCalledWith(lab.encryptedKeyPath);

    const wrong = vi.fn(async () => 'not the passphrase');
    const refused = bare({identityFile: lab.encryptedKeyPath, askPassphrase: wrong});
    const denied = await run(refused, direct, 'true');
    await refused.close();
    expect(wrong).toHaveBeenCalledTimes(3);
    expect(denied.error).toMatch(/wrong passphrase/);
    const shown = JSON.stringify([result, again, denied, transport.states, refused.states]);
    expect(shown).not.toContain(lab.passphrase);
    expect(shown).not.toContain('not the passphrase');
    expect(shown).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
  });

  it('forwards the agent only to hosts the profile names', async () => {
    const agent = await startSshAgent(lab.dir, [lab.keyPath]);
    agents.push(agent);
    const probe =
      'if [ -n "$SSH_AUTH_SOCK" ]; then ssh-add -l >/dev/null && echo forwarded; else echo none; fi';
    const plain = bare({agentSocket: agent.socket});
    expect((await run(plain, direct, probe)).out).toBe('none\n');
    await plain.close();
    const forwarding = bare({agentSocket: agent.socket, forwardAgent: ['box']});
    expect((await run(forwarding, direct, probe)).out).toBe('forwarded\n');
    await forwarding.close();
  });
});
