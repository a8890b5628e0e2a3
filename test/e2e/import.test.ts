/**
 * `crewchief import` as a runbook author uses it: on each of the five seed runbooks (as the
 * teams exported them, copied into test/fixtures/seeds) and on two Markdown runbooks, the
 * machine it writes, in a directory outside the package, validates with its draft profile
 * and runs in `--dry-run` to the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';
import {slots} from '../helpers/slots.js';

const fixtures = path.join(repoRoot, 'test', 'fixtures');
const sources = [
  ...fs
    .readdirSync(path.join(fixtures, 'seeds'))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => path.join(fixtures, 'seeds', f)),
  path.join(fixtures, 'markdown', 'postgres-failover.md'),
  path.join(fixtures, 'markdown', 'web-rollout.md'),
];

const dirs: string[] = [];
const temp = (prefix: string): string => {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, {recursive: true, force: true});
});

/** Two at a time: each is three processes, on two busy cores. */
const slot = slots(2);

describe.concurrent('crewchief import FILE -o NAME.ts', {timeout: 180_000}, () => {
  for (const source of sources) {
    const name = path.basename(source).replace(/\.[^.]+$/, '');
    it(`${path.basename(source)}: the machine validates and dry-runs to the end`, async () => {
      const release = await slot.take();
      try {
        const dir = temp('cc-import-');
        const state = temp('cc-import-state-');
        const machine = path.join(dir, `${name}.ts`);
        const profile = path.join(dir, `${name}-draft.yaml`);
        const imported = await cli(['import', source, '-o', machine], {state, cwd: dir});
        expect(imported.exitCode, imported.all).toBe(0);
        expect(imported.all).toMatch(
          new RegExp(`^wrote ${machine}: \\d+ phases?, \\d+ steps? .*numbered items?$`, 'm'),
        );
        expect(fs.readFileSync(machine, 'utf8')).toMatch(/from 'crewchief';/);

        const validated = await cli(['validate', machine, profile], {state, cwd: dir});
        expect(validated.exitCode, validated.all).toBe(0);
        expect(validated.all).toMatch(/^ok: 1 site \(.+\), 1 profile$/m);

        const journal = path.join(dir, 'dry.jsonl');
        const dry = await cli(
          [
            'run',
            machine,
            '--profile',
            profile,
            '--dry-run',
            '--yes',
            '--confirm',
            'all',
            '--plain',
            '--journal',
            journal,
          ],
          {state, cwd: dir},
        );
        expect(dry.exitCode, String(dry.all).slice(-3000)).toBe(0);
        expect(dry.all).toMatch(/session finished/);
        const entries = readJournal(journal).entries;
        expect(entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'finished'});
        const finished = entries.filter((e) => e.type === 'step-finished');
        const steps = Number(/(\d+) steps?/.exec(String(imported.all))![1]);
        expect(finished).toHaveLength(steps);
        expect(finished.every((e) => e.type === 'step-finished' && e.outcome !== 'failed')).toBe(
          true,
        );
      } finally {
        release();
      }
    });
  }
});

