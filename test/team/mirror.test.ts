/**
 * The PostgreSQL mirror against the real server: a whole demo session mirrored row for
 * row, and a session whose mirror connection is cut and whose database refuses
 * connections for a while — the session goes on, the mirror catches up, nothing twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {repoRoot} from '../helpers/fixtures.js';
import {cli, waitForEntry} from '../helpers/cli.js';
import {readJournal} from '../../source/journal/file.js';
import {
  allowConnections,
  createDatabase,
  eventually,
  query,
  terminate,
  type TestDatabase,
} from './pg.js';
import {journalsIn, linesOf, runCleanups, stateDir} from './helpers.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  cleanup.push(() => db.drop());
  return db;
}

const eventsOf = (db: TestDatabase, session: string) =>
  query<{seq: number; line: string}>(
    db.url,
    'select seq, line from crewchief.events where session = $1 order by seq',
    [session],
  );

describe.concurrent('the journal mirror', () => {
  it(
    'holds a whole demo session row for row, and replays and lists it like the file',
    {timeout: 240_000},
    async () => {
      const db = await database('mirror');
      const state = stateDir(cleanup);
      const run = await cli(['demo', '--plain', '--journal-db', db.url], {state});
      expect(run.exitCode, run.all).toBe(0);
      const [file] = journalsIn(state);
      const lines = linesOf(file!);
      const header = JSON.parse(lines[0]!) as {session: string};
      const rows = await eventsOf(db, header.session);
      // Row for row: the same lines, verbatim (checksums included), in seq order, no gaps.
      expect(rows.map((r) => r.line)).toEqual(lines.slice(1));
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      const [summary] = await query(db.url, 'select * from crewchief.sessions');
      expect(summary).toMatchObject({
        session: header.session,
        header: lines[0],
        site: 'rubin',
        profile: 'rubin-tts-demo',
        driver: 'tester@bastion',
        state: 'finished',
        last_seq: rows.length,
      });
      const versions = await query(db.url, 'select version from crewchief.schema_migrations');
      expect(versions).toEqual([{version: 1}]);

      // Replay from PostgreSQL prints exactly what replay from the file prints.
      const fromFile = await cli(['replay', file!, '--plain'], {state});
      const fromDb = await cli(['replay', '--journal-db', db.url, header.session, '--plain'], {
        state,
      });
      expect(fromDb.exitCode, fromDb.all).toBe(0);
      expect(fromDb.stdout).toBe(fromFile.stdout);
      expect(fromDb.stdout).toContain('session finished');
      // The rows are the file's lines verbatim, so the mirror's seal is checked too.
      expect(fromDb.stdout).toMatch(/closed and sealed at \d\d:\d\d, checksum verified/);
      const report = await cli(['report', header.session, '--journal-db', db.url], {state});
      expect(report.exitCode, report.all).toBe(0);
      expect(report.stdout).toMatch(
        /closed and sealed \(\d+ lines, sha256 [0-9a-f]{12}…, verified\)/,
      );

      const listed = await cli(['sessions', '--journal-db', db.url], {state});
      expect(listed.stdout).toMatch(
        new RegExp(`${header.session}\\s+rubin\\s+rubin-tts-demo\\s+tester@bastion\\s+finished`),
      );
      const local = await cli(['sessions'], {state});
      expect(local.stdout).toMatch(new RegExp(`${header.session}\\s+rubin\\s+rubin-tts-demo`));
    },
  );

  it(
    'goes on through a cut connection and a refusing database, then catches up: no event lost, none twice',
    {timeout: 240_000},
    async () => {
      const db = await database('outage');
      const state = stateDir(cleanup);
      const run = cli(['demo', '--plain', '--journal-db', db.url], {state});
      const file = await eventually(() => journalsIn(state)[0], 'the journal file');
      // Cut the mirror's connection as the session goes on.
      await waitForEntry(file, (e) => e.type === 'phase-entered' && e.phase === 'offline');
      await eventually(
        async () => (await terminate(db, 'crewchief mirror')) > 0,
        'a mirror to cut',
      );
      // Then, during a long watch, the database refuses every connection (the driver
      // lock's too) for a while: the watch goes on polling, its counts keep coming.
      const watchStep = await waitForEntry(
        file,
        (e) => e.type === 'step-started' && e.step === 'cleanup/federations-zero',
      );
      await allowConnections(db, false);
      await waitForEntry(file, (e) => e.type === 'notice' && /journal mirror behind/.test(e.text));
      // The watch polls on while PostgreSQL refuses, to its end (how many polls that takes
      // depends on the simulated site's pace).
      await waitForEntry(
        file,
        (e) =>
          e.type === 'step-finished' && e.step === 'cleanup/federations-zero' && e.outcome === 'ok',
        120_000,
      );
      const samples = readJournal(file).entries.filter(
        (e) => e.seq > watchStep.seq && e.type === 'count-sampled',
      );
      expect(samples.length).toBeGreaterThanOrEqual(1);
      await allowConnections(db, true);
      await waitForEntry(file, (e) => e.type === 'phase-entered' && e.phase === 'deployment');
      await eventually(
        async () => (await terminate(db, 'crewchief mirror')) > 0,
        'a mirror to cut',
      );
      const result = await run;
      expect(result.exitCode, result.all).toBe(0);

      const entries = readJournal(file).entries;
      expect(entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'finished'});
      const first = entries[0]!;
      const session = first.type === 'session-opened' ? first.session : '';
      const rows = await eventually(async () => {
        const r = await eventsOf(db, session);
        return r.length === entries.length && r;
      }, 'the mirror to catch up');
      // The same set of (session, seq), and each seq once.
      expect(rows.map((r) => r.seq)).toEqual(entries.map((e) => e.seq));
      const [dupes] = await query<{n: number}>(
        db.url,
        'select count(*)::int - count(distinct (session, seq))::int as n from crewchief.events',
      );
      expect(dupes!.n).toBe(0);
      expect(rows.map((r) => r.line)).toEqual(linesOf(file).slice(1));
      const notices = entries.filter((e) => e.type === 'notice').map((e) => e.text);
      expect(notices.some((t) => t.startsWith('journal mirror behind'))).toBe(true);
      expect(notices.some((t) => t.startsWith('journal mirror caught up'))).toBe(true);
    },
  );

  it(
    'when PostgreSQL is away for the whole session, says so at the end; crewchief mirror sends it later',
    {timeout: 240_000},
    async () => {
      const db = await database('later');
      const state = stateDir(cleanup);
      // The demo, with its simulated site sped up: this is about the mirror, not the runbook.
      const profile = path.join(state, 'quick-demo.yaml');
      fs.writeFileSync(
        profile,
        fs
          .readFileSync(path.join(repoRoot, 'profiles', 'rubin-tts-demo.yaml'), 'utf8')
          .replace('speed: 20', 'speed: 200')
          .replaceAll('every: 1s', 'every: 200ms')
          .replace('interval: 1s', 'interval: 200ms'),
      );
      await allowConnections(db, false);
      // Unreachable at the start: refused, unless the driver says why to go on without it.
      const refused = await cli(['demo', '--plain', '--profile', profile, '--journal-db', db.url], {
        state,
      });
      expect(refused.exitCode, refused.all).toBe(6);
      expect(journalsIn(state)).toEqual([]);
      const run = await cli(
        [
          'demo',
          '--plain',
          '--profile',
          profile,
          '--journal-db',
          db.url,
          '--without-team',
          'the database is being moved',
        ],
        {state},
      );
      expect(run.exitCode, run.all).toBe(0);
      expect(run.stdout).toMatch(
        /warning: cannot reach the journal database .* going on without it, as tester@bastion chose \(--without-team: the database is being moved\)/,
      );
      expect(run.stderr).toMatch(/the journal mirror is behind: PostgreSQL has 0 of \d+ events/);
      const [file] = journalsIn(state);
      const session = readJournal(file!).header.session;
      expect(run.stderr).toContain(`crewchief mirror ${session} --journal-db`);
      await allowConnections(db, true);
      const sent = await cli(['mirror', session, '--journal-db', db.url], {state});
      expect(sent.exitCode, sent.all).toBe(0);
      const rows = await eventsOf(db, session);
      expect(rows.map((r) => r.line)).toEqual(linesOf(file!).slice(1));
      // Sending again changes nothing.
      const again = await cli(['mirror', session, '--journal-db', db.url], {state});
      expect(again.stdout).toContain('(0 sent now)');
      expect(await eventsOf(db, session)).toHaveLength(rows.length);
    },
  );
});
