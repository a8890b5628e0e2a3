/**
 * Where a step that says what runs when it fails goes instead of asking: its on-failure
 * steps, or a named rollback.
 */
import type {StepContext} from './step-context.js';

/** The transition of a failed run, or undefined when the driver is asked. */
export function onFailureRoute(c: StepContext, ended: object) {
  const {s, step} = c;
  if (s.onFailureSteps) {
    const branch = s.onFailureSteps.find((b) => b.applies);
    return {
      target: branch ? c.flow.target(branch.key) : c.next,
      actions: [
        ended,
        {
          type: 'failureBranch',
          params: {step, steps: s.onFailureSteps.filter((b) => b.applies).length},
        },
      ],
    };
  }
  const named = s.onFailureRollback ? c.plan.namedRollbacks.get(s.onFailureRollback) : undefined;
  if (!named) return undefined;
  return {
    target: named.first ? c.flow.target(named.first) : '#rolled-back',
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
  };
}
