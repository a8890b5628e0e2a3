/**
 * The XState state of one step: its shared pieces (step-context.ts), then the builder of
 * its kind (manual.ts, gate.ts, choice.ts, acting.ts).
 */
import type {StartAt} from '../machine.js';
import type {ResolvedPlan, ResolvedStep} from '../plan.js';
import type {DescribePrompt} from '../prompt-facts.js';
import {actingState} from './acting.js';
import {choiceState} from './choice.js';
import {gateState} from './gate.js';
import {manualState} from './manual.js';
import {stepContext, type Flow} from './step-context.js';

/** The state of step `s`; `entersPhase` when it is the first of its phase to run. */
export function stepState(
  s: ResolvedStep,
  flow: Flow,
  plan: ResolvedPlan,
  entersPhase: boolean,
  startAt: StartAt | undefined,
  describe: DescribePrompt,
): object {
  const c = stepContext(s, flow, plan, entersPhase, startAt, describe);
  const step = s.step;
  // A notify with no webhook is text for the driver to post: ticked like a manual step.
  if (step.kind === 'manual' || (step.kind === 'notify' && !step.webhook))
    return manualState(c, step);
  switch (step.kind) {
    case 'gate':
      return gateState(c, step);
    case 'choice':
      return choiceState(c, step);
    case 'command':
    case 'watch':
    case 'check':
    case 'notify':
      return actingState(c, step);
  }
}
