import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {validate} from '../../source/commands/validate.js';
import {lineOf, tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';

const goodMachine = `
export default site({
  id: 'shop',
  title: 'Shop deploy',
  variables: {app_dir: 'where the app lives'},
  phases: [
    phase({
      id: 'deploy',
      title: 'Deploy',
      steps: [
        command({id: 'pull', title: 'Pull', run: 'cd \${app_dir} && git pull', on: '@web', capture: {as: 'rev', pattern: 'HEAD is now at (\\\\w+)'}}),
        watch({id: 'healthy', title: 'Healthy', probe: 'curl -s localhost/health', on: 'web1', until: {equals: 1}, every: '2s'}),
        gate({id: 'go', title: 'Go on?', checks: ['dashboards green']}),
        notify({id: 'tell', title: 'Tell', text: 'deployed \${rev}'}),
      ],
    }),
  ],
});
`;

const goodProfile = `site: shop
release: 2026-12-01
hosts:
  web1: web1.example.org
  web2: {address: web2.example.org, port: 2222}
groups:
  web: [web1, web2]
variables:
  app_dir: /srv/shop
flags: [prod]
`;

let dir: string;
beforeAll(() => {
  dir = tempDir('cc-validate-');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

async function run(files: string[]): Promise<{code: number; out: string}> {
  const lines: string[] = [];
  const code = await validate(files, (s) => void lines.push(s));
  return {code, out: lines.join('\n')};
}

let n = 0;
async function withProfile(yaml: string, machine = goodMachine) {
  const case_ = `case${++n}`;
  const m = writeMachine(dir, `${case_}-machine`, machine);
  const p = writeFile(dir, `${case_}.yaml`, yaml);
  return {m, p, ...(await run([m, p]))};
}

describe('crewchief validate', () => {
  it('accepts a good machine and profile', async () => {
    const {code, out} = await withProfile(goodProfile);
    expect(out).toMatch(/^ok: 1 site \(shop\), 1 profile$/m);
    expect(code).toBe(0);
  });

  it('accepts every shipped machine and profile', async () => {
    const {code, out} = await run([]);
    expect(out).toMatch(/^ok: /m);
    expect(code).toBe(0);
  });

  it('does not ask a profile for hosts and secrets of steps that do not apply to it', async () => {
    const machine = goodMachine.replace("on: '@web'", "on: '@db', only: 'staging'");
    const {code, out} = await withProfile(goodProfile, machine);
    expect(out).toMatch(/^ok: /m);
    expect(code).toBe(0);
  });

  // Profile problems: each names file:line, the field, and what was expected.
  const profileCases: [string, string, RegExp, string][] = [
    [
      'YAML syntax',
      goodProfile.replace('web1: web1.example.org', 'web1: web1.example.org: x'),
      /YAML syntax/,
      'web1:',
    ],
    [
      'unknown top-level field',
      `${goodProfile}colour: blue\n`,
      /colour: unknown field \(expected one of: site, /,
      'colour:',
    ],
    ['missing site', goodProfile.replace('site: shop\n', ''), /site: is required/, 'release:'],
    [
      'release not a date',
      goodProfile.replace('2026-12-01', '2026-13-45'),
      /release: expected a date as YYYY-MM-DD/,
      'release:',
    ],
    [
      'port out of range',
      goodProfile.replace('port: 2222', 'port: 70000'),
      /hosts\.web2\.port: expected a port number 1-65535, found number 70000/,
      'web2:',
    ],
    [
      'group names an unknown host',
      goodProfile.replace('[web1, web2]', '[web1, web3]'),
      /groups\.web\.1: names host "web3", which is not under hosts:/,
      'web: [',
    ],
    [
      'secret written inline',
      `${goodProfile}secrets:\n  db: hunter2\n`,
      /secrets\.db: secrets are never written inline/,
      '  db: hunter2',
    ],
    [
      'secret reference with two sources',
      `${goodProfile}secrets:\n  db: {env: DB, file: /x}\n`,
      /secrets\.db: expected exactly one of env: or file:/,
      '  db: {',
    ],
    [
      'strict host keys off',
      `${goodProfile}ssh:\n  strict_host_keys: 'no'\n`,
      /ssh\.strict_host_keys: expected "yes" or "accept-new"/,
      'strict_host_keys',
    ],
    [
      'bad duration',
      `${goodProfile}ssh:\n  keepalive: {interval: 10x}\n`,
      /ssh\.keepalive\.interval: expected a duration/,
      'keepalive',
    ],
    [
      'flags not names',
      goodProfile.replace('flags: [prod]', 'flags: {prod: true}'),
      /flags: expected a list of names/,
      'flags:',
    ],
    [
      'transport unknown',
      `${goodProfile}transport: telnet\n`,
      /transport: expected "ssh" or "local"/,
      'transport:',
    ],
    [
      'variable not a string',
      goodProfile.replace('app_dir: /srv/shop', 'app_dir: [a, b]'),
      /variables\.app_dir: expected a string or number/,
      'app_dir:',
    ],
    [
      'override names no step',
      `${goodProfile}overrides:\n  nope: {every: 1s}\n`,
      /overrides\.nope: names step "nope", which site shop does not have/,
      'nope:',
    ],
    [
      'site expects a variable the profile lacks',
      goodProfile.replace('  app_dir: /srv/shop\n', '  other: x\n'),
      /variables\.app_dir: site shop expects this variable/,
      'variables:',
    ],
  ];
  for (const [name, yaml, message, anchor] of profileCases) {
    it(`rejects a profile: ${name}`, async () => {
      const {code, out, p} = await withProfile(yaml);
      expect(code).toBe(3);
      expect(out).toContain(`${p}:${lineOf(p, anchor)}: `);
      expect(out).toMatch(message);
    });
  }

  // Machine problems, alone or against the profile: file:line of the step.
  const machineCases: [string, string, string, RegExp, string][] = [
    [
      'targets a group the profile lacks',
      "on: '@web'",
      "on: '@db'",
      /step pull runs on "@db", but profile case\d+ \(\S+\) has no such host or group \(hosts: web1, web2; groups: web\)/,
      "id: 'pull'",
    ],
    [
      'uses a variable nobody defines',
      'deployed ${rev}',
      'deployed ${revision}',
      /step tell uses \$\{revision\}, which is not a variable/,
      "id: 'tell'",
    ],
    [
      'uses an undeclared secret',
      'git pull',
      'git pull --token ${secret.gh}',
      /step pull uses \$\{secret\.gh\}, but profile \S+ declares no secret "gh"/,
      "id: 'pull'",
    ],
    [
      'duplicate step id',
      "id: 'go'",
      "id: 'pull'",
      /step id "pull" is used twice/,
      "id: 'pull', title: 'Go on",
    ],
    [
      'bad regular expression',
      'until: {equals: 1}',
      "until: {equals: 1}, parse: '(unclosed'",
      /step healthy: not a valid regular expression/,
      "id: 'healthy'",
    ],
    [
      'bad duration in a step',
      "every: '2s'",
      "every: 'often'",
      /step healthy: expected a duration/,
      "id: 'healthy'",
    ],
    [
      'unknown step kind',
      "notify({id: 'tell'",
      "({kind: 'email', id: 'tell'",
      /unknown kind "email"/,
      '',
    ],
    [
      'gate sends to no background process',
      "checks: ['dashboards green']",
      "checks: ['x'], send: {to: 'sync'}",
      /no earlier command starts a background process named "sync"/,
      "id: 'go'",
    ],
    [
      'bad due date form',
      "title: 'Go on?'",
      "title: 'Go on?', due: 'two weeks before'",
      /expected T-<n>d \(days\) or T-<n>wd \(working days\)/,
      "id: 'go'",
    ],
  ];
  for (const [name, from, to, message, anchor] of machineCases) {
    it(`rejects a machine: ${name}`, async () => {
      const machine = goodMachine.replace(from, to);
      expect(machine).not.toBe(goodMachine);
      const {code, out, m} = await withProfile(goodProfile, machine);
      expect(code).toBe(3);
      expect(out).toMatch(message);
      if (anchor) expect(out).toContain(`${m}:${lineOf(m, anchor)}: `);
      else expect(out).toContain(`${path.basename(m)}`);
    });
  }
});
