/**
 * Text measured as the terminal draws it: CJK characters and most emoji take two
 * columns, combining marks and ANSI colour codes none. Use these (not `.length`) wherever
 * the console pads, truncates or wraps text to fit a width.
 */
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';

/** Columns the text takes on a terminal. */
export const textWidth = (text: string): number => stringWidth(text);

/** Pads with spaces to `width` columns (never cuts). */
export const padToWidth = (text: string, width: number): string =>
  text + ' '.repeat(Math.max(0, width - stringWidth(text)));

/** Cuts to at most `width` columns, ending with `…` when cut; never splits a wide character. */
export function truncateToWidth(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  for (const {segment} of new Intl.Segmenter().segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Wraps to lines of at most `width` columns (words kept whole where they fit). */
export const wrapToWidth = (text: string, width: number): string[] =>
  wrapAnsi(text, Math.max(1, width), {hard: true, trim: false}).split('\n');
