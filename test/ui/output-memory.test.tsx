/**
 * The console's memory during a flood stays flat: every frame draws new lines of a long
 * output, and what the screen has drawn must not keep each frame's whole output alive
 * (Ink keeps every drawn text in a module-wide measure cache).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import {App} from '../../source/ui/app.js';
import {frame, storeAt, upTo} from './fixtures.js';

afterEach(() => cleanup());

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** About 64 KB of output whose every line is new (a log with counters). */
const burst = (k: number): string =>
  Array.from({length: 2000}, (_, i) => `frame ${k} line ${i} ${'x'.repeat(20)}\n`).join('') +
  `end of frame ${k}\n`;

describe('a flood of distinct lines', () => {
  it('does not keep each drawn frame of output in memory', async () => {
    const {store, journal} = storeAt(
      upTo((e) => e.type === 'output' && e.step === 'deploy/restart'),
    );
    const r = render(
      <App
        store={store}
        mode="live"
        size={{rows: 40, columns: 120}}
        cadenceMs={0}
        guardMs={0}
        pasteGapMs={0}
        theme={{colour: false}}
        onDecision={() => true}
      />,
    );
    const draw = async (k: number): Promise<void> => {
      // Straight into the store: the fixture's journal would keep every entry.
      const last = journal.entries.at(-1)!;
      store.getState().apply({
        type: 'output',
        step: 'deploy/restart',
        host: 'alpha',
        stream: 'stdout',
        text: burst(k),
        seq: last.seq + 1 + k,
        time: last.time,
        mono: last.mono,
      });
      await frame(r, (text) => text.includes(`end of frame ${k}`));
    };
    for (let k = 0; k < 10; k++) await draw(k);
    const before = heapAfterGc();
    for (let k = 10; k < 160; k++) await draw(k);
    const grown = heapAfterGc() - before;
    // 150 frames of 64 KB each: kept, they would be over 10 MB; the lines drawn are ~0.3 MB.
    expect(grown).toBeLessThan(4e6);
  }, 120_000);
});
