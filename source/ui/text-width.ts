/**
 * Text measured as the terminal draws it: CJK characters and most emoji take two
 * columns, combining marks and ANSI colour codes none. Use these (not `.length`) wherever
 * the console pads, truncates or wraps text to fit a width.
 *
 * Every frame measures the same titles, host names and key hints again: printable ASCII
 * (one column a character) is counted by its length, and any other text's width and
 * wrapping are remembered (a bounded cache, emptied when full). string-width on each
 * checklist row and header host was most of a frame's own work (replay's first frame).
 */
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const CACHE_MAX = 4096;
const widths = new Map<string, number>();
const wraps = new Map<string, readonly string[]>();

/**
 * Text where every code point is a grapheme of its own (nothing that joins or extends a
 * character: no marks, joiners, variation selectors, prepends, Hangul jamo, astral
 * characters such as emoji, controls or escapes), so its width is the sum of its
 * characters' widths: the checklist's marks, box drawing, arrows, CJK.
 */
const SIMPLE =
  // eslint-disable-next-line no-misleading-character-class -- joiners and marks listed to be excluded
  /^[^\p{M}\p{Cc}\p{Cs}\u200c\u200d\ufe00-\ufe0f\uff9e\uff9f\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u0d4e\u0e33\u0eb3\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\u{10000}-\u{10ffff}]*$/u;
const charWidths = new Map<number, number>();

function simpleWidth(text: string): number {
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code < 0x7f) {
      width++;
      continue;
    }
    let w = charWidths.get(code);
    if (w === undefined) {
      w = stringWidth(text[i]!);
      charWidths.set(code, w);
    }
    width += w;
  }
  return width;
}

/** Columns the text takes on a terminal. */
export function textWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = widths.get(text);
  if (width === undefined) {
    if (widths.size >= CACHE_MAX) widths.clear();
    width = SIMPLE.test(text) ? simpleWidth(text) : stringWidth(text);
    widths.set(text, width);
  }
  return width;
}

/** Pads with spaces to `width` columns (never cuts). */
export const padToWidth = (text: string, width: number): string =>
  text + ' '.repeat(Math.max(0, width - textWidth(text)));

/** Cuts to at most `width` columns, ending with `…` when cut; never splits a wide character. */
export function truncateToWidth(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 0) return '';
  if (PRINTABLE_ASCII.test(text)) return `${text.slice(0, width - 1)}…`;
  let out = '';
  let used = 0;
  for (const {segment} of new Intl.Segmenter().segment(text)) {
    const w = textWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Wraps to lines of at most `width` columns (words kept whole where they fit). */
export function wrapToWidth(text: string, width: number): string[] {
  const columns = Math.max(1, width);
  const key = `${columns}\u0000${text}`;
  let lines = wraps.get(key);
  if (lines === undefined) {
    if (wraps.size >= CACHE_MAX) wraps.clear();
    lines = wrapAnsi(text, columns, {hard: true, trim: false}).split('\n');
    wraps.set(key, lines);
  }
  return [...lines];
}
