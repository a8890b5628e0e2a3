/**
 * The console's sink folds output once per frame, not once per chunk: output waits for
 * the frame, anything else is folded at once after the output before it, and the store
 * ends where a fold of every entry in order ends.
 */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import type {JournalEntry, JournalEvent} from '../../source/journal/events.js';
import {FRAME_MS, frameBatched, storeSink} from '../../source/services/pipeline.js';
import {foldAll} from '../../source/store/fold.js';
import {createSessionStore, snapshotOf} from '../../source/store/store.js';

const opened: JournalEvent = {
  type: 'session-opened',
  session: 'x',
  site: 's',
  siteTitle: 'S',
  siteFile: '',
  profile: 'p',
  profileFile: '',
  runbookHash: '',
  driver: 'd',
  version: '0',
  transport: 'local',
  dryRun: false,
  plan: {phases: [], steps: []},
  variables: {},
};

let seq = 0;
const entry = (e: JournalEvent): JournalEntry =>
  ({...e, seq: ++seq, time: '2026-12-02T00:00:00.000Z', mono: seq}) as JournalEntry;
const output = (text: string): JournalEntry =>
  entry({type: 'output', step: 's', host: 'h', stream: 'stdout', text});

beforeEach(() => {
  seq = 0;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe('output folded once per frame', () => {
  it('keeps chunks out of the store until the frame, then folds them in one change', async () => {
    const store = createSessionStore();
    const sink = frameBatched(storeSink(store));
    const first = entry(opened);
    sink.take([first]);
    let changes = 0;
    store.subscribe(() => changes++);
    const chunks = Array.from({length: 50}, (_, i) => output(`line ${i}\n`));
    for (const chunk of chunks) sink.take([chunk]);
    expect(store.getState().output['s']).toBeUndefined();
    expect(changes).toBe(0);

    await vi.advanceTimersByTimeAsync(FRAME_MS);
    expect(changes).toBe(1);
    expect(store.getState().output['s']!['h']!.text).toBe(
      chunks.map((_, i) => `line ${i}\n`).join(''),
    );
    expect(snapshotOf(store)).toEqual(foldAll([first, ...chunks]));
  });

  it('folds any other entry at once, after the output that came before it', () => {
    const store = createSessionStore();
    const sink = frameBatched(storeSink(store));
    const all = [
      entry(opened),
      output('before the notice\n'),
      entry({type: 'notice', step: 's', level: 'warn', text: 'look'}),
    ];
    for (const e of all) sink.take([e]);
    // No frame has passed: the notice forced the waiting output in first.
    expect(store.getState().output['s']!['h']!.text).toBe('before the notice\n');
    expect(snapshotOf(store)).toEqual(foldAll(all));

    const later = output('after\n');
    sink.take([later]);
    expect(store.getState().output['s']!['h']!.text).toBe('before the notice\n');
    sink.flush();
    expect(snapshotOf(store)).toEqual(foldAll([...all, later]));
  });
});