describe('crewchief import, the edges', () => {
  it('a shell ${VAR} reaches the dry run as the shell’s own, and danger asks for the word', async () => {
    const dir = temp('cc-import-');
    const state = temp('cc-import-state-');
    const machine = path.join(dir, 'pg.ts');
    const source = path.join(fixtures, 'markdown', 'postgres-failover.md');
    expect((await cli(['import', source, '-o', machine], {state, cwd: dir})).exitCode).toBe(0);
    const journal = path.join(dir, 'dry.jsonl');
    const args = ['run', machine, '--profile', path.join(dir, 'pg-draft.yaml'), '--dry-run'];
    const dry = await cli([...args, '--yes', '--confirm', 'all', '--plain', '--journal', journal], {
      state,
      cwd: dir,
    });
    expect(dry.exitCode, dry.all).toBe(0);
    const started = readJournal(journal).entries.filter((e) => e.type === 'step-started');
    expect(started).toContainEqual(
      expect.objectContaining({
        step: 'switch-over/3-promote-the-replica',
        runs: [{host: 'todo-host', command: 'pg_ctl promote -D "${PGDATA}"'}],
      }),
    );
    // Without --confirm the danger step stops a run that has no terminal (exit 5).
    const asked = await cli([...args, '--yes', '--plain', '--journal', `${journal}.2`], {
      state,
      cwd: dir,
    });
    expect(asked.exitCode, asked.all).toBe(5);
    expect(asked.all).toMatch(/remove-the-old-data-directory/);
  }, 120_000);

  it('into a project’s machines/, the draft profile goes to profiles/ and runs by name', async () => {
    const project = temp('cc-import-project-');
    const state = temp('cc-import-state-');
    fs.mkdirSync(path.join(project, 'machines'));
    fs.mkdirSync(path.join(project, 'profiles'));
    const source = path.join(fixtures, 'markdown', 'web-rollout.md');
    const imported = await cli(['import', source, '-o', 'machines/web.ts'], {state, cwd: project});
    expect(imported.exitCode, imported.all).toBe(0);
    expect(fs.existsSync(path.join(project, 'profiles', 'web-draft.yaml'))).toBe(true);
    const dry = await cli(
      [
        'run',
        'machines/web.ts',
        '--profile',
        'web-draft',
        '--dry-run',
        '--yes',
        '--confirm',
        'all',
      ],
      {state, cwd: project},
    );
    expect(dry.exitCode, String(dry.all).slice(-2000)).toBe(0);
    // Over SSH the dry run says where it would connect: nowhere that exists.
    expect(dry.all).toMatch(/would connect: todo-host\.invalid/);
  }, 120_000);

  it('against a real profile, validate names each step still on todo-host, with its line', async () => {
    const dir = temp('cc-import-');
    const state = temp('cc-import-state-');
    const machine = path.join(dir, 'web.ts');
    const source = path.join(fixtures, 'markdown', 'web-rollout.md');
    expect((await cli(['import', source, '-o', machine], {state, cwd: dir})).exitCode).toBe(0);
    const real = path.join(dir, 'prod.yaml');
    fs.writeFileSync(
      real,
      'site: web\ntransport: ssh\nhosts:\n  web-1: {address: web-1.example.org}\n',
    );
    const result = await cli(['validate', machine, real], {state, cwd: dir});
    expect(result.exitCode).toBe(3);
    // The line of the step's command({ call, right above its id.
    const lines = fs.readFileSync(machine, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes("id: '1-1-run-on-the-balancer',"));
    expect(lines[line - 1]).toMatch(/command\(\{$/);
    expect(result.all).toContain(
      `${machine}:${line}: on: step 1-1-run-on-the-balancer runs on "todo-host", but profile prod`,
    );
  }, 60_000);

  it('without -o the machine goes to stdout and the summary to stderr', async () => {
    const state = temp('cc-import-state-');
    const source = path.join(fixtures, 'seeds', '003_020971b51ae52641.txt');
    const result = await cli(['import', source], {state});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /^\/\/ Imported by `crewchief import` from 003_020971b51ae52641\.txt/,
    );
    expect(result.stdout).toContain("id: '003_020971b51ae52641',");
    expect(result.stderr).toMatch(/^crewchief import: 2 phases, \d+ steps .*16 numbered items$/m);
  }, 60_000);

  it('never writes over a file that exists, and --help lists import', async () => {
    const dir = temp('cc-import-');
    const state = temp('cc-import-state-');
    const machine = path.join(dir, 'web.ts');
    fs.writeFileSync(machine, '// edited by hand\n');
    const source = path.join(fixtures, 'markdown', 'web-rollout.md');
    const refused = await cli(['import', source, '-o', machine], {state, cwd: dir});
    expect(refused.exitCode).toBe(2);
    expect(refused.all).toContain(`${machine} exists`);
    expect(fs.readFileSync(machine, 'utf8')).toBe('// edited by hand\n');
    const help = await cli(['--help'], {state});
    expect(help.all).toMatch(/crewchief import FILE\.md \[-o machines\/NAME\.ts\]/);
  }, 60_000);
});
