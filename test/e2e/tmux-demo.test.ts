/**
 * The Rubin demo in a real tmux, read-only (the flags answer its prompts): the
 * federation count falls to 0 on screen, the terminal is shrunk and grown while it
 * runs and no stale line is left, and nothing that changes the session is offered.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {cliJs, driverEnv, ensureBuilt, rows, tmuxAvailable, TmuxPane} from '../helpers/tmux.js';

let dir: string;
let pane: TmuxPane | undefined;

beforeAll(() => {
  ensureBuilt();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-tmux-demo-'));
}, 120_000);
afterAll(() => {
  pane?.kill();
  fs.rmSync(dir, {recursive: true, force: true});
});

/** One header, one status line, one footer, nothing wider than the terminal. */
function wellFormed(screen: string, columns: number, lines: number): void {
  const r = rows(screen);
  expect(r.length).toBeLessThan(lines);
  expect(r[0]).toMatch(/^ READ-ONLY /);
  expect(r.filter((l) => / READ-ONLY .*Rubin T&S deployment/.test(l))).toHaveLength(1);
  expect(r.filter((l) => l.startsWith('◌ read-only'))).toHaveLength(1);
  expect(r.filter((l) => l.startsWith('? help'))).toHaveLength(1);
  expect(r.at(-1)).toMatch(/^\? help/);
  expect(r.every((l) => l.length <= columns)).toBe(true);
}

/** Waits for a whole frame at this size (a resize wipes the screen before the next frame). */
const settled = (columns: number, lines: number) => (screen: string) => {
  try {
    wellFormed(screen, columns, lines);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!tmuxAvailable())('the demo in tmux', () => {
  it('runs read-only, redraws cleanly when the terminal shrinks and grows, and watches the count reach 0', async () => {
    pane = TmuxPane.start({
      columns: 200,
      rows: 50,
      command: ['node', cliJs, 'demo', '--read-only', '--auto', '--auto-delay', '300'],
      env: driverEnv({XDG_STATE_HOME: dir}),
    });
    let screen = await pane.waitFor(/◷ \d+[^\n]* → = 0/, 30_000);
    wellFormed(screen, 200, 50);
    expect(screen).toContain('4.7 Wait until every daemon has disconnected');
    expect(screen).not.toMatch(/Enter answer|cancel command|Ctrl-C leave/);

    pane.resize(80, 24);
    screen = await pane.waitFor(settled(80, 24));
    expect(screen).toMatch(/^─ /m);
    pane.resize(200, 50);
    screen = await pane.waitFor((s) => settled(200, 50)(s) && rows(s).some((l) => l.length > 100));
    pane.resize(100, 30);
    screen = await pane.waitFor(settled(100, 30));

    screen = await pane.waitFor('■ session finished', 60_000);
    wellFormed(screen, 100, 30);
    expect(screen).toMatch(/q\/Ctrl-C quit/);
    expect(screen).toMatch(
      /▸ 7–9\. Monitor until CSCs reach STANDBY\/OFFLINE +4\/4|7–9\. Monitor.*4\/4/,
    );
    pane.type('q');
    expect(await pane.exited()).toBe(0);
    // Back on the driver's own screen, one line says how it ended.
    await pane.waitFor(/session rubin-rubin-tts-demo-\S+ finished/);
  }, 90_000);
});
