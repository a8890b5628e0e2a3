import {execa} from 'execa';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {repoRoot} from '../helpers/fixtures.js';

// The benchmark is too slow and noisy for CI, but its smoke version (one run, small sizes)
// runs here so that no case can rot: every case must still run and print its row.
describe('npm run bench -- --smoke', () => {
  it('runs every case once and prints the table', async () => {
    const result = await execa('npx', ['tsx', path.join('test', 'bench', 'run.ts'), '--smoke'], {
      cwd: repoRoot,
      reject: false,
      all: true,
      stdin: 'ignore',
      timeout: 240_000,
    });
    // 0: every target met, 1: one missed (small sizes are noisy), 2: the bench itself failed.
    expect(result.exitCode, result.all).not.toBe(2);
    for (const heading of [
      /start-up: crewchief --help \[ms\]/,
      /start-up: first frame of crewchief demo \[ms\]/,
      /one poll \(grep -c on [\dk,]+ lines\)/,
      /true on \d+ hosts, connections cold \[ms\]/,
      /true on \d+ hosts, connections warm \[ms\]/,
      /\d+ MB of output from one command \[MB\/s\]/,
      /peak memory during \d+ MB of output \[MB\]/,
      /replay: open a [\d,]+-event journal, draw its last screen \[ms\]/,
      /idle: the console waiting at a gate/,
    ]) {
      expect(result.all).toMatch(heading);
    }
    expect(result.all).toMatch(/\d+ targets met/);
    expect(result.all).not.toMatch(/failed in round/);
  }, 300_000);
});
