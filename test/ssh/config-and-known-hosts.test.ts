/**
 * The parts of OpenSSH compatibility that need no sshd: ssh config (Include, `~`,
 * ProxyJump chains), known_hosts matching, and the command text sent to sshd.
 */
import {execFileSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {
  killCommand,
  PidLineReader,
  PID_MARKER_PREFIX,
  remoteScript,
  shellQuote,
  wrapForGroupKill,
} from '../../source/transport/ssh/command-line.js';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  knownHostName,
  loadKnownHosts,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from '../../source/transport/ssh/known-hosts.js';
import {loadSshConfig, parseJumpSpec, resolveRoute} from '../../source/transport/ssh/ssh-config.js';

let dir: string;
let home: string;
const keys: Record<string, {line: string; blob: Buffer}> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crewchief-sshcfg-'));
  home = join(dir, 'home');
  mkdirSync(join(home, '.ssh', 'conf.d'), {recursive: true});
  for (const name of ['a', 'b', 'c']) {
    const path = join(dir, `key_${name}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
    const line = readFileSync(`${path}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    keys[name] = {line, blob: Buffer.from(line.split(' ')[1] ?? '', 'base64')};
  }
});

afterAll(() => rmSync(dir, {recursive: true, force: true}));

const key = (name: string): {line: string; blob: Buffer} => {
  const k = keys[name];
  if (!k) throw new Error(`no key ${name}`);
  return k;
};

describe('ssh config', () => {
  it('follows Include (relative to ~/.ssh, globbed), expands ~ and keeps the enclosing section', () => {
    writeFileSync(
      join(home, '.ssh', 'conf.d', '10-fleet.conf'),
      'Host web*\n  HostName 10.0.0.%h\n  User deploy\n',
    );
    writeFileSync(join(home, '.ssh', 'conf.d', '20-more.conf'), 'Host db\n  Port 2200\n');
    writeFileSync(join(home, '.ssh', 'extra.conf'), '  IdentityFile ~/.ssh/from_include\n');
    writeFileSync(
      join(home, '.ssh', 'config'),
      [
        'Include conf.d/*.conf',
        'Host admin',
        '  Include extra.conf',
        '  User ops',
        'Host *',
        '  IdentityFile ~/.ssh/id_default',
        '  ServerAliveInterval 7',
        '',
      ].join('\n'),
    );
    const config = loadSshConfig([join(home, '.ssh', 'config')], home);
    expect(config.files).toHaveLength(4);

    const admin = resolveRoute(config, {address: 'admin'}, home).target;
    expect(admin.user).toBe('ops');
    expect(admin.identityFiles).toEqual([
      join(home, '.ssh', 'from_include'),
      join(home, '.ssh', 'id_default'),
    ]);
    expect(admin.keepaliveIntervalMs).toBe(7000);

    const web = resolveRoute(config, {address: 'web1'}, home).target;
    expect(web.hostName).toBe('10.0.0.web1');
    expect(web.user).toBe('deploy');
    expect(resolveRoute(config, {address: 'db'}, home).target.port).toBe(2200);
  });

  it('lets an earlier file (the profile config) win over ~/.ssh/config', () => {
    const profile = join(dir, 'profile_config');
    writeFileSync(profile, 'Host admin\n  User from-profile\n  Port 2022\n');
    const config = loadSshConfig([profile, join(home, '.ssh', 'config')], home);
    const admin = resolveRoute(config, {address: 'admin'}, home).target;
    expect(admin.user).toBe('from-profile');
    expect(admin.port).toBe(2022);
    // the user config's top-level directives still apply to every host
    expect(admin.keepaliveIntervalMs).toBe(7000);
  });

  it('resolves ProxyJump chains: lists, user@host:port, the outermost hop’s own jump, none', () => {
    const file = join(dir, 'jump_config');
    writeFileSync(
      file,
      [
        'Host inner',
        '  HostName 10.1.0.1',
        '  ProxyJump outer',
        'Host outer',
        '  HostName 192.0.2.1',
        '  ProxyJump gate',
        'Host gate',
        '  HostName 198.51.100.1',
        '  User gatekeeper',
        'Host app',
        '  ProxyJump alice@mid:2222,inner',
        'Host direct',
        '  ProxyJump none',
        '',
      ].join('\n'),
    );
    const config = loadSshConfig([file], home);
    const app = resolveRoute(config, {address: 'app'}, home);
    // the outermost hop (mid) has no ProxyJump of its own: the chain is mid, inner (whose
    // own ProxyJump is not followed, as with ssh -J)
    expect(app.jumps.map((h) => h.alias)).toEqual(['mid', 'inner']);
    expect(app.jumps[0]).toMatchObject({user: 'alice', hostName: 'mid', port: 2222});

    const inner = resolveRoute(config, {address: 'inner'}, home);
    // inner → outer, and outer (the outermost) brings its own jump: gate
    expect(inner.jumps.map((h) => h.alias)).toEqual(['gate', 'outer']);
    expect(inner.jumps[0]?.user).toBe('gatekeeper');

    expect(resolveRoute(config, {address: 'direct'}, home).jumps).toEqual([]);
    // a profile's jump list overrides the config; an empty one means none
    expect(resolveRoute(config, {address: 'inner', jump: []}, home).jumps).toEqual([]);
    expect(
      resolveRoute(config, {address: 'app', jump: ['gate']}, home).jumps.map((h) => h.alias),
    ).toEqual(['gate']);
  });

  it('parses jump specs', () => {
    expect(parseJumpSpec('bob@[fe80::1]:2200')).toEqual({user: 'bob', host: 'fe80::1', port: 2200});
    expect(parseJumpSpec('ssh://carol@bastion:22')).toEqual({
      user: 'carol',
      host: 'bastion',
      port: 22,
    });
    expect(parseJumpSpec('plain')).toEqual({host: 'plain'});
  });

  it('refuses ProxyCommand plainly', () => {
    const file = join(dir, 'proxycommand_config');
    writeFileSync(file, 'Host pc\n  ProxyCommand nc %h %p\n');
    expect(() => resolveRoute(loadSshConfig([file], home), {address: 'pc'}, home)).toThrow(
      /ProxyCommand.*not supported/,
    );
  });
});

