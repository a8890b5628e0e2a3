/**
 * Unknown means unknown, whatever the cause: a step that started and did not finish —
 * the process killed (no end in the journal) or the link dropped under it (it finished
 * `unknown`) — and is not declared repeatable is put to the driver, in the session and
 * on resume. One function (engine/unfinished.ts) decides.
 */
import fs from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {resumePoint} from '../../source/engine/resume.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {entriesOf, harness, promptFor} from '../helpers/session.js';

const machine = `
export default site({id: 'svc', title: 'Service', phases: [phase({id: 'deploy', title: 'Deploy', steps: [
  command({id: 'migrate', title: 'Migrate the database', run: 'migrate-db', on: 'db1'}),
  command({id: 'probe', title: 'Read the version', run: 'read-version', on: 'db1', repeatable: true}),
  command({id: 'final', title: 'Final', run: 'echo done'}),
]})]});`;
const profile = `site: svc\nhosts:\n  db1: {}\n`;

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

const count = (h: {transport: {calls: {command: string}[]}}, command: string) =>
  h.transport.calls.filter((c) => c.command === command).length;

describe('a step whose end is unknown', () => {
  it('after a link drop it is put to the driver; leaving and a plain resume ask again and run nothing', async () => {
    // The link drops under the migration: the transport says the outcome is unknown.
    const first = await harness(machine, profile, [{match: /^migrate-db$/, unknown: true}]);
    dirs.push(first.dir);
    first.launched.session.start();
    const asked = await first.until(promptFor('migrate'));
    expect(asked.prompt).toMatchObject({
      prompt: 'unknown',
      runs: [{host: 'db1', command: 'migrate-db'}],
    });
    expect(asked.prompt?.text).toMatch(/may or may not have run \(the link to the host dropped/);
    expect(asked.steps.find((s) => s.id === 'migrate')?.status).toBe('unknown');
    expect(count(first, 'migrate-db')).toBe(1);
    // Nobody is there to answer: the session is left (exit 5 in the CLI).
    await first.launched.session.detach({reason: 'needs-driver', text: 'no terminal'});
    first.launched.journal.close(); // as the CLI does on the way out (it frees the journal's lock)
    const journal = entriesOf(first.journal);
    expect(journal.find((e) => e.type === 'step-finished')).toMatchObject({outcome: 'unknown'});

    // A plain resume, no flags: the step is not run again; the driver is asked.
    const second = await harness(machine, profile, [{match: /.*/, stdout: 'ok\n'}], {
      dir: first.dir,
      resumeFrom: first.journal,
    });
    expect(second.launched.resume).toMatchObject({
      unknown: 'deploy/migrate',
      startAt: {key: 'deploy/migrate', substate: 'unknown'},
    });
    second.launched.session.start();
    const again = await second.until(
      (s) => s.prompt?.prompt === 'unknown' && s.prompt.seq > journal.length,
    );
    expect(again.prompt?.text).toMatch(/the link to the host dropped/);
    expect(count(second, 'migrate-db')).toBe(0);
    // The driver says it did run: marked done, and the session goes on.
    expect(second.launched.session.decide({type: 'MARK_DONE', reason: 'checked the schema'})).toBe(
      true,
    );
    const end = await second.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(count(second, 'migrate-db')).toBe(0);
    expect(end.steps.find((s) => s.id === 'migrate')).toMatchObject({status: 'done'});
  });

  it('a step safe to repeat runs again on its own a bounded number of times, then asks', async () => {
    const h = await harness(machine, profile, [
      {match: /^migrate-db$/, stdout: 'migrated\n'},
      {match: /^read-version$/, unknown: true},
    ]);
    dirs.push(h.dir);
    h.launched.session.start();
    const asked = await h.until((s) => s.prompt?.prompt === 'unknown');
    expect(asked.prompt?.step).toBe('deploy/probe');
    expect(count(h, 'read-version')).toBe(3);
    expect(count(h, 'migrate-db')).toBe(1);
    await h.launched.session.detach('test over');
  });

  it('resumePoint: one rule for no end and an unknown end, repeatable or not', () => {
    const e = (n: number, event: object) =>
      ({seq: n, time: '2026-12-02T00:00:00Z', mono: n, ...event}) as JournalEntry;
    const plan = {
      first: 'a',
      byKey: new Map([
        ['a', {key: 'a', step: {kind: 'command', id: 'a', title: 'A', run: 'a'}, next: 'b'}],
        ['b', {key: 'b', step: {kind: 'command', id: 'b', title: 'B', run: 'b', repeatable: true}}],
      ]),
    } as unknown as Parameters<typeof resumePoint>[1] extends unknown
      ? Parameters<typeof resumePoint>[0]
      : never;
    const opened = e(1, {type: 'session-opened', variables: {}});
    const started = (n: number, step: string) =>
      e(n, {type: 'step-started', step, runs: [], attempt: 1});
    const finished = (n: number, step: string, outcome: string, reason?: string) =>
      e(n, {type: 'step-finished', step, outcome, durationMs: 1, ...(reason ? {reason} : {})});

    expect(resumePoint(plan, [opened, started(2, 'a')]).startAt).toEqual({
      key: 'a',
      substate: 'unknown',
      why: 'it started before the last session stopped and never finished',
    });
    expect(
      resumePoint(plan, [opened, started(2, 'a'), finished(3, 'a', 'unknown', 'Keepalive timeout')])
        .startAt,
    ).toEqual({key: 'a', substate: 'unknown', why: 'Keepalive timeout'});
    const done = [opened, started(2, 'a'), finished(3, 'a', 'ok')];
    expect(resumePoint(plan, [...done, started(4, 'b')])).toMatchObject({
      startAt: {key: 'b'},
      restarted: 'b',
    });
    expect(
      resumePoint(plan, [...done, started(4, 'b'), finished(5, 'b', 'unknown')]),
    ).toMatchObject({startAt: {key: 'b'}, restarted: 'b'});
  });
});
