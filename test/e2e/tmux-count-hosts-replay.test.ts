/**
 * Issue 12 #5, #6 and #7 in a real tmux, at 80×24 and at 200×50, one session per size.
 *
 * #5 and #6, live (a small machine, local transport, eight hosts): the header says "+N"
 * for the hosts it has no room for; PgUp and PgDn move the output a page; at a watch the
 * count pane says what is counted and the target, draws 10 of 15 well above the floor,
 * says when it timed out (a time), what `investigate` shows, and after `wait` a new timer.
 * #7, replay of a run made with `--plain --yes` whose phases are numbered 1, 2, 5, 6, 7:
 * `5` while playing lands, paused, where "5. Verify" began (not the fifth phase), and the
 * only clock on screen is the bar's, the time of the event it stands on.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli, waitForEntry} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';
import {cliJs, driverEnv, ensureBuilt, rows, tmuxAvailable, TmuxPane} from '../helpers/tmux.js';

const panes: TmuxPane[] = [];
const dirs: string[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const p of panes) p.kill();
  for (const d of dirs) fs.rmSync(d, {recursive: true, force: true});
});

const sizes = [
  {columns: 80, rows: 24},
  {columns: 200, rows: 50},
];

const HOSTS = ['web-01', 'web-02', 'web-03', 'web-04', 'web-05', 'web-06', 'web-07', 'web-08'];

/**
 * A fan-out to eight hosts, 300 lines of output, a gate to look at them, then a watch whose
 * count falls from 15 to 10 and stays there until the test writes 0 (`#{` for `${`).
 */
