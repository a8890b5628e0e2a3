/**
 * The console in a real tmux, driven with send-keys as a driver would: a gate, keys
 * typed ahead of a danger prompt (they must not answer it), the typed confirmation
 * naming every host, output full of hostile escape sequences, per-host tabs, a watch
 * down to 0, the end screen; then `crewchief replay` must end on the same screen.
 */
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cliJs, driverEnv, ensureBuilt, rows, tmuxAvailable, TmuxPane} from '../helpers/tmux.js';
import {journalOf, writeTestSite, type TestSite} from '../helpers/tmux-site.js';

const panes: TmuxPane[] = [];
const sites: TestSite[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const p of panes) p.kill();
  for (const s of sites) fs.rmSync(s.dir, {recursive: true, force: true});
});

/** The lines that must match between a live end screen and a replayed one: all but the mode and keys. */
const body = (screen: string): string[] =>
  rows(screen)
    .slice(1)
    .filter((l) => !/^(\? help|[▶❚]{1,2} |● live)/.test(l));

const decisions = (file: string, step: string): number =>
  readJournal(file).entries.filter((e) => e.type === 'decision' && e.step.endsWith(step)).length;

describe.skipIf(!tmuxAvailable())('the console in tmux', () => {
  for (const size of [
    {columns: 80, rows: 24, colour: true},
    {columns: 200, rows: 50, colour: false},
  ]) {
    it(`drives a session at ${size.columns}×${size.rows}${size.colour ? '' : ' with NO_COLOR'}, and replay ends on the same screen`, async () => {
      const site = writeTestSite();
      sites.push(site);
      const env = driverEnv({XDG_STATE_HOME: site.state, ...(size.colour ? {} : {NO_COLOR: '1'})});
      const live = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'run', './console-test.ts', '--profile', './console-test.yaml'],
        env,
        cwd: site.dir,
      });
      panes.push(live);

      // A gate: what to check, how to answer.
      let screen = await live.waitFor('GATE · Canary green? Type go');
      expect(screen).toContain('☐ The canary dashboard is green');
      expect(screen).toContain('type "go" then Enter to go on');
      expect(rows(screen)[0]).toMatch(/^ LIVE .*Console test site/);
      expect(rows(screen).at(-1)).toMatch(/^\? help .*Enter answer/);
      expect(rows(screen).length).toBeLessThan(size.rows);
      await live.answer('go');

      // While the warm-up runs, the driver types the danger word ahead: it must not count.
      await live.waitFor(/▶ Warm the caches/);
      const file = journalOf(site);
      live.type('restart');
      live.keys('Enter');
      // the whole box: tmux may be caught with a frame half drawn
      screen = await live.waitFor('type "restart" then Enter to run it');
      expect(screen).toContain('DANGER · Restart the app on the pair');
      expect(screen).toMatch(/on all 2 hosts: alpha, beta/);
      expect(screen).toContain('type "restart" then Enter to run it');
      // Still waiting, the answer line empty: nothing answered it.
      expect(screen).not.toContain('> restart');
      expect(decisions(file, 'restart')).toBe(0);
      expect(screen).toMatch(/◆ Restart the app on the pair ⚠ +waiting for you/);

      // A wrong word runs nothing; the right one runs it on both hosts.
      await live.answer('restrat');
      await live.waitFor('that is not "restart": nothing ran');
      expect(decisions(file, 'restart')).toBe(0);
      await live.answer('restart');

      // The watch counts down to 0; then the manual step waits.
      screen = await live.waitFor('TO DO · Enable the app');
      expect(screen).toMatch(/✓ Wait until the queue drains/);
      expect(screen).toMatch(
        /◷ 0 → = 0(?: · from \d+)? +[▁-█]{6} ┊▁ target[^\n]*\n[^\n]*reached at \d\d:\d\d/,
      );
      expect(screen).toContain('last probe output: queue: 0');

      // Back to the fan-out step: one tab per host with its exit code; the hostile
      // output is shown inert and the terminal is unharmed.
      live.keys('Up');
      screen = await live.waitFor(/─ Restart the app on the pair/);
      expect(screen).toMatch(/ alpha ✓0 +beta ✓0/);
      expect(screen).toContain('restarting on alpha');
      expect(screen).toContain('␛]0;PWNED^G␛]52;c;ZXZpbA==^G␛[2J␛[H␛[10;10Hmoved␛[?1049l␛[6n');
      expect(screen).toContain('app up on alpha');
      expect(rows(screen)[0]).toMatch(/^ LIVE /);
      expect(rows(screen).filter((l) => l.startsWith(' LIVE '))).toHaveLength(1);
      expect(live.title()).not.toContain('PWNED');
      expect(live.buffers()).toBe('');
      live.keys('Tab');
      screen = await live.waitFor('restarting on beta');
      expect(screen).not.toContain('restarting on alpha');
      live.keys('Escape');
      await live.waitFor(/─ Wait until the queue drains/);
      await live.answer('done');

      const end = await live.waitFor('■ session finished');
      expect(rows(end).at(-1)).toMatch(/q\/Ctrl-C quit/);
      if (!size.colour) {
        // NO_COLOR: tmux sees no colour at all (bold and inverse are not colour).
        expect(live.screenWithEscapes()).not.toMatch(
          /\u001b\[([0-9;]*;)?(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9;]*)?m/,
        );
      }
      live.type('q');
      expect(await live.exited()).toBe(0);

      // The replay ends on the same screen.
      const replay = TmuxPane.start({
        columns: size.columns,
        rows: size.rows,
        command: ['node', cliJs, 'replay', file, '--speed', '256'],
        env,
        cwd: site.dir,
      });
      panes.push(replay);
      const replayed = await replay.waitFor(
        (s) => /event (\d+)\/\1 /.test(s) && s.includes('■ session finished'),
      );
      expect(rows(replayed)[0]).toMatch(/^ REPLAY /);
      // The same screen; the closing line then says what the journal's seal says.
      const banner = (screen: string) => body(screen).findIndex((l) => l.startsWith('■ '));
      const ended = body(end)[banner(end)]!;
      expect(body(replayed)[banner(replayed)]).toBe(`${ended} · sealed, checksum verified`);
      const others = (screen: string) => body(screen).filter((_, i) => i !== banner(screen));
      expect(others(replayed)).toEqual(others(end));
      replay.type('q');
      expect(await replay.exited()).toBe(0);
    }, 60_000);
  }
});
