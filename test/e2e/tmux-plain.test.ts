/**
 * `--plain` in a real terminal (tmux): every answer form works (the gate's word, a wrong
 * and then the right danger word, an option by number, `skip <reason>` at a to-do, and
 * `abort`), and Ctrl-C and SIGTERM leave cleanly, saying how to resume. Answers are read
 * by the same parser as the console's (source/decisions).
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

function start(size: {columns: number; rows: number}, options = {choice: true}) {
  const site = writeTestSite({warmUpSeconds: 0, countFrom: 2, ...options});
  sites.push(site);
  const pane = TmuxPane.start({
    ...size,
    command: [
      'node',
      cliJs,
      'run',
      './console-test.ts',
      '--profile',
      './console-test.yaml',
      '--plain',
    ],
    env: driverEnv({XDG_STATE_HOME: site.state}),
    cwd: site.dir,
  });
  panes.push(pane);
  return {site, pane};
}

/** The last line on screen is an empty answer line: a prompt waits. */
const waiting = (screen: string): boolean =>
  /^ {2}> ?$/.test(screen.trimEnd().split('\n').at(-1) ?? '');

/** Types an answer once `marker` shows and the answer line waits (keys typed earlier are wiped). */
async function answer(pane: TmuxPane, text: string, marker: string): Promise<void> {
  await pane.waitFor((s) => s.includes(marker) && waiting(s), 30_000);
  pane.type(text);
  pane.keys('Enter');
}

const entries = (site: TestSite) => readJournal(journalOf(site)).entries;

describe.skipIf(!tmuxAvailable())('plain mode in a terminal', () => {
  for (const size of [
    {columns: 80, rows: 24},
    {columns: 200, rows: 50},
  ]) {
    it(`takes every answer form at ${size.columns}×${size.rows}`, async () => {
      const {site, pane} = start(size);
      await answer(pane, 'go', 'type the word shown to go on');
      await answer(pane, 'restrat', 'type the word shown to run it');
      await answer(pane, 'restart', 'that is not "restart": nothing ran');
      await answer(pane, '2', 'type the number or id of an option');
      await answer(pane, 'skip not needed today', 'type "done" when it is done');
      await pane.waitFor('session finished', 30_000);
      expect(await pane.exited(30_000)).toBe(0);

      const decisions = entries(site).filter((e) => e.type === 'decision');
      expect(decisions.map((d) => [d.decision, d.value ?? d.reason, d.via])).toEqual([
        ['go', 'go', 'typed'],
        ['confirm', 'restart', 'typed'],
        ['choose', 'no', 'typed'],
        ['skip', 'not needed today', 'typed'],
      ]);
      const enable = entries(site).find(
        (e) =>
          e.type === 'step-skipped' || (e.type === 'step-finished' && e.step.endsWith('enable')),
      );
      expect(enable).toMatchObject({step: 'finish/enable'});
      expect(enable?.type === 'step-finished' ? enable.outcome : 'skipped').toBe('skipped');
    }, 120_000);
  }

  it('aborts on "abort"', async () => {
    const {site, pane} = start({columns: 80, rows: 24});
    await answer(pane, 'abort', 'type the word shown to go on');
    await pane.waitFor('session aborted', 30_000);
    expect(await pane.exited(30_000)).toBe(1);
    expect(entries(site).some((e) => e.type === 'decision' && e.decision === 'abort')).toBe(true);
  }, 90_000);

  it('Ctrl-C at a prompt leaves the session open and says how to resume', async () => {
    const {site, pane} = start({columns: 80, rows: 24});
    await pane.waitFor('type the word shown to go on', 30_000);
    pane.keys('C-c');
    const screen = await pane.waitFor(/session left open.*: crewchief resume/, 30_000);
    expect(screen).toContain('session left: interrupted (SIGINT)');
    expect(await pane.exited(30_000)).toBe(130);
    expect(entries(site).some((e) => e.type === 'decision')).toBe(false);
  }, 90_000);

  it('SIGTERM at a prompt leaves the session open and exits', async () => {
    const {pane} = start({columns: 80, rows: 24});
    await pane.waitFor('type the word shown to go on', 30_000);
    process.kill(pane.pid(), 'SIGTERM');
    const screen = await pane.waitFor(/session left open.*: crewchief resume/, 30_000);
    expect(screen).toContain('session left: interrupted (SIGTERM)');
    expect(await pane.exited(30_000)).toBe(130);
  }, 90_000);
});
