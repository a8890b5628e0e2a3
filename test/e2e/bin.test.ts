/**
 * The command a user runs, bin/crewchief.js (what `npx crewchief` and npm's .bin link
 * start): in a copy of the package, it runs the split build (dist/cli/) when that is
 * fresh — the demo's console in a real tmux, `--help`, `--version`, a command over a real
 * sshd (ssh2 is bundled into a chunk); installed under node_modules/ it never looks at its
 * sources — and in a clone it falls back to
 * the tsc build when the split build is stale or absent, and to the sources through tsx
 * when both are stale and TypeScript is not installed.
 */
import {execa} from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {startSshLab} from '../harness/sshd.js';
import {tempDir, writeMachine} from '../helpers/fixtures.js';
import {driverEnv, ensureBuilt, repoRoot, tmuxAvailable, TmuxPane} from '../helpers/tmux.js';

let dir: string;
/** The copy of the package: bin, dist, source, machines, profiles, package.json. */
let pkg: string;
/** A link to its bin/crewchief.js, as npm makes in node_modules/.bin. */
let link: string;
let pane: TmuxPane | undefined;

const version = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {version: string}
).version;
/** What the copy's tsc build prints instead of running: shows when bin/ picked it. */
const TSC_MARK = 'the tsc build ran';

const past = new Date(Date.now() - 3_600_000);
const touchTree = (dir: string, when: Date): void => {
  for (const entry of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile()) fs.utimesSync(path.join(entry.parentPath, entry.name), when, when);
  }
};

/**
 * A copy of the package at `to`: sources an hour old, both builds fresh, the tsc build's
 * entry replaced by a marker.
 */
function copyPackage(to: string): void {
  for (const part of ['bin', 'dist', 'source', 'machines', 'profiles', 'package.json'])
    fs.cpSync(path.join(repoRoot, part), path.join(to, part), {recursive: true});
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(to, 'node_modules'));
  touchTree(path.join(to, 'source'), past);
  touchTree(path.join(to, 'machines'), past);
  fs.writeFileSync(
    path.join(to, 'dist', 'source', 'cli.js'),
    `process.stdout.write(${JSON.stringify(`${TSC_MARK}\n`)});\n`,
  );
}

beforeAll(() => {
  ensureBuilt();
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'cli', 'crewchief.js')))
    throw new Error('dist/cli/ is missing: npm run build');
  dir = tempDir('cc-bin-');
  pkg = path.join(dir, 'crewchief');
  copyPackage(pkg);
  link = path.join(dir, 'dot-bin', 'crewchief');
  fs.mkdirSync(path.dirname(link));
  fs.symlinkSync(path.join('..', 'crewchief', 'bin', 'crewchief.js'), link);
}, 180_000);
afterAll(() => {
  pane?.kill();
  fs.rmSync(dir, {recursive: true, force: true});
});

/** `crewchief ARGS` through the link, from an empty directory. */
const crewchief = (args: string[], env: Record<string, string> = {}) =>
  execa(link, args, {
    cwd: dir,
    reject: false,
    all: true,
    stdin: 'ignore',
    env: {XDG_STATE_HOME: path.join(dir, 'state'), ...env},
  });

