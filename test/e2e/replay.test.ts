import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {drive} from '../../source/services/drive.js';
import {launch} from '../../source/services/open.js';
import {readJournal} from '../../source/journal/file.js';
import {foldAll} from '../../source/store/fold.js';
import {snapshotOf, type SessionStoreApi} from '../../source/store/store.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('cc-replay-');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

describe('replay', () => {
  it('ends on the same store state as the live run (deep equal)', async () => {
    const journal = path.join(dir, 'live.jsonl');
    const launched = await launch('rubin', 'rubin-tts-demo', {
      version: 'test',
      journalPath: journal,
      driver: 'tester@test',
      env: {...process.env, XDG_STATE_HOME: dir},
    });
    let live: SessionStoreApi | undefined;
    const lines: string[] = [];
    const code = await drive(launched, {
      plain: true,
      interactive: false,
      autopilot: {
        yes: true,
        confirm: 'all',
        choose: {'k8s-cleanup-result': 'argocd', 'cscs-state': 'some-broken'},
      },
      driver: 'tester@test',
      write: (l) => void lines.push(l),
      onStore: (s) => (live = s),
    });
    expect(code, lines.join('\n')).toBe(0);
    const liveState = snapshotOf(live!);
    expect(liveState.closed?.outcome).toBe('finished');
    expect(liveState.steps.find((s) => s.id === 'argocd-delete')?.status).toBe('done');
    expect(liveState.steps.find((s) => s.id === 'nublado-open')?.status).toBe('not-chosen');

    const replayed = foldAll(readJournal(journal).entries);
    expect(replayed).toEqual(liveState);
  }, 60_000);

  it('crewchief replay --plain prints what the live run printed', async () => {
    const journal = path.join(dir, 'cli.jsonl');
    const run = await cli(['demo', '--plain', '--journal', journal], {state: dir});
    expect(run.exitCode).toBe(0);
    const replay = await cli(['replay', journal, '--plain'], {state: dir});
    expect(replay.exitCode).toBe(0);
    const liveLines = run.stdout.split('\n').slice(1); // the first line is the demo's banner
    // The same lines, then how the journal ended, as the reader found it.
    const lines = replay.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('■ journal: '));
    expect(lines[at]).toMatch(/^■ journal: closed and sealed at \d\d:\d\d, checksum verified$/);
    expect(lines.slice(at + 1).join('')).toBe('');
    expect(lines.filter((_, i) => i !== at)).toEqual(liveLines);
  }, 60_000);
});
