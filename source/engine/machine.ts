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
import {builtInVariables, interpolate, type ResolvedPlan, type ResolvedStep} from './plan.js';
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

/** Where steps lead: to another step, into the rollback, or to an end. */
interface Flow {
  target: (key: string | undefined) => string;
  rollbackPhases: readonly RollbackPhase[];
  /** The first rollback junction (the latest phase's). */
  rollingBack: string;
  /** Where a step with no next goes: the end, or the rollback of an earlier phase. */
  afterLast: (s: ResolvedStep) => string;
}

function stepState(
  s: ResolvedStep,
  flow: Flow,
  plan: ResolvedPlan,
  entersPhase: boolean,
  startAt: StartAt | undefined,
  describe: DescribePrompt,
): object {
  const {target, rollbackPhases} = flow;
  const step = s.key;
  const next = s.next ? target(s.next) : flow.afterLast(s);
  const finish = (outcome: Outcome) => ({type: 'finishedByDriver', params: {step, outcome}});
  const capturing = s.step.kind === 'command' ? s.step.capture?.as : undefined;
  const skip = {
    target: next,
    actions: [
      finish('skipped'),
      ...(capturing ? [{type: 'captureMissing', params: {step, name: capturing}}] : []),
    ],
  };
  // A rollback step is not rolled back again: an abort there ends the session.
  const inRollback = s.standby?.when === 'rollback';
  const offers = !inRollback && rollbackPhases.length > 0;
  const phases = {phases: rollbackPhases};
  const abort = !offers
    ? {target: '#aborted', actions: [finish('canceled')]}
    : [
        {
          guard: {type: 'offersRollback', params: phases},
          target: '#offer-rollback',
          actions: [finish('canceled'), {type: 'abortedAt', params: {step}}],
        },
        {
          target: '#aborted',
          actions: [finish('canceled'), {type: 'noRollbackOffered', params: phases}],
        },
      ];
  const stop = {
    ABORT: abort,
    ...(!offers
      ? {}
      : {
          ROLLBACK: {
            guard: {type: 'offersRollback', params: phases},
            target: flow.rollingBack,
            actions: [
              finish('canceled'),
              {type: 'startRollback', params: {step, trigger: 'abort', ...phases}},
            ],
          },
        }),
  };
  const markDone = {target: next, actions: [finish('done')]};
  const decide = {SKIP: skip, ...stop, MARK_DONE: markDone};
  // The step began: its phase ran, and its point of no return (if any) is passed.
  const began = inRollback
    ? []
    : [
        {
          type: 'began',
          params: {
            step,
            phase: s.phase.id,
            ...(s.pointOfNoReturn ? {pointOfNoReturn: true} : {}),
          },
        },
      ];
  const entry = [
    'startClock',
    'resetAttempt',
    ...(entersPhase ? [{type: 'phaseEntered', params: {phase: s.phase.id}}] : []),
  ];
  const vars = builtInVariables(plan.profile);
  const prompt = (prompt: PromptKind, text: string, extra: object = {}) => ({
    type: 'prompt',
    // Filled once, when the prompt shows: profile variables and values captured so far.
    params: {step, prompt, text, describe, fill: true, ...extra},
  });
  const failedState = (text: string) => ({
    entry: [prompt('failed', text)],
    on: {
      RETRY: {target: 'running', actions: ['nextAttempt']},
      ...(s.step.kind === 'command' && s.hosts !== 'local' && s.hosts.length > 1
        ? {EXCLUDE: {target: 'running', actions: ['nextAttempt']}}
        : {}),
      ...decide,
    },
  });
  const unknownState = {
    entry: [
      {
        type: 'promptUnknown',
        params: {
          step,
          title: s.step.title,
          describe,
          ...(startAt?.key === step && startAt.why ? {why: startAt.why} : {}),
        },
      },
    ],
    on: {RETRY: {target: 'running', actions: ['nextAttempt']}, ...decide},
  };
  // The one rule (unfinished.ts) for a run whose end is unknown: a step safe to repeat
  // runs again on its own, a few times at most; any other is put to the driver.
  const unknownRoutes = [
    {
      guard: {type: 'runsAgainWhenUnknown', params: {resolved: s}},
      target: 'restarting',
      actions: [
        {type: 'finishedWithResult', params: {step}},
        {type: 'runsAgain', params: {step}},
      ],
    },
    {
      guard: 'outcomeUnknown',
      target: 'unknown',
      actions: [{type: 'finishedWithResult', params: {step}}],
    },
  ];
  const restarting = {always: {target: 'running', actions: ['nextAttempt']}};
  const invokeStep = (src: string) => ({
    id: src,
    src,
    input: ({context}: {context: EngineContext}) => ({
      key: step,
      vars: context.vars,
      attempt: context.attempt,
    }),
  });
  const resumeIn = startAt?.key === step ? startAt.substate : undefined;

  const copyOnly = s.step.kind === 'notify' && !s.step.webhook;
  if (s.step.kind === 'manual' || copyOnly) {
    const text =
      s.step.kind === 'notify'
        ? `Post${s.step.channel ? ` on ${s.step.channel}` : ''}:\n${s.step.text}`
        : (s.step.help ?? s.step.title);
    return {
      id: `step-${plan.steps.indexOf(s)}`,
      entry: [...entry, prompt('manual', text, {fill: true})],
      on: {TICK: {target: next, actions: [...began, finish('done')]}, SKIP: skip, ...stop},
    };
  }
  switch (s.step.kind) {
    case 'gate': {
      const word = s.step.word ?? 'go';
      const waiting = {
        entry: [prompt('gate', (s.step.checks ?? []).join('\n') || s.step.title, {expects: word})],
        on: {
          GO: {
            guard: {type: 'typedWord', params: {word}},
            target: s.step.send ? 'sending' : 'done',
            actions: began,
          },
          SKIP: skip,
          ...stop,
        },
      };
      return {
        id: `step-${plan.steps.indexOf(s)}`,
        entry,
        initial: 'waiting',
        states: {
          waiting,
          // Only a gate that types into a background process has these.
          ...(s.step.send
            ? {
                sending: {
                  invoke: {
                    ...invokeStep('send'),
                    onDone: [
                      {
                        guard: 'succeeded',
                        target: next,
                        actions: [{type: 'finishedWithResult', params: {step}}],
                      },
                      {target: 'failed', actions: [{type: 'finishedWithResult', params: {step}}]},
                    ],
                    onError: {
                      target: 'failed',
                      actions: [{type: 'finishedWithResult', params: {step}}],
                    },
                  },
                  on: {CANCEL: 'failed'},
                },
                failed: {
                  entry: [
                    prompt('failed', `"${s.step.title}": the process did not answer as expected.`),
                  ],
                  on: {RETRY: 'sending', ...decide},
                },
              }
            : {}),
          done: {always: {target: next, actions: [finish('ok')]}},
        },
      };
    }
    case 'choice': {
      const options = s.step.options;
      return {
        id: `step-${plan.steps.indexOf(s)}`,
        entry: [
          ...entry,
          prompt('choice', s.step.question, {
            options: options.map((o) => o.id),
            labels: options.map((o) => interpolate(o.label, vars)),
          }),
        ],
        on: {
          CHOOSE: options.map((o) => {
            const firstApplicable = (s.branches?.[o.id] ?? []).find((b) => b.applies);
            return {
              guard: {type: 'choseOption', params: {option: o.id}},
              target: firstApplicable ? target(firstApplicable.key) : next,
              actions: [...began, finish('ok')],
            };
          }),
          SKIP: skip,
          ...stop,
        },
      };
    }
    case 'command':
    case 'watch':
    case 'check':
    case 'notify': {
      const kind = s.step.kind;
      const done = [
        ...(kind === 'command' && s.step.capture
          ? [{type: 'captured', params: {step}}, 'keepCaptured']
          : []),
        {type: 'finishedWithResult', params: {step}},
      ];
      const ended = {type: 'finishedWithResult', params: {step}};
      // A step that says what runs when it fails goes there instead of asking.
      const branch = s.onFailureSteps?.find((b) => b.applies);
      const named = s.onFailureRollback ? plan.namedRollbacks.get(s.onFailureRollback) : undefined;
      const onFailure = s.onFailureSteps
        ? {
            target: branch ? target(branch.key) : next,
            actions: [
              ended,
              {
                type: 'failureBranch',
                params: {step, steps: s.onFailureSteps.filter((b) => b.applies).length},
              },
            ],
          }
        : named
          ? {
              target: named.first ? target(named.first) : '#rolled-back',
              actions: [
                ended,
                {
                  type: 'startNamedRollback',
                  params: {
                    step,
                    rollback: s.onFailureRollback,
                    steps: named.steps.filter((r) => r.applies).map((r) => r.key),
                  },
                },
              ],
            }
          : undefined;
      const running = {
        entry: began,
        invoke: {
          ...invokeStep(kind),
          onDone: [
            {guard: 'succeeded', target: next, actions: done},
            ...unknownRoutes,
            onFailure ??
              (kind === 'watch' ? {target: 'timedOut'} : {target: 'failed', actions: [ended]}),
          ],
          onError: onFailure ?? {target: 'failed', actions: [ended]},
        },
        on: {CANCEL: {target: 'failed', actions: [finish('canceled')]}},
      };
      const confirm = s.danger
        ? {
            confirm: {
              entry: [
                prompt(
                  'confirm',
                  `DANGER: type "${s.danger}" to run "${s.step.title}"${
                    s.step.kind === 'command' ? `\n$ ${s.step.run}` : ''
                  }`,
                  {expects: s.danger, fill: true},
                ),
              ],
              on: {
                CONFIRM: {guard: {type: 'typedWord', params: {word: s.danger}}, target: 'running'},
                SKIP: skip,
                ...stop,
              },
            },
          }
        : {};
      const watchStates =
        kind === 'watch'
          ? {
              timedOut: {
                entry: [
                  prompt(
                    'watch-timeout',
                    `"${s.step.title}" did not reach its target in time. Keep waiting, investigate, skip with a reason, or abort.`,
                  ),
                ],
                on: {KEEP_WAITING: 'running', INVESTIGATE: 'investigating', ...decide},
              },
              investigating: {
                entry: [
                  prompt(
                    'watch-timeout',
                    `Investigating "${s.step.title}". Keep waiting when ready, skip with a reason, or abort.`,
                  ),
                ],
                on: {KEEP_WAITING: 'running', ...decide},
              },
            }
          : {};
      return {
        id: `step-${plan.steps.indexOf(s)}`,
        entry,
        initial: resumeIn ?? (s.danger ? 'confirm' : 'running'),
        states: {
          ...confirm,
          running,
          failed: failedState(
            `"${s.step.title}" failed. Retry, skip with a reason, mark it done, or abort.`,
          ),
          unknown: unknownState,
          restarting,
          ...watchStates,
        },
      };
    }
  }
}
