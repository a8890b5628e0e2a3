/**
 * The ssh config is read per host from the sections that can match it (a config naming
 * 200 hosts is not scanned whole for each one): every alias gets exactly what the whole
 * config gives, whatever mix of literal names, wildcards, negations, several patterns per
 * Host, letter case and top-level lines the config holds.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import SSHConfig from 'ssh-config';
import {afterAll, expect, it} from 'vitest';
import {loadSshConfig} from '../../source/transport/ssh/ssh-config.js';

const dir = mkdtempSync(join(tmpdir(), 'cc-sshcfg-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

const config = `
User everyone
Host web1 WEB2 db-*
  Port 2201
Host web1
  Port 9999
  IdentityFile ~/.ssh/web1
Host !web2 *.example.org
  ForwardAgent yes
Host db-1
  HostName 10.0.0.1
  IdentityFile ~/.ssh/db1
Host h??
  User pattern
${Array.from({length: 40}, (_, i) => `Host h${String(i).padStart(2, '0')}\n  HostName 10.1.0.${i}\n  Port ${3000 + i}`).join('\n')}
Host *
  ServerAliveInterval 10
  IdentityFile ~/.ssh/default
`;

it('gives every alias what the whole config gives it', () => {
  const file = join(dir, 'config');
  writeFileSync(file, config);
  const lookup = loadSshConfig([file], dir);
  const whole = SSHConfig.parse(`${config}\nHost *\n`);
  const aliases = [
    'web1',
    'web2',
    'Web1',
    'db-1',
    'db-2',
    'a.example.org',
    'h00',
    'h39',
    'h7',
    'nobody',
  ];
  for (const alias of aliases)
    expect(lookup.compute(alias), alias).toEqual(
      whole.compute(alias, {ignoreCase: true, matchExec: false}),
    );
  // And the first value wins as in OpenSSH: web1's Port from its first section.
  expect(lookup.compute('web1')['port']).toBe('2201');
  expect(lookup.compute('h07')['hostname']).toBe('10.1.0.7');
  expect(lookup.compute('h07')['user']).toBe('everyone');
});

it('reads a config with Match whole, as before', () => {
  const file = join(dir, 'match');
  writeFileSync(file, `Match host web1\n  Port 7000\nHost web1\n  Port 8000\n`);
  expect(loadSshConfig([file], dir).compute('web1')['port']).toBe('7000');
});
