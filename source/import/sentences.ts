/**
 * What a sentence of a runbook says, read with small rules: whether it asks the reader to
 * do something, to type go, to wait for a count; its title and the rest; the site
 * variant, the time before the release and the addresses it names.
 */
import {tidy} from './shell-text.js';

/** What a watch waits for, as far as the sentence says. */
export type DraftUntil = 'zero' | 'x-of-x' | 'back-to-before' | 'unknown';

/** Verbs a step starts with ("Restart the service"). */
const IMPERATIVE = new Set(
  (
    'add announce apply back bring build change check choose clean cleanup clone commit confirm ' +
    'copy cordon create delete deploy detach disable do double download drain edit enable ' +
    'ensure execute fill get go inform install kill launch log login make mark merge move ' +
    'notify open ping post prepare pull push reboot rebase record reduce remember remove repeat ' +
    'report restart restore return review roll run scale schedule select send set shut ' +
    'shutdown ssh start startup stop submit swap switch sync tag tell test tick trigger type ' +
    'uncordon update upgrade upload use verify wait watch'
  ).split(' '),
);

const GATE =
  /\b(type|enter|say)\s+["'“‘`]?go\b|\bpress\s+(enter|return)\b|(?<!\b(cannot|not|can't|don't|needn't)\s)\bwait\s+(until|till|for)\b/i;
const WAIT = /(?<!\b(cannot|not|can't|don't|needn't)\s)\bwait\s+(until|till|for)\b/i;
const COUNT =
  /\b(number|count|instances|reach(es)?|back (up|to)|x of x|\d+ of \d+|to (be )?0|is not 0|zero)\b/i;
/** A table of contents: its items are links to sections, not steps. */
export const CONTENTS = /^(table of )?contents$/i;
/** An address in running text, without the punctuation after it. */
export const URL = /\bhttps?:\/\/[^\s)<>"'`\]]+[^\s)<>"'`\].,;:]/g;

/** The first sentence of a text, and the rest. */
export function splitTitle(text: string): {title: string; rest: string} {
  const clean = tidy(text);
  const m = /^(.{12,}?[.!?])\s+(?=[A-Z“"(])/.exec(clean);
  let title = m ? m[1]! : clean;
  let rest = m ? clean.slice(m[0].length) : '';
  if (title.length > 100) {
    const cut = title.lastIndexOf(' ', 96);
    rest = `…${title.slice(cut + 1)}${rest ? ` ${rest}` : ''}`;
    title = `${title.slice(0, cut)} …`;
  }
  return {title: title.replace(/[.:]$/, ''), rest};
}

/** The condition a "wait until" sentence suggests. */
export const untilOf = (text: string): DraftUntil =>
  /\bx of x\b|\b(\d+) of \1\b/i.test(text)
    ? 'x-of-x'
    : /\b(back (up|to)|close to|originally|matches|pre-deploy|as before|than before)\b/i.test(text)
      ? 'back-to-before'
      : /\b(0|zero|none|go(es)? down|disconnected)\b/i.test(text)
        ? 'zero'
        : 'unknown';

/** "CyVerse only:" → CyVerse. */
export const onlyHintOf = (text: string): string | undefined =>
  /^(.+?)\s+only\s*:?$/i.exec(text)?.[1] ?? /\(([^()]+?)\s+only\)/i.exec(text)?.[1];

const WORDS: Record<string, number> = {one: 1, two: 2, three: 3, four: 4, five: 5, six: 6};

/** "Two Weeks Prior to Release" → T-14d. */
export function dueHintOf(heading: string): string | undefined {
  const m = /\b(\d+|one|two|three|four|five|six|a)?\s*(day|week)s?\s+(prior|before)\b/i.exec(
    heading,
  );
  if (!m) return undefined;
  const n = m[1] ? (WORDS[m[1].toLowerCase()] ?? (Number(m[1]) || 1)) : 1;
  return `T-${m[2]!.toLowerCase() === 'week' ? n * 7 : n}d`;
}

/** Admonition labels wikis put on a line of their own ("Note", "Attention"). */
export const isLabel = (text: string): boolean =>
  /^(note|notes|attention|warning|caution|important|tip|hint|info|danger)\s*:?$/i.test(text.trim());

/** The sentence tells the reader to do something: it starts with a verb, not "Note:". */
export function isImperative(text: string): boolean {
  const first = text.trim().split(/\s+/)[0] ?? '';
  return IMPERATIVE.has(first.toLowerCase().replace(/[^a-z]/g, '')) && !first.endsWith(':');
}

/** The sentence asks to type go, press enter, or wait for something. */
export const isGate = (sentence: string): boolean => GATE.test(sentence);

/** What step the sentence stands for: a watch waits for a count, a gate for the driver. */
export function sentenceKind(sentence: string): 'watch' | 'gate' | 'manual' {
  if (WAIT.test(sentence) && COUNT.test(sentence)) return 'watch';
  return GATE.test(sentence) ? 'gate' : 'manual';
}

/** The sentence asks to type a word into something running (not to wait). */
export const asksToTypeGo = (sentence: string): boolean =>
  GATE.test(sentence) && !WAIT.test(sentence);

/**
 * A title as a checklist shows it: Markdown links and backticks read as text, the first
 * sentence, without the "with"/"run" left dangling where a command was taken out.
 */
export function titleOf(text: string): {title: string; rest: string; links: string[]} {
  const plain = text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '$1 ($2)').replace(/`([^`]+)`/g, '$1');
  const {title, rest} = splitTitle(plain);
  return {
    title: title
      .replace(
        /\s+(with|by|using|via|by running|run|running|executing|the following|as follows)$/i,
        '',
      )
      .replace(/[\s,;:]+$/, ''),
    rest,
    links: [...plain.matchAll(URL)].map((m) => m[0]),
  };
}
