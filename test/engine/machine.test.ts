/**
 * The machine itself, one step kind at a time: `createActor(compileMachine(plan)
 * .provide({actors: fakes}))` with fake step actors on fake timers. What the driver sees
 * (prompts) and what the journal gets (events) for each kind, with nothing run.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {createActor, fromPromise} from 'xstate';
import {
  compileMachine,
  type DriverEvent,
  type StartAt,
  type StepInput,
  type StepResult,
} from '../../source/engine/machine.js';
import {resolvePlan} from '../../source/engine/plan.js';
import type {JournalEvent} from '../../source/journal/events.js';
import {loadProfile} from '../../source/runbook/profile.js';
import {
  check,
  choice,
  command,
  gate,
  manual,
  notify,
  phase,
  site,
  watch,
  type Step,
} from '../../source/runbook/vocabulary.js';
import {tempDir} from '../helpers/fixtures.js';

let dir: string;
beforeEach(() => {
  vi.useFakeTimers();
  dir = tempDir('cc-machine-');
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, {recursive: true, force: true});
});

type Answer = StepResult | ((input: StepInput) => StepResult);

/** A step actor that answers after `ms` of (fake) time, and records what it was given. */
function fake(answers: Answer[], ms = 1000) {
  const inputs: StepInput[] = [];
  const logic = fromPromise<StepResult, StepInput>(
    ({input, signal}) =>
      new Promise((resolve) => {
        inputs.push(input);
        const answer = answers[Math.min(inputs.length - 1, answers.length - 1)]!;
        const timer = setTimeout(
          () => resolve(typeof answer === 'function' ? answer(input) : answer),
          ms,
        );
        signal.addEventListener('abort', () => clearTimeout(timer));
      }),
  );
  return {logic, inputs};
}

const ok = (extra: Partial<StepResult> = {}): StepResult => ({
  outcome: 'ok',
  durationMs: 1000,
  ...extra,
});

/** One phase of these steps, on a profile with two hosts in a group. */
function start(
  steps: Step[],
  actors: Partial<Record<'command' | 'watch' | 'check' | 'notify' | 'send', {logic: unknown}>>,
  startAt?: StartAt,
) {
  const profile = path.join(dir, 'p.yaml');
  fs.writeFileSync(
    profile,
    'site: kinds\nhosts:\n  web1: {}\n  web2: {}\ngroups:\n  web: [web1, web2]\nvariables:\n  tag: v1\n',
  );
  const plan = resolvePlan(
    site({id: 'kinds', title: 'Kinds', phases: [phase({id: 'p', title: 'P', steps})]}),
    loadProfile(profile),
  );
  const machine = compileMachine(plan, startAt).provide({
    actors: Object.fromEntries(Object.entries(actors).map(([k, v]) => [k, v.logic])) as never,
  });
  const actor = createActor(machine, {input: {vars: {tag: 'v1'}}});
  const events: JournalEvent[] = [];
  actor.on('*', (e) => void events.push(e as JournalEvent));
  actor.start();
  actor.send({type: 'BEGIN'});
  const send = (e: DriverEvent): boolean => {
    if (!actor.getSnapshot().can(e)) return false;
    actor.send(e);
    return true;
  };
  const prompts = () => events.filter((e) => e.type === 'prompt-shown');
  const finished = () => events.filter((e) => e.type === 'step-finished');
  return {actor, events, send, prompts, finished, done: () => actor.getSnapshot().status};
}

