/**
 * The state of a gate: it waits until the driver types its word. A gate that types into
 * a background process (`send`) then sends, and a send that fails is put to the driver.
 */
import type {GateStep} from '../../runbook/vocabulary.js';
import type {StepContext} from './step-context.js';

/** waiting → (sending → failed) → done. */
export function gateState(c: StepContext, step: GateStep): object {
  const word = step.word ?? 'go';
  const waiting = {
    entry: [c.prompt('gate', (step.checks ?? []).join('\n') || step.title, {expects: word})],
    on: {
      GO: {
        guard: {type: 'typedWord', params: {word}},
        target: step.send ? 'sending' : 'done',
        actions: c.began,
      },
      SKIP: c.skip,
      ...c.stop,
    },
  };
  return {
    id: c.id,
    entry: c.entry,
    initial: 'waiting',
    states: {
      waiting,
      // Only a gate that types into a background process has these.
      ...(step.send ? sendStates(c, step) : {}),
      done: {always: {target: c.next, actions: [c.finish('ok')]}},
    },
  };
}

/** Sending the gate's text to the process; on failure, the driver retries or decides. */
function sendStates(c: StepContext, step: GateStep) {
  const ended = {type: 'finishedWithResult', params: {step: c.step}};
  return {
    sending: {
      invoke: {
        ...c.invokeStep('send'),
        onDone: [
          {guard: 'succeeded', target: c.next, actions: [ended]},
          {target: 'failed', actions: [ended]},
        ],
        onError: {target: 'failed', actions: [ended]},
      },
      on: {CANCEL: 'failed'},
    },
    failed: {
      entry: [c.prompt('failed', `"${step.title}": the process did not answer as expected.`)],
      on: {RETRY: 'sending', ...c.decide},
    },
  };
}
