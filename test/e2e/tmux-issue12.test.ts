/**
 * Issue 12 in a real tmux, at 80×24 and at 200×50, with the quick-start demo driven by
 * hand (`crewchief demo`, nothing answered for the driver): one run per size, asserting
 * along the way what the driver sees. At both sizes the daemons leave at the demo's pace
 * for people: the watch counts down for about half a minute, so a busy machine's captures
 * still find it counting (at the tests' pace it could be over between two captures).
 * Then a run killed with SIGKILL mid-step is replayed to its end.
 *
 * CREWCHIEF_SCREENS=DIR saves the 80×24 screens (a watch, a danger prompt, the end of a
 * crashed replay) as DIR/watch.txt, danger.txt, crashed-replay.txt.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {
  answerLine,
  cliJs,
  driverEnv,
  ensureBuilt,
  rows,
  tmuxAvailable,
  TmuxPane,
} from '../helpers/tmux.js';

const panes: TmuxPane[] = [];
const dirs: string[] = [];
const screens = process.env['CREWCHIEF_SCREENS'];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const p of panes) p.kill();
  for (const d of dirs) fs.rmSync(d, {recursive: true, force: true});
});

const save = (name: string, screen: string): void => {
  if (screens) fs.writeFileSync(path.join(screens, name), `${screen}\n`);
};

/** The one journal in a state directory. */
const journalIn = (state: string): string => {
  const dir = path.join(state, 'crewchief', 'sessions');
  const name = fs.readdirSync(dir).find((f) => f.endsWith('.jsonl'));
  if (!name) throw new Error(`no journal in ${dir}`);
  return path.join(dir, name);
};

/** Nothing wider than the terminal, never as tall as it. */
function fits(screen: string, columns: number, lines: number): void {
  const r = rows(screen);
  expect(r.length).toBeLessThan(lines);
  expect(r.every((l) => l.length <= columns)).toBe(true);
}

const sizes = [
  {columns: 80, rows: 24},
  {columns: 200, rows: 50},
];

