/**
 * Bidi and invisible characters (issue 11, finding 10) are shown inert, like other
 * controls, by the one escaper every view uses: the console (a frame), the plain lines
 * (live, and replay --plain, which prints the same lines).
 */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEvent} from '../../source/journal/events.js';
import {createSessionStore} from '../../source/store/store.js';
import {App} from '../../source/ui/app.js';
import {describeEntry} from '../../source/ui/plain.js';
import {sanitize} from '../../source/ui/sanitize.js';
import {Journal, opened, plain} from '../ui/fixtures.js';

afterEach(() => cleanup());

const INVISIBLES = [
  0x202e, 0x202a, 0x202b, 0x202c, 0x202d, 0x2066, 0x2067, 0x2068, 0x2069, 0x200b, 0x200c, 0x200d,
  0x200e, 0x200f, 0xfeff, 0x2028, 0x2029, 0x2060, 0x061c, 0x00ad,
];
/** Raw invisibles left in text. */
const raw = (text: string): string[] =>
  [...text]
    .filter((c) => INVISIBLES.includes(c.codePointAt(0)!))
    .map((c) => c.codePointAt(0)!.toString(16));

/** "Trojan Source": the text reads `rm -rf / # safe` but runs otherwise. */
const trojan = 'echo ok\u202e; rm -rf / #\u2066 safe\u2069\u200b';

describe('bidi and invisible characters', () => {
  it('are each shown as <U+XXXX> by the escaper', () => {
    for (const code of INVISIBLES) {
      const c = String.fromCodePoint(code);
      const out = sanitize(`a${c}b`);
      expect(out).toBe(`a<U+${code.toString(16).toUpperCase().padStart(4, '0')}>b`);
    }
    // Ordinary text, accents, CJK and emoji are left as they are.
    expect(sanitize('café 日本 🚀 naïve')).toBe('café 日本 🚀 naïve');
  });

  const session = (): Journal => {
    const j = new Journal();
    j.add(opened);
    j.add({type: 'phase-entered', phase: 'prepare'});
    const events: JournalEvent[] = [
      {
        type: 'step-started',
        step: 'prepare/notice',
        runs: [{host: 'db1', command: trojan}],
        attempt: 1,
      },
      {type: 'output', step: 'prepare/notice', host: 'db1', stream: 'stdout', text: `${trojan}\n`},
      {type: 'notice', step: 'prepare/notice', level: 'warn', text: trojan},
      {type: 'variable-captured', step: 'prepare/notice', name: 'pod', value: trojan},
      {
        type: 'host-finished',
        step: 'prepare/notice',
        host: 'db1',
        exitCode: 1,
        outcome: 'failed',
        error: trojan,
      },
      {
        type: 'decision',
        step: 'prepare/notice',
        decision: 'skip',
        by: 'ana@bastion',
        reason: trojan,
      },
      {
        type: 'step-finished',
        step: 'prepare/notice',
        outcome: 'skipped',
        durationMs: 5,
        reason: trojan,
      },
    ];
    for (const e of events) j.add(e);
    return j;
  };

  it('never reach the plain view raw (commands, output, notices, values, errors, reasons)', () => {
    const j = session();
    const store = createSessionStore();
    const lines: string[] = [];
    for (const e of j.entries) {
      store.getState().apply(e);
      const line = describeEntry(e, store.getState());
      if (line) lines.push(line);
    }
    const text = lines.join('\n');
    expect(raw(text)).toEqual([]);
    expect(text).toContain('echo ok<U+202E>; rm -rf / #<U+2066> safe<U+2069><U+200B>');
  });

  it('never reach the console raw', () => {
    const j = session();
    const store = createSessionStore();
    store.getState().applyMany(j.entries);
    const r = render(
      <App store={store} mode="replay" size={{rows: 40, columns: 160}} cadenceMs={0} />,
    );
    const frame = plain(r.lastFrame());
    expect(frame).toContain('<U+202E>');
    expect(
      raw(frame),
      frame
        .split('\n')
        .filter((l) => raw(l).length)
        .join('\n'),
    ).toEqual([]);
  });
});
