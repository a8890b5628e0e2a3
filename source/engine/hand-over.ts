/**
 * What a driver types to hand the session over, at a plain prompt or in the console:
 * `hand over`, `hand over to bob@bastion2`, `hand over to bob: lunch, the watch is at 3`.
 * Here, below both the views and team mode, so each may read it and neither imports the
 * other.
 */
export interface HandOverRequest {
  /** Who should take it (only they may resume without --take-over). */
  to?: string;
  note?: string;
}

const WORDS = /^\s*hand[- ]?over\b(?:\s+to\s+([^\s:]+))?\s*:?\s*(.*)$/i;

/** The request, or undefined when the text is not a hand-over. */
export function parseHandOver(text: string): HandOverRequest | undefined {
  const match = WORDS.exec(text);
  if (!match) return undefined;
  const [, to, note] = match;
  return {...(to ? {to} : {}), ...(note?.trim() ? {note: note.trim()} : {})};
}