describe('known_hosts', () => {
  it('matches plain, [host]:port, comma lists, wildcards and negation', () => {
    const text = [
      `web1,web2,10.0.0.5 ${key('a').line}`,
      `[127.0.0.1]:2222 ${key('b').line}`,
      `*.example.org,!evil.example.org ${key('c').line}`,
      '# a comment',
      'garbage line',
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    expect(entries).toHaveLength(3);
    expect(checkHostKey(entries, 'web2', key('a').blob).status).toBe('trusted');
    expect(checkHostKey(entries, knownHostName('127.0.0.1', 2222), key('b').blob).status).toBe(
      'trusted',
    );
    // the same host on port 22 is another name
    expect(checkHostKey(entries, knownHostName('127.0.0.1', 22), key('b').blob).status).toBe(
      'unknown',
    );
    expect(checkHostKey(entries, 'app.example.org', key('c').blob).status).toBe('trusted');
    expect(checkHostKey(entries, 'evil.example.org', key('c').blob).status).toBe('unknown');
    const changed = checkHostKey(entries, 'web1', key('b').blob);
    expect(changed).toMatchObject({
      status: 'changed',
      fingerprint: fingerprint(key('b').blob),
      known: [{fingerprint: fingerprint(key('a').blob), where: 'kh:1'}],
    });
  });

  it('matches entries hashed by ssh-keygen -H, for port 22 and [host]:port', () => {
    const file = join(dir, 'kh_hashed');
    writeFileSync(file, `db.example.org ${key('a').line}\n[10.9.8.7]:2200 ${key('b').line}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file], {stdio: 'ignore'});
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('db.example.org');
    expect(text).toMatch(/^\|1\|/);
    const entries = loadKnownHosts([file]);
    expect(checkHostKey(entries, 'db.example.org', key('a').blob).status).toBe('trusted');
    expect(checkHostKey(entries, '[10.9.8.7]:2200', key('b').blob).status).toBe('trusted');
    expect(checkHostKey(entries, '10.9.8.7', key('b').blob).status).toBe('unknown');
  });

  it('refuses @revoked keys and reports a @cert-authority-only host as unknown with a note', () => {
    const entries = parseKnownHosts(
      [
        `@revoked * ${key('a').line}`,
        `web1 ${key('a').line}`,
        `@cert-authority *.corp.example ${key('c').line}`,
      ].join('\n'),
      'kh',
    );
    expect(checkHostKey(entries, 'web1', key('a').blob).status).toBe('revoked');
    const ca = checkHostKey(entries, 'x.corp.example', key('b').blob);
    expect(ca.status).toBe('unknown');
    expect(ca.status === 'unknown' && ca.note).toMatch(/cert-authority/);
  });

  it('appends accepted keys, hashed when asked, in a form OpenSSH reads', () => {
    const file = join(dir, 'kh_new', 'known_hosts');
    appendKnownHost(file, '[127.0.0.1]:2022', key('a').blob, false);
    appendKnownHost(file, 'hashed.example', key('b').blob, true);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`[127.0.0.1]:2022 ${key('a').line}`);
    expect(text).not.toContain('hashed.example');
    // ssh-keygen -F finds both, so ssh itself would trust them
    expect(execFileSync('ssh-keygen', ['-F', 'hashed.example', '-f', file]).toString()).toContain(
      'found',
    );
    expect(execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2022', '-f', file]).toString()).toContain(
      'found',
    );
  });

  it('asks for the host key types known_hosts has first', () => {
    const entries = parseKnownHosts(`h ${key('a').line}`, 'kh');
    expect(
      preferredHostKeyAlgorithms(entries, 'h', ['ecdsa-sha2-nistp256', 'ssh-ed25519']),
    ).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
  });
});

describe('command text', () => {
  it('quotes env values, runs the prelude and cd, and announces the process group', () => {
    const script = remoteScript(
      {host: 'local', command: 'echo "$A"', cwd: "/srv/it's here"},
      {name: 'h', env: {A: `it's $(rm -rf /) "quoted"`}, prelude: 'umask 077'},
    );
    expect(script).toBe(
      [
        `export A='it'\\''s $(rm -rf /) "quoted"'`,
        'umask 077',
        `cd '/srv/it'\\''s here' || exit 125`,
        'echo "$A"',
      ].join('\n'),
    );
    const out = execFileSync('sh', ['-c', wrapForGroupKill(script.replace(/^cd .*$/m, ''))]);
    const text = out.toString();
    expect(text.startsWith(PID_MARKER_PREFIX)).toBe(true);
    expect(text).toContain(`it's $(rm -rf /) "quoted"\n`);
    expect(() =>
      remoteScript({host: 'local', command: 'x'}, {name: 'h', env: {'A B': '1'}}),
    ).toThrow();
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    expect(killCommand([42], 'TERM')).toContain('kill -TERM -42 ');
  });

  it('makes its own process group when the shell does not lead one, keeping the exit status', () => {
    // `sh -c` under node is in node's group, like a command behind a forking wrapper.
    const text = wrapForGroupKill('ps -o pgid= -p $$; exit 3');
    let out = '';
    let status = 0;
    try {
      execFileSync('sh', ['-c', text], {stdio: ['ignore', 'pipe', 'ignore']});
    } catch (error) {
      const e = error as {status: number; stdout: Buffer};
      status = e.status;
      out = e.stdout.toString();
    }
    expect(status).toBe(3);
    const [marker, pgid] = out.split('\n');
    const pid = /pid=(\d+)/.exec(marker ?? '')?.[1];
    expect(pid).toBeDefined();
    expect(pgid?.trim()).toBe(pid);
    expect(Number(pgid)).not.toBe(process.pid);
  });

  it('takes the pid line out of stdout, split across chunks, after any login banner', () => {
    const seen: string[] = [];
    const pids: number[] = [];
    const reader = new PidLineReader(
      (c) => seen.push(c.toString()),
      (pid) => pids.push(pid),
    );
    reader.push(Buffer.from('motd from .bashrc\n\x1ecrewchief:p'));
    reader.push(Buffer.from('id=4242\x1e\r\nfirst line\n'));
    reader.push(Buffer.from('second\n'));
    reader.end();
    expect(pids).toEqual([4242]);
    expect(seen.join('')).toBe('motd from .bashrc\nfirst line\nsecond\n');
  });
});
