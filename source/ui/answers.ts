/**
 * What the driver typed at a prompt → a driver event. Shared by the plain view and the
 * console so both read answers the same way.
 */
import type {DriverEvent} from '../engine/machine.js';
import type {PromptView} from '../store/fold.js';

export type Parsed = {event: DriverEvent} | {error: string};

/** Parses an answer; `skip <reason>` and `abort [reason]` work at every prompt. */
export function parseAnswer(prompt: PromptView, typed: string): Parsed {
  const text = typed.trim();
  const [word = '', ...rest] = text.split(/\s+/);
  const tail = rest.join(' ');
  if (word === 'skip') {
    return tail ? {event: {type: 'SKIP', reason: tail}} : {error: 'say why: skip <reason>'};
  }
  if (word === 'abort' && prompt.expects !== 'abort') {
    return {event: {type: 'ABORT', ...(tail ? {reason: tail} : {})}};
  }
  switch (prompt.prompt) {
    case 'gate':
      return text === prompt.expects
        ? {event: {type: 'GO', value: text}}
        : {error: `type "${prompt.expects}" to go on`};
    case 'confirm':
      return text === prompt.expects
        ? {event: {type: 'CONFIRM', value: text}}
        : {error: `that is not "${prompt.expects}": nothing ran`};
    case 'manual':
      return {event: {type: 'TICK', ...(text ? {note: text} : {})}};
    case 'choice': {
      const options = prompt.options ?? [];
      const byNumber = /^\d+$/.test(text) ? options[Number(text) - 1] : undefined;
      const option = byNumber ?? options.find((o) => o === text);
      return option
        ? {event: {type: 'CHOOSE', option}}
        : {error: `pick 1–${options.length} or an option id`};
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
  }
}
