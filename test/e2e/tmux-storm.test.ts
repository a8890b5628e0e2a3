/**
 * No stray decision, in a real terminal: 1,000 random keys (letters, digits, Enter, y, n,
 * g, o, spaces, arrows) sent by tmux in bursts at the gate and then at the danger prompt
 * of a live console journal no decision; the prompts then still take their word.
 * Bursts are paced by reading the screen between them (no fixed sleeps).
 */
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cliJs, driverEnv, ensureBuilt, tmuxAvailable, TmuxPane} from '../helpers/tmux.js';
import {journalOf, writeTestSite, type TestSite} from '../helpers/tmux-site.js';

const panes: TmuxPane[] = [];
const sites: TestSite[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const p of panes) p.kill();
  for (const s of sites) fs.rmSync(s.dir, {recursive: true, force: true});
});

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

/** One key as tmux names it, weighted toward Enter and y, n, g, o. */
function randomKey(next: () => number): string {
  const r = next();
  if (r < 0.12) return 'Enter';
  if (r < 0.3) return 'yngo'[Math.floor(next() * 4)]!;
  if (r < 0.4) return 'Space';
  if (r < 0.5) return ['Up', 'Down', 'Left', 'Right'][Math.floor(next() * 4)]!;
  if (r < 0.65) return String(Math.floor(next() * 10));
  return 'abcdefghijklmnopqrstuvwxyz'[Math.floor(next() * 26)]!;
}

/** Sends `total` keys in bursts of 1–12, reading the screen between bursts. */
function storm(pane: TmuxPane, seed: number, total = 1000): number {
  const next = random(seed);
  let sent = 0;
  while (sent < total) {
    const burst = Array.from({length: 1 + Math.floor(next() * 12)}, () => randomKey(next)).slice(
      0,
      total - sent,
    );
    pane.keys(...burst);
    sent += burst.length;
    pane.screen();
  }
  return sent;
}

const decisions = (site: TestSite): number =>
  readJournal(journalOf(site)).entries.filter((e) => e.type === 'decision').length;

describe.skipIf(!tmuxAvailable())('a storm of keys in a real terminal', () => {
  it.each([
    {columns: 80, rows: 24, seed: 7},
    {columns: 200, rows: 50, seed: 11},
  ])(
    'decides nothing at a gate or a danger prompt ($columns×$rows)',
    async (size) => {
      const site = writeTestSite({warmUpSeconds: 0});
      sites.push(site);
      const pane = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'run', './console-test.ts', '--profile', './console-test.yaml'],
        env: driverEnv({XDG_STATE_HOME: site.state}),
        cwd: site.dir,
      });
      panes.push(pane);

      await pane.waitFor('GATE · Canary green? Type go', 30_000);
      expect(storm(pane, size.seed)).toBe(1000);
      let screen = await pane.waitFor('GATE · Canary green? Type go');
      expect(decisions(site)).toBe(0);
      pane.keys('Escape');
      await pane.answer('go');

      screen = await pane.waitFor('DANGER · Restart the app on the pair', 30_000);
      expect(storm(pane, size.seed + 1)).toBe(1000);
      screen = await pane.waitFor('DANGER · Restart the app on the pair');
      expect(screen).toMatch(/◆ Restart the app on the pair ⚠ +waiting for you/);
      expect(decisions(site)).toBe(1); // the gate's "go", typed on purpose
      pane.keys('Escape');
      await pane.answer('restart');
      await pane.waitFor(/▶ Wait until the queue drains|TO DO · Enable the app/, 30_000);
      const entries = readJournal(journalOf(site)).entries.filter((e) => e.type === 'decision');
      expect(entries.map((e) => [e.decision, e.value])).toEqual([
        ['go', 'go'],
        ['confirm', 'restart'],
      ]);
    },
    180_000,
  );
});