describe('the machine, per step kind (fake actors, fake timers)', () => {
  it('manual: asks, and a tick finishes it done', () => {
    const m = start([manual({id: 'm', title: 'Send the notice for ${tag}'})], {});
    expect(m.prompts()).toMatchObject([
      {prompt: 'manual', step: 'p/m', title: 'Send the notice for v1'},
    ]);
    expect(m.send({type: 'GO', value: 'go'})).toBe(false);
    expect(m.send({type: 'TICK', note: 'sent'})).toBe(true);
    expect(m.finished()).toMatchObject([{step: 'p/m', outcome: 'done', reason: 'sent'}]);
    expect(m.done()).toBe('done');
  });

  it('gate: takes only its word', () => {
    const m = start([gate({id: 'g', title: 'Go?', word: 'deploy', checks: ['green ${tag}']})], {});
    expect(m.prompts()[0]).toMatchObject({prompt: 'gate', expects: 'deploy', checks: ['green v1']});
    expect(m.send({type: 'GO', value: 'go'})).toBe(false);
    expect(m.send({type: 'GO', value: 'deploy'})).toBe(true);
    expect(m.finished()).toMatchObject([{step: 'p/g', outcome: 'ok'}]);
  });

  it('command: runs while the clock runs, captures into the next step, retries on failure with the next attempt', async () => {
    const cmd = fake([
      ok({captured: {rev: 'abc'}}),
      {outcome: 'failed', exitCode: 2, durationMs: 5, reason: 'boom'},
      ok(),
    ]);
    const m = start(
      [
        command({
          id: 'rev',
          title: 'Rev',
          run: 'git rev-parse',
          capture: {as: 'rev', pattern: '(.*)'},
        }),
        command({id: 'use', title: 'Use ${rev}', run: 'use ${rev}', on: '@web'}),
      ],
      {command: cmd},
    );
    expect(cmd.inputs).toMatchObject([{key: 'p/rev', attempt: 1}]);
    await vi.advanceTimersByTimeAsync(999);
    expect(m.finished()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(m.events).toContainEqual({
      type: 'variable-captured',
      step: 'p/rev',
      name: 'rev',
      value: 'abc',
    });
    expect(cmd.inputs[1]).toMatchObject({key: 'p/use', vars: {rev: 'abc'}, attempt: 1});
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.prompts().at(-1)).toMatchObject({
      prompt: 'failed',
      step: 'p/use',
      hosts: ['web1', 'web2'],
    });
    expect(m.send({type: 'RETRY'})).toBe(true);
    expect(cmd.inputs[2]).toMatchObject({key: 'p/use', attempt: 2});
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.finished().map((f) => `${f.step}:${f.outcome}`)).toEqual([
      'p/rev:ok',
      'p/use:failed',
      'p/use:ok',
    ]);
    expect(m.done()).toBe('done');
  });

  it('command with danger: nothing runs before the typed word', async () => {
    const cmd = fake([ok()]);
    const m = start([command({id: 'wipe', title: 'Wipe', run: 'wipe', danger: '${tag}'})], {
      command: cmd,
    });
    expect(m.prompts()[0]).toMatchObject({prompt: 'confirm', expects: 'v1'});
    expect(m.send({type: 'CONFIRM', value: 'wipe'})).toBe(false);
    await vi.advanceTimersByTimeAsync(5000);
    expect(cmd.inputs).toEqual([]);
    expect(m.send({type: 'CONFIRM', value: 'v1'})).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(cmd.inputs).toHaveLength(1);
    expect(m.done()).toBe('done');
  });

  it('command whose end is unknown: put to the driver, never run again on its own', async () => {
    const cmd = fake([{outcome: 'unknown', durationMs: 1, reason: 'Keepalive timeout'}, ok()]);
    const m = start([command({id: 'mig', title: 'Migrate', run: 'migrate'})], {command: cmd});
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cmd.inputs).toHaveLength(1);
    expect(m.prompts().at(-1)).toMatchObject({prompt: 'unknown', step: 'p/mig'});
    expect(m.prompts().at(-1)?.text).toMatch(/Keepalive timeout/);
    expect(m.send({type: 'MARK_DONE', reason: 'it ran'})).toBe(true);
    expect(m.finished().map((f) => f.outcome)).toEqual(['unknown', 'done']);
  });

  it("resumed at a step that never finished: asks first, runs only on the driver's word", async () => {
    const cmd = fake([ok()]);
    const m = start(
      [command({id: 'mig', title: 'Migrate', run: 'migrate'})],
      {command: cmd},
      {
        key: 'p/mig',
        substate: 'unknown',
        why: 'it started before the last session stopped and never finished',
      },
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cmd.inputs).toEqual([]);
    expect(m.prompts()).toMatchObject([{prompt: 'unknown', step: 'p/mig'}]);
    expect(m.send({type: 'RETRY'})).toBe(true);
    expect(cmd.inputs).toMatchObject([{attempt: 2}]);
  });

  it('watch: a timeout asks; keep waiting polls again; skip finishes it skipped', async () => {
    const w = fake([{outcome: 'timed-out', durationMs: 30_000, reason: 'still 4'}], 30_000);
    const m = start(
      [watch({id: 'drain', title: 'Drain', probe: 'count', until: {equals: 0}, timeout: '30s'})],
      {watch: w},
    );
    await vi.advanceTimersByTimeAsync(30_000);
    expect(m.prompts().at(-1)).toMatchObject({prompt: 'watch-timeout', step: 'p/drain'});
    expect(m.send({type: 'KEEP_WAITING'})).toBe(true);
    expect(w.inputs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(m.send({type: 'INVESTIGATE'})).toBe(true);
    expect(m.send({type: 'SKIP', reason: 'drained by hand'})).toBe(true);
    expect(m.finished()).toMatchObject([{outcome: 'skipped', reason: 'drained by hand'}]);
  });

  it('check: a failure asks; abort ends the session aborted', async () => {
    const c = fake([{outcome: 'failed', durationMs: 1, reason: 'port closed'}]);
    const m = start([check({id: 'up', title: 'Up', probes: [{tcp: '8080'}]})], {check: c});
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.prompts().at(-1)).toMatchObject({prompt: 'failed', checks: expect.any(Array)});
    expect(m.send({type: 'ABORT', reason: 'down'})).toBe(true);
    expect(m.actor.getSnapshot().value).toBe('aborted');
  });

  it('notify: with a webhook it posts (actor); without one it is text to copy (a manual prompt)', async () => {
    const n = fake([ok()]);
    const m = start(
      [
        notify({id: 'post', title: 'Post', text: 'deploying ${tag}', webhook: 'HOOK'}),
        notify({id: 'copy', title: 'Copy', text: 'deployed ${tag}', channel: '#ops'}),
      ],
      {notify: n},
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(n.inputs).toMatchObject([{key: 'p/post'}]);
    expect(m.prompts()).toMatchObject([
      {prompt: 'manual', step: 'p/copy', text: 'Post on #ops:\ndeployed v1'},
    ]);
    m.send({type: 'TICK'});
    expect(m.done()).toBe('done');
  });

  it("choice: the option is a field of the decision's step end; only its branch runs", async () => {
    const cmd = fake([ok()]);
    const m = start(
      [
        choice({
          id: 'how',
          title: 'How?',
          question: 'Which way?',
          options: [
            {id: 'a', label: 'Way A', steps: [command({id: 'ra', title: 'A', run: 'a'})]},
            {id: 'b', label: 'Way B', steps: [command({id: 'rb', title: 'B', run: 'b'})]},
          ],
        }),
      ],
      {command: cmd},
    );
    expect(m.prompts()[0]).toMatchObject({
      prompt: 'choice',
      options: ['a', 'b'],
      labels: ['Way A', 'Way B'],
    });
    expect(m.send({type: 'CHOOSE', option: 'c'})).toBe(false);
    expect(m.send({type: 'CHOOSE', option: 'b'})).toBe(true);
    expect(m.finished()[0]).toMatchObject({step: 'p/how', outcome: 'ok', option: 'b'});
    await vi.advanceTimersByTimeAsync(1000);
    expect(cmd.inputs.map((i) => i.key)).toEqual(['p/how/b/rb']);
    expect(m.done()).toBe('done');
  });
});
