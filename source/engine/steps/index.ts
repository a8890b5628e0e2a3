/**
 * The step actors: plain async functions the machine invokes, one module per kind. Each
 * honours the abort signal, journals `step-started` (fsynced) before it touches anything,
 * and reports its output and counts as journal events.
 */
import {fromPromise} from 'xstate';
import type {StepInput, StepResult} from '../machine.js';
import {sendToBackground} from './background.js';
import {runCheck} from './check.js';
import {runCommand} from './command.js';
import {runNotify} from './notify.js';
import type {StepServices} from './shared.js';
import {runWatch} from './watch.js';

export {sendToBackground, startBackground} from './background.js';
export {checkProbes, probeCommand, runCheck, verifyHost} from './check.js';
export {captureValue, fanOut, runCommand} from './command.js';
export {conditionHolds, describeUntil, parseCount} from './count.js';
export {runNotify} from './notify.js';
export {
  backoff,
  fill,
  fillCommand,
  fillProbe,
  fillText,
  maskedSecrets,
  retrying,
  sleep,
  waitForPattern,
  type Background,
  type StepServices,
} from './shared.js';
export {runWatch} from './watch.js';

/** The actors the machine invokes, bound to a session's services. */
export function stepActors(services: StepServices) {
  const actor = (fn: (s: StepServices, i: StepInput, signal: AbortSignal) => Promise<StepResult>) =>
    fromPromise<StepResult, StepInput>(({input, signal}) => fn(services, input, signal));
  return {
    command: actor(runCommand),
    watch: actor(runWatch),
    check: actor(runCheck),
    notify: actor(runNotify),
    send: actor(sendToBackground),
  };
}