describe('bin/crewchief.js', () => {
  it('answers --help and --version from the split build', async () => {
    const help = await crewchief(['--help']);
    expect(help.exitCode, help.all).toBe(0);
    expect(help.stdout).toMatch(/^crewchief \S+ — drive a production deployment/);
    expect(help.stdout).toContain('Exit status:');
    const shown = await crewchief(['--version']);
    expect(shown.exitCode, shown.all).toBe(0);
    expect(shown.stdout).toBe(version);
    expect(shown.all).not.toContain(TSC_MARK);
  });

  it.skipIf(!tmuxAvailable())(
    "draws the demo's console in tmux from the split build",
    async () => {
      pane = TmuxPane.start({
        columns: 120,
        rows: 40,
        command: [link, 'demo'],
        cwd: dir,
        env: driverEnv({XDG_STATE_HOME: path.join(dir, 'state')}),
      });
      // The whole frame: tmux may be caught with one half drawn (the footer comes last).
      const screen = await pane.waitFor(
        (s) => s.includes('waiting for you') && /^\? help/m.test(s),
        30_000,
      );
      expect(screen).toMatch(/^ LIVE .*Rubin T&S deployment .*rubin-tts-demo/m);
      expect(screen).toContain('1. Log into the bare-metal machines');
      expect(screen).toMatch(/^\? help/m);
      expect(screen).not.toContain(TSC_MARK);
      pane.keys('C-c');
      await pane.exited();
    },
    60_000,
  );

  it('runs a command over SSH from the split build', async () => {
    const lab = await startSshLab({aliases: 1});
    try {
      const machine = writeMachine(
        dir,
        'over-ssh',
        `export default site({id: 'over-ssh', title: 'over ssh', phases: [phase({id: 'p', title: 'P', steps: [command({id: 'hello', title: 'say hello', on: 'all', run: 'echo hello from $(hostname)'})]})]});`,
      );
      const profile = path.join(dir, 'over-ssh.yaml');
      fs.writeFileSync(
        profile,
        [
          'site: over-ssh',
          'transport: ssh',
          'ssh:',
          `  config: ${lab.configFile}`,
          `  known_hosts: ${lab.knownHostsFile}`,
          `  identity: ${lab.keyPath}`,
          'hosts:',
          '  h01: {}',
          'groups:',
          '  all: [h01]',
          '',
        ].join('\n'),
      );
      const run = await crewchief(['run', machine, '--profile', profile, '--plain', '--yes'], {
        CREWCHIEF_DRIVER: 'ana@bastion',
      });
      expect(run.exitCode, run.all).toBe(0);
      expect(run.all).toMatch(/h01.*hello from /);
      expect(run.all).toContain('session finished');
      expect(run.all).not.toContain(TSC_MARK);
    } finally {
      await lab.close();
    }
  }, 60_000);

  it('runs an installed package (under node_modules/) from its split build without looking at its sources', async () => {
    const installed = path.join(dir, 'app', 'node_modules', 'crewchief');
    copyPackage(installed);
    // A source newer than both builds would make a clone rebuild; an installed package
    // ships its builds (npm gives every file one date) and runs them.
    fs.appendFileSync(path.join(installed, 'source', 'version.ts'), '\n');
    const run = await execa(path.join(installed, 'bin', 'crewchief.js'), ['--version'], {
      reject: false,
      all: true,
    });
    expect(run.all).toBe(version);
  });

  it('falls back to the tsc build when the split build is stale, then when it is absent', async () => {
    const entry = path.join(pkg, 'dist', 'cli', 'crewchief.js');
    const older = new Date(past.getTime() - 60_000);
    fs.utimesSync(entry, older, older);
    const stale = await crewchief(['--version']);
    expect(stale.stdout).toBe(TSC_MARK);
    fs.rmSync(path.join(pkg, 'dist', 'cli'), {recursive: true});
    const absent = await crewchief(['--version']);
    expect(absent.stdout).toBe(TSC_MARK);
  });

  it('runs the sources through tsx when no build is fresh and TypeScript is not installed', async () => {
    // node_modules without typescript (so bin/ cannot build), a source newer than dist/.
    fs.rmSync(path.join(pkg, 'node_modules'));
    fs.mkdirSync(path.join(pkg, 'node_modules'));
    for (const name of fs.readdirSync(path.join(repoRoot, 'node_modules'))) {
      if (name === 'typescript' || name === '.bin') continue;
      fs.symlinkSync(
        path.join(repoRoot, 'node_modules', name),
        path.join(pkg, 'node_modules', name),
      );
    }
    const cli = path.join(pkg, 'source', 'cli.tsx');
    const text = fs.readFileSync(cli, 'utf8');
    const shown = 'process.stdout.write(`${version}\\n`);';
    expect(text).toContain(shown);
    fs.writeFileSync(cli, text.replace(shown, 'process.stdout.write(`${version} (sources)\\n`);'));
    const run = await crewchief(['--version']);
    expect(run.exitCode, run.all).toBe(0);
    expect(run.stdout).toBe(`${version} (sources)`);
    expect(run.all).not.toContain('building dist/');
  }, 60_000);
});
