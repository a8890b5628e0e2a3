/**
 * Run-time variables (issue 13): `--var NAME=VALUE` for the variables a site declares,
 * checked, journaled, shown, kept on resume; asked on a terminal when nothing gives one,
 * refused without a terminal.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';
import {cliJs, driverEnv, ensureBuilt, tmuxAvailable, TmuxPane} from '../helpers/tmux.js';

let dir: string;
let machine: string;
const panes: TmuxPane[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = tempDir('cc-vars-');
  machine = writeMachine(
    dir,
    'release',
    `export default site({id: 'release', title: 'Release', variables: {tag: 'the release tag', component: 'what is released'}, phases: [
      phase({id: 'p', title: 'P', steps: [
        command({id: 'first', title: 'Deploy \${component} \${tag}', run: 'echo "first \${component} \${tag}"'}),
        gate({id: 'go', title: 'Look at \${tag} first'}),
        command({id: 'second', title: 'Then again', run: 'echo "second \${tag}"'}),
      ]}),
    ]});`,
  );
}, 120_000);
afterAll(() => {
  for (const p of panes) p.kill();
  fs.rmSync(dir, {recursive: true, force: true});
});

/** A profile for the site: `tag: ~` gives it at run time; `omit` leaves it out. */
const profile = (name: string, tag: string | null | 'omit'): string =>
  writeFile(
    dir,
    `${name}.yaml`,
    `site: release\ntransport: local\nvariables:\n  component: api\n${tag === 'omit' ? '' : `  tag: ${tag ?? '~'}\n`}`,
  );

const opened = (file: string): Extract<JournalEntry, {type: 'session-opened'}> => {
  const e = readJournal(file).entries.find((x) => x.type === 'session-opened');
  if (e?.type !== 'session-opened') throw new Error('no session-opened');
  return e;
};

const outputOf = (file: string): string =>
  readJournal(file)
    .entries.map((e) => (e.type === 'output' ? (e.text ?? '') : ''))
    .join('');

