/**
 * The PostgreSQL server stops in the middle of a session and starts again. This file runs
 * a cluster of its own (initdb in a temp dir, its own port), so stopping it disturbs no
 * other test file.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli, waitForEntry} from '../helpers/cli.js';
import {journalsIn, linesOf, runCleanups, stateDir} from './helpers.js';
import {createDatabase, eventually, OwnCluster, query, terminate, type TestDatabase} from './pg.js';

const cleanup: (() => void | Promise<void>)[] = [];
let cluster: OwnCluster;
let db: TestDatabase;

describe.runIf(OwnCluster.available())('a PostgreSQL server that goes away', () => {
  beforeAll(async () => {
    cluster = await OwnCluster.create();
    cleanup.push(() => cluster.destroy());
    db = await createDatabase('restart', cluster.url());
  }, 60_000);
  afterAll(() => runCleanups(cleanup));

  it('lets the session go on, then the mirror catches up: the same (session, seq), none twice', async () => {
    const state = stateDir(cleanup);
    // The demo's own pace for the daemons (not the tests' CREWCHIEF_SIM_PACE=off): the
    // federation watch lasts about half a minute, so it is still counting when the server
    // is down, however slowly a busy machine gets the server stopped.
    const run = cli(['demo', '--plain', '--journal-db', db.url], {
      state,
      env: {CREWCHIEF_SIM_PACE: ''},
    });
    const file = await eventually(() => journalsIn(state)[0], 'the journal file');
    await waitForEntry(file, (e) => e.type === 'phase-entered' && e.phase === 'cleanup');
    await eventually(async () => (await terminate(db, 'crewchief mirror')) > 0, 'a mirror to cut');
    const watchStep = await waitForEntry(
      file,
      (e) => e.type === 'step-started' && e.step === 'cleanup/federations-zero',
    );
    try {
      await cluster.stop();
      await waitForEntry(file, (e) => e.type === 'notice' && /journal mirror behind/.test(e.text));
      // The server is down, and the watch goes on counting.
      await eventually(
        () =>
          readJournal(file).entries.filter(
            (e) => e.seq > watchStep.seq && e.type === 'count-sampled',
          ).length >= 3,
        'counts while the server is down',
      );
    } finally {
      await cluster.start();
    }
    const result = await run;
    expect(result.exitCode, result.all).toBe(0);
    const entries = readJournal(file).entries;
    expect(entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'finished'});
    const texts = entries.filter((e) => e.type === 'notice').map((e) => e.text);
    expect(texts.some((t) => t.startsWith('driver lock held again'))).toBe(true);
    expect(texts.some((t) => t.startsWith('journal mirror caught up'))).toBe(true);
    const session = JSON.parse(linesOf(file)[0]!).session as string;
    const rows = await query<{seq: number; line: string}>(
      db.url,
      'select seq, line from crewchief.events where session = $1 order by seq',
      [session],
    );
    expect(rows.map((r) => r.seq)).toEqual(entries.map((e) => e.seq));
    expect(rows.map((r) => r.line)).toEqual(linesOf(file).slice(1));
  }, 240_000);
});
