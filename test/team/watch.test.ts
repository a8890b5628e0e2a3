/**
 * `crewchief watch`: the crew chief follows a live session read-only, from PostgreSQL
 * (through a cut connection, and through a link that goes silent) or from the journal
 * file, and sees exactly the lines the driver sees.
 */
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {watch} from '../../source/commands/watch.js';
import {cli, waitForEntry} from '../helpers/cli.js';
import {journalsIn, runCleanups, stateDir} from './helpers.js';
import {createDatabase, eventually, query, terminate, type TestDatabase} from './pg.js';
import {TcpProxy} from './tcp-proxy.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  cleanup.push(() => db.drop());
  return db;
}

/** What the driver's plain view printed, without the demo's banner line. */
const driverLines = (stdout: string): string => stdout.split('\n').slice(1).join('\n');

/** Starts a demo driving into `db`; resolves with its journal and session id. */
async function startDemo(db: TestDatabase | undefined) {
  const state = stateDir(cleanup);
  const run = cli(['demo', '--plain', ...(db ? ['--journal-db', db.url] : [])], {state});
  const file = await eventually(() => journalsIn(state)[0], 'the journal file');
  return {run, file, session: path.basename(file, '.jsonl'), state};
}

describe.concurrent('crewchief watch', () => {
  it('follows a live session from PostgreSQL through cut connections, missing nothing', async () => {
    const db = await database('watch');
    const demo = await startDemo(db);
    const watcher = cli(['watch', demo.session, '--journal-db', db.url, '--plain'], {
      state: stateDir(cleanup),
    });
    for (const phase of ['cleanup', 'deployment']) {
      await waitForEntry(demo.file, (e) => e.type === 'phase-entered' && e.phase === phase);
      await eventually(async () => (await terminate(db, 'crewchief watch')) > 0, 'a watch to cut');
    }
    const [driver, watched] = await Promise.all([demo.run, watcher]);
    expect(driver.exitCode, driver.all).toBe(0);
    expect(watched.exitCode, watched.all).toBe(0);
    expect(watched.stderr).toMatch(/reconnecting/);
    expect(watched.stderr).toMatch(/following again/);
    expect(watched.stdout).toBe(driverLines(driver.stdout));
    // Watching took no lock and wrote nothing.
    const [{n}] = (await query<{n: number}>(
      db.url,
      'select count(*)::int as n from crewchief.drivers',
    )) as [{n: number}];
    expect(n).toBe(0);
  });

  it('notices a link that went silent (heartbeat), reconnects and catches up', async () => {
    const db = await database('silent');
    const proxy = await TcpProxy.start({host: '127.0.0.1', port: Number(new URL(db.url).port)});
    cleanup.push(() => proxy.close());
    const demo = await startDemo(db);
    const lines: string[] = [];
    let received = 0;
    const watching = watch([demo.session], {
      plain: true,
      journalDb: proxy.url(db.url),
      write: (line) => lines.push(line),
      onEntries: (entries) => (received += entries.length),
      heartbeatMs: 500,
    });
    await waitForEntry(demo.file, (e) => e.type === 'phase-entered' && e.phase === 'cleanup');
    await eventually(() => received > 10, 'the watch to follow');
    // The link stops carrying anything, without a word (no FIN, no RST).
    expect(proxy.freezeOpen()).toBeGreaterThan(0);
    const [driver, code] = await Promise.all([demo.run, watching]);
    expect(driver.exitCode, driver.all).toBe(0);
    expect(code).toBe(0);
    expect(lines.join('\n')).toBe(driverLines(driver.stdout));
  });

  it('follows a live session from its journal file', async () => {
    const demo = await startDemo(undefined);
    const watcher = cli(['watch', '--file', demo.file, '--plain'], {state: stateDir(cleanup)});
    const [driver, watched] = await Promise.all([demo.run, watcher]);
    expect(driver.exitCode, driver.all).toBe(0);
    expect(watched.exitCode, watched.all).toBe(0);
    expect(watched.stdout).toBe(driverLines(driver.stdout));
  });
});
