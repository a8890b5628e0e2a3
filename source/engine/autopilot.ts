/**
 * Answers for prompts when nobody is at a terminal: only what the command line said in
 * advance (`--yes`, `--confirm`, `--choose`, `--on-failure`, `--on-unknown`). Every
 * answer is journaled as the driver's decision, marked as given by flag.
 */
import type {PromptView} from '../store/fold.js';
import type {DriverEvent} from './machine.js';

export interface AutopilotOptions {
  /** Say go at gates and tick manual steps. */
  yes?: boolean;
  /** Type the word for these danger steps (step ids or the words), or every one. */
  confirm?: readonly string[] | 'all';
  /** Option to pick at a choice, by step id; otherwise the first option (with yes). */
  choose?: Readonly<Record<string, string>>;
  /** At a failed step. */
  onFailure?: 'abort' | 'skip' | 'retry';
  /** At a step whose outcome is unknown after a resume. */
  onUnknown?: 'rerun' | 'done' | 'skip';
  /** At a watch that timed out. */
  onTimeout?: 'abort' | 'skip' | 'keep-waiting';
}

/** The answer to a prompt, or null when the flags do not say. */
export function autoAnswer(
  prompt: PromptView,
  stepId: string,
  options: AutopilotOptions,
): DriverEvent | null {
  const reason = 'answered by command-line flag';
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
      if (options.onFailure === 'retry') return {type: 'RETRY'};
      return options.onFailure === 'abort'
        ? {type: 'ABORT', reason: 'failed; --on-failure abort'}
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
      return options.onTimeout === 'abort'
        ? {type: 'ABORT', reason: 'timed out; --on-timeout abort'}
        : null;
  }
}
