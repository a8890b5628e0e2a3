/**
 * Issue 12 #8, the rough edges a new user meets on the command line: usage errors in one
 * line, a profile for another site refused by `graph` as by `run`, a broken pipe that
 * ends quietly, empty session lists (file and PostgreSQL) that are not errors, and
 * automatic answers labelled by what gave them.
 */
import {execa} from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli, cliPath} from '../helpers/cli.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';
import {createDatabase} from '../team/pg.js';

let state: string;
beforeAll(() => {
  state = tempDir('cc-rough-');
});
afterAll(() => fs.rmSync(state, {recursive: true, force: true}));

/** A stack trace line, as Node prints one. */
const STACK = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

describe('rough edges (issue 12 #8)', () => {
  it('graph on an unknown site says which sites exist, in one line, with the usage status', async () => {
    const result = await cli(['graph', 'nosuch'], {state});
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toMatch(/^crewchief: no site "nosuch" \(known: [^)]*rubin/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(STACK);
    expect(result.stdout).toBe('');
  });

  it('graph refuses a profile for another site, as run does, and draws nothing', async () => {
    const graph = await cli(['graph', 'rubin', '--profile', 'powo-demo'], {state});
    const run = await cli(['run', 'rubin', '--profile', 'powo-demo', '--plain'], {state});
    expect(graph.stderr).toMatch(/profile powo-demo is for site "powo", not "rubin"/);
    expect(graph.stdout).toBe('');
    expect(graph.stderr).not.toMatch(STACK);
    expect(graph.exitCode).toBe(run.exitCode);
    expect(graph.stderr).toBe(run.stderr);
  });

  it('demo --plain | head -3 ends quietly: three lines, no EPIPE, no stack trace', async () => {
    const result = await execa('sh', ['-c', `node "${cliPath}" demo --plain | head -3`], {
      reject: false,
      cwd: repoRoot,
      env: {XDG_STATE_HOME: state, CREWCHIEF_DRIVER: 'tester@bastion', CI: 'true'},
    });
    expect(result.stdout.split('\n')).toHaveLength(3);
    expect(result.stdout).toMatch(/^crewchief demo: /);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
    expect(result.stderr).not.toMatch(STACK);
  }, 60_000);

  it('sessions on an empty sessions directory says so and exits 0', async () => {
    const empty = tempDir('cc-rough-empty-');
    try {
      const result = await cli(['sessions'], {state: empty});
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^Sessions in .*crewchief\/sessions:\n {2}no sessions yet$/m);
      expect(result.stderr).toBe('');
    } finally {
      fs.rmSync(empty, {recursive: true, force: true});
    }
  });

  it('sessions on an empty PostgreSQL journal database says so and exits 0', async () => {
    const db = await createDatabase('rough_empty');
    try {
      const result = await cli(['sessions', '--journal-db', db.url], {state});
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^Sessions in postgres:.*:\n {2}no sessions yet$/m);
    } finally {
      await db.drop();
    }
  });

  it('labels automatic answers by what gave them: the autopilot, or --yes; never a flag nobody gave', async () => {
    const auto = path.join(state, 'auto.jsonl');
    const yes = path.join(state, 'yes.jsonl');
    // Two state directories: one driver per site and profile in each.
    const other = tempDir('cc-rough-yes-');
    const [a, y] = await Promise.all([
      cli(['demo', '--plain', '--auto', '--journal', auto], {state}),
      cli(['demo', '--plain', '--yes', '--confirm', 'all', '--journal', yes], {state: other}),
    ]).finally(() => fs.rmSync(other, {recursive: true, force: true}));
    expect(a.exitCode, a.all).toBe(0);
    expect(y.exitCode, y.all).toBe(0);
    const ticks = (file: string) =>
      readJournal(file).entries.filter((e) => e.type === 'decision' && e.decision === 'tick');
    const autoTicks = ticks(auto);
    const yesTicks = ticks(yes);
    expect(autoTicks.length).toBeGreaterThan(0);
    expect(yesTicks.length).toBe(autoTicks.length);
    for (const t of autoTicks)
      expect(t).toMatchObject({via: 'autopilot', reason: 'answered by the autopilot'});
    for (const t of yesTicks) expect(t).toMatchObject({via: 'flag', reason: 'answered by --yes'});
    expect(a.stdout).toMatch(/answered by the autopilot/);
    // The plain view says where the journal is before anything runs, and how to replay it.
    expect(a.stderr.split('\n')[0]).toBe(`journal: ${auto}`);
    expect(a.stderr).toContain(`replay it: crewchief replay ${auto}`);
    expect(y.stdout).toMatch(/answered by --yes/);
    for (const out of [a.all, y.all, fs.readFileSync(auto, 'utf8'), fs.readFileSync(yes, 'utf8')])
      expect(out).not.toContain('command-line flag');
  }, 180_000);
});
