/**
 * Every way out exits (issue 11, finding 6): a driven session with a journal database
 * meets a database fault mid-session — its tables locked with LOCK TABLE by someone else
 * (and kept locked), its connections killed with pg_terminate_backend, the database gone
 * silent and unreachable — and the CLI process still ends once the session has ended,
 * by itself: not by the last-resort exit that says something was still held open.
 */
import fs from 'node:fs';
import pg from 'pg';
import {afterAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';
import {journalsIn, keep, runCleanups, stateDir} from './helpers.js';
import {createDatabase, eventually, terminate, type TestDatabase} from './pg.js';
import {raceSite, runsOf, type RaceSite} from './race-site.js';
import {TcpProxy} from './tcp-proxy.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

let site: RaceSite;
const ready = (() => {
  const dir = tempDir('cc-exit-');
  cleanup.push(() => (keep() ? undefined : fs.rmSync(dir, {recursive: true, force: true})));
  site = raceSite(dir);
})();

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  cleanup.push(() => db.drop());
  return db;
}

/**
 * Runs the race site's session with a journal database at `url`; when its step "hold" is
 * running, does `fault`, then lets the step end. Resolves with the CLI's result once the
 * process has exited, and the journal.
 */
async function sessionThrough(
  name: string,
  url: string,
  fault: () => Promise<void>,
): Promise<{result: Awaited<ReturnType<typeof cli>>; journal: string}> {
  void ready;
  const state = stateDir(cleanup);
  const run = cli(
    [
      'run',
      site.machine,
      '--profile',
      site.profile(name, 'team:\n  lock_grace: 2s\n'),
      '--plain',
      '--yes',
      '--journal-db',
      url,
    ],
    {state, env: {CC_RACE: name}},
  );
  await eventually(() => runsOf(site.marker(name)) === 1, `${name}: the step to run`, 60_000);
  await fault();
  fs.writeFileSync(site.release(name), '');
  const journal = journalsIn(state)[0]!;
  // The session ends, and the process with it: the test's time limit is the bound.
  const result = await run;
  return {result, journal};
}

function expectExitedByItself(result: Awaited<ReturnType<typeof cli>>): void {
  expect([0, 130], result.all).toContain(result.exitCode);
  expect(result.stderr).not.toContain('still held open');
  expect(result.all).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
}

describe.concurrent('the process ends when the session ends, whatever PostgreSQL does', () => {
  it('the mirror tables locked with LOCK TABLE mid-session, and kept locked', async () => {
    const db = await database('locktable');
    const locker = new pg.Client({connectionString: db.url, application_name: 'locker'});
    locker.on('error', () => {});
    await locker.connect();
    cleanup.push(() => locker.end().catch(() => {}));
    const {result, journal} = await sessionThrough('locktable', db.url, async () => {
      await locker.query('begin');
      await locker.query(
        'lock table crewchief.events, crewchief.sessions, crewchief.schema_migrations, crewchief.drivers in access exclusive mode',
      );
      // The mirror has to connect again (and so read the locked schema) as well.
      await terminate(db, 'crewchief mirror');
    });
    expectExitedByItself(result);
    expect(result.exitCode).toBe(0);
    expect(readJournal(journal).entries.at(-1)).toMatchObject({
      type: 'session-closed',
      outcome: 'finished',
    });
    expect(result.stderr).toMatch(/the journal mirror is behind/);
    await locker.query('rollback');
  }, 240_000);

  it('every crewchief connection killed with pg_terminate_backend mid-session', async () => {
    const db = await database('terminate');
    const {result, journal} = await sessionThrough('terminate', db.url, async () => {
      await eventually(async () => (await terminate(db, 'crewchief%')) >= 2, 'connections to kill');
    });
    expectExitedByItself(result);
    expect(result.exitCode).toBe(0);
    expect(readJournal(journal).entries.at(-1)).toMatchObject({type: 'session-closed'});
  }, 240_000);

  it('the database gone silent and unreachable mid-session (frozen links, refused connects)', async () => {
    const db = await database('unreachable');
    const proxy = await TcpProxy.start({host: '127.0.0.1', port: Number(new URL(db.url).port)});
    cleanup.push(() => proxy.close());
    const {result} = await sessionThrough('unreachable', proxy.url(db.url), async () => {
      proxy.refuseNew(true);
      expect(proxy.freezeOpen()).toBeGreaterThanOrEqual(2);
    });
    expectExitedByItself(result);
  }, 240_000);
});
