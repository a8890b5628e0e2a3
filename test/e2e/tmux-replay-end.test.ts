/**
 * `crewchief replay` of a crashed, a sealed and a damaged journal in a real tmux at 80×24:
 * at the end the console says plainly how the journal ended (issue 12 #7).
 */
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
  for (const [name, said] of [
    ['crashed.jsonl', '■ ended without a close at 06:37 — the session crashed or is still running'],
    ['sealed.jsonl', ' · sealed, checksum verified'],
    ['damaged.jsonl', '■ damaged at byte 5824 (line 19: checksum mismatch); replayed the 17'],
  ] as const) {
    it(`${name}: says how it ended, right above the replay bar`, async () => {
      const pane = TmuxPane.start({
        columns: 80,
        rows: 24,
        command: ['node', cliJs, 'replay', fixture(name), '--speed', '0'],
        env: driverEnv({}),
      });
      panes.push(pane);
      const screen = await pane.waitFor((s) => s.includes(said), 30_000);
      const lines = rows(screen);
      const at = lines.findIndex((l) => l.includes(said));
      expect(lines[at + 1]).toMatch(/^▶ .* event (\d+)\/\1 /);
      expect(lines.length).toBeLessThanOrEqual(24);
      pane.keys('q');
    }, 60_000);
  }
});
