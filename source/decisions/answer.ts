/**
 * The one answering path: a typed answer (console, plain mode on a terminal), a flag or
 * the autopilot all reach the session here, each marked with how it was given.
 */
import type {DriverEvent} from '../engine/machine.js';
import type {AnsweredVia} from '../journal/events.js';
import type {PromptView} from '../store/fold.js';
import {autoAnswer, type AutopilotContext, type AutopilotOptions} from './autopilot.js';
import type {HandOverRequest} from './hand-over.js';
import {parseAnswer} from './parse.js';

/** Where answers go: the live session (and the team, for hand-overs). */
export interface AnswerTarget {
  /** The prompt the engine has up now (read at the moment of answering, not from a frame). */
  currentPrompt(): number | undefined;
  /** Journals and sends a decision; false when the session would not take it now. */
  decide(event: DriverEvent, via: AnsweredVia): boolean;
  /** Team mode: hands the session over. */
  handOver?(request: HandOverRequest): Promise<{ok: boolean; message: string}>;
}

/** What became of an answer: taken, refused (with what to say), or a hand-over under way. */
export type Answered =
  | {taken: true}
  | {taken: false; error: string}
  | {taken: 'pending'; result: Promise<string | undefined>};

/** A typed answer to the prompt `prompt` (the one the driver read). */
export function answerTyped(target: AnswerTarget, prompt: PromptView, text: string): Answered {
  // The screen may be a frame behind the engine: never answer a prompt not yet read.
  if (target.currentPrompt() !== prompt.seq)
    return {taken: false, error: 'the prompt changed: read it again'};
  const parsed = parseAnswer(prompt, text, {handOver: !!target.handOver});
  if ('error' in parsed) return {taken: false, error: parsed.error};
  if ('handOver' in parsed)
    return {
      taken: 'pending',
      result: target.handOver!(parsed.handOver).then((r) => (r.ok ? undefined : r.message)),
    };
  return target.decide(parsed.event, 'typed')
    ? {taken: true}
    : {taken: false, error: 'not possible now'};
}

/**
 * The answer the flags (or the autopilot) give to a prompt: `none` when they do not say,
 * `misfit` when what they say does not fit this prompt.
 */
export function answerAutomatically(
  target: AnswerTarget,
  prompt: PromptView,
  stepId: string,
  options: AutopilotOptions,
  context: AutopilotContext = {},
): 'taken' | 'none' | 'misfit' | 'stale' {
  if (target.currentPrompt() !== prompt.seq) return 'stale';
  const event = autoAnswer(prompt, stepId, options, context);
  if (!event) return 'none';
  return target.decide(event, options.via ?? 'flag') ? 'taken' : 'misfit';
}

export {autoAnswer, autoLabel, type AutopilotOptions} from './autopilot.js';
export {parseAnswer, promptHelp, DONE_WORD, type Parsed} from './parse.js';
export {parseHandOver, type HandOverRequest} from './hand-over.js';
