/**
 * Compiles a resolved plan into an XState machine: one state per applicable step, each
 * with the substates of its kind (confirm, running, waiting, failed, unknown …). Steps
 * run as invoked actors (provided by the session); the machine emits journal events
 * (phase entered, prompt shown, variable captured, step finished) and never logs.
 */
import {assign, emit, enqueueActions, fromPromise, setup} from 'xstate';
import type {JournalEvent, Outcome, PromptKind} from '../journal/events.js';
import {whenFails} from '../runbook/conditions.js';
import type {ValueCondition} from '../runbook/vocabulary.js';
import type {Flow} from './machine/step-context.js';
import {stepState} from './machine/step-state.js';
import {interpolate, type ResolvedPlan, type ResolvedStep} from './plan.js';
import {describePrompts, type DescribePrompt} from './prompt-facts.js';
import {unknownPromptText, whenUnfinished} from './unfinished.js';

/** What a step actor receives. */
export interface StepInput {
  key: string;
  /** Profile variables and values captured so far. */
  vars: Record<string, string>;
  attempt: number;
}

/** What a step actor answers. */
export interface StepResult {
  outcome: Extract<Outcome, 'ok' | 'failed' | 'timed-out' | 'unknown' | 'canceled'>;
  exitCode?: number | null;
  durationMs: number;
  reason?: string;
  /** Values captured from the output, by variable name. */
  captured?: Record<string, string>;
}

export type DriverEvent =
  | {type: 'GO'; value: string}
  | {type: 'CONFIRM'; value: string}
  | {type: 'TICK'; note?: string}
  | {type: 'SKIP'; reason: string}
  | {type: 'RETRY'}
  /** A fan-out command that failed: leave this host out and run the rest. */
  | {type: 'EXCLUDE'; host: string; reason: string}
  | {type: 'MARK_DONE'; reason?: string}
  /**
   * End the session. Before the point of no return, when a phase that ran has rollback
   * steps, the driver is offered the rollback first, unless `withoutRollback` (a flag
   * that said "abort" in advance).
   */
  | {type: 'ABORT'; reason?: string; withoutRollback?: boolean}
  /** Run the rollback of what has run (only before the point of no return). */
  | {type: 'ROLLBACK'; reason?: string}
  | {type: 'CHOOSE'; option: string}
  | {type: 'KEEP_WAITING'}
  | {type: 'INVESTIGATE'}
  | {type: 'CANCEL'};

export interface EngineContext {
  vars: Record<string, string>;
  attempt: number;
  stepStartedAt: number;
  /** Phases that ran (a step of them started or was answered), in order. */
  ran: string[];
  /** The step where the point of no return was passed. */
  noReturn?: string;
  /** The phases being rolled back. */
  rollingBack: string[];
  /** The step the driver aborted at (the rollback prompt belongs to it). */
  abortedAt?: string;
}

/** Where a session stands on rollback, rebuilt from the journal on resume (resume.ts). */
export interface RollbackProgress {
  ran: string[];
  noReturn?: string;
  rollingBack: string[];
  abortedAt?: string;
  /** A named rollback under way (its steps are chained in the machine). */
  rollback?: string;
}

/** A phase's rollback as the machine sees it: its id and title, and the steps that apply. */
export interface RollbackPhase {
  id: string;
  title: string;
  steps: {key: string; title: string}[];
}

/** The phases to roll back: those that ran and have rollback steps, in site order. */
const phasesToRollBack = (context: EngineContext, phases: readonly RollbackPhase[]) =>
  phases.filter((p) => context.ran.includes(p.id));

const notProvided = (name: string) =>
  fromPromise<StepResult, StepInput>(async () => {
    throw new Error(`the session did not provide the "${name}" step actor`);
  });

