/**
 * What the driver typed at a prompt → a driver event. The one reading of an answer: the
 * console, plain mode on a terminal, and the hand-over words all come through here, so
 * no two views can disagree about what an answer means.
 *
 * Every decision takes a deliberate word (the gate's or danger step's word, `done` at a
 * to-do, an option's number or id, `retry`, `wait` …): a bare Enter or a stray key never
 * decides anything.
 */
import type {DriverEvent} from '../engine/machine.js';
import type {PromptView} from '../store/fold.js';
import {parseHandOver, type HandOverRequest} from './hand-over.js';

export type Parsed = {event: DriverEvent} | {handOver: HandOverRequest} | {error: string};

/** The word that ticks a to-do (a note may follow it). */
export const DONE_WORD = 'done';

/** The word that runs the rollback of what has run (before the point of no return). */
export const ROLLBACK_WORD = 'rollback';

/**
 * Parses an answer; `skip <reason>`, `abort [reason]` and `rollback [reason]` work at
 * every prompt (the session refuses a rollback past the point of no return), and with
 * `handOver` so does `hand over [to WHO][: note]`.
 */
export function parseAnswer(
  prompt: Pick<PromptView, 'prompt' | 'expects' | 'options'>,
  typed: string,
  options: {handOver?: boolean} = {},
): Parsed {
  const text = typed.trim();
  const [word = '', ...rest] = text.split(/\s+/);
  const tail = rest.join(' ');
  if (options.handOver) {
    const handOver = parseHandOver(text);
    if (handOver) return {handOver};
  }
  if (!text) return {error: emptyError(prompt)};
  if (word === 'skip' && prompt.expects !== 'skip') {
    return tail ? {event: {type: 'SKIP', reason: tail}} : {error: 'say why: skip <reason>'};
  }
  if (word === 'abort' && prompt.expects !== 'abort') {
    return {event: {type: 'ABORT', ...(tail ? {reason: tail} : {})}};
  }
  if (
    word === ROLLBACK_WORD &&
    (prompt.expects !== ROLLBACK_WORD || prompt.prompt === 'rollback')
  ) {
    return {event: {type: 'ROLLBACK', ...(tail ? {reason: tail} : {})}};
  }
  switch (prompt.prompt) {
    case 'gate':
      return text === prompt.expects
        ? {event: {type: 'GO', value: text}}
        : {error: `that is not "${prompt.expects}": type "${prompt.expects}" to go on`};
    case 'confirm':
      return text === prompt.expects
        ? {event: {type: 'CONFIRM', value: text}}
        : {error: `that is not "${prompt.expects}": nothing ran`};
    case 'manual':
      return word === DONE_WORD
        ? {event: {type: 'TICK', ...(tail ? {note: tail} : {})}}
        : {error: `type "${DONE_WORD}" when it is done (a note may follow: done <note>)`};
    case 'choice': {
      const ids = prompt.options ?? [];
      const byNumber = /^\d+$/.test(text) ? ids[Number(text) - 1] : undefined;
      const option = byNumber ?? ids.find((o) => o === text);
      return option
        ? {event: {type: 'CHOOSE', option}}
        : {error: `pick 1–${ids.length} or an option id (${ids.join(', ')})`};
    }
    case 'failed':
    case 'unknown':
      if (word === 'retry' || word === 'rerun') return {event: {type: 'RETRY'}};
      if (word === 'exclude' && prompt.prompt === 'failed') {
        const [host, ...why] = rest;
        return host && why.length
          ? {event: {type: 'EXCLUDE', host, reason: why.join(' ')}}
          : {error: 'say which host and why: exclude <host> <reason>'};
      }
      if (word === 'done') {
        return tail
          ? {event: {type: 'MARK_DONE', reason: tail}}
          : {error: 'say why: done <reason>'};
      }
      return {
        error: `${prompt.prompt === 'unknown' ? 'rerun' : 'retry'}, done <reason>, skip <reason> or abort`,
      };
    case 'watch-timeout':
      if (word === 'wait') return {event: {type: 'KEEP_WAITING'}};
      if (word === 'investigate') return {event: {type: 'INVESTIGATE'}};
      return {error: 'wait, investigate, skip <reason> or abort'};
    case 'rollback':
      return {error: promptHelp.rollback};
  }
}

function emptyError(prompt: Pick<PromptView, 'prompt' | 'expects'>): string {
  switch (prompt.prompt) {
    case 'gate':
      return `type "${prompt.expects}" to go on`;
    case 'confirm':
      return `type "${prompt.expects}" to run it (nothing ran)`;
    case 'manual':
      return `type "${DONE_WORD}" when it is done`;
    default:
      return promptHelp[prompt.prompt];
  }
}

/** How to answer each prompt kind, in the driver's words (plain mode and the help). */
export const promptHelp: Record<PromptView['prompt'], string> = {
  gate: 'type the word shown to go on; "skip <reason>" or "abort"',
  confirm: 'type the word shown to run it; "skip <reason>" or "abort"',
  manual: `type "${DONE_WORD}" when it is done (a note may follow: "done <note>"); "skip <reason>" or "abort"`,
  choice: 'type the number or id of an option; "skip <reason>" or "abort"',
  failed:
    '"retry", "exclude <host> <reason>" (a fan-out step: leave that host out, run the rest), "skip <reason>", "done <reason>" (mark done) or "abort"',
  unknown: '"rerun", "done <reason>" (it did run), "skip <reason>" or "abort"',
  'watch-timeout': '"wait" (keep waiting), "investigate", "skip <reason>" or "abort"',
  rollback: `"${ROLLBACK_WORD}" runs the rollback of what has run; "abort" ends the session without rolling back`,
};