const liveMachine = String.raw`export default site({
  id: 'count-hosts',
  title: 'Count and hosts',
  variables: {count_file: 'the queue length'},
  phases: [
    phase({
      id: 'fleet',
      title: '1. Fleet',
      steps: [
        command({id: 'hello', title: 'Say hello on the fleet', run: 'echo "hello from $CREWCHIEF_HOST"', on: '@fleet'}),
        command({id: 'listing', title: 'Print a long listing', run: 'seq 1 300 | sed "s/^/row /"'}),
        gate({id: 'look', title: 'Listing looks right?', checks: ['300 rows']}),
      ],
    }),
    phase({
      id: 'drain',
      title: '2. Drain',
      steps: [
        watch({
          id: 'queue',
          title: 'Wait until the queue drains',
          probe: 'n=$(cat "#{count_file}"); echo "queue: $n"; if [ "$n" -gt 10 ]; then echo $((n - 1)) > "#{count_file}"; fi',
          parse: 'queue: (\\d+)',
          until: {equals: 0},
          unit: 'queued jobs',
          every: '300ms',
          patience: '10m',
          timeout: '20s',
        }),
        manual({id: 'close', title: 'Close the ticket'}),
      ],
    }),
  ],
});`.replace(/#\{/g, '${');

const liveProfile = (countFile: string): string => `site: count-hosts
title: Count and hosts
release: 2026-12-01
transport: local
hosts:
${HOSTS.map((h) => `  ${h}: {}`).join('\n')}
groups:
  fleet: [${HOSTS.join(', ')}]
variables:
  count_file: ${countFile}
`;

/** Five phases numbered 1, 2, 5, 6, 7; the first prints ten lines slowly (time to press a key). */
const replayMachine = String.raw`const step = (id: string, run: string) => command({id, title: 'Run ' + id, run});
export default site({
  id: 'numbered',
  title: 'Numbered phases',
  phases: [
    phase({id: 'prepare', title: '1. Prepare', steps: [step('ticks', 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "tick $i"; sleep 0.4; done')]}),
    phase({id: 'deploy', title: '2. Deploy', steps: [step('deploy', 'sleep 0.3; echo deployed')]}),
    phase({id: 'verify', title: '5. Verify', steps: [step('verify', 'sleep 0.3; echo verified')]}),
    phase({id: 'notify', title: '6. Notify', steps: [step('notify', 'sleep 0.3; echo notified')]}),
    phase({id: 'close', title: '7. Close', steps: [step('close', 'sleep 0.3; echo closed')]}),
  ],
});`;

/** The one journal under a state directory. */
const journalIn = (state: string): string => {
  const dir = path.join(state, 'crewchief', 'sessions');
  return path.join(
    dir,
    fs.readdirSync(dir).find((f) => f.endsWith('.jsonl'))!,
  );
};

/** The numbers of the listing's rows in view, top to bottom. */
const listed = (screen: string): number[] =>
  rows(screen).flatMap((l) => {
    const m = /\brow (\d+)$/.exec(l);
    return m ? [Number(m[1])] : [];
  });

/**
 * Whether the listing in view is one whole window: consecutive rows, and the lines above
 * and below saying how many are hidden (a capture between two frames can hold parts of both).
 */
function wholeWindow(screen: string, shown: readonly number[]): boolean {
  const [first, last] = [shown[0], shown.at(-1)];
  if (first === undefined || last === undefined || shown.length < 2) return false;
  if (shown.some((n, i) => n !== first + i)) return false;
  const above = first === 1 || screen.includes(`… ${first - 1} earlier line`);
  const below = last === 300 || screen.includes(`… ${300 - last} later line`);
  return above && below;
}

/** The listing in view once it has settled on a whole window other than `before`. */
async function movedFrom(pane: TmuxPane, before: readonly number[]): Promise<number[]> {
  const screen = await pane.waitFor((s) => {
    const now = listed(s);
    return wholeWindow(s, now) && now[0] !== before[0];
  }, 30_000);
  return listed(screen);
}

/** The count pane's first line: value, unit, target, start, sparkline. */
const HEAD = /◷ (\d+) queued jobs → = 0 · from 15 {2}([▁▂▃▄▅▆▇█]+) ┊▁ target/;

/** The replay bar: state, speed, position, clock, event and phase. */
const BAR = /^(▶|❚❚) ¼× +[━●─]+ (\d\d:\d\d:\d\d) \+\S+ · event (\d+)\/(\d+) · phase (\d+)\/(\d+)/m;

describe.skipIf(!tmuxAvailable())('issue 12 #5, #6, #7 in tmux: counts, hosts, replay', () => {
  for (const size of sizes) {
    it(`a watch, eight hosts and a long listing, driven at ${size.columns}×${size.rows}`, async () => {
      const dir = tempDir('cc-counthosts-');
      dirs.push(dir);
      const countFile = writeFile(dir, 'queue-length', '15');
      writeMachine(dir, 'machine', liveMachine);
      writeFile(dir, 'p.yaml', liveProfile(countFile));
      const state = path.join(dir, 'state');
      const pane = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'run', './machine.ts', '--profile', './p.yaml'],
        env: driverEnv({XDG_STATE_HOME: state}),
        cwd: dir,
      });
      panes.push(pane);

      // #6: the hosts line keeps the session id; hosts it has no room for are "+N".
      let screen = await pane.waitFor(
        (s) =>
          s.includes('GATE · Listing looks right?') &&
          wholeWindow(s, listed(s)) &&
          listed(s).at(-1) === 300,
        60_000,
      );
      const hostsLine = rows(screen)[1]!;
      expect(hostsLine).toMatch(/ · session count-hosts-p-\S+$/);
      const shown = hostsLine.match(/web-0\d/g) ?? [];
      expect(shown).toEqual(HOSTS.slice(0, shown.length));
      if (size.columns === 80) {
        const hidden = Number(/ \+(\d+) /.exec(hostsLine)?.[1]);
        expect(shown.length).toBeGreaterThan(0);
        expect(shown.length + hidden).toBe(HOSTS.length);
      } else {
        expect(shown).toEqual(HOSTS);
        expect(hostsLine).not.toMatch(/ \+\d+ /);
      }

      // #6: PgUp moves the output a page (the rows just above, none skipped, not one line);
      // PgDn comes back the same page; Esc follows the end again.
      const bottom = listed(screen);
      pane.keys('PPage');
      const page1 = await movedFrom(pane, bottom);
      expect(page1.at(-1)).toBe(bottom[0]! - 1);
      expect(page1.length).toBeGreaterThan(1);
      pane.keys('PPage');
      const page2 = await movedFrom(pane, page1);
      expect(page2.at(-1)).toBe(page1[0]! - 1);
      expect(page2.length).toBe(page1.length);
      pane.keys('NPage');
      expect(await movedFrom(pane, page2)).toEqual(page1);
      pane.keys('Escape');
      expect(await movedFrom(pane, page1)).toEqual(bottom);
      await pane.answer('go');

      // #5: what is counted and the target; 10 of 15 drawn high above the floor.
      screen = await pane.waitFor(
        (s) => HEAD.exec(s)?.[1] === '10' && /\d+s left before the timeout/.test(s),
        60_000,
      );
      const spark = HEAD.exec(screen)![2]!;
      expect(spark).not.toContain('▁');
      expect(spark.at(-1)).toBe('▆');
      expect(screen).toMatch(/┊▁ target {2}\(0–15\)/);

      // #5: timed out, at a time (the time the journal says it asked), never dashes.
      screen = await pane.waitFor('TIMED OUT · Wait until the queue drains', 60_000);
      // The screen may show the prompt a moment before its entry is on disk.
      const asked = await waitForEntry(
        journalIn(state),
        (e) => e.type === 'prompt-shown' && e.prompt === 'watch-timeout',
      );
      expect(screen).toContain(`timed out at ${asked.time.slice(11, 16)} · Wait until the queue`);
      expect(screen).not.toContain('--:--');
      // Still 10 at every sample shown, one bar high above the floor. (Its height depends on
      // the scale: the pane keeps the last 60 samples, so on a fast machine the 15 may have
      // scrolled out of it by now.)
      expect(HEAD.exec(screen)![2]).toMatch(/^([▆▇█])\1*$/);
      expect(screen).toContain('wait (keep waiting) · investigate');

      // #5: investigate stops polling and shows what the probe said last.
      await pane.answer('investigate');
      screen = await pane.waitFor(/Investigating "Wait until the queue drains"/, 30_000);
      expect(screen).toContain('last probe output: queue: 10');
      expect(screen).toMatch(/ℹ \d\d:\d\d:\d\d ana@bastion: investigate/);
      if (size.rows >= 50) expect(screen).toContain('investigating: polling stopped');

      // #5: wait polls again with a new timeout: the pane counts down afresh.
      await pane.answer('wait');
      screen = await pane.waitFor(
        (s) =>
          /▶ Wait until the queue drains/.test(s) &&
          /changed \S+ ago · \d+s left before the timeout/.test(s),
        30_000,
      );
      expect(screen).not.toContain('timed out at');
      expect(screen).not.toContain('TIMED OUT');
      const left = Number(/· (\d+)s left before the timeout/.exec(screen)![1]);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(20);

      // The queue drains: the count reaches its target, at a time.
      fs.writeFileSync(countFile, '0');
      screen = await pane.waitFor('TO DO · Close the ticket', 30_000);
      expect(screen).toMatch(/◷ 0 queued jobs → = 0 · from 15/);
      expect(screen).toMatch(/reached at \d\d:\d\d · Wait until the queue drains/);
      await pane.answer('done');
      await pane.waitFor(/session (finished|complete)/i, 30_000);
      pane.keys('q');
      expect(await pane.exited(20_000)).toBe(0);
    }, 300_000);
  }

  for (const size of sizes) {
    it(`replay: the digit shown jumps to its phase and pauses, one clock, at ${size.columns}×${size.rows}`, async () => {
      const dir = tempDir('cc-numbered-');
      dirs.push(dir);
      const machine = writeMachine(dir, 'numbered', replayMachine);
      const profile = writeFile(
        dir,
        'r.yaml',
        'site: numbered\ntitle: Numbered\nrelease: 2026-12-01\ntransport: local\n',
      );
      const journal = path.join(dir, 'numbered.jsonl');
      const run = await cli(
        ['run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
        {state: dir},
      );
      expect(run.exitCode, run.all).toBe(0);
      const entries = readJournal(journal).entries;
      const verify = entries.findIndex((e) => e.type === 'phase-entered' && e.phase === 'verify');

      const pane = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'replay', journal, '--speed', '0.25'],
        env: driverEnv({}),
      });
      panes.push(pane);
      // Playing, still in the first phase (its ten lines take some sixteen seconds at ¼×).
      await pane.waitFor((s) => {
        const bar = BAR.exec(s);
        return bar?.[1] === '▶' && bar[5] === '1' && s.includes('tick 1');
      }, 60_000);
      pane.keys('5');
      // "5. Verify" is the third phase; the fifth is "7. Close".
      // (The bar and the checklist are drawn by one frame; wait for the frame after the jump.)
      let screen = await pane.waitFor(
        (s) => BAR.exec(s)?.[1] === '❚❚' && /^▸ 5\. Verify/m.test(s),
        30_000,
      );
      const bar = BAR.exec(screen)!;
      expect(bar.slice(3)).toEqual([String(verify + 1), String(entries.length), '3', '5']);
      expect(rows(screen).find((l) => l.includes('5. Verify'))).toMatch(/^▸ 5\. Verify .*0\/1/);
      expect(rows(screen).find((l) => l.includes('7. Close'))).toMatch(/0\/1/);
      // The checklist points at the phase landed on, and only there.
      expect(rows(screen).filter((l) => l.startsWith('▸ '))).toHaveLength(1);
      // One clock: the bar's, the time of the event it stands on; the header has none.
      expect(bar[2]).toBe(entries[verify]!.time.slice(11, 19));
      expect(rows(screen)[0]).toMatch(/^ REPLAY │ Numbered phases │/);
      expect(rows(screen)[0]).not.toMatch(/\d+m\b|\d\d:\d\d/);
      // Paused: it still stands there once the help has been opened and closed.
      pane.keys('?');
      await pane.waitFor('─ keys (dim: not now)', 30_000);
      pane.keys('Escape');
      screen = await pane.waitFor((s) => BAR.test(s) && !s.includes('─ keys (dim'), 30_000);
      expect(BAR.exec(screen)!.slice(1)).toEqual(['❚❚', ...bar.slice(2)]);
      pane.keys('q');
      expect(await pane.exited(20_000)).toBe(0);
    }, 180_000);
  }
});
