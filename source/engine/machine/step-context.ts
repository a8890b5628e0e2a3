/**
 * What the state of every kind of step is built from: where the step leads, and the
 * pieces all kinds share (skip, abort or roll back, mark done, the prompt, the invoke).
 * Built once per step, then handed to the builder of its kind.
 */
import type {Outcome, PromptKind} from '../../journal/events.js';
import type {EngineContext, RollbackPhase, StartAt} from '../machine.js';
import type {ResolvedPlan, ResolvedStep} from '../plan.js';
import type {DescribePrompt} from '../prompt-facts.js';

/** Where steps lead: to another step, into the rollback, or to an end. */
export interface Flow {
  target: (key: string | undefined) => string;
  rollbackPhases: readonly RollbackPhase[];
  /** The first rollback junction (the latest phase's). */
  rollingBack: string;
  /** Where a step with no next goes: the end, or the rollback of an earlier phase. */
  afterLast: (s: ResolvedStep) => string;
}

/** The shared pieces of one step's state (see `stepContext`). */
export type StepContext = ReturnType<typeof stepContext>;

/** A step the driver ended: journaled with the outcome the driver gave it. */
type Finish = (outcome: Outcome) => {type: string; params: {step: string; outcome: Outcome}};

// A rollback step is not rolled back again: an abort there ends the session.
const inRollback = (s: ResolvedStep) => s.standby?.when === 'rollback';

/** The pieces of `s`'s state that every kind shares. */
export function stepContext(
  s: ResolvedStep,
  flow: Flow,
  plan: ResolvedPlan,
  entersPhase: boolean,
  startAt: StartAt | undefined,
  describe: DescribePrompt,
) {
  const step = s.key;
  const next = s.next ? flow.target(s.next) : flow.afterLast(s);
  const finish: Finish = (outcome) => ({type: 'finishedByDriver', params: {step, outcome}});
  const skip = skipTransition(s, next, finish);
  const stop = stopTransitions(s, flow, finish);
  const markDone = {target: next, actions: [finish('done')]};
  return {
    s,
    step,
    plan,
    flow,
    startAt,
    describe,
    /** Where the step goes when it is done. */
    next,
    finish,
    skip,
    /** ABORT, and ROLLBACK where a rollback is offered. */
    stop,
    /** What the driver may decide on a step that cannot go on by itself. */
    decide: {SKIP: skip, ...stop, MARK_DONE: markDone},
    began: beganActions(s),
    entry: [
      'startClock',
      'resetAttempt',
      ...(entersPhase ? [{type: 'phaseEntered', params: {phase: s.phase.id}}] : []),
    ],
    prompt: (prompt: PromptKind, text: string, extra: object = {}) => ({
      type: 'prompt',
      // Filled once, when the prompt shows: profile variables and values captured so far.
      params: {step, prompt, text, describe, fill: true, ...extra},
    }),
    invokeStep: (src: string) => ({
      id: src,
      src,
      input: ({context}: {context: EngineContext}) => ({
        key: step,
        vars: context.vars,
        attempt: context.attempt,
      }),
    }),
    id: `step-${plan.steps.indexOf(s)}`,
  };
}

/** SKIP: on to the next step; a skipped capture says what is now missing. */
function skipTransition(s: ResolvedStep, next: string, finish: Finish) {
  const capturing = s.step.kind === 'command' ? s.step.capture?.as : undefined;
  return {
    target: next,
    actions: [
      finish('skipped'),
      ...(capturing ? [{type: 'captureMissing', params: {step: s.key, name: capturing}}] : []),
    ],
  };
}

/** ABORT ends the session, or offers the rollback first; ROLLBACK runs it straight away. */
function stopTransitions(s: ResolvedStep, flow: Flow, finish: Finish) {
  const step = s.key;
  if (inRollback(s) || flow.rollbackPhases.length === 0)
    return {ABORT: {target: '#aborted', actions: [finish('canceled')]}};
  const phases = {phases: flow.rollbackPhases};
  return {
    ABORT: [
      {
        guard: {type: 'offersRollback', params: phases},
        target: '#offer-rollback',
        actions: [finish('canceled'), {type: 'abortedAt', params: {step}}],
      },
      {
        target: '#aborted',
        actions: [finish('canceled'), {type: 'noRollbackOffered', params: phases}],
      },
    ],
    ROLLBACK: {
      guard: {type: 'offersRollback', params: phases},
      target: flow.rollingBack,
      actions: [
        finish('canceled'),
        {type: 'startRollback', params: {step, trigger: 'abort', ...phases}},
      ],
    },
  };
}

/** The step began: its phase ran, and its point of no return (if any) is passed. */
function beganActions(s: ResolvedStep) {
  if (inRollback(s)) return [];
  return [
    {
      type: 'began',
      params: {
        step: s.key,
        phase: s.phase.id,
        ...(s.pointOfNoReturn ? {pointOfNoReturn: true} : {}),
      },
    },
  ];
}