/** The one shared setup every site's machine is created from. */
export const engineSetup = setup({
  types: {
    context: {} as EngineContext,
    events: {} as DriverEvent | {type: 'BEGIN'},
    input: {} as {vars: Record<string, string>; progress?: RollbackProgress},
    emitted: {} as JournalEvent,
  },
  actors: {
    command: notProvided('command'),
    watch: notProvided('watch'),
    check: notProvided('check'),
    notify: notProvided('notify'),
    send: notProvided('send'),
  },
  guards: {
    succeeded: ({event}) => (event as unknown as {output?: StepResult}).output?.outcome === 'ok',
    outcomeUnknown: ({event}) =>
      (event as unknown as {output?: StepResult}).output?.outcome === 'unknown',
    /** An unknown end of a step safe to repeat, with automatic runs left (unfinished.ts). */
    runsAgainWhenUnknown: ({context, event}, params: {resolved: ResolvedStep}) => {
      const output = (event as unknown as {output?: StepResult}).output;
      return (
        output?.outcome === 'unknown' &&
        whenUnfinished(
          params.resolved,
          {kind: 'unknown-outcome', ...(output.reason ? {reason: output.reason} : {})},
          context.attempt,
        ).action === 'run-again'
      );
    },
    typedWord: ({event}, params: {word: string}) =>
      (event.type === 'GO' || event.type === 'CONFIRM') && event.value.trim() === params.word,
    choseOption: ({event}, params: {option: string}) =>
      event.type === 'CHOOSE' && event.option === params.option,
    /** A step's `when` holds on the variables as they are now (captured values too). */
    whenHolds: ({context}, params: {when: ValueCondition | readonly ValueCondition[]}) =>
      whenFails(params.when, context.vars) === undefined,
    /** Rolling back is offered: before the point of no return, and a phase that ran has a rollback. */
    offersRollback: ({context, event}, params: {phases: readonly RollbackPhase[]}) =>
      !(event.type === 'ABORT' && event.withoutRollback) &&
      !context.noReturn &&
      phasesToRollBack(context, params.phases).length > 0,
    rollingBackPhase: ({context}, params: {phase: string}) =>
      context.rollingBack.includes(params.phase),
  },
  actions: {
    startClock: assign({stepStartedAt: () => Date.now()}),
    /**
     * A step of `phase` began (it started, or the driver answered it): the phase ran, and
     * a point of no return is passed (journaled once).
     */
    began: enqueueActions(
      ({context, enqueue}, params: {step: string; phase?: string; pointOfNoReturn?: boolean}) => {
        const phase = params.phase;
        if (phase && !context.ran.includes(phase))
          enqueue.assign({ran: ({context}) => [...context.ran, phase]});
        if (params.pointOfNoReturn && !context.noReturn) {
          enqueue.assign({noReturn: params.step});
          enqueue.emit({type: 'no-return-passed', step: params.step});
        }
      },
    ),
    abortedAt: assign({abortedAt: (_, params: {step: string}) => params.step}),
    /** Rolling back the phases that ran, the latest first. */
    startRollback: enqueueActions(
      (
        {context, enqueue},
        params: {step?: string; trigger: 'abort' | 'failure'; phases: readonly RollbackPhase[]},
      ) => {
        const phases = phasesToRollBack(context, params.phases);
        enqueue.assign({rollingBack: phases.map((p) => p.id)});
        enqueue.emit({
          type: 'rollback-started',
          step: params.step ?? context.abortedAt ?? '',
          trigger: params.trigger,
          phases: phases.map((p) => p.id).reverse(),
          steps: phases
            .slice()
            .reverse()
            .flatMap((p) => p.steps.map((s) => s.key)),
        });
      },
    ),
    startNamedRollback: emit(
      (_, params: {step: string; rollback: string; steps: string[]}) =>
        ({
          type: 'rollback-started',
          step: params.step,
          trigger: 'failure',
          rollback: params.rollback,
          steps: params.steps,
        }) as const,
    ),
    /** The offer after an abort: what the rollback would run, in order. */
    promptRollback: emit(({context}, params: {phases: readonly RollbackPhase[]}) => {
      const phases = phasesToRollBack(context, params.phases).reverse();
      const steps = phases.flatMap((p) => p.steps);
      const step = context.abortedAt ?? '';
      return {
        type: 'prompt-shown',
        step,
        prompt: 'rollback',
        text: [
          `Aborted. Roll back what has run? The rollback of ${phases
            .map((p) => `"${interpolate(p.title, context.vars)}"`)
            .join(', then ')} runs:`,
          ...steps.map((s, i) => `  ${i + 1}. ${interpolate(s.title, context.vars)}`),
          'Type "rollback" to run it, or "abort" to end the session without rolling back.',
        ].join('\n'),
        expects: 'rollback',
        rollback: steps.map((s) => s.key),
      } as const;
    }),
    /** After the point of no return, an abort says why it offers no rollback. */
    noRollbackOffered: enqueueActions(
      ({context, enqueue}, params: {phases: readonly RollbackPhase[]}) => {
        if (context.noReturn && phasesToRollBack(context, params.phases).length)
          enqueue.emit({
            type: 'notice',
            level: 'warn',
            text: 'rolling back is no longer offered: the point of no return was passed',
            step: context.noReturn,
          });
      },
    ),
    failureBranch: emit(
      (_, params: {step: string; steps: number}) =>
        ({
          type: 'notice',
          step: params.step,
          level: 'warn',
          text: `failed: its on-failure steps run (${params.steps})`,
        }) as const,
    ),
    nextAttempt: assign({attempt: ({context}) => context.attempt + 1}),
    resetAttempt: assign({attempt: () => 1}),
    /** A step whose `when` does not hold: skipped, saying which condition and what value. */
    skippedByCondition: emit(
      ({context}, params: {step: string; when: ValueCondition | readonly ValueCondition[]}) =>
        ({
          type: 'step-skipped',
          step: params.step,
          reason: `not run: ${whenFails(params.when, context.vars) ?? 'its condition does not hold'}`,
        }) as const,
    ),
    phaseEntered: emit(
      (_, params: {phase: string}) => ({type: 'phase-entered', phase: params.phase}) as const,
    ),
    prompt: emit(
      (
        {context},
        params: {
          step: string;
          prompt: PromptKind;
          text: string;
          expects?: string;
          options?: string[];
          labels?: string[];
          /** Fill `${…}` from the variables at the time the prompt shows (captured ones too). */
          fill?: boolean;
          /** The prompt's facts as fields (title, hosts, commands, checks …). */
          describe?: DescribePrompt;
        },
      ) => {
        const {fill, describe, ...rest} = params;
        return {
          type: 'prompt-shown',
          ...rest,
          ...(fill ? {text: interpolate(params.text, context.vars)} : {}),
          ...describe?.(params.step, params.prompt, context.vars),
        } as const;
      },
    ),
    /** The unknown prompt: why the outcome is not known comes from the step's result, or from where the session resumed. */
    promptUnknown: emit(
      (
        {context, event},
        params: {step: string; title: string; why?: string; describe?: DescribePrompt},
      ) => {
        const output = (event as unknown as {output?: StepResult}).output;
        const why =
          output?.reason ??
          params.why ??
          'it started before the last session stopped and never finished';
        return {
          type: 'prompt-shown',
          step: params.step,
          prompt: 'unknown',
          text: unknownPromptText(interpolate(params.title, context.vars), why),
          ...params.describe?.(params.step, 'unknown', context.vars),
        } as const;
      },
    ),
    runsAgain: emit(
      ({context}, params: {step: string}) =>
        ({
          type: 'notice',
          step: params.step,
          level: 'warn',
          text: `the outcome is unknown (attempt ${context.attempt}); safe to repeat, so it runs again`,
        }) as const,
    ),
    captured: emit(({event}, params: {step: string}) => {
      const output = (event as unknown as {output?: StepResult}).output;
      const [name, value] = Object.entries(output?.captured ?? {})[0] ?? ['', ''];
      return {type: 'variable-captured', step: params.step, name, value} as const;
    }),
    captureMissing: emit(
      (_, params: {step: string; name: string}) =>
        ({
          type: 'notice',
          step: params.step,
          level: 'warn',
          text: `\${${params.name}} is missing: this step was skipped, so it captured nothing; a later step that uses \${${params.name}} stops and says it has no value`,
        }) as const,
    ),
    keepCaptured: assign({
      vars: ({context, event}) => ({
        ...context.vars,
        ...((event as unknown as {output?: StepResult}).output?.captured ?? {}),
      }),
    }),
    finishedWithResult: emit(({event}, params: {step: string}) => {
      const output = (event as unknown as {output?: StepResult; error?: unknown}).output;
      const error = (event as unknown as {error?: unknown}).error;
      return {
        type: 'step-finished',
        step: params.step,
        outcome: output?.outcome ?? 'failed',
        ...(output?.exitCode !== undefined ? {exitCode: output.exitCode} : {}),
        durationMs: Math.round(output?.durationMs ?? 0),
        ...(output?.reason
          ? {reason: output.reason}
          : error
            ? {reason: error instanceof Error ? error.message : String(error)}
            : {}),
      } as const;
    }),
    finishedByDriver: emit(({context, event}, params: {step: string; outcome: Outcome}) => {
      const reason =
        event.type === 'SKIP'
          ? event.reason
          : event.type === 'MARK_DONE' ||
              event.type === 'ABORT' ||
              event.type === 'EXCLUDE' ||
              event.type === 'ROLLBACK'
            ? event.reason
            : event.type === 'TICK'
              ? event.note
              : undefined;
      return {
        type: 'step-finished',
        step: params.step,
        outcome: params.outcome,
        durationMs: Date.now() - context.stepStartedAt,
        ...(reason ? {reason} : {}),
        ...(event.type === 'CHOOSE' ? {option: event.option} : {}),
      } as const;
    }),
  },
});

