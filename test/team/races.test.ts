/**
 * The fault suite's two-driver races (issue 11, findings 4 and 5): two crewchiefs started
 * at once, through the built CLI, 20 times in 7 set-ups, including a journal database
 * that one or both cannot reach and two state directories resuming one journal. Each
 * time exactly one drives: the step "hold" ran once (its marker file has one line), one
 * exited 0 and the other was refused with exit status 6 and said why.
 */
import {afterAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';
import {keep, runCleanups, stateDir} from './helpers.js';
import {createDatabase, withDatabase, type TestDatabase} from './pg.js';
import {race, raceSite, type RaceOutcome, type RaceSite} from './race-site.js';
import fs from 'node:fs';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

let site: RaceSite;
let db: TestDatabase;
const ready = (async () => {
  const dir = tempDir('cc-races-');
  cleanup.push(() => (keep() ? undefined : fs.rmSync(dir, {recursive: true, force: true})));
  site = raceSite(dir);
  db = await createDatabase('races');
  cleanup.push(() => db.drop());
})();

/** A URL for the same database on a port where nothing listens. */
const unreachable = (): string => {
  const u = new URL(withDatabase(db.url, db.name));
  u.port = '1';
  return u.toString();
};

const runCli = (name: string, state: string, extra: string[]) =>
  cli(['run', site.machine, '--profile', site.profile(name), '--plain', '--yes', ...extra], {
    state,
    env: {CC_RACE: name},
  });

const resumeCli = (name: string, state: string, journal: string, extra: string[]) =>
  cli(['resume', journal, '--plain', '--yes', ...extra], {state, env: {CC_RACE: name}});

/** A session of its own left open at the gate before "hold" (no terminal to ask on). */
async function openSession(name: string, state: string, extra: string[] = []): Promise<string> {
  const run = await cli(
    ['run', site.machine, '--profile', site.profile(name), '--plain', ...extra],
    {
      state,
      env: {CC_RACE: name},
    },
  );
  expect(run.exitCode, run.all).toBe(5);
  const journal = /crewchief resume (\S+\.jsonl)/.exec(run.stderr)?.[1];
  expect(journal, run.all).toBeDefined();
  return journal!;
}

const tally = {races: 0, exactlyOne: 0};

function expectOneDriver(outcome: RaceOutcome, refusal: RegExp): void {
  tally.races++;
  const codes = outcome.results.map((r) => r.exitCode).sort();
  const all = outcome.results.map((r) => r.all).join('\n-----\n');
  if (outcome.runs === 1 && codes[0] === 0 && codes[1] === 6) tally.exactlyOne++;
  expect(outcome.runs, all).toBe(1);
  expect(codes, all).toEqual([0, 6]);
  const refused = outcome.results.find((r) => r.exitCode === 6)!;
  expect(refused.stderr).toMatch(refusal);
  expect(refused.stderr).not.toMatch(/\n\s+at /); // a message, never a stack trace
}

afterAll(() => {
  process.stdout.write(
    `two-driver races: ${tally.races} run, exactly one driver in ${tally.exactlyOne}\n`,
  );
});

describe('two drivers at once: exactly one drives', () => {
  it('one machine, one state directory (the lock file), 3 races', async () => {
    await ready;
    for (let i = 0; i < 3; i++) {
      const name = `file${i}`;
      const state = stateDir(cleanup);
      const outcome = await race(site, name, [runCli(name, state, []), runCli(name, state, [])]);
      expectOneDriver(outcome, /is being driven by tester@bastion/);
    }
  }, 240_000);

  it('two machines, a journal database both reach (the advisory lock), 3 races', async () => {
    await ready;
    for (let i = 0; i < 3; i++) {
      const name = `pg${i}`;
      const outcome = await race(site, name, [
        runCli(name, stateDir(cleanup), ['--journal-db', db.url]),
        runCli(name, stateDir(cleanup), ['--journal-db', db.url]),
      ]);
      expectOneDriver(outcome, /is being driven by tester@bastion/);
    }
  }, 240_000);

  it('two machines, one cannot reach the journal database (finding 4), 4 races', async () => {
    await ready;
    for (let i = 0; i < 4; i++) {
      const name = `half${i}`;
      const cut = runCli(name, stateDir(cleanup), ['--journal-db', unreachable()]);
      const up = runCli(name, stateDir(cleanup), ['--journal-db', db.url]);
      const outcome = await race(site, name, i % 2 ? [cut, up] : [up, cut]);
      expectOneDriver(outcome, /cannot reach the journal database .*:1\/.*ECONNREFUSED/);
      expect((await cut).exitCode).toBe(6);
    }
  }, 240_000);

  it('neither reaches the journal database: only the driver who overrides with a reason drives, 2 races', async () => {
    await ready;
    for (let i = 0; i < 2; i++) {
      const name = `none${i}`;
      const outcome = await race(site, name, [
        runCli(name, stateDir(cleanup), [
          '--journal-db',
          unreachable(),
          '--without-team',
          'database host down for maintenance; I am the only driver',
        ]),
        runCli(name, stateDir(cleanup), ['--journal-db', unreachable()]),
      ]);
      expectOneDriver(outcome, /--without-team "REASON"/);
    }
  }, 240_000);

  it('two state directories resume one journal (finding 5), 4 races', async () => {
    await ready;
    for (let i = 0; i < 4; i++) {
      const name = `resume${i}`;
      const home = stateDir(cleanup);
      const journal = await openSession(name, home);
      const before = readJournal(journal).entries.length;
      const outcome = await race(site, name, [
        resumeCli(name, home, journal, []),
        resumeCli(name, stateDir(cleanup), journal, []),
      ]);
      expectOneDriver(outcome, /is in use by another crewchief: process \d+ on \S+, user \S+/);
      // One writer: the journal reads whole, and went on from where it was.
      const read = readJournal(journal);
      expect(read.damage).toEqual([]);
      expect(read.entries.filter((e) => e.type === 'session-resumed')).toHaveLength(1);
      expect(read.entries.length).toBeGreaterThan(before);
      expect(fs.existsSync(`${journal}.lock`)).toBe(false);
    }
  }, 240_000);

  it('two state directories resume one journal, both overriding an unreachable database, 2 races', async () => {
    await ready;
    for (let i = 0; i < 2; i++) {
      const name = `both${i}`;
      const home = stateDir(cleanup);
      const journal = await openSession(name, home);
      const flags = ['--journal-db', unreachable(), '--without-team', 'db down'];
      const outcome = await race(site, name, [
        resumeCli(name, home, journal, flags),
        resumeCli(name, stateDir(cleanup), journal, flags),
      ]);
      expectOneDriver(outcome, /is in use by another crewchief/);
      expect(readJournal(journal).damage).toEqual([]);
    }
  }, 240_000);

  it('two machines resume one journal with a journal database both reach, 2 races', async () => {
    await ready;
    for (let i = 0; i < 2; i++) {
      const name = `mirror${i}`;
      const home = stateDir(cleanup);
      const journal = await openSession(name, home, ['--journal-db', db.url]);
      const flags = ['--journal-db', db.url];
      const outcome = await race(site, name, [
        resumeCli(name, home, journal, flags),
        resumeCli(name, stateDir(cleanup), journal, flags),
      ]);
      expectOneDriver(outcome, /is in use by another crewchief|is being driven by tester@bastion/);
      expect(readJournal(journal).damage).toEqual([]);
    }
  }, 240_000);
});
