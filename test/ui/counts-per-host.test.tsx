/**
 * A per-host watch (`hosts: 'every'`) on the screen: the count pane lists each host's
 * count and marks the one holding it up; the plain view prints each host's count; a
 * retried command's attempts are printed with their number, exit and the wait.
 */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEvent} from '../../source/journal/events.js';
import {App} from '../../source/ui/app.js';
import {describeEntry} from '../../source/ui/plain.js';
import {frame, START, storeAt, upTo} from './fixtures.js';

afterEach(() => cleanup());

const STEP = 'deploy/drain';

const perHost: JournalEvent = {
  type: 'count-sampled',
  step: STEP,
  value: 2000000,
  target: 'each < 1048576',
  unit: 'bytes',
  deadline: new Date(START + 30 * 60_000).toISOString(),
  per: 'every',
  hosts: [
    {host: 'replica1', value: 512, holds: true},
    {host: 'replica2', value: 2000000, holds: false},
  ],
};

describe('a per-host count', () => {
  it('the count pane shows each host and which one holds it up', async () => {
    const {store, journal} = storeAt(upTo((e) => e.type === 'step-started' && e.step === STEP));
    store.getState().apply(journal.add(perHost));
    const r = render(
      <App
        store={store}
        mode="replay"
        size={{rows: 30, columns: 100}}
        cadenceMs={0}
        guardMs={0}
        pasteGapMs={0}
        theme={{colour: false}}
        onDecision={() => true}
      />,
    );
    const text = await frame(r, (t) => t.includes('◷'));
    expect(text).toMatch(/◷ 2000000 bytes → each < 1048576/);
    expect(text).toMatch(/✓ replica1 512 bytes/);
    expect(text).toMatch(/✗ replica2 2000000 bytes ← holding it up/);
  });

  it('the plain view prints each host, and each attempt of a retried command', () => {
    const {store, journal} = storeAt(upTo((e) => e.type === 'step-started' && e.step === STEP));
    const state = store.getState();
    const sampled = journal.add(perHost);
    expect(describeEntry(sampled, state)).toMatch(
      /◷ 2000000 \(until each < 1048576\) · replica1 512 ✓, replica2 2000000 ✗/,
    );
    const attempt = journal.add({
      type: 'attempt-ended',
      step: STEP,
      host: 'db1',
      what: 'command',
      attempt: 1,
      of: 3,
      ok: false,
      exitCode: 7,
      error: 'exit 7',
      nextInMs: 5000,
    });
    expect(describeEntry(attempt, state)).toMatch(
      /↻ command on db1: attempt 1 of 3 failed \(exit 7\); next in 5s/,
    );
  });
});
