/**
 * `crewchief replay` of a crashed, a sealed and a damaged journal in a real tmux at 80×24:
 * at the end the console says plainly how the journal ended (issue 12 #7).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {
  cliJs,
  driverEnv,
  ensureBuilt,
  repoRoot,
  rows,
  tmuxAvailable,
  TmuxPane,
} from '../helpers/tmux.js';

const panes: TmuxPane[] = [];
beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => panes.forEach((p) => p.kill()));

const fixture = (name: string) => path.join(repoRoot, 'test', 'fixtures', 'journals', name);

describe.skipIf(!tmuxAvailable())('the end of a replayed journal, in tmux at 80×24', () => {
  // What the banner says and how it ends: a long one wraps (a narrow terminal cuts nothing).
  for (const [name, said, last] of [
    [
      'crashed.jsonl',
      '■ ended without a close at 06:37 — the session crashed or is still running',
      /crewchief resume \S+ goes on with it$/,
    ],
    ['sealed.jsonl', ' · sealed, checksum verified', /sealed, checksum verified$/],
    [
      'damaged.jsonl',
      '■ damaged at byte 5824 (line 19: checksum mismatch); replayed the 17',
      /\S$/,
    ],
  ] as const) {
    it(`${name}: says how it ended, whole, right above the replay bar`, async () => {
      const pane = TmuxPane.start({
        columns: 80,
        rows: 24,
        command: ['node', cliJs, 'replay', fixture(name), '--speed', '0'],
        env: driverEnv({}),
      });
      panes.push(pane);
      const bar = /^▶ .* event (\d+)\/\1 /;
      const screen = await pane.waitFor(
        (s) => rows(s).join(' ').includes(said) && rows(s).some((l) => bar.test(l)),
        30_000,
      );
      const lines = rows(screen).map((l) => l.trimEnd());
      const at = lines.findIndex((l) => bar.test(l));
      expect(lines[at - 1]).toMatch(last);
      // the frame alone, never pushed down by a line printed above it
      expect(lines.length).toBeLessThan(24);
      pane.keys('q');
    }, 60_000);
  }

  it('a journal killed mid-write: the console fits, and the torn line is said once it is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-torn-'));
    const torn = path.join(dir, 'torn.jsonl');
    fs.writeFileSync(torn, fs.readFileSync(fixture('crashed.jsonl'), 'utf8') + '{"type":"out');
    try {
      const pane = TmuxPane.start({
        columns: 80,
        rows: 24,
        command: ['node', cliJs, 'replay', torn, '--speed', '0'],
        env: driverEnv({}),
      });
      panes.push(pane);
      const screen = await pane.waitFor((s) => s.includes('■ ended without a close'), 30_000);
      expect(rows(screen).length).toBeLessThan(24);
      expect(rows(screen)[0]).toMatch(/^ REPLAY /);
      pane.keys('q');
      await pane.waitFor(/warning: .*dropped a torn last line/, 30_000);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  }, 60_000);
});
