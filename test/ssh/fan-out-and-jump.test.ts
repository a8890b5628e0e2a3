/**
 * Many hosts and jump hosts against real sshd: 20 aliases from an Included ssh config at
 * once, ProxyJump through the bastion sshd (from the config, from the profile, and a
 * two-hop chain), and the plan a dry run shows.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {labTransport, logSince, run} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

let lab: SshLab;

beforeAll(async () => {
  lab = await startSshLab({aliases: 20});
});

afterAll(async () => {
  await lab?.close();
});

const forwards = (text: string, port: number): number =>
  (
    text.match(
      new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${port}\\b`, 'g'),
    ) ?? []
  ).length;

describe('fan-out and jump hosts (real sshd)', {timeout: 30_000}, () => {
  it('fans out to 20 host aliases defined in an Included config file', async () => {
    const mark = lab.target.log().length;
    const transport = labTransport(lab);
    const results = await Promise.all(
      lab.aliases.map((alias) => run(transport, {name: alias}, `echo "$0 on ${alias}"`)),
    );
    // and a second round reuses every connection
    const again = await Promise.all(
      lab.aliases.map((alias) => run(transport, {name: alias}, 'true')),
    );
    const states = transport.connections?.() ?? {};
    await transport.close();

    results.forEach((r, i) => {
      expect(r, r.error).toMatchObject({exitCode: 0});
      expect(r.out).toContain(`on ${lab.aliases[i]}`);
    });
    again.forEach((r) => expect(r.exitCode).toBe(0));
    expect(Object.keys(states)).toHaveLength(20);
    expect(Object.values(states).every((s) => s === 'up')).toBe(true);
    expect(logSince(lab, 'target', mark).match(/Accepted publickey/g)).toHaveLength(20);
  });

  it('goes through the bastion for a ProxyJump host, checking both host keys', async () => {
    const mark = lab.bastion.log().length;
    const transport = labTransport(lab);
    const first = await run(transport, {name: 'behind'}, 'echo "behind via $SSH_CONNECTION"');
    const second = await run(transport, {name: 'behind'}, 'echo again');
    const states = transport.connections?.();
    await transport.close();

    expect(first, first.error).toMatchObject({exitCode: 0});
    expect(second).toMatchObject({exitCode: 0, out: 'again\n'});
    expect(states).toMatchObject({behind: 'up', 'jump:bastion': 'up'});
    // one forwarded connection through the bastion, reused by both commands
    expect(forwards(logSince(lab, 'bastion', mark), lab.target.port)).toBe(1);
  });

  it('takes the jump host from the profile (HostSpec.jump), and chains two hops', async () => {
    const mark = lab.bastion.log().length;
    const transport = labTransport(lab);
    const viaProfile = await run(transport, {name: 'h01', jump: ['bastion']}, 'echo one-hop');
    // bastion → bastion → target: each hop its own link, host key and keepalive
    const twoHops = await run(
      transport,
      {name: 'two-hops', address: 'target', jump: ['bastion', 'bastion']},
      'echo two-hops',
    );
    // several hosts behind the same bastion share its connection
    const shared = await Promise.all(
      ['h02', 'h03', 'h04'].map((name) => run(transport, {name, jump: ['bastion']}, 'true')),
    );
    await transport.close();

    expect(viaProfile, viaProfile.error).toMatchObject({exitCode: 0, out: 'one-hop\n'});
    expect(twoHops, twoHops.error).toMatchObject({exitCode: 0, out: 'two-hops\n'});
    shared.forEach((r) => expect(r.exitCode).toBe(0));
    const log = logSince(lab, 'bastion', mark);
    expect(forwards(log, lab.target.port)).toBe(5);
    expect(forwards(log, lab.bastion.port)).toBe(1);
    // two bastion logins: the outer hop, and the inner one reached through it
    expect(log.match(/Accepted publickey/g)).toHaveLength(2);
  });

  it('refuses a jump host whose key is unknown, naming the jump host', async () => {
    const transport = labTransport(lab, {knownHostsFiles: lab.hashedKnownHostsFile});
    const ok = await run(transport, {name: 'behind'}, 'true');
    await transport.close();
    expect(ok.exitCode).toBe(0);

    const strict = labTransport(lab, {knownHostsFiles: `${lab.dir}/no_known_hosts`});
    const refused = await run(strict, {name: 'behind'}, 'true');
    await strict.close();
    expect(refused.error).toMatch(/Host key of bastion .* is not known: .*SHA256:/);
  });

  it('plans a dry run: the path through the jump hosts and the exact command text', () => {
    const transport = labTransport(lab);
    const plan = transport.plan({
      host: {name: 'behind', env: {STAGE: 'prod'}},
      command: 'systemctl restart app',
      cwd: '/srv/app',
    });
    expect(plan.path).toEqual([
      `bastion (${lab.user}@127.0.0.1:${lab.bastion.port})`,
      `behind (${lab.user}@127.0.0.1:${lab.target.port})`,
    ]);
    expect(plan.script).toBe(
      `export STAGE='prod'\ncd '/srv/app' || exit 125\nsystemctl restart app`,
    );
    expect(plan.execText).toContain(`exec "$@" "$CREWCHIEF_SH" -c '`);
    expect(plan.execText).toContain(`export STAGE='\\''prod'\\''`);
    expect(() => transport.plan({host: 'local', command: 'true'})).toThrow(/local transport/);
  });
});
