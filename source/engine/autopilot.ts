/**
 * Answers for prompts when nobody is at a terminal: only what the command line said in
 * advance (`--yes`, `--confirm`, `--choose`, `--on-failure`, `--on-unknown`). Every
 * answer is journaled as the driver's decision, marked as given by flag.
 */
import type {AnsweredVia, PromptKind} from '../journal/events.js';
import type {DriverEvent} from './machine.js';

/** What the autopilot reads of a prompt (the store's prompt view has these fields). */
export interface AutopilotPrompt {
  prompt: PromptKind;
  expects?: string;
  options?: readonly string[];
}

/** Where the step stands when its prompt shows. */
export interface AutopilotContext {
  /** The attempt that just ended (1 for the first run). */
  attempt?: number;
}

/** `--on-failure retry` makes at most this many attempts of a step in all, then asks. */
export const RETRY_ATTEMPTS = 3;
/** The wait before the 2nd attempt; doubled before each next one, at most RETRY_MAX_DELAY_MS. */
export const RETRY_FIRST_DELAY_MS = 5_000;
export const RETRY_MAX_DELAY_MS = 60_000;

export interface AutopilotOptions {
  /** Say go at gates and tick manual steps. */
  yes?: boolean;
  /** Type the word for these danger steps (step ids or the words), or every one. */
  confirm?: readonly string[] | 'all';
  /** Option to pick at a choice, by step id; otherwise the first option (with yes). */
  choose?: Readonly<Record<string, string>>;
  /**
   * At a failed step. `retry` tries again after a pause that doubles (5 s, 10 s …), at
   * most `retryAttempts` attempts in all (default 3); then the flag no longer answers: the
   * driver is asked, or, with nobody to ask, the session stops (exit 5) and is kept.
   * `abort` ends the session without rolling back. `rollback` runs the rollback of what
   * has run; where rolling back is not offered (past the point of no return, or nothing
   * that ran has a rollback) it does not answer, so the driver is asked (or exit 5).
   */
  onFailure?: 'abort' | 'skip' | 'retry' | 'rollback';
  /** Attempts in all under `--on-failure retry` (default RETRY_ATTEMPTS). */
  retryAttempts?: number;
  /** At a step whose outcome is unknown after a resume. */
  onUnknown?: 'rerun' | 'done' | 'skip';
  /** At a watch that timed out. */
  onTimeout?: 'abort' | 'skip' | 'keep-waiting' | 'rollback';
  /** Who gives these answers: flags the driver typed (default), or the demo's autopilot. */
  via?: Exclude<AnsweredVia, 'typed'>;
}

/**
 * The label on an automatic tick, in the driver's words: what answered (the demo's
 * autopilot, or the `--yes` the driver gave), never a flag nobody typed.
 */
export const autoLabel = (via: AnsweredVia | undefined): string =>
  via === 'autopilot' ? 'answered by the autopilot' : 'answered by --yes';

/** The pause before attempt `attempt + 1` under `--on-failure retry`. */
export const retryDelayMs = (attempt: number): number =>
  Math.min(RETRY_MAX_DELAY_MS, RETRY_FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1));

/**
 * How long to wait before giving an automatic answer: the backoff for a retry, else 0
 * (the caller may add its own pause, e.g. the demo's reading time).
 */
export function answerDelayMs(
  prompt: AutopilotPrompt,
  answer: DriverEvent,
  context: AutopilotContext = {},
): number {
  return prompt.prompt === 'failed' && answer.type === 'RETRY'
    ? retryDelayMs(context.attempt ?? 1)
    : 0;
}

/**
 * A line that says why the flag stopped answering, or undefined when it still answers
 * (for the message that asks the driver or ends the session).
 */
export function exhausted(
  prompt: AutopilotPrompt,
  options: AutopilotOptions,
  context: AutopilotContext = {},
): string | undefined {
  const limit = options.retryAttempts ?? RETRY_ATTEMPTS;
  if (
    prompt.prompt === 'failed' &&
    options.onFailure === 'retry' &&
    (context.attempt ?? 1) >= limit
  )
    return `--on-failure retry made ${context.attempt ?? 1} attempts (at most ${limit})`;
  return undefined;
}

/** The answer to a prompt, or null when the flags do not say. */
export function autoAnswer(
  prompt: AutopilotPrompt,
  stepId: string,
  options: AutopilotOptions,
  context: AutopilotContext = {},
): DriverEvent | null {
  const reason = autoLabel(options.via);
  switch (prompt.prompt) {
    case 'gate':
      return options.yes ? {type: 'GO', value: prompt.expects ?? 'go'} : null;
    case 'manual':
      return options.yes ? {type: 'TICK', note: reason} : null;
    case 'confirm': {
      const c = options.confirm;
      const allowed =
        c === 'all' ||
        (!!c && (c.includes(stepId) || (!!prompt.expects && c.includes(prompt.expects))));
      return allowed && prompt.expects ? {type: 'CONFIRM', value: prompt.expects} : null;
    }
    case 'choice': {
      const picked = options.choose?.[stepId] ?? (options.yes ? prompt.options?.[0] : undefined);
      return picked ? {type: 'CHOOSE', option: picked} : null;
    }
    case 'failed':
      if (options.onFailure === 'skip')
        return {type: 'SKIP', reason: `failed; skipped by --on-failure skip`};
      if (options.onFailure === 'retry')
        return exhausted(prompt, options, context) ? null : {type: 'RETRY'};
      if (options.onFailure === 'rollback')
        return {type: 'ROLLBACK', reason: 'failed; --on-failure rollback'};
      return options.onFailure === 'abort'
        ? {type: 'ABORT', reason: 'failed; --on-failure abort', withoutRollback: true}
        : null;
    case 'unknown':
      if (options.onUnknown === 'rerun') return {type: 'RETRY'};
      if (options.onUnknown === 'done') return {type: 'MARK_DONE', reason: '--on-unknown done'};
      if (options.onUnknown === 'skip') return {type: 'SKIP', reason: '--on-unknown skip'};
      return null;
    case 'watch-timeout':
      if (options.onTimeout === 'keep-waiting') return {type: 'KEEP_WAITING'};
      if (options.onTimeout === 'skip')
        return {type: 'SKIP', reason: 'timed out; --on-timeout skip'};
      if (options.onTimeout === 'rollback')
        return {type: 'ROLLBACK', reason: 'timed out; --on-timeout rollback'};
      return options.onTimeout === 'abort'
        ? {type: 'ABORT', reason: 'timed out; --on-timeout abort', withoutRollback: true}
        : null;
    case 'rollback':
      // Only an explicit flag answers the offer: --yes never rolls back.
      if (options.onFailure === 'rollback' || options.onTimeout === 'rollback')
        return {
          type: 'ROLLBACK',
          reason: `--on-${options.onFailure === 'rollback' ? 'failure' : 'timeout'} rollback`,
        };
      return options.onFailure === 'abort' || options.onTimeout === 'abort'
        ? {type: 'ABORT', reason: 'no rollback: --on-failure/--on-timeout abort'}
        : null;
  }
}
