import path from 'node:path';
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import {loadReplay} from '../../source/commands/replay.js';
import {foldAll} from '../../source/store/fold.js';
import {createSessionStore, snapshotOf} from '../../source/store/store.js';
import {App} from '../../source/ui/app.js';
import {checklistRows} from '../../source/ui/derive.js';
import {MAX_GAP_MS, parseTime, ReplayPlayer} from '../../source/ui/replay-player.js';
import {frame, Journal, press, wholeSession} from './fixtures.js';

afterEach(() => cleanup());

/** A clock the test moves: timers fire only when it is advanced. */
function fakeClock() {
  let now = 0;
  let timers: {fn: () => void; at: number}[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = {fn, at: now + ms};
      timers.push(t);
      return t;
    },
    clearTimer: (t: unknown) => {
      timers = timers.filter((x) => x !== t);
    },
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.fn();
      }
      now = until;
    },
  };
}

/** The whole session, with a long stretch of output so checkpoints come into play. */
function longJournal(): Journal {
  const journal = new Journal();
  const events = wholeSession();
  const restart = events.findIndex((e) => e.type === 'step-started');
  for (const e of events.slice(0, restart + 1)) journal.add(e);
  for (let i = 0; i < 600; i++)
    journal.add(
      {
        type: 'output',
        step: 'deploy/restart',
        host: 'alpha',
        stream: 'stdout',
        text: `line ${i}\n`,
      },
      0.01,
    );
  for (const e of events.slice(restart + 1)) journal.add(e);
  return journal;
}

const setup = (options: {speed?: number; follow?: boolean} = {}) => {
  const journal = longJournal();
  const store = createSessionStore();
  const clock = fakeClock();
  const player = new ReplayPlayer(store, journal.entries, {...options, ...clock});
  return {journal, store, clock, player};
};

describe('the replay player', () => {
  it('plays to the end and leaves the store as the fold of the whole journal', () => {
    const {journal, store, clock, player} = setup({speed: 8});
    player.play();
    expect(player.position().index).toBe(1);
    clock.advance(10 * 60_000);
    expect(player.position()).toMatchObject({index: journal.entries.length, paused: false});
    expect(snapshotOf(store)).toEqual(foldAll(journal.entries));
  });

  it('shortens long waits to at most 2 s', () => {
    const journal = new Journal();
    journal.add(wholeSession()[0]!);
    journal.add(wholeSession()[1]!, 3600); // an hour later
    const store = createSessionStore();
    const clock = fakeClock();
    const player = new ReplayPlayer(store, journal.entries, {speed: 1, ...clock});
    player.play();
    clock.advance(MAX_GAP_MS - 1);
    expect(player.position().index).toBe(1);
    clock.advance(1);
    expect(player.position().index).toBe(2);
  });

  it('steps back and forth, and seeks through checkpoints to exactly the same state', () => {
    const {journal, store, clock, player} = setup({speed: 256});
    player.play();
    clock.advance(60 * 60_000);
    for (const target of [journal.entries.length - 1, 500, 300, 257, 256, 3, 0]) {
      player.step(target - player.position().index);
      expect(player.position().index).toBe(target);
      expect(snapshotOf(store)).toEqual(foldAll(journal.entries.slice(0, target)));
    }
    expect(player.position().paused).toBe(true);
    player.step(1);
    expect(snapshotOf(store)).toEqual(foldAll(journal.entries.slice(0, 1)));
  });

  it('jumps to phases and to times', () => {
    const {journal, store, player} = setup({speed: 1});
    player.play();
    player.phaseNumber(2);
    const deploy = journal.entries.findIndex(
      (e) => e.type === 'phase-entered' && e.phase === 'deploy',
    );
    expect(player.position().index).toBe(deploy + 1);
    // Seeking pauses: the screen holds where the driver jumped.
    expect(player.position().paused).toBe(true);
    expect(store.getState().phases.find((p) => p.id === 'deploy')?.entered).toBeDefined();
    // The checklist points at the phase landed on, though none of its steps has started.
    const active = checklistRows(store.getState(), Date.now(), {budget: 40}).filter(
      (r) => r.kind === 'phase' && r.active,
    );
    expect(active.map((r) => r.kind === 'phase' && r.key)).toEqual(['phase:deploy']);
    expect(player.position()).toMatchObject({phase: 2, phases: 3});
    player.phase(1);
    expect(player.position().phase).toBe(3);
    player.phase(-1);
    expect(player.position().phase).toBe(2);
    player.phase(-1);
    expect(player.position().phase).toBe(1);

    const first = Date.parse(journal.entries[0]!.time);
    expect(player.goTo('+10s')).toBeUndefined();
    expect(Date.parse(player.position().time!)).toBeLessThanOrEqual(first + 10_000);
    expect(Date.parse(journal.entries[player.position().index]!.time)).toBeGreaterThan(
      first + 10_000,
    );
    expect(player.goTo('10:00:20')).toBeUndefined();
    expect(player.position().time! <= '2026-11-20T10:00:20.000Z').toBe(true);
    expect(player.goTo('half past ten')).toMatch(/is not a time/);
    player.end();
    expect(player.position().index).toBe(journal.entries.length);
    player.start();
    expect(player.position()).toMatchObject({index: 0, paused: true});
  });

  it('pauses, and changes speed in steps', () => {
    const {clock, player} = setup({speed: 1});
    player.play();
    player.togglePause();
    const at = player.position().index;
    clock.advance(60_000);
    expect(player.position().index).toBe(at);
    player.faster();
    player.faster();
    expect(player.position().speed).toBe(4);
    player.slower();
    expect(player.position().speed).toBe(2);
    for (let i = 0; i < 10; i++) player.slower();
    expect(player.position().speed).toBe(0.25);
    player.togglePause();
    clock.advance(60_000);
    expect(player.position().index).toBeGreaterThan(at);
  });

  it('following: entries appended at the live edge show at once', () => {
    const journal = new Journal();
    for (const e of wholeSession().slice(0, 5)) journal.add(e);
    const more = new Journal();
    for (const e of wholeSession().slice(0, 8)) more.add(e);
    const store = createSessionStore();
    const clock = fakeClock();
    const player = new ReplayPlayer(store, journal.entries, {speed: 256, follow: true, ...clock});
    player.play();
    clock.advance(60_000);
    expect(player.position().index).toBe(5);
    player.append(more.entries.slice(5));
    expect(player.position().index).toBe(8);
    expect(snapshotOf(store)).toEqual(foldAll(more.entries));
  });

  it('reads times of day as UTC on the session’s day, and offsets from its start', () => {
    const first = '2026-11-20T23:50:00.000Z';
    expect(parseTime('23:55', first)).toBe(Date.parse('2026-11-20T23:55:00Z'));
    expect(parseTime('00:10:30', first)).toBe(Date.parse('2026-11-21T00:10:30Z'));
    expect(parseTime('+1h5m', first)).toBe(Date.parse(first) + 65 * 60_000);
    expect(parseTime('25:00', first)).toBeUndefined();
  });
});

