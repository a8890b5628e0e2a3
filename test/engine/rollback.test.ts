/**
 * Outcome branches and rollback (issue 13): a step's `onFailure` runs steps or a named
 * rollback; an abort before the point of no return offers the rollback of the phases
 * that ran, the latest first; after it, rolling back is no longer offered; a completed
 * rollback closes the session as rolled back; a crash in the middle of a rollback resumes
 * it by the one unfinished-step rule.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {reportFromJournal} from '../../source/commands/report.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {renderMarkdown} from '../../source/report/markdown.js';
import {validateSite} from '../../source/runbook/validate.js';
import {
  check,
  choice,
  command,
  gate,
  manual,
  onFailure,
  phase,
  rollback,
  site,
} from '../../source/runbook/vocabulary.js';
import {drive} from '../../source/services/drive.js';
import {EXIT} from '../../source/services/exit.js';
import {foldAll} from '../../source/store/fold.js';
import {promptModel} from '../../source/ui/components/prompt-pane.js';
import {rollbackMark} from '../../source/ui/derive.js';
import {describeEntry} from '../../source/ui/plain.js';
import type {Script} from '../helpers/fake-transport.js';
import {tempDir, vocabularyPath} from '../helpers/fixtures.js';
import {entriesOf, harness, type Harness} from '../helpers/session.js';

const machine = `import {site, phase, manual, command, gate, check, rollback, onFailure} from ${JSON.stringify(vocabularyPath)};
export default site({
  id: 'shop',
  title: 'Shop release',
  rollbacks: [
    rollback({id: 'restore', title: 'Restore the database backup', steps: [
      command({id: 'restore-db', title: 'Restore the database', run: 'restore-db'}),
    ]}),
  ],
  phases: [
    phase({id: 'prepare', title: 'Prepare', rollback: [
      command({id: 'unprepare', title: 'Put the old config back', run: 'undo-prepare'}),
    ], steps: [
      command({id: 'backup', title: 'Back up', run: 'backup'}),
      command({id: 'promote', title: 'Promote the replica', run: 'promote',
        onFailure: onFailure.steps([
          command({id: 'promote-by-hand', title: 'Promote by hand', run: 'promote-by-hand'}),
        ])}),
    ]}),
    phase({id: 'upgrade', title: 'Upgrade', rollback: [
      command({id: 'downgrade', title: 'Reinstall the old version', run: 'downgrade'}),
      check({id: 'old-runs', title: 'The old version runs', probes: [{command: 'version', expect: 'v1'}], retries: 1}),
    ], steps: [
      command({id: 'install', title: 'Install the new version', run: 'install'}),
      gate({id: 'looks-good', title: 'The new version looks good'}),
      command({id: 'migrate', title: 'Migrate the database', run: 'migrate', pointOfNoReturn: true,
        onFailure: onFailure.rollback('restore')}),
      manual({id: 'announce', title: 'Announce the release'}),
    ]}),
    phase({id: 'later', title: 'Later', rollback: [
      command({id: 'later-undo', title: 'Never needed', run: 'later-undo'}),
    ], steps: [manual({id: 'close', title: 'Close the ticket'})]}),
  ],
});
`;
const profile = `site: shop\ntransport: local\n`;

const ok = (match: RegExp, stdout = 'ok\n'): Script => ({match, stdout});
const fails = (match: RegExp): Script => ({match, stderr: 'boom\n', exitCode: 1});

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

async function start(scripts: Script[], options: {dir?: string; resumeFrom?: string} = {}) {
  const dir = options.dir ?? tempDir('cc-rollback-');
  fs.writeFileSync(path.join(dir, 'machine.ts'), machine);
  const h = await harness('', profile, scripts, {...options, dir});
  if (!options.dir) dirs.push(dir);
  return h;
}

const ran = (h: Harness): string[] => h.transport.calls.map((c) => c.command);
const outcomes = (entries: readonly JournalEntry[]) =>
  entries.flatMap((e) => (e.type === 'step-finished' ? [[e.step, e.outcome]] : []));
const plainLines = (entries: readonly JournalEntry[]): string => {
  const lines: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const line = describeEntry(entries[i]!, foldAll(entries.slice(0, i + 1)));
    if (line) lines.push(line);
  }
  return lines.join('\n');
};
const everyScript = [
  ok(/^backup$/),
  ok(/^promote$/),
  ok(/^promote-by-hand$/),
  ok(/^install$/),
  ok(/^downgrade$/),
  ok(/^version$/, 'v1\n'),
  ok(/^undo-prepare$/),
  ok(/^migrate$/),
  ok(/^restore-db$/),
];

describe('outcome branches', () => {
  it('a failed step with onFailure steps runs them instead of asking, then goes on', async () => {
    const h = await start([fails(/^promote$/), ...everyScript]);
    h.launched.session.start();
    const atGate = await h.until((s) => s.prompt?.step === 'upgrade/looks-good');
    expect(ran(h)).toEqual(['backup', 'promote', 'promote-by-hand', 'install']);
    expect(outcomes(entriesOf(h.journal))).toEqual([
      ['prepare/backup', 'ok'],
      ['prepare/promote', 'failed'],
      ['prepare/promote/on-failure/promote-by-hand', 'ok'],
      ['upgrade/install', 'ok'],
    ]);
    const view = (key: string) => atGate.steps.find((s) => s.key === key);
    expect(view('prepare/promote/on-failure/promote-by-hand')?.status).toBe('ok');
    // Rollback steps wait, shown as not needed unless rolling back.
    expect(view('upgrade/rollback/downgrade')?.status).toBe('standby');
    await h.launched.session.detach('test over');
    // Nobody was asked about the failure: the branch said what to do.
    const prompts = entriesOf(h.journal).filter((e) => e.type === 'prompt-shown');
    expect(prompts.map((e) => e.type === 'prompt-shown' && e.prompt)).toEqual(['gate']);
  });

  it('a step that succeeds leaves its on-failure steps unrun', async () => {
    const h = await start(everyScript);
    h.launched.session.start();
    const atGate = await h.until((s) => s.prompt?.step === 'upgrade/looks-good');
    expect(ran(h)).not.toContain('promote-by-hand');
    expect(atGate.steps.find((s) => s.id === 'promote-by-hand')?.status).toBe('standby');
    await h.launched.session.detach('test over');
  });
});

describe('rollback', () => {
  it('abort before the point of no return offers the rollback of what ran; completed, the session is rolled back', async () => {
    const h = await start(everyScript);
    const {session} = h.launched;
    session.start();
    await h.until((s) => s.prompt?.step === 'upgrade/looks-good');

    expect(session.decide({type: 'ABORT', reason: 'the new version is slow'})).toBe(true);
    const offer = await h.until((s) => s.prompt?.prompt === 'rollback');
    // The phases that ran, the latest first; "later" never ran, so it is not rolled back.
    expect(offer.prompt).toMatchObject({
      step: 'upgrade/looks-good',
      expects: 'rollback',
      rollback: [
        'upgrade/rollback/downgrade',
        'upgrade/rollback/old-runs',
        'prepare/rollback/unprepare',
      ],
    });
    expect(offer.prompt?.text).toMatch(/"Upgrade", then "Prepare"/);
    expect(offer.steps.find((s) => s.key === 'upgrade/looks-good')?.status).toBe('canceled');
    const pane = promptModel(offer, offer.prompt, undefined, 'live', 120);
    expect(pane?.lines[0]?.text).toBe('↺ ROLL BACK? · aborted at The new version looks good');
    expect(pane?.hint).toMatch(/type "rollback" then Enter/);

    expect(session.decide({type: 'ROLLBACK'})).toBe(true);
    expect(await session.done).toBe('rolled-back');
    expect(ran(h)).toEqual([
      'backup',
      'promote',
      'install',
      'downgrade',
      'version',
      'undo-prepare',
    ]);
    const entries = entriesOf(h.journal);
    expect(entries.find((e) => e.type === 'rollback-started')).toMatchObject({
      step: 'upgrade/looks-good',
      trigger: 'abort',
      phases: ['upgrade', 'prepare'],
    });
    expect(
      entries.filter((e) => e.type === 'decision').map((e) => e.type === 'decision' && e.decision),
    ).toEqual(['abort', 'rollback']);
    expect(entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'rolled-back'});
    const end = h.state();
    expect(end.steps.find((s) => s.key === 'later/rollback/later-undo')?.status).toBe('standby');
    expect(rollbackMark(end)).toBe('ROLLED BACK');

    // The plain view says so, line by line.
    const plain = plainLines(entries);
    expect(plain).toMatch(/\? The new version looks good\n\s+Aborted\. Roll back what has run\?/);
    expect(plain).toMatch(
      /Type "rollback" to run it, or "abort" to end the session without rolling back/,
    );
    expect(plain).toMatch(
      /↺ rolling back: the driver chose to roll back; 3 steps run:\n\s+1\. Reinstall the old version/,
    );
    expect(plain).toMatch(/session rolled back/);

    // And the report.
    h.launched.journal.close();
    const report = await reportFromJournal(h.journal);
    expect(report.outcome).toBe('rolled-back');
    expect(report.outcomeText).toMatch(
      /^rolled back \(the driver aborted at "The new version looks good"; 3 rollback steps\)/,
    );
    expect(renderMarkdown(report)).toMatch(/\*\*rolled back/);
  });

  it('"abort" at the offer ends the session without rolling back', async () => {
    const h = await start(everyScript);
    const {session} = h.launched;
    session.start();
    await h.until((s) => s.prompt?.step === 'upgrade/looks-good');
    session.decide({type: 'ABORT'});
    await h.until((s) => s.prompt?.prompt === 'rollback');
    expect(session.decide({type: 'ABORT'})).toBe(true);
    expect(await session.done).toBe('aborted');
    expect(ran(h)).not.toContain('downgrade');
  });

  it('after the point of no return, abort offers no rollback and the screen says so', async () => {
    const h = await start(everyScript);
    const {session} = h.launched;
    session.start();
    await h.until((s) => s.prompt?.step === 'upgrade/looks-good');
    session.decide({type: 'GO', value: 'go'});
    const atAnnounce = await h.until((s) => s.prompt?.step === 'upgrade/announce');
    expect(atAnnounce.noReturn?.step).toBe('upgrade/migrate');
    expect(session.can({type: 'ROLLBACK'})).toBe(false);
    // The console's prompt and header say it too.
    const pane = promptModel(atAnnounce, atAnnounce.prompt, undefined, 'live', 120);
    expect(pane?.lines.map((l) => l.text).join('\n')).toMatch(
      /past the point of no return: rolling back is no longer offered/,
    );
    expect(rollbackMark(atAnnounce)).toBe('PAST NO RETURN');

    expect(session.decide({type: 'ABORT'})).toBe(true);
    expect(await session.done).toBe('aborted');
    const entries = entriesOf(h.journal);
    expect(entries.some((e) => e.type === 'prompt-shown' && e.prompt === 'rollback')).toBe(false);
    expect(ran(h)).not.toContain('downgrade');
    const types = entries.map((e) => e.type);
    // Journaled before the step's effect.
    expect(types.indexOf('no-return-passed')).toBeLessThan(
      entries.findIndex((e) => e.type === 'step-started' && e.step === 'upgrade/migrate'),
    );
    expect(
      entries.find((e) => e.type === 'notice' && /no longer offered/.test(e.text)),
    ).toBeDefined();
    const plain = plainLines(entries);
    expect(plain).toMatch(
      /⚑ point of no return: Migrate the database; from here on, rolling back is no longer offered/,
    );
    expect(plain).toMatch(
      /\? Announce the release[\s\S]*past the point of no return: rolling back is no longer offered/,
    );
  });

  it('a step whose onFailure names a rollback runs it and the session ends rolled back', async () => {
    const h = await start([fails(/^migrate$/), ...everyScript]);
    const {session} = h.launched;
    session.start();
    await h.until((s) => s.prompt?.step === 'upgrade/looks-good');
    session.decide({type: 'GO', value: 'go'});
    expect(await session.done).toBe('rolled-back');
    expect(ran(h).slice(-2)).toEqual(['migrate', 'restore-db']);
    const entries = entriesOf(h.journal);
    expect(entries.find((e) => e.type === 'rollback-started')).toMatchObject({
      step: 'upgrade/migrate',
      trigger: 'failure',
      rollback: 'restore',
      steps: ['rollback:restore/restore-db'],
    });
  });

  it('a crash in the middle of a rollback resumes it, asking before the step that may have run', async () => {
    const first = await start([{match: /^downgrade$/, hang: true}, ...everyScript]);
    first.launched.session.start();
    await first.until((s) => s.prompt?.step === 'upgrade/looks-good');
    first.launched.session.decide({type: 'ABORT'});
    await first.until((s) => s.prompt?.prompt === 'rollback');
    first.launched.session.decide({type: 'ROLLBACK'});
    await first.until((s) => s.steps.find((x) => x.id === 'downgrade')?.status === 'running');
    // The process dies with the downgrade in flight: no end in the journal.
    await first.launched.session.detach('crash');
    first.launched.journal.close();
    const before = entriesOf(first.journal);
    expect(
      before.some((e) => e.type === 'step-finished' && e.step === 'upgrade/rollback/downgrade'),
    ).toBe(false);

    const second = await start(everyScript, {dir: first.dir, resumeFrom: first.journal});
    expect(second.launched.resume).toMatchObject({
      startAt: {key: 'upgrade/rollback/downgrade', substate: 'unknown'},
    });
    second.launched.session.start();
    const asked = await second.until(
      (s) => s.prompt?.prompt === 'unknown' && s.prompt.seq > before.length,
    );
    expect(asked.prompt?.step).toBe('upgrade/rollback/downgrade');
    expect(asked.rollback?.phases).toEqual(['upgrade', 'prepare']);
    expect(ran(second)).toEqual([]);
    // The driver says run it again: the rest of the rollback follows, and it closes.
    expect(second.launched.session.decide({type: 'RETRY'})).toBe(true);
    expect(await second.launched.session.done).toBe('rolled-back');
    expect(ran(second)).toEqual(['downgrade', 'version', 'undo-prepare']);
  });

  it('a crash at the rollback offer puts the offer again on resume', async () => {
    const first = await start(everyScript);
    first.launched.session.start();
    await first.until((s) => s.prompt?.step === 'upgrade/looks-good');
    first.launched.session.decide({type: 'ABORT'});
    await first.until((s) => s.prompt?.prompt === 'rollback');
    await first.launched.session.detach('crash');
    first.launched.journal.close();

    const second = await start(everyScript, {dir: first.dir, resumeFrom: first.journal});
    second.launched.session.start();
    const n = entriesOf(first.journal).length;
    const offer = await second.until((s) => s.prompt?.prompt === 'rollback' && s.prompt.seq > n);
    expect(offer.prompt?.step).toBe('upgrade/looks-good');
    expect(second.launched.session.decide({type: 'ROLLBACK'})).toBe(true);
    expect(await second.launched.session.done).toBe('rolled-back');
    expect(ran(second)).toEqual(['downgrade', 'version', 'undo-prepare']);
  });
});

describe('flags at a failure', () => {
  const run = async (onFailureFlag: 'rollback' | 'abort', scripts: Script[]) => {
    const h = await start(scripts);
    const lines: string[] = [];
    const code = await drive(h.launched, {
      plain: true,
      interactive: false,
      autopilot: {yes: true, onFailure: onFailureFlag},
      driver: 'tester',
      write: (line) => lines.push(line),
      say: () => {},
    });
    return {h, code, plain: lines.join('\n')};
  };

  it('--on-failure rollback rolls back what ran (exit 7, "rolled back")', async () => {
    const {h, code, plain} = await run('rollback', [fails(/^install$/), ...everyScript]);
    expect(code).toBe(EXIT.rolledBack);
    expect(ran(h)).toEqual([
      'backup',
      'promote',
      'install',
      'downgrade',
      'version',
      'undo-prepare',
    ]);
    expect(plain).toMatch(/✖ Install the new version: failed/);
    expect(plain).toMatch(/→ tester \(flag\): rollback \(failed; --on-failure rollback\)/);
    expect(plain).toMatch(/session rolled back/);
  });

  it('--on-failure abort ends without rolling back, in one decision', async () => {
    const {h, code} = await run('abort', [fails(/^install$/), ...everyScript]);
    expect(code).toBe(EXIT.failed);
    expect(ran(h)).not.toContain('downgrade');
    const decisions = entriesOf(h.journal).filter((e) => e.type === 'decision');
    expect(decisions).toEqual([expect.objectContaining({decision: 'abort'})]);
  });
});

describe('--on-timeout rollback', () => {
  const watchMachine = `import {site, phase, command, watch} from ${JSON.stringify(vocabularyPath)};
export default site({
  id: 'shop',
  title: 'Shop drain',
  phases: [
    phase({id: 'stop', title: 'Stop', rollback: [
      command({id: 'restart', title: 'Start the workers again', run: 'start-workers'}),
    ], steps: [
      command({id: 'stop-workers', title: 'Stop the workers', run: 'stop-workers'}),
      watch({id: 'drained', title: 'Queue drained', probe: 'queue-length', until: {equals: 0},
        every: '1s', timeout: '1s'}),
      command({id: 'after', title: 'Never reached', run: 'after'}),
    ]}),
  ],
});
`;

  it('a watch that timed out rolls back what ran (exit 7), by the flag, in one decision', async () => {
    const dir = tempDir('cc-rollback-');
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'machine.ts'), watchMachine);
    const h = await harness(
      '',
      profile,
      [ok(/^stop-workers$/), ok(/^queue-length$/, '12\n'), ok(/^start-workers$/), ok(/^after$/)],
      {dir, services: {sleep: async () => {}}},
    );
    const lines: string[] = [];
    const code = await drive(h.launched, {
      plain: true,
      interactive: false,
      autopilot: {yes: true, onTimeout: 'rollback'},
      driver: 'tester',
      write: (line) => lines.push(line),
      say: () => {},
    });
    expect(code).toBe(EXIT.rolledBack);
    expect(ran(h).filter((c) => c !== 'queue-length')).toEqual(['stop-workers', 'start-workers']);
    const plain = lines.join('\n');
    expect(plain).toMatch(/→ tester \(flag\): rollback \(timed out; --on-timeout rollback\)/);
    expect(plain).toMatch(/session rolled back/);
    const decisions = entriesOf(h.journal).filter((e) => e.type === 'decision');
    expect(decisions).toEqual([expect.objectContaining({decision: 'rollback'})]);
  });
});

describe('validate', () => {
  const messages = (s: ReturnType<typeof site>) => validateSite(s, 'x.ts').map((e) => e.message);

  it('names a rollback that does not exist, a point of no return inside a choice, and ids used twice in a rollback', () => {
    const errors = messages(
      site({
        id: 'bad',
        title: 'Bad',
        rollbacks: [rollback({id: 'undo', title: 'Undo', steps: [manual({id: 'a', title: 'A'})]})],
        phases: [
          phase({
            id: 'p',
            title: 'P',
            rollback: [command({id: 'a', title: 'Again A', run: 'x'})],
            steps: [
              command({id: 'b', title: 'B', run: 'b', onFailure: onFailure.rollback('nope')}),
              choice({
                id: 'c',
                title: 'C',
                question: '?',
                options: [
                  {
                    id: 'x',
                    label: 'X',
                    steps: [gate({id: 'd', title: 'D', pointOfNoReturn: true})],
                  },
                  {id: 'y', label: 'Y', steps: []},
                ],
              }),
              gate({
                id: 'e',
                title: 'E',
                onFailure: onFailure.steps([manual({id: 'f', title: 'F'})]),
              }),
              check({id: 'g', title: 'G', probes: [{tcp: 'h:1'}], onFailure: onFailure.steps([])}),
            ],
          }),
        ],
      }),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/step b: no rollback named "nope" \(the site's rollbacks: undo\)/),
        expect.stringMatching(/step d: a point of no return inside a choice/),
        expect.stringMatching(/step id "a" is used twice/),
        expect.stringMatching(/step e: a gate step does not fail/),
        expect.stringMatching(/step g: expected onFailure: \{steps: \[\.\.\.\]\}/),
      ]),
    );
  });

  it('the shipped shape validates clean', () => {
    const good = site({
      id: 'good',
      title: 'Good',
      rollbacks: [rollback({id: 'undo', title: 'Undo', steps: [manual({id: 'u', title: 'U'})]})],
      phases: [
        phase({
          id: 'p',
          title: 'P',
          pointOfNoReturn: true,
          rollback: [manual({id: 'r', title: 'R'})],
          steps: [command({id: 'b', title: 'B', run: 'b', onFailure: onFailure.rollback('undo')})],
        }),
      ],
    });
    expect(messages(good)).toEqual([]);
  });
});