describe('--var', () => {
  it('fills a declared variable, is journaled, and is said in the plain view’s opening lines', async () => {
    const journal = path.join(dir, 'given.jsonl');
    const run = await cli(
      [
        'run',
        machine,
        '--profile',
        profile('runtime', null),
        '--plain',
        '--yes',
        '--var',
        'tag=v1.2',
        '--journal',
        journal,
      ],
      {state: dir},
    );
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/session .*: Release on runtime/);
    expect(lines[1]).toMatch(/run-time values: tag=v1\.2$/);
    const e = opened(journal);
    expect(e.runTimeVariables).toEqual({tag: 'v1.2'});
    expect(e.variables['tag']).toBe('v1.2');
    expect(outputOf(journal)).toContain('first api v1.2');
  });

  it('overrides a value the profile gives (a per-release value), and says so', async () => {
    const journal = path.join(dir, 'override.jsonl');
    const run = await cli(
      [
        'run',
        machine,
        '--profile',
        profile('fixed', 'v1.0'),
        '--plain',
        '--yes',
        '--var',
        'component=web',
        '--journal',
        journal,
      ],
      {state: dir},
    );
    expect(run.exitCode).toBe(0);
    expect(opened(journal).runTimeVariables).toEqual({component: 'web'});
    expect(outputOf(journal)).toContain('first web v1.0');
  });

  it('refuses a name the site does not declare, listing the declared ones; nothing starts', async () => {
    const run = await cli(
      ['run', machine, '--profile', profile('runtime', null), '--plain', '--var', 'tga=v1'],
      {state: path.join(dir, 'unknown-state')},
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(
      '--var tga: site release declares no variable "tga" (declared: tag, component)',
    );
    expect(fs.existsSync(path.join(dir, 'unknown-state', 'crewchief', 'sessions'))).toBe(false);
  });

  it('checks the value as a profile value is checked', async () => {
    const run = await cli(
      ['run', machine, '--profile', profile('runtime', null), '--plain', '--var', 'tag=v1\x1b[2J'],
      {state: dir},
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--var tag: the value holds a control character/);
    const malformed = await cli(
      ['run', machine, '--profile', profile('runtime', null), '--plain', '--var', 'tag'],
      {state: dir},
    );
    expect(malformed.exitCode).toBe(2);
    expect(malformed.stderr).toContain('--var expects NAME=VALUE, not "tag"');
  });

  it('without a terminal, refuses a declared variable nothing gives, naming it and the --var form', async () => {
    for (const tag of [null, 'omit'] as const) {
      const run = await cli(
        ['run', machine, '--profile', profile(`missing-${String(tag)}`, tag), '--plain', '--yes'],
        {state: path.join(dir, 'missing-state')},
      );
      expect(run.exitCode).toBe(5);
      expect(run.stderr).toContain('tag (the release tag)');
      expect(run.stderr).toContain('--var tag=VALUE');
    }
    expect(fs.existsSync(path.join(dir, 'missing-state', 'crewchief', 'sessions'))).toBe(false);
  });

  it('on resume, uses the journaled values and refuses a different one', async () => {
    const journal = path.join(dir, 'resume.jsonl');
    // No --yes and no terminal: the session stops at the gate, to be resumed.
    const first = await cli(
      [
        'run',
        machine,
        '--profile',
        profile('runtime', null),
        '--plain',
        '--var',
        'tag=v2.0',
        '--journal',
        journal,
      ],
      {state: dir},
    );
    expect(first.exitCode).toBe(5);
    const changed = await cli(['resume', journal, '--plain', '--yes', '--var', 'tag=v2.1'], {
      state: dir,
    });
    expect(changed.exitCode).toBe(2);
    expect(changed.stderr).toMatch(
      /was opened with tag=v2\.0; a session keeps its run-time values: resume without --var, or start a new session with --var tag=v2\.1/,
    );
    const same = await cli(['resume', journal, '--plain', '--yes', '--var', 'tag=v2.0'], {
      state: dir,
    });
    expect(same.exitCode).toBe(0);
    expect(outputOf(journal)).toContain('second v2.0');
  });

  it('on resume without --var, goes on with the journaled value', async () => {
    const journal = path.join(dir, 'resume-plain.jsonl');
    await cli(
      [
        'run',
        machine,
        '--profile',
        profile('runtime', null),
        '--plain',
        '--var',
        'tag=v3.0',
        '--journal',
        journal,
      ],
      {state: dir},
    );
    const resumed = await cli(['resume', journal, '--plain', '--yes'], {state: dir});
    expect(resumed.exitCode).toBe(0);
    expect(outputOf(journal)).toContain('second v3.0');
  });

  it('validate and graph take --var; a profile may leave a declared variable to run time with ~', async () => {
    const left = await cli(['validate', machine, profile('runtime', null)], {state: dir});
    expect(left.exitCode).toBe(0);
    const omitted = await cli(['validate', machine, profile('omitted', 'omit')], {state: dir});
    expect(omitted.exitCode).toBe(3);
    expect(omitted.stdout).toMatch(/variables\.tag: site release expects this variable .*tag: ~/);
    const given = await cli(['validate', machine, profile('omitted', 'omit'), '--var', 'tag=v1'], {
      state: dir,
    });
    expect(given.exitCode).toBe(0);
    const unknown = await cli(['validate', machine, profile('runtime', null), '--var', 'x=1'], {
      state: dir,
    });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/--var x: .*declared: tag, component/);
    const graph = await cli(
      ['graph', machine, '--profile', profile('runtime', null), '--var', 'tag=v4'],
      {state: dir},
    );
    expect(graph.exitCode).toBe(0);
    expect(graph.stdout).toContain('Deploy api v4');
  });
});

describe.skipIf(!tmuxAvailable())('a declared variable nothing gives, on a terminal', () => {
  it('is asked before the session starts, then shown in the console header', async () => {
    const state = path.join(dir, 'tmux-state');
    const pane = TmuxPane.start({
      columns: 120,
      rows: 30,
      command: ['node', cliJs, 'run', machine, '--profile', profile('asked', null)],
      env: driverEnv({XDG_STATE_HOME: state}),
      cwd: dir,
    });
    panes.push(pane);
    await pane.waitFor('tag (the release tag):', 30_000);
    // Nothing has started before the answer.
    expect(fs.existsSync(path.join(state, 'crewchief', 'sessions'))).toBe(false);
    pane.keys('Enter');
    await pane.waitFor('a value is needed');
    pane.type('v5.1');
    pane.keys('Enter');
    const screen = await pane.waitFor((s) => /Look at v5\.1 first/.test(s), 60_000);
    expect(screen.split('\n').find((l) => l.includes('LIVE'))).toContain('tag=v5.1');
    const [file] = fs.readdirSync(path.join(state, 'crewchief', 'sessions'));
    const journal = path.join(state, 'crewchief', 'sessions', file!);
    expect(opened(journal).runTimeVariables).toEqual({tag: 'v5.1'});
  }, 120_000);
});
