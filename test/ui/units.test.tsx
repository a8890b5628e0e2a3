import {cleanup, render} from 'ink-testing-library';
import type {Key} from 'ink';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import {App} from '../../source/ui/app.js';
import {windowOf} from '../../source/ui/components/window.js';
import {sparkline, wrapLine} from '../../source/ui/derive.js';
import {
  activeBindings,
  bindings,
  footerLine,
  resolve,
  type KeyContext,
} from '../../source/ui/keys.js';
import {layout} from '../../source/ui/layout.js';
import {frame, storeAt, upTo} from './fixtures.js';

afterEach(() => cleanup());

const key = (over: Partial<Key> = {}): Key => ({
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
  ...over,
});

const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
  mode: 'live',
  view: 'main',
  focus: 'none',
  answerEmpty: true,
  hostTabs: 2,
  running: true,
  away: false,
  closed: false,
  ...over,
});

describe('layout', () => {
  it('never asks for more lines than the terminal has, minus one', () => {
    for (let rows = 12; rows <= 80; rows += 3)
      for (let columns = 40; columns <= 260; columns += 20)
        for (const prompt of [0, 5, 40])
          for (const counts of [0, 2, 9])
            for (const output of [2, 500]) {
              const l = layout({
                rows,
                columns,
                prompt,
                counts,
                checklist: 12,
                checklistMax: 60,
                output,
                replayBar: true,
                banner: prompt === 0 ? 2 : 0,
              });
              const used =
                l.header +
                l.footer +
                l.replayBar +
                l.banner +
                l.prompt +
                (l.wide ? l.body : l.checklist.rows + l.output.rows + l.counts);
              expect(
                used,
                JSON.stringify({rows, columns, prompt, counts, output}),
              ).toBeLessThanOrEqual(rows - 1);
              expect(
                l.wide ? Math.max(l.checklist.rows, l.output.rows + l.counts) : 0,
              ).toBeLessThanOrEqual(l.body);
            }
  });

  it('gives the output at least 40% when it has that much to show, and the rest to the checklist', () => {
    const l = layout({
      rows: 24,
      columns: 80,
      prompt: 6,
      counts: 0,
      checklist: 10,
      checklistMax: 60,
      output: 500,
      replayBar: true,
      banner: 0,
    });
    expect(l.output.rows).toBeGreaterThanOrEqual(Math.ceil(l.body * 0.4));
    const idle = layout({
      rows: 24,
      columns: 80,
      prompt: 6,
      counts: 0,
      checklist: 10,
      checklistMax: 60,
      output: 2,
      replayBar: true,
      banner: 0,
    });
    expect(idle.checklist.rows).toBeGreaterThan(l.checklist.rows);
  });
});

describe('windowOf', () => {
  it('fits in its rows, markers included, and keeps the focus in view', () => {
    for (let total = 0; total < 40; total++)
      for (let rows = 0; rows < 15; rows++)
        for (let focus = 0; focus < total; focus += 3) {
          const s = windowOf(total, rows, {focus});
          const used = s.end - s.start + (s.above ? 1 : 0) + (s.below ? 1 : 0);
          expect(used).toBeLessThanOrEqual(rows);
          if (rows < 3) continue; // no room to say what is hidden
          expect(focus >= s.start && focus < s.end).toBe(true);
          expect(s.above + (s.end - s.start) + s.below).toBe(total);
        }
  });
});

describe('the key table', () => {
  it('offers nothing that changes the session in read-only or replay', () => {
    for (const mode of ['read-only', 'replay'] as const)
      for (const focus of ['none', 'text'] as const)
        expect(activeBindings(ctx({mode, focus})).filter((b) => b.mutating)).toEqual([]);
  });

  it('leaves printable keys to a focused answer, except ? on an empty one', () => {
    expect(resolve(ctx({focus: 'text', answerEmpty: false}), 'l', key())).toBeUndefined();
    expect(resolve(ctx({focus: 'text', answerEmpty: false}), '?', key())).toBeUndefined();
    expect(resolve(ctx({focus: 'text', answerEmpty: true}), '?', key())?.id).toBe('help');
    expect(resolve(ctx({focus: 'text'}), 'l', key({ctrl: true}))?.id).toBe('log');
    expect(resolve(ctx({focus: 'none'}), 'l', key())?.id).toBe('log');
    expect(resolve(ctx({focus: 'text'}), '', key({tab: true}))?.id).toBe('next-host');
    expect(resolve(ctx({mode: 'replay'}), ' ', key())?.id).toBe('pause');
    expect(resolve(ctx(), ' ', key())).toBeUndefined();
  });

  it('draws a footer that fits and always says how to get help', () => {
    for (const width of [40, 80, 200])
      for (const mode of ['live', 'read-only', 'replay'] as const) {
        const line = footerLine(
          ctx({mode, replay: {paused: false, follow: false, phases: 3}}),
          width,
        );
        expect(line.length).toBeLessThanOrEqual(width);
        expect(line.startsWith('? help')).toBe(true);
      }
  });

  it('has unique ids and a help text for every key', () => {
    expect(new Set(bindings.map((b) => b.id)).size).toBe(bindings.length);
    for (const b of bindings) expect(b.help.length).toBeGreaterThan(5);
  });
});

describe('small pieces', () => {
  it('sparklines stand on a fixed floor of 0 (never rescaled) and leave gaps for unreadable ones', () => {
    expect(sparkline([10, 5, null, 0], 10)).toBe('█▅ ▁');
    expect(sparkline([3, 3, 3], 2)).toBe('██');
    expect(sparkline([15, 10], 5, 20)).toBe('▆▅');
    expect(sparkline([], 5)).toBe('');
  });

  it('wraps prompt text at spaces, cutting only words longer than a line', () => {
    expect(wrapLine('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrapLine('abcdefghijklmn', 5)).toEqual(['abcde', 'fghij', 'klmn']);
    expect(wrapLine('short', 10)).toEqual(['short']);
  });
});

describe('rendering budget', () => {
  it('batches a burst of output into a frame or two, not one per event', async () => {
    const {store, journal} = storeAt(upTo((e) => e.type === 'step-started'));
    const r = render(
      <App store={store} mode="read-only" size={{rows: 24, columns: 80}} cadenceMs={100} />,
    );
    await frame(r, (t) => t.includes('Restart the services'));
    const before = r.frames.length;
    for (let i = 0; i < 2000; i++)
      store.getState().apply(
        journal.add(
          {
            type: 'output',
            step: 'deploy/restart',
            host: 'alpha',
            stream: 'stdout',
            text: `line ${i}\n`,
          },
          0,
        ),
      );
    await frame(r, (t) => t.includes('line 1999'));
    expect(r.frames.length - before).toBeLessThanOrEqual(3);
  });

  it('keeps the output it holds bounded while a step prints a lot', async () => {
    const {store, journal} = storeAt(upTo((e) => e.type === 'step-started'));
    const chunk = 'x'.repeat(1023) + '\n';
    for (let i = 0; i < 4096; i++)
      store
        .getState()
        .apply(
          journal.add(
            {type: 'output', step: 'deploy/restart', host: 'alpha', stream: 'stdout', text: chunk},
            0,
          ),
        );
    const held = store.getState().output['deploy/restart']!['alpha']!;
    expect(held.bytes).toBe(4096 * 1024);
    expect(held.text.length).toBeLessThanOrEqual(64 * 1024);
  });
});
