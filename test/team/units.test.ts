/**
 * The smaller parts of team mode: schema migrations, the profile's team settings, the
 * lock file, the words of a hand-over, who drove last.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {connect, destroy} from '../../source/journal/pg-connect.js';
import {journalOnDisk, PgMirror} from '../../source/journal/pg-mirror.js';
import {connectForReading} from '../../source/journal/pg-read.js';
import {migrate, SCHEMA_VERSION} from '../../source/journal/pg-schema.js';
import {JournalWriter} from '../../source/journal/file.js';
import {parseProfile, ProfileError} from '../../source/runbook/profile.js';
import {parseHandOver} from '../../source/team/hand-over-words.js';
import {lastDriver} from '../../source/team/index.js';
import {FileLock, LockRefused, type Holder} from '../../source/team/lock.js';
import {tempDir} from '../helpers/fixtures.js';
import {runCleanups} from './helpers.js';
import {createDatabase, query, type TestDatabase} from './pg.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  cleanup.push(() => db.drop());
  return db;
}

describe.concurrent('schema migrations', () => {
  it('creates the schema once, even when several crewchiefs start together', async () => {
    const db = await database('schema');
    const clients = await Promise.all(
      Array.from({length: 4}, () => connect(db.url, {applicationName: 'crewchief test'})),
    );
    try {
      expect(await Promise.all(clients.map((c) => migrate(c)))).toEqual([1, 1, 1, 1]);
      expect(await migrate(clients[0]!)).toBe(SCHEMA_VERSION);
    } finally {
      clients.forEach(destroy);
    }
    const rows = await query(db.url, 'select version, name from crewchief.schema_migrations');
    expect(rows).toEqual([{version: 1, name: 'journal events, sessions and drivers'}]);
  });

  it('refuses a database migrated by a newer crewchief, for writing and for reading', async () => {
    const db = await database('newer');
    const client = await connect(db.url, {applicationName: 'crewchief test'});
    await migrate(client);
    await client.query(
      "insert into crewchief.schema_migrations (version, name, by) values (99, 'future', 'test')",
    );
    destroy(client);
    const dir = tempDir('cc-newer-');
    cleanup.push(() => fs.rmSync(dir, {recursive: true, force: true}));
    const journal = JournalWriter.create(path.join(dir, 'j.jsonl'), 'newer-session');
    journal.append({type: 'notice', level: 'info', text: 'hello'});
    journal.close();
    const said: string[] = [];
    const mirror = new PgMirror({
      url: db.url,
      session: 'newer-session',
      journalPath: journal.path,
      lastSeq: 1,
      report: (_, text) => said.push(text),
    });
    mirror.start();
    const status = await mirror.close(1_500);
    expect(status.mirrored).toBe(0);
    expect(status.error).toMatch(/schema version 99, newer than this crewchief knows \(1\)/);
    expect(said[0]).toMatch(/^journal mirror behind: .*upgrade crewchief/);
    await expect(connectForReading(db.url, 'crewchief test')).rejects.toThrow(/upgrade crewchief/);
  });
});

describe('team settings in a profile', () => {
  const parse = (team: string) =>
    parseProfile(`site: s\nsecrets:\n  chat: {env: CHAT}\nteam:\n${team}`, 'p.yaml');

  it('reads the journal database by reference, strict mode and subscriptions', () => {
    const profile = parse(
      `  journal_db: {env: CC_DB}\n  strict: true\n  lock_grace: 45s\n  notify:\n    webhook: chat\n    channel: '#ops'\n    events: [phase-started, finished]\n    waiting_minutes: 15\n`,
    );
    expect(profile.team).toEqual({
      journalDb: {env: 'CC_DB'},
      strict: true,
      lockGraceMs: 45_000,
      notify: {
        webhook: 'chat',
        channel: '#ops',
        events: ['phase-started', 'finished'],
        waitingMs: 15 * 60_000,
        timeoutMs: 10_000,
      },
    });
    expect(parseProfile('site: s\n', 'p.yaml').team).toEqual({strict: false, lockGraceMs: 30_000});
  });

  it('says where a team setting is wrong', () => {
    const errors = (() => {
      try {
        parse(
          `  journal_db: postgres://deploy:hunter2@db/cc\n  strict: yes please\n  notify:\n    webhook: slack\n    events: [phase-started, lunch]\n`,
        );
      } catch (error) {
        return (error as ProfileError).errors.map((e) => `${e.line}: ${e.field}: ${e.message}`);
      }
      return [];
    })();
    expect(errors).toEqual([
      expect.stringMatching(/^5: team.journal_db: has a password in it/),
      '6: team.strict: expected true or false, found "yes please"',
      expect.stringMatching(
        /^8: team.notify.webhook: names secret "slack", which is not under secrets:/,
      ),
      expect.stringMatching(
        /^9: team.notify.events.1: expected one of: phase-started, step-failed/,
      ),
    ]);
    expect(() => parse('  strict: true\n')).toThrow(/strict mode needs team.journal_db/);
  });
});

describe('the lock file', () => {
  const holder = (over: Partial<Holder> = {}): Holder => ({
    driver: 'alice@a',
    host: os.hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
    site: 'rubin',
    profile: 'summit',
    session: 's1',
    ...over,
  });

  it('refuses a second holder with who, where and since; frees on release', () => {
    const dir = tempDir('cc-lockfile-');
    cleanup.push(() => fs.rmSync(dir, {recursive: true, force: true}));
    const lock = FileLock.acquire(dir, holder());
    let refusal: LockRefused | undefined;
    try {
      FileLock.acquire(dir, holder({driver: 'bob@b', session: 's2'}));
    } catch (error) {
      refusal = error as LockRefused;
    }
    expect(refusal).toBeInstanceOf(LockRefused);
    expect(refusal!.message).toMatch(/^rubin on profile summit is being driven by alice@a\n/);
    expect(refusal!.message).toContain(`where: ${os.hostname()}, process ${process.pid}`);
    expect(refusal!.message).toMatch(/since: .* \(\d+s ago\)/);
    expect(refusal!.message).toContain('session: s1');
    lock.release();
    FileLock.acquire(dir, holder({driver: 'bob@b'})).release();
  });

  it('takes over a lock whose process is gone', () => {
    const dir = tempDir('cc-lockfile-');
    cleanup.push(() => fs.rmSync(dir, {recursive: true, force: true}));
    fs.writeFileSync(
      path.join(dir, 'rubin--summit.lock'),
      JSON.stringify(holder({pid: 2 ** 22 + 12345, driver: 'ghost@a'})),
    );
    const lock = FileLock.acquire(dir, holder());
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'rubin--summit.lock'), 'utf8'))).toMatchObject(
      {driver: 'alice@a', pid: process.pid},
    );
    lock.release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('hand-over words and who drove last', () => {
  it('reads what the driver types', () => {
    expect(parseHandOver('hand over')).toEqual({});
    expect(parseHandOver('hand-over to bob@b2')).toEqual({to: 'bob@b2'});
    expect(parseHandOver('Hand over to bob: lunch, the watch is at 3')).toEqual({
      to: 'bob',
      note: 'lunch, the watch is at 3',
    });
    expect(parseHandOver('handover: going home')).toEqual({note: 'going home'});
    expect(parseHandOver('go')).toBeUndefined();
    expect(parseHandOver('handsome')).toBeUndefined();
  });

  it('knows who drove last and whether they handed over', () => {
    const at = {seq: 1, time: '', mono: 0};
    const opened = {...at, type: 'session-opened', driver: 'alice@a'} as never;
    expect(lastDriver([opened])).toEqual({driver: 'alice@a'});
    const handed = {
      ...at,
      type: 'decision',
      decision: 'hand-over',
      by: 'alice@a',
      step: '',
      value: 'bob@b',
    } as never;
    expect(lastDriver([opened, handed])).toEqual({driver: 'alice@a', handedOver: {to: 'bob@b'}});
    const resumed = {...at, type: 'session-resumed', driver: 'bob@b'} as never;
    expect(lastDriver([opened, handed, resumed])).toEqual({driver: 'bob@b'});
  });
});

describe('the mirror and the file', () => {
  it('never gives PostgreSQL an event the file does not have on disk', async () => {
    const db = await database('disk');
    const dir = tempDir('cc-disk-');
    cleanup.push(() => fs.rmSync(dir, {recursive: true, force: true}));
    // A group commit so slow that only the mirror's own flush can put output on disk.
    const journal = JournalWriter.create(path.join(dir, 'j.jsonl'), 'disk-session', {
      groupCommitMs: 60_000,
    });
    const disk = journalOnDisk(journal);
    const mirror = new PgMirror({
      url: db.url,
      session: 'disk-session',
      journalPath: journal.path,
      lastSeq: 0,
      durableSeq: disk.seq,
      flush: () => journal.flush(),
    });
    journal.onEntry((e) => {
      disk.saw(e);
      mirror.push(e);
    });
    mirror.start();
    const output = journal.append({
      type: 'output',
      step: 'p/s',
      host: 'local',
      stream: 'stdout',
      text: 'on disk first\n',
    });
    expect(disk.seq()).toBe(0);
    await mirror.caughtUp(output.seq);
    const [row] = await query<{line: string}>(db.url, 'select line from crewchief.events');
    expect(fs.readFileSync(journal.path, 'utf8')).toContain(row!.line);
    expect(disk.seq()).toBe(output.seq);
    const decision = journal.append({type: 'decision', step: 'p/s', decision: 'go', by: 'a@b'});
    expect(disk.seq()).toBe(decision.seq); // fsynced before its listeners ran
    journal.close();
    await mirror.close();
  });
});
