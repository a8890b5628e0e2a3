/**
 * No stray decision: a storm of 1,000 random keys (letters, digits, Enter, y, n, g, o,
 * spaces, arrows), sent in bursts, at every kind of prompt, decides nothing. The prompt
 * guard, the paste rule and the guard against a prompt not yet read are all at their
 * real settings; only the clock is fake, so the storm has the timing a person's
 * keyboard (or a cat on it) would have.
 */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import type {DriverEvent} from '../../source/engine/machine.js';
import type {JournalEvent} from '../../source/journal/events.js';
import {App} from '../../source/ui/app.js';
import {frame, storeAt, tick, upTo} from './fixtures.js';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});
beforeEach(() => {
  vi.useFakeTimers({toFake: ['Date']});
});

const ESC = '\u001b';
const ARROWS = [`${ESC}[A`, `${ESC}[B`, `${ESC}[C`, `${ESC}[D`];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** A seeded generator (mulberry32): the same storm every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random key: weighted toward Enter and the answer-like letters y, n, g, o. */
function randomKey(next: () => number): string {
  const r = next();
  if (r < 0.12) return '\r';
  if (r < 0.3) return 'yngo'[Math.floor(next() * 4)]!;
  if (r < 0.4) return ' ';
  if (r < 0.5) return ARROWS[Math.floor(next() * 4)]!;
  if (r < 0.65) return String(Math.floor(next() * 10));
  return LETTERS[Math.floor(next() * LETTERS.length)]!;
}

/**
 * 1,000 keys in bursts of 1–12: a burst is one chunk (a paste, tmux send-keys) or keys
 * a few milliseconds apart; between bursts, pauses of up to a second.
 */
async function storm(
  r: {stdin: {write: (s: string) => void}},
  seed: number,
  total = 1000,
): Promise<{sent: number; loneEnters: number}> {
  const next = random(seed);
  let sent = 0;
  // Enters that came on their own, after a pause: only the words stand in their way.
  let loneEnters = 0;
  let pausedBefore = true;
  while (sent < total) {
    const burst = Array.from({length: 1 + Math.floor(next() * 12)}, () => randomKey(next)).slice(
      0,
      total - sent,
    );
    sent += burst.length;
    if (next() < 0.7) {
      if (burst.length === 1 && burst[0] === '\r' && pausedBefore) loneEnters++;
      await tick();
      r.stdin.write(burst.join(''));
    } else {
      for (const [j, key] of burst.entries()) {
        const gap = Math.floor(next() * 40);
        if (key === '\r' && (j === 0 ? pausedBefore : gap >= 25)) loneEnters++;
        await tick();
        vi.setSystemTime(Date.now() + gap);
        r.stdin.write(key);
      }
    }
    const pause = Math.floor(next() * 1000);
    pausedBefore = pause >= 25;
    vi.setSystemTime(Date.now() + pause);
  }
  await tick();
  return {sent, loneEnters};
}

const after = (type: JournalEvent['type'], step: string): number =>
  upTo((e) => e.type === type && 'step' in e && e.step === step);

type PromptEvent = Extract<JournalEvent, {type: 'prompt-shown'}>;

/** Each prompt kind, as the console shows it. */
const kinds: {kind: PromptEvent['prompt']; at: number; add?: PromptEvent; shows: string}[] = [
  {kind: 'gate', at: after('prompt-shown', 'prepare/go-ahead'), shows: 'GATE'},
  {kind: 'confirm', at: after('prompt-shown', 'deploy/restart'), shows: 'DANGER'},
  {kind: 'failed', at: after('prompt-shown', 'deploy/restart') + 8, shows: 'FAILED'},
  {kind: 'choice', at: after('prompt-shown', 'finish/outcome'), shows: 'CHOOSE'},
  {kind: 'manual', at: after('prompt-shown', 'finish/enable'), shows: 'TO DO'},
  {
    kind: 'unknown',
    at: after('step-started', 'deploy/restart'),
    add: {
      type: 'prompt-shown',
      step: 'deploy/restart',
      prompt: 'unknown',
      text: '"Restart the services" may or may not have run.',
    },
    shows: 'OUTCOME UNKNOWN',
  },
  {
    kind: 'watch-timeout',
    at: upTo((e) => e.type === 'count-stalled'),
    add: {
      type: 'prompt-shown',
      step: 'deploy/drain',
      prompt: 'watch-timeout',
      text: '"Wait until the queue drains" did not reach its target in time.',
    },
    shows: 'TIMED OUT',
  },
];

describe('a storm of keys', () => {
  for (const [i, k] of kinds.entries()) {
    it(`decides nothing at a ${k.kind} prompt`, async () => {
      const {store, journal} = storeAt(k.at);
      if (k.add) store.getState().apply(journal.add(k.add));
      expect(store.getState().prompt?.prompt).toBe(k.kind);
      const decisions: DriverEvent[] = [];
      const r = render(
        <App
          store={store}
          mode="live"
          size={{columns: 80, rows: 24}}
          cadenceMs={0}
          theme={{colour: false}}
          onDecision={(e) => decisions.push(e) > 0}
        />,
      );
      await frame(r, (t) => t.includes(k.shows));
      const {sent, loneEnters} = await storm(r, 1000 + i);
      expect(sent).toBe(1000);
      // Some Enters came alone after a pause and were read as answers: the words held.
      expect(loneEnters).toBeGreaterThan(0);
      const text = await frame(r, (t) => t.includes(k.shows));
      expect(decisions).toEqual([]);
      // The prompt is still up, and still answers a deliberate word typed as a person would.
      expect(text).toContain(k.shows);
    }, 180_000);
  }
});
