/**
 * The count pane at a watch, as the driver sees it at 80×24: what is counted, from where
 * to where, a sparkline that never rescales a real count to the empty bar, the time left,
 * the timeout, a link that is down, and what investigate shows.
 */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEvent} from '../../source/journal/events.js';
import {App} from '../../source/ui/app.js';
import {sparkline} from '../../source/ui/derive.js';
import {frame, START, storeAt, upTo} from './fixtures.js';

afterEach(() => cleanup());

const SMALL = {rows: 24, columns: 80};
const STEP = 'deploy/drain';
const at = (seconds: number): string => new Date(START + seconds * 1000).toISOString();

/** The session up to the drain watch starting, then `events` (one second apart). */
function watch(events: JournalEvent[]) {
  const {store, journal} = storeAt(upTo((e) => e.type === 'step-started' && e.step === STEP));
  for (const e of events) store.getState().apply(journal.add(e));
  const r = render(
    <App
      store={store}
      mode="replay"
      size={SMALL}
      cadenceMs={0}
      guardMs={0}
      pasteGapMs={0}
      theme={{colour: false}}
      onDecision={() => true}
    />,
  );
  return {r, store, journal};
}

const sample = (value: number | null, extra: Partial<JournalEvent> = {}): JournalEvent =>
  ({
    type: 'count-sampled',
    step: STEP,
    value,
    target: '= 0',
    unit: 'connected daemons',
    deadline: at(30 * 60),
    ...extra,
  }) as JournalEvent;

describe('the count pane', () => {
  it('says what is counted, from where, the target, and the time left before the timeout', async () => {
    const {r} = watch([sample(15), sample(12), sample(10), sample(10)]);
    const text = await frame(r, (t) => t.includes('◷'));
    expect(text).toMatch(/◷ 10 connected daemons → = 0 · from 15/);
    expect(text).toMatch(/changed 1s ago · \d+m\d\ds left before the timeout/);
  });

  it('draws the sparkline on a fixed floor: 10 of 15 is not the empty bar, and the target is marked', async () => {
    expect(sparkline([15, 12, 10, 10], 10, 0)).toBe('█▇▆▆');
    expect(sparkline([0, 0], 10, 0)).toBe('▁▁');
    const {r} = watch([sample(15), sample(10)]);
    const text = await frame(r, (t) => t.includes('◷'));
    expect(text).toMatch(/█▆ ┊▁ target {2}\(0–15\)/);
  });

  it('keeps the scale whole at 80 columns once the sparkline is full', async () => {
    const values = Array.from({length: 40}, (_, i) => 15 - (i % 6));
    const {r} = watch(values.map((v) => sample(v)));
    const text = await frame(r, (t) => t.includes('◷'));
    const head = text.split('\n').find((l) => l.includes('◷'))!;
    expect(head).toMatch(/ ┊▁ target {2}\(0–15\)$/);
    expect(head.length).toBeLessThanOrEqual(SMALL.columns);
  });

  it('says when the watch timed out (a time, never dashes) and what wait and investigate do', async () => {
    const {r} = watch([
      sample(9),
      sample(9),
      {
        type: 'prompt-shown',
        step: STEP,
        prompt: 'watch-timeout',
        text: '"Wait until the queue drains" did not reach its target in time. Keep waiting, investigate, skip with a reason, or abort.',
      },
    ]);
    const text = await frame(r, (t) => t.includes('timed out at'));
    expect(text).toMatch(/timed out at 10:00/);
    expect(text).not.toContain('--:--');
    expect(text).toMatch(
      /wait: poll again, new timeout · investigate: stop, show last probe output/,
    );
  });

  it('investigating shows the last probe read', async () => {
    const {r} = watch([
      sample(9, {raw: 'queue: 9 waiting'}),
      {
        type: 'prompt-shown',
        step: STEP,
        prompt: 'watch-timeout',
        text: 'Investigating "Wait until the queue drains". Keep waiting when ready, skip with a reason, or abort.',
      },
    ]);
    const text = await frame(r, (t) => t.includes('investigating:'));
    expect(text).toMatch(
      /investigating: polling stopped; the last probe output is in the output pane/,
    );
    expect(text).toMatch(/last probe output: queue: 9 waiting/);
  });

  it('says the link is down since when, instead of a bare question mark', async () => {
    const {r} = watch([
      sample(9),
      {type: 'link', host: 'alpha', state: 'down', error: 'connection reset'},
      sample(null),
    ]);
    const text = await frame(r, (t) => t.includes('link down'));
    expect(text).toMatch(/◷ unreadable connected daemons/);
    expect(text).toMatch(/✖ link down since 10:00 \(alpha\)/);
    expect(text).not.toMatch(/still \?/);
  });
});
