/**
 * One pipeline for every event source: the same session driven live, watched from its
 * journal file and from the PostgreSQL mirror while it runs, and replayed afterwards
 * (at once, and against a clock) ends on the same store state in every one of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {replay} from '../../source/commands/replay.js';
import {watch} from '../../source/commands/watch.js';
import {readJournal} from '../../source/journal/file.js';
import {drive} from '../../source/services/drive.js';
import {launch} from '../../source/services/open.js';
import {snapshotOf, type SessionStoreApi} from '../../source/store/store.js';
import {tempDir} from '../helpers/fixtures.js';
import {createDatabase, type TestDatabase} from '../team/pg.js';

const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('one pipeline', () => {
  it('live, watch (file and PostgreSQL) and replay end on the same store state', async () => {
    const dir = tempDir('cc-pipeline-');
    cleanup.push(() => fs.rmSync(dir, {recursive: true, force: true}));
    const db: TestDatabase = await createDatabase('pipeline');
    cleanup.push(() => db.drop());
    const env = {...process.env, XDG_STATE_HOME: dir};
    const journal = path.join(dir, 'live.jsonl');
    const launched = await launch('rubin', 'rubin-tts-demo', {
      version: 'test',
      journalPath: journal,
      driver: 'tester@test',
      env,
      team: {journalDb: db.url, lockDir: path.join(dir, 'locks')},
    });
    const session = readJournal(journal).header.session;
    const stores: Record<string, SessionStoreApi> = {};
    const lines: Record<string, string[]> = {live: [], file: [], pg: [], replay: [], clock: []};
    const into = (name: string) => ({
      write: (line: string) => void lines[name]!.push(line),
      onStore: (store: SessionStoreApi) => void (stores[name] = store),
    });

    // The crew chief follows it from the file and from the mirror while it runs.
    const byFile = watch([], {plain: true, file: journal, env, ...into('file')});
    const byPg = watch([session], {plain: true, journalDb: db.url, env, ...into('pg')});
    const code = await drive(launched, {
      plain: true,
      interactive: false,
      autopilot: {
        yes: true,
        confirm: 'all',
        choose: {'k8s-cleanup-result': 'argocd', 'cscs-state': 'some-broken'},
      },
      driver: 'tester@test',
      say: () => {},
      ...into('live'),
    });
    expect(code, lines['live']!.join('\n')).toBe(0);
    expect(await byFile).toBe(0);
    expect(await byPg).toBe(0);
    // Afterwards: replayed at once, and against a clock that waits every recorded gap.
    const waited: number[] = [];
    expect(await replay([journal], {plain: true, speed: 0, ...into('replay')})).toBe(0);
    expect(
      await replay([journal], {
        plain: true,
        speed: 1,
        clock: {sleep: async (ms) => void waited.push(ms)},
        ...into('clock'),
      }),
    ).toBe(0);
    expect(waited.length).toBeGreaterThan(0);

    const live = snapshotOf(stores['live']!);
    expect(live.closed?.outcome).toBe('finished');
    for (const name of ['file', 'pg', 'replay', 'clock']) {
      // A replay adds what its reader found at the journal's end (a fact, not an event).
      const {journalEnd, ...state} = snapshotOf(stores[name]!);
      expect(state, name).toEqual(live);
      // And each printed what the driver saw (a replay then says how the journal ended).
      const replayed = name === 'replay' || name === 'clock';
      expect(journalEnd?.state, name).toBe(replayed ? 'sealed' : undefined);
      expect(replayed ? lines[name]!.slice(0, -1) : lines[name], name).toEqual(lines['live']);
      if (replayed) expect(lines[name]!.at(-1), name).toMatch(/^■ journal: closed and sealed at /);
    }
  }, 180_000);
});
