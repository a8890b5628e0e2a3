/**
 * A journal database named but unreachable at the start (issue 11, finding 4): the
 * driver is refused (exit 6) with the database, where it was named and the error, and
 * nothing is started — unless the driver overrides with a reason, which is journaled
 * with who and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';
import {harness, promptFor} from '../helpers/session.js';
import {journalsIn, runCleanups, stateDir} from './helpers.js';
import {raceSite} from './race-site.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

const NOWHERE = 'postgres://deploy:hunter2@127.0.0.1:1/journal';

const machine = `
export default site({
  id: 'shop',
  title: 'Shop',
  phases: [
    phase({id: 'one', title: 'One', steps: [
      command({id: 'first', title: 'First', run: 'do-first'}),
      gate({id: 'go', title: 'Go?'}),
      command({id: 'second', title: 'Second', run: 'do-second'}),
    ]}),
  ],
});
`;
const scripts = [
  {match: /^do-first/, stdout: 'first\n'},
  {match: /^do-second/, stdout: 'second\n'},
];

function session(profileTeam: string, team: Record<string, string>, dir?: string) {
  const where = dir ?? tempDir('cc-unreach-');
  cleanup.push(() => fs.rmSync(where, {recursive: true, force: true}));
  return harness(machine, `site: shop\nteam:\n  lock_grace: 2s\n${profileTeam}`, scripts, {
    dir: where,
    driver: 'alice@bastion1',
    team: {lockDir: path.join(where, 'locks'), mirrorCloseMs: 2_000, ...team},
  });
}

describe('a journal database that cannot be reached at the start', () => {
  it("refuses the driver when the profile's team.journal_db cannot be reached: exit 6, nothing started", async () => {
    const dir = tempDir('cc-unreach-');
    await expect(
      session('  journal_db: postgres://deploy@127.0.0.1:1/journal\n', {}, dir),
    ).rejects.toMatchObject({
      code: 6,
      message: expect.stringMatching(
        /cannot reach the journal database postgres:\/\/deploy@127\.0\.0\.1:1\/journal to take the driver lock: connect ECONNREFUSED[\s\S]*named by .*test\.yaml: team\.journal_db[\s\S]*nothing was started[\s\S]*--without-team "REASON"/,
      ),
    });
    // No journal, no lock left behind.
    expect(fs.readdirSync(dir).filter((f) => /\.jsonl/.test(f))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'locks'))).toEqual([]);
  });

  it('goes on with --without-team and a reason, journaled as a decision with who and why', async () => {
    const h = await session('', {journalDb: NOWHERE, withoutTeam: 'db host down; only I drive'});
    h.launched.team!.start();
    h.launched.session.start();
    await h.until(promptFor('go'));
    h.launched.session.decide({type: 'GO', value: 'go'});
    expect(await h.launched.session.done).toBe('finished');
    await h.launched.team!.settle();
    h.launched.journal.close();
    await h.launched.team!.close();
    const entries = readJournal(h.journal).entries;
    const opened = entries.findIndex((e) => e.type === 'session-opened');
    const decision = entries.findIndex(
      (e) => e.type === 'decision' && e.decision === 'without-team',
    );
    expect(decision).toBeGreaterThan(opened);
    expect(entries[decision]).toMatchObject({
      by: 'alice@bastion1',
      // The database, its password hidden.
      value: expect.stringMatching(/^postgres:\/\/deploy:\S+@127\.0\.0\.1:1\/journal$/),
      reason: 'db host down; only I drive',
    });
    expect(JSON.stringify(entries)).not.toContain('hunter2');
    expect(h.transport.calls.map((c) => c.command)).toEqual(['do-first', 'do-second']);
  });

  it('through the CLI: refused with exit 6 and a message, no journal; the override drives', async () => {
    const site = raceSite(tempDir('cc-unreach-cli-'));
    cleanup.push(() => fs.rmSync(site.dir, {recursive: true, force: true}));
    fs.writeFileSync(site.release('cli'), '');
    const state = stateDir(cleanup);
    const args = ['run', site.machine, '--profile', site.profile('cli'), '--plain', '--yes'];
    const env = {CC_RACE: 'cli', CREWCHIEF_JOURNAL_DB: NOWHERE};
    const refused = await cli(args, {state, env});
    expect(refused.exitCode, refused.all).toBe(6);
    expect(refused.stderr).toContain('named by $CREWCHIEF_JOURNAL_DB');
    expect(refused.stderr).not.toContain('hunter2');
    expect(journalsIn(state)).toEqual([]);
    const going = await cli([...args, '--without-team', 'maintenance window'], {state, env});
    expect(going.exitCode, going.all).toBe(0);
    expect(going.stdout).toContain('tester@bastion: without-team');
    const [journal] = journalsIn(state);
    expect(readJournal(journal!).entries).toContainEqual(
      expect.objectContaining({decision: 'without-team', reason: 'maintenance window'}),
    );
  }, 120_000);
});