export type EngineMachine = ReturnType<typeof compileMachine>;

/** Where a resumed session starts. */
export interface StartAt {
  key: string;
  /**
   * `unknown`: the step started and never finished, ask the driver first.
   * `failed`: it failed and the driver had not decided yet.
   * `rollback-offer`: the driver aborted at it and had not answered the rollback offer.
   */
  substate?: 'unknown' | 'failed' | 'rollback-offer';
  /** For `unknown`: why its end is not known, said plainly. */
  why?: string;
}

const stateId = (plan: ResolvedPlan, key: string): string =>
  `step-${plan.steps.findIndex((s) => s.key === key)}`;

/**
 * Builds the machine for a plan. `describe` gives each prompt its facts as fields (the
 * session's adds the exact commands, which need the secrets and the redactor).
 */
export function compileMachine(
  plan: ResolvedPlan,
  startAt?: StartAt,
  describe: DescribePrompt = describePrompts(plan),
) {
  // A step with `when` is entered through its condition: run it, or skip it to the next.
  const target = (key: string | undefined): string =>
    key
      ? plan.byKey.get(key)?.step.when !== undefined
        ? `#when-${stateId(plan, key)}`
        : `#${stateId(plan, key)}`
      : '#finished';
  const states: Record<string, object> = {};
  let previousPhase: string | undefined;
  const ordered = plan.steps.filter((s) => s.applies);
  // Phase entries: the first applicable step of each phase in walking order.
  const firstOfPhase = new Set<string>();
  for (const s of ordered) {
    if (s.branch || s.standby) continue;
    if (s.phase.id !== previousPhase) firstOfPhase.add(s.key);
    previousPhase = s.phase.id;
  }
  const rollbackPhases: RollbackPhase[] = plan.phaseRollbacks.map((r) => ({
    id: r.id,
    title: r.title,
    steps: r.steps.filter((s) => s.applies).map((s) => ({key: s.key, title: s.step.title})),
  }));
  // Rolling back walks the phases' rollbacks, the latest phase first, each only if that
  // phase ran: one junction per phase, the last one first.
  const junction = (i: number): string => (i >= 0 ? `#rollback-${i}` : '#rolled-back');
  const rollbackStates: Record<string, object> = {};
  plan.phaseRollbacks.forEach((r, i) => {
    rollbackStates[`rollback-${i}`] = {
      id: `rollback-${i}`,
      always: [
        {guard: {type: 'rollingBackPhase', params: {phase: r.id}}, target: target(r.first)},
        {target: junction(i - 1)},
      ],
    };
  });
  const flow: Flow = {
    target,
    rollbackPhases,
    rollingBack: junction(plan.phaseRollbacks.length - 1),
    afterLast: (s) => {
      if (s.standby?.when !== 'rollback') return '#finished';
      const i = plan.phaseRollbacks.findIndex((r) => r.id === s.standby!.of);
      return i >= 0 ? junction(i - 1) : '#rolled-back';
    },
  };
  for (const s of ordered) {
    const when = s.step.when;
    const entersPhase = firstOfPhase.has(s.key);
    if (when !== undefined) {
      const id = `when-${stateId(plan, s.key)}`;
      states[id] = {
        id,
        ...(entersPhase ? {entry: [{type: 'phaseEntered', params: {phase: s.phase.id}}]} : {}),
        always: [
          {guard: {type: 'whenHolds', params: {when}}, target: `#${stateId(plan, s.key)}`},
          {
            target: s.next ? target(s.next) : flow.afterLast(s),
            actions: [{type: 'skippedByCondition', params: {step: s.key, when}}],
          },
        ],
      };
    }
    states[stateId(plan, s.key)] = stepState(
      s,
      flow,
      plan,
      entersPhase && when === undefined,
      startAt,
      describe,
    );
  }
  // A resumed step the driver must decide on is entered as it was; any other, as usual.
  const first = !startAt
    ? target(plan.first)
    : startAt.substate === 'rollback-offer'
      ? '#offer-rollback'
      : startAt.substate
        ? `#${stateId(plan, startAt.key)}`
        : target(startAt.key);
  // Only where a phase has rollback steps: the offer after an abort.
  const offer = {
    id: 'offer-rollback',
    entry: [{type: 'promptRollback', params: {phases: rollbackPhases}}],
    on: {
      ROLLBACK: {
        target: flow.rollingBack,
        actions: [{type: 'startRollback', params: {trigger: 'abort', phases: rollbackPhases}}],
      },
      ABORT: '#aborted',
    },
  };
  return engineSetup.createMachine({
    id: 'session',
    context: ({input}) => ({
      vars: input.vars,
      attempt: 1,
      stepStartedAt: Date.now(),
      ran: input.progress?.ran ?? [],
      rollingBack: input.progress?.rollingBack ?? [],
      ...(input.progress?.noReturn ? {noReturn: input.progress.noReturn} : {}),
      ...(input.progress?.abortedAt ? {abortedAt: input.progress.abortedAt} : {}),
    }),
    // Entering the first step by a transition keeps its events in the same order as
    // every other step's (phase entered before step started).
    initial: 'starting',
    states: {
      // Left by BEGIN after start(): a transition from a started actor, like any other.
      starting: {on: {BEGIN: first}},
      ...states,
      ...(rollbackPhases.length ? {'offer-rollback': offer} : {}),
      ...rollbackStates,
      finished: {id: 'finished', type: 'final'},
      aborted: {id: 'aborted', type: 'final'},
      ...(rollbackPhases.length || plan.namedRollbacks.size
        ? {'rolled-back': {id: 'rolled-back', type: 'final'}}
        : {}),
    },
  } as Parameters<typeof engineSetup.createMachine>[0]);
}
