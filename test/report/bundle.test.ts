/**
 * The single file: built by `npm run bundle`, copied alone into an empty directory, run
 * by Node with nothing else around (no node_modules, no package.json, a fresh HOME):
 * the demo to its end, validate, and a user machine in plain .js importing `crewchief`.
 */
import {execa} from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {repoRoot, tempDir} from '../helpers/fixtures.js';

let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = tempDir('cc-bundle-');
  const built = path.join(dir, 'build', 'crewchief.mjs');
  const run = await execa('node', [path.join(repoRoot, 'source', 'bundle', 'build.js'), built], {
    cwd: repoRoot,
    reject: false,
    all: true,
  });
  expect(run.exitCode, run.all).toBe(0);
  const empty = path.join(dir, 'bastion');
  fs.mkdirSync(empty);
  bundle = path.join(empty, 'crewchief.mjs');
  fs.copyFileSync(built, bundle);
}, 120_000);
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

/** Node and the one file: no PATH to the repository, a HOME of its own. */
const node = (args: string[]) =>
  execa(process.execPath, [bundle, ...args], {
    cwd: path.dirname(bundle),
    reject: false,
    all: true,
    stdin: 'ignore',
    extendEnv: false,
    env: {
      PATH: '/usr/bin:/bin',
      HOME: path.join(dir, 'home'),
      CREWCHIEF_DRIVER: 'tester@bastion',
      // Every part of the simulated site at the tests' speed (the demo's own pace for
      // people makes its watch last half a minute).
      CREWCHIEF_SIM_PACE: 'off',
    },
  });

describe('dist/crewchief.mjs, alone', () => {
  it('runs the demo to its end on the simulated site it carries', async () => {
    expect(fs.readdirSync(path.dirname(bundle))).toEqual(['crewchief.mjs']);
    const version = await node(['--version']);
    expect(version.stdout).toBe(
      (
        JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version,
    );
    const demo = await node(['demo', '--plain']);
    expect(demo.exitCode, demo.all).toBe(0);
    expect(demo.all).toContain('session finished');
    expect(demo.all).toMatch(/✓ 9\. Carrying on with integration testing\?/);
  }, 180_000);

  it('lists and validates the shipped machines and profiles', async () => {
    const list = await node(['list']);
    expect(list.exitCode, list.all).toBe(0);
    for (const name of fs
      .readdirSync(path.join(repoRoot, 'profiles'))
      .filter((f) => f.endsWith('.yaml')))
      expect(list.stdout).toContain(name.replace(/\.yaml$/, ''));
    const validate = await node(['validate']);
    expect(validate.exitCode, validate.all).toBe(0);
    expect(validate.stdout).toMatch(/^ok: \d+ sites/m);
  });

  it('runs a user machine written as plain .js that imports from crewchief', async () => {
    const cwd = path.dirname(bundle);
    fs.writeFileSync(
      path.join(cwd, 'hello.js'),
      `import {site, phase, command, manual} from 'crewchief';

export default site({
  id: 'hello',
  title: 'Hello from a user machine',
  phases: [
    phase({
      id: 'greet',
      title: 'Greet',
      steps: [
        manual({id: 'look', title: 'Look around'}),
        command({id: 'say', title: 'Say hello', run: 'echo hello from \${who}', on: 'local'}),
      ],
    }),
  ],
});
`,
    );
    fs.mkdirSync(path.join(cwd, 'profiles'));
    fs.writeFileSync(
      path.join(cwd, 'profiles', 'hello-local.yaml'),
      'site: hello\ntitle: Hello, here\ntransport: local\nvariables:\n  who: the bastion\n',
    );
    const validate = await node(['validate', 'hello.js', 'profiles/hello-local.yaml']);
    expect(validate.exitCode, validate.all).toBe(0);
    const run = await node(['run', './hello.js', '--profile', 'hello-local', '--plain', '--yes']);
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).toContain('hello from the bastion');
    expect(run.all).toContain('session finished');
  });
});