describe('the replay console', () => {
  it('has transport keys and a position bar, and offers nothing that changes anything', async () => {
    const {journal, store, clock, player} = setup({speed: 256});
    const r = render(
      <App
        store={store}
        mode="replay"
        replay={player}
        size={{rows: 30, columns: 120}}
        cadenceMs={0}
        pasteGapMs={0}
      />,
    );
    player.play();
    clock.advance(60 * 60_000);
    const total = journal.entries.length;
    let text = await frame(r, (t) => t.includes(`event ${total}/${total}`));
    expect(text).toMatch(/^ REPLAY /);
    expect(text).toMatch(/▶ 256× ━+● 10:00:\d\d \+\d+s · event \d+\/\d+ · phase 3\/3/);
    expect(text).toContain('Space pause');
    expect(text).not.toMatch(/answer|cancel command|leave/);
    await press(r, ' ');
    text = await frame(r, (t) => t.includes('❚❚'));
    await press(r, '1');
    text = await frame(r, (t) => t.includes('phase 1/3'));
    await press(r, 'n');
    await frame(r, (t) => /event 3\//.test(t));
    await press(r, 'p');
    await frame(r, (t) => /event 2\//.test(t));
    await press(r, 'g');
    await frame(r, (t) => t.includes('Go to a time in the session'));
    await press(r, '+30s');
    await frame(r, (t) => t.includes('> +30s'));
    await press(r, '\r');
    text = await frame(r, (t) => !t.includes('Go to a time'));
    expect(text).toMatch(/ \+(2\d|30)s · event/);
  });
});

describe('how a replayed journal ended', () => {
  const fixture = (name: string) => path.join(import.meta.dirname, '../fixtures/journals', name);
  for (const [name, state, said] of [
    [
      'sealed.jsonl',
      'sealed',
      /■ session finished at 06:36:\d\d after \d+s · sealed, checksum verified/,
    ],
    [
      'crashed.jsonl',
      'open',
      /■ ended without a close at 06:37 — the session crashed or is still running/,
    ],
    [
      'damaged.jsonl',
      'damaged',
      /■ damaged at byte 5824 \(line 19: checksum mismatch\); replayed the 17/,
    ],
  ] as const) {
    it(`says so at the end of ${name}, from the store's end fact, at 80×24`, async () => {
      const store = createSessionStore();
      const {player, read} = await loadReplay(fixture(name), store, {speed: 0, ...fakeClock()});
      expect(read.damage.length).toBe(state === 'damaged' ? 1 : 0);
      // The fact is in the store, folded like an event: the screen only shows it.
      expect(store.getState().journalEnd?.state).toBe(state);
      player.end();
      const r = render(
        <App
          store={store}
          mode="replay"
          replay={player}
          size={{rows: 24, columns: 80}}
          cadenceMs={0}
          pasteGapMs={0}
        />,
      );
      const text = await frame(r, (t) => t.includes('■ '));
      expect(text).toMatch(said);
      // Going back keeps the fact (it is the journal's); only the end says it.
      player.start();
      await frame(r, (t) => !t.includes('■ '));
      expect(store.getState().journalEnd?.state).toBe(state);
    });
  }
});
