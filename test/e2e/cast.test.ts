/**
 * `replay --cast`: the demo's journal recorded as an asciicast v2 file that the real
 * `asciinema` (Debian's package) plays, ending on the replay's last screen: the checklist
 * with the demo's step titles and the session's end.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {sessionsDir} from '../../source/journal/file.js';
import {tempDir} from '../helpers/fixtures.js';
import {cli} from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

/** asciinema, installed from Debian's packages when missing; why not, when it cannot be. */
function asciinema(): string | undefined {
  const have = (): boolean => spawnSync('sh', ['-c', 'command -v asciinema']).status === 0;
  if (have()) return undefined;
  const apt = spawnSync('sh', ['-c', 'apt-get install -y -qq asciinema'], {encoding: 'utf8'});
  if (have()) return undefined;
  return `asciinema is not installed and apt-get could not install it: ${(apt.stderr || apt.stdout).trim().split('\n').at(-1)}`;
}

const missing = asciinema();
if (missing) console.log(`skipping the asciicast test: ${missing}`);

const plain = (text: string): string =>
  text.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

describe.skipIf(!!missing)('replay --cast', () => {
  it('records the demo as an asciicast that asciinema plays to the last screen', async () => {
    const state = tempDir('cc-cast-');
    dirs.push(state);
    const demo = await cli(['demo', '--plain'], {state});
    expect(demo.exitCode, demo.all).toBe(0);
    const dir = sessionsDir({XDG_STATE_HOME: state});
    const journal = path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.endsWith('.jsonl'))!,
    );
    const out = path.join(state, 'demo.cast');
    const made = await cli(['replay', journal, '--cast', out, '--size', '100x40'], {
      state,
      // Ink draws only the last frame when it thinks it runs in CI.
      env: {CI: 'false'},
    });
    expect(made.exitCode, made.all).toBe(0);
    expect(made.all).toMatch(/wrote .*demo\.cast: \d+ frames/);

    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({version: 2, width: 100, height: 40});
    const frames = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.every(([, kind]) => kind === 'o')).toBe(true);
    const times = frames.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    // asciinema cat wants a terminal: script(1) gives it one.
    const played = execFileSync('script', ['-qec', `asciinema cat ${out}`, '/dev/null'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const last = plain(played.slice(played.lastIndexOf('REPLAY │')));
    const titles = (
      JSON.parse(fs.readFileSync(journal, 'utf8').split('\n')[1]!) as {
        plan: {steps: {title: string}[]};
      }
    ).plan.steps.map((s) => s.title.slice(0, 30));
    expect(last).toContain('Log into the bare-metal machines');
    expect(last).toContain(titles[0]);
    expect(last).toMatch(/session finished/);
  }, 300_000);
});
