/**
 * Issue 12 #3 and #4 in a real tmux, at 80×24 and at 200×50: a small machine written for
 * the test (outside the package, importing from `crewchief`, local transport), driven by
 * hand, one session per size.
 *
 * #3: a profile variable in a phase title, a value captured by a command and read later
 * in a step title, a gate's check and its help; before the capture the name has no value
 * and is shown as missing, never as typed.
 * #4: a watch that never reaches its target times out; `skip` alone asks for a reason, the
 * prompt says what the step guards, and the skip leaves "skipped" on the step and the phase
 * (not done, not `2/2`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {
  answerLine,
  cliJs,
  driverEnv,
  ensureBuilt,
  rows,
  tmuxAvailable,
  TmuxPane,
} from '../helpers/tmux.js';

const panes: TmuxPane[] = [];
const dirs: string[] = [];

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => {
  for (const p of panes) p.kill();
  for (const d of dirs) fs.rmSync(d, {recursive: true, force: true});
});

/** The machine (`#{name}` written for `${name}`, so this file does not fill it). */
const machine = String.raw`import {command, gate, manual, phase, site, watch} from 'crewchief';

export default site({
  id: 'fill-skip',
  title: 'Fill and skip',
  variables: {component: 'the service deployed'},
  phases: [
    phase({
      id: 'deploy',
      title: '1. Deploy #{component}',
      steps: [
        gate({id: 'ready', title: 'Ready to deploy #{component}?', checks: ['Nobody else deploys #{component}']}),
        command({
          id: 'fetch',
          title: 'Fetch the revision of #{component}',
          run: 'echo "rev: 7f3a9c1"',
          capture: {as: 'deploy_rev', pattern: 'rev: (\\S+)'},
        }),
        gate({
          id: 'verify',
          title: 'Is #{deploy_rev} the release?',
          checks: ['The dashboard shows #{deploy_rev} for #{component}'],
          help: 'Compare #{deploy_rev} with the release notes of #{component}',
        }),
        manual({id: 'log', title: 'Log deployed #{component} #{deploy_rev}'}),
      ],
    }),
    phase({
      id: 'drain',
      title: '2. Drain #{component}',
      steps: [
        watch({
          id: 'wait-drained',
          title: 'Wait until #{component} has no connections',
          probe: 'echo "connections: 3"',
          parse: 'connections: (\\d+)',
          until: {equals: 0},
          unit: 'connections',
          every: '300ms',
          patience: '1m',
          timeout: '3s',
        }),
        manual({id: 'shutdown', title: 'Shut down the #{component} daemon'}),
      ],
    }),
  ],
});
`.replace(/#\{/g, '${');

const profile = `site: fill-skip
title: Fill and skip test
release: 2026-12-01
transport: local
variables:
  component: citoid
`;

/** No `${` left as the runbook typed it, anywhere on the screen. */
const noneTyped = (screen: string): void => expect(screen).not.toMatch(/\$\{/);

/** The checklist row of a phase (its title, then its progress at the right). */
const phaseRow = (screen: string, title: string): string =>
  rows(screen).find((l) => l.includes(title) && /\d+\/\d+/.test(l)) ?? '';

/** The one journal under a state directory. */
const journalOf = (state: string): string => {
  const dir = path.join(state, 'crewchief', 'sessions');
  return path.join(
    dir,
    fs.readdirSync(dir).find((f) => f.endsWith('.jsonl'))!,
  );
};

/**
 * Types text into the answer line until it shows (keys typed while a prompt is too new to
 * read are dropped: then it clears and types again), without pressing Enter.
 */
async function typed(pane: TmuxPane, text: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    pane.type(text);
    try {
      await pane.waitFor(`> ${text}`, 2000);
      return;
    } catch (error) {
      if (tries > 10) throw error;
      pane.keys('Escape');
      await pane.waitFor((s) => answerLine(s) === '');
    }
  }
}

describe.skipIf(!tmuxAvailable())(
  'issue 12 #3 and #4 in tmux: values filled, a watch skipped',
  () => {
    for (const size of [
      {columns: 80, rows: 24},
      {columns: 200, rows: 50},
    ]) {
      it(`at ${size.columns}×${size.rows}`, async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-fillskip-'));
        dirs.push(dir);
        fs.writeFileSync(path.join(dir, 'machine.ts'), machine);
        fs.writeFileSync(path.join(dir, 'p.yaml'), profile);
        const state = path.join(dir, 'state');
        const pane = TmuxPane.start({
          columns: size.columns,
          rows: size.rows,
          command: ['node', cliJs, 'run', './machine.ts', '--profile', './p.yaml'],
          env: driverEnv({XDG_STATE_HOME: state}),
          cwd: dir,
        });
        panes.push(pane);

        // #3, a profile variable: the phase title, the gate's title and its check are filled.
        let screen = await pane.waitFor('GATE · Ready to deploy citoid?', 60_000);
        expect(screen).toContain('1. Deploy citoid');
        expect(screen).toContain('☐ Nobody else deploys citoid');
        // A captured name before its capture has no value: shown as missing, never as typed.
        expect(screen).toContain('Is ⟨deploy_rev?⟩ the release?');
        noneTyped(screen);
        await pane.answer('go');

        // #3, a captured value: the next gate's title, check and help carry it.
        screen = await pane.waitFor('GATE · Is 7f3a9c1 the release?', 60_000);
        expect(screen).toContain('☐ The dashboard shows 7f3a9c1 for citoid');
        expect(screen).toContain('Log deployed citoid 7f3a9c1');
        expect(screen).toContain('Compare 7f3a9c1 with the release notes of citoid');
        expect(screen).not.toContain('⟨deploy_rev?⟩');
        noneTyped(screen);
        await pane.answer('go');
        await pane.waitFor('TO DO · Log deployed citoid 7f3a9c1', 30_000);
        await pane.answer('done');

        // #4: the watch never reaches 0 and times out.
        screen = await pane.waitFor(/timed out/i, 60_000);
        expect(screen).toContain('2. Drain citoid');
        expect(screen).toContain('Wait until citoid has no connections');
        // It says what the step guards: the shutdown next assumes 0 connections.
        expect(screen.replace(/[║│]/g, ' ').replace(/\s+/g, ' ')).toMatch(
          /skipping gives up: "Shut down the citoid daemon" comes next and assumes the count is = 0/,
        );
        noneTyped(screen);
        // A skip without a reason is refused and asks for one.
        await typed(pane, 'skip');
        for (;;) {
          pane.keys('Enter');
          screen = await pane.waitFor(/say why: skip <reason>|press Enter on its own/);
          if (screen.includes('say why: skip <reason>')) break;
        }
        expect(
          readJournal(journalOf(state)).entries.filter(
            (e) => e.type === 'decision' && e.step === 'drain/wait-drained',
          ),
        ).toEqual([]);
        pane.keys('Escape');
        await pane.answer('skip the balancer already took it out');

        // The next step waits; the watch shows skipped (not done), and the phase says so.
        screen = await pane.waitFor('TO DO · Shut down the citoid daemon', 30_000);
        expect(screen).toMatch(/↷ Wait until citoid.*↷ SKIPPED, not done/);
        expect(phaseRow(screen, '2. Drain citoid')).toMatch(/↷1 skipped 0\/2/);
        expect(readJournal(journalOf(state)).entries).toContainEqual(
          expect.objectContaining({
            type: 'decision',
            step: 'drain/wait-drained',
            decision: 'skip',
            reason: 'the balancer already took it out',
          }),
        );
        await pane.answer('done');

        // The end: the phase still says one skipped and never reads 2/2.
        screen = await pane.waitFor(/session (finished|complete)/i, 30_000);
        const drained = phaseRow(screen, '2. Drain citoid');
        expect(drained).toMatch(/↷1 skipped 1\/2/);
        expect(drained).not.toMatch(/ 2\/2/);
        noneTyped(screen);
        expect(rows(screen).every((l) => l.length <= size.columns)).toBe(true);
        pane.keys('q');
        await pane.exited(20_000);
      }, 240_000);
    }
  },
);