describe.skipIf(!tmuxAvailable())('issue 12 in tmux: the quick-start demo driven by hand', () => {
  for (const size of sizes) {
    it(`at ${size.columns}×${size.rows}`, async () => {
      const state = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-tmux12-'));
      dirs.push(state);
      const pane = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'demo'],
        env: driverEnv({XDG_STATE_HOME: state, CREWCHIEF_SIM_PACE: ''}),
      });
      panes.push(pane);

      // A to-do, first thing: no "> …" placeholder in the answer line (#8).
      let screen = await pane.waitFor('TO DO · 1. Log into', 60_000);
      expect(answerLine(screen)).toBe('');
      expect(screen).not.toContain('> …');
      fits(screen, size.columns, size.rows);
      const journal = journalIn(state);
      const session = path.basename(journal, '.jsonl');
      // The header keeps the driver and the session id whole (#6) …
      expect(rows(screen)[0]).toMatch(/│ ana@bastion$/);
      expect(rows(screen)[1]).toContain(`· session ${session}`);
      // … and the status line says where the journal is (#8): whole when it fits, else
      // with its middle cut and its file name kept.
      const status = rows(screen).find((l) => l.startsWith('● live'))!;
      if (size.columns >= 200) expect(status).toContain(` in ${journal} · last at `);
      else expect(status).toMatch(/ events in \/tmp\/\S*…\S*\.jsonl · last at /);

      // ? shows the whole path and scrolls a page with PgDn (#6, #8).
      pane.keys('?');
      screen = await pane.waitFor('─ keys (dim: not now)');
      expect(screen).toContain('Journal');
      expect(screen.replace(/\n {2}/g, '')).toContain(journal);
      if (size.rows < 30) {
        expect(screen).toMatch(/↓ \d+ more \(PgDn\)/);
        pane.keys('PPage');
        pane.keys('NPage');
        screen = await pane.waitFor(/↑ \d+ more \(PgUp\)/);
      }
      pane.keys('Escape');
      await pane.waitFor('TO DO · 1. Log into');

      // Three to-dos; "skip <reason>" is a skip, never a tick (#1).
      await pane.answer('done');
      await pane.waitFor('TO DO · 2. Send all CSC');
      await pane.answer('done');
      await pane.waitFor('TO DO · 3. Log out');
      await pane.answer('skip no Nublado session today');

      // The danger step: the command and its host, a wrong word refused (#1), the word runs it.
      screen = await pane.waitFor(/DANGER · 4\.5 Clean up the Kubernetes/, 60_000);
      expect(screen).toContain('./cleanup_all -d');
      expect(screen).toMatch(/type "cleanup_all" then Enter/);
      fits(screen, size.columns, size.rows);
      if (size.columns === 80) save('danger.txt', screen);
      await pane.answer('cleanup');
      screen = await pane.waitFor('that is not "cleanup_all": nothing ran');
      const file = journal;
      expect(
        readJournal(file).entries.some(
          (e) => e.type === 'step-started' && e.step === 'cleanup/k8s-cleanup',
        ),
      ).toBe(false);
      await pane.answer('cleanup_all');

      // The choice: its branch step says which option runs it (issue 13 #5).
      screen = await pane.waitFor(/CHOOSE · 4\.5 Did cleanup_all/, 30_000);
      expect(screen).toMatch(/if argocd: Delete the job/);
      await pane.answer('yes');

      // The watch: what is counted, the target, time left; its help (issue 13 #5) (#5).
      screen = await pane.waitFor(
        (s) => /▶ 4\.7 Wait until every daemon/.test(s) && /◷ [1-9]\d* /.test(s),
        60_000,
      );
      expect(screen).toMatch(/connected daemons/);
      expect(screen).toMatch(/= 0/);
      expect(screen).toMatch(/left/);
      fits(screen, size.columns, size.rows);
      // The count falls while the driver watches: some daemons gone, some still
      // connected, and the same pane saying so.
      const first = Number(/◷ (\d+) connected daemons/.exec(screen)?.[1]);
      screen = await pane.waitFor((s) => {
        const n = Number(/◷ (\d+) connected daemons/.exec(s)?.[1] ?? NaN);
        return n > 0 && n < first && /left before the timeout/.test(s);
      }, 60_000);
      fits(screen, size.columns, size.rows);
      if (size.columns === 80) save('watch.txt', screen);
      // At 80×24 the pane keeps its few rows for the count's probe; wider, the help shows.
      if (size.rows >= 50)
        expect(screen).toMatch(/ℹ Give the daemon 30 s to 2 min before worrying/);
      // The watch ends and 4.8 follows; phase 4 may fold to "10/10" before a capture
      // shows "✓ 4.7", so the journal says how the watch ended.
      await pane.waitFor(/✓ 4\.7 Wait until every daemon|TO DO · 5\. Make sure SQuaRE/, 120_000);
      // Phase 5 begins with a to-do: leave the demo here with "abort".
      await pane.waitFor(/TO DO · 5\. Make sure SQuaRE/, 60_000);
      expect(readJournal(journal).entries).toContainEqual(
        expect.objectContaining({
          type: 'step-finished',
          step: 'cleanup/federations-zero',
          outcome: 'ok',
        }),
      );
      await pane.answer('abort enough for this test');
      screen = await pane.waitFor(/■ session aborted/, 30_000);
      fits(screen, size.columns, size.rows);
      pane.keys('q');
      await pane.exited(20_000);
      // Back on the driver's screen: how it ended and how to replay it (#8).
      await pane.waitFor((t) =>
        t
          .replace(/\n/g, '')
          .includes(`journal ${journal}: replay it with crewchief replay ${journal}`),
      );
      const entries = readJournal(file).entries;
      expect(entries).toContainEqual(
        expect.objectContaining({
          type: 'decision',
          step: 'offline/nublado-logout',
          decision: 'skip',
        }),
      );
      expect(
        entries.filter((e) => e.type === 'decision' && e.step === 'cleanup/k8s-cleanup'),
      ).toEqual([expect.objectContaining({decision: 'confirm', value: 'cleanup_all'})]);
    }, 400_000);
  }

  for (const size of sizes) {
    it(`a run killed mid-step replays to its end and says it ended without a close, at ${size.columns}×${size.rows}`, async () => {
      const state = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-tmux12-crash-'));
      dirs.push(state);
      const env = driverEnv({XDG_STATE_HOME: state, CREWCHIEF_SIM_PACE: ''});
      const live = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'demo', '--auto', '--auto-delay', '200'],
        env,
      });
      panes.push(live);
      await live.waitFor(/▶ 4\.7 Wait until every daemon/, 120_000);
      process.kill(live.pid(), 'SIGKILL');
      await live.exited(20_000);
      const journal = journalIn(state);
      expect(readJournal(journal).entries.some((e) => e.type === 'session-closed')).toBe(false);

      const replay = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'replay', journal],
        env,
      });
      panes.push(replay);
      await replay.waitFor(/^ REPLAY/m, 30_000);
      replay.keys('End');
      // A whole frame (tmux draws Ink's frames line by line): the reader's end line and the
      // step, in a frame that fits (a capture caught between two frames may hold rows of both).
      const screen = await replay.waitFor(
        (s) =>
          /■ ended without a close at \d\d:\d\d/.test(s) &&
          /4\.7 Wait until every daemon/.test(s) &&
          rows(s).length < size.rows,
        30_000,
      );
      fits(screen, size.columns, size.rows);
      if (size.columns === 80) save('crashed-replay.txt', screen);
      replay.keys('q');
      await replay.exited(20_000);
    }, 300_000);
  }
});
