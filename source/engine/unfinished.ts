/**
 * The one rule for a step that started and did not finish, whatever the cause: the
 * process was killed or crashed (the journal has no end for it), or the link dropped,
 * the peer froze or sshd died under the command (the step finished with outcome
 * `unknown`). Unless the step is declared safe to repeat, it is put to the driver — in the
 * session and on resume — who decides: run it again, mark it done, or skip it.
 */
import type {ResolvedStep} from './plan.js';

/** Why the step's end is not known. */
export type UnfinishedCause =
  /** The journal has `step-started` and nothing after it: crash, kill -9, power loss. */
  | {kind: 'no-end'}
  /** The step finished with outcome `unknown`: link drop, keepalive timeout, sshd killed. */
  | {kind: 'unknown-outcome'; reason?: string};

export interface UnfinishedVerdict {
  /** `ask`: put it to the driver. `run-again`: it is safe to repeat, it starts again. */
  action: 'ask' | 'run-again';
  /** Why it may or may not have run, said plainly. */
  why: string;
}

/** Safe to run again without asking: declared so, or a kind that only reads. */
export const isRepeatable = (resolved: ResolvedStep): boolean =>
  resolved.step.repeatable ??
  (resolved.step.kind !== 'command' &&
    !(resolved.step.kind === 'notify' && !!resolved.step.webhook));

/** How many times the session itself starts a repeatable step again after an unknown end. */
export const MAX_AUTOMATIC_RUNS = 3;

/** Decides what happens to a step that started and did not finish. */
export function whenUnfinished(
  resolved: ResolvedStep,
  cause: UnfinishedCause,
  attempt = 1,
): UnfinishedVerdict {
  const why =
    cause.kind === 'no-end'
      ? 'it started before the last session stopped and never finished'
      : (cause.reason ?? 'the link to the host dropped while it ran');
  const again = isRepeatable(resolved) && attempt < MAX_AUTOMATIC_RUNS;
  return {action: again ? 'run-again' : 'ask', why};
}

/** What the driver reads at the prompt. */
export const unknownPromptText = (title: string, why: string): string =>
  `"${title}" may or may not have run (${why}). Run it again, mark it done, or skip it with a reason.`;
