/**
 * The state of a step that runs something (command, watch, check, notify with a
 * webhook): an invoked step actor, and what follows its end — the next step, the
 * step's on-failure route, or a prompt (failed, unknown, a watch that timed out).
 */
import type {CheckStep, CommandStep, NotifyStep, WatchStep} from '../../runbook/vocabulary.js';
import {onFailureRoute} from './on-failure.js';
import type {StepContext} from './step-context.js';

type ActingStep = CommandStep | WatchStep | CheckStep | NotifyStep;

/** (confirm →) running → next step, or failed / unknown / restarting (/ timedOut, investigating). */
export function actingState(c: StepContext, step: ActingStep): object {
  const {s} = c;
  const resumeIn = c.startAt?.key === c.step ? c.startAt.substate : undefined;
  return {
    id: c.id,
    entry: c.entry,
    initial: resumeIn ?? (s.danger ? 'confirm' : 'running'),
    states: {
      ...(s.danger ? {confirm: confirmState(c, step, s.danger)} : {}),
      running: runningState(c, step),
      failed: failedState(c, step),
      unknown: unknownState(c),
      restarting: {always: {target: 'running', actions: ['nextAttempt']}},
      ...(step.kind === 'watch' ? watchStates(c, step) : {}),
    },
  };
}

/** The step actor runs; its answer decides where the step goes. */
function runningState(c: StepContext, step: ActingStep) {
  const done = [
    ...(step.kind === 'command' && step.capture
      ? [{type: 'captured', params: {step: c.step}}, 'keepCaptured']
      : []),
    {type: 'finishedWithResult', params: {step: c.step}},
  ];
  const ended = {type: 'finishedWithResult', params: {step: c.step}};
  // A step that says what runs when it fails goes there instead of asking.
  const onFailure = onFailureRoute(c, ended);
  return {
    entry: c.began,
    invoke: {
      ...c.invokeStep(step.kind),
      onDone: [
        {guard: 'succeeded', target: c.next, actions: done},
        ...unknownRoutes(c),
        onFailure ??
          (step.kind === 'watch' ? {target: 'timedOut'} : {target: 'failed', actions: [ended]}),
      ],
      onError: onFailure ?? {target: 'failed', actions: [ended]},
    },
    on: {CANCEL: {target: 'failed', actions: [c.finish('canceled')]}},
  };
}

/**
 * The one rule (unfinished.ts) for a run whose end is unknown: a step safe to repeat
 * runs again on its own, a few times at most; any other is put to the driver.
 */
function unknownRoutes(c: StepContext) {
  const step = c.step;
  return [
    {
      guard: {type: 'runsAgainWhenUnknown', params: {resolved: c.s}},
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
}

/** A dangerous step runs only once the driver types its word. */
function confirmState(c: StepContext, step: ActingStep, word: string) {
  return {
    entry: [
      c.prompt(
        'confirm',
        `DANGER: type "${word}" to run "${step.title}"${
          step.kind === 'command' ? `\n$ ${step.run}` : ''
        }`,
        {expects: word, fill: true},
      ),
    ],
    on: {
      CONFIRM: {guard: {type: 'typedWord', params: {word}}, target: 'running'},
      SKIP: c.skip,
      ...c.stop,
    },
  };
}

/** The run failed: retry (a fan-out command may leave a host out), or decide. */
function failedState(c: StepContext, step: ActingStep) {
  const hosts = c.s.hosts;
  return {
    entry: [
      c.prompt(
        'failed',
        `"${step.title}" failed. Retry, skip with a reason, mark it done, or abort.`,
      ),
    ],
    on: {
      RETRY: {target: 'running', actions: ['nextAttempt']},
      ...(step.kind === 'command' && hosts !== 'local' && hosts.length > 1
        ? {EXCLUDE: {target: 'running', actions: ['nextAttempt']}}
        : {}),
      ...c.decide,
    },
  };
}

/** The run's end is not known (or it never finished before a resume): the driver decides. */
function unknownState(c: StepContext) {
  const {startAt} = c;
  return {
    entry: [
      {
        type: 'promptUnknown',
        params: {
          step: c.step,
          title: c.s.step.title,
          describe: c.describe,
          ...(startAt?.key === c.step && startAt.why ? {why: startAt.why} : {}),
        },
      },
    ],
    on: {RETRY: {target: 'running', actions: ['nextAttempt']}, ...c.decide},
  };
}

/** A watch that timed out: keep waiting, investigate first, or decide. */
function watchStates(c: StepContext, step: WatchStep) {
  return {
    timedOut: {
      entry: [
        c.prompt(
          'watch-timeout',
          `"${step.title}" did not reach its target in time. Keep waiting, investigate, skip with a reason, or abort.`,
        ),
      ],
      on: {KEEP_WAITING: 'running', INVESTIGATE: 'investigating', ...c.decide},
    },
    investigating: {
      entry: [
        c.prompt(
          'watch-timeout',
          `Investigating "${step.title}". Keep waiting when ready, skip with a reason, or abort.`,
        ),
      ],
      on: {KEEP_WAITING: 'running', ...c.decide},
    },
  };
}
