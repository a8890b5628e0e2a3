/** Output bytes as text a screen can show. */
import {isUtf8} from 'node:buffer';

/**
 * Shows bytes that are not text as \xHH, keeping newlines and tabs: plain ASCII out, so
 * nothing here can reorder or hide text. Views then pass every string through the one
 * escaper, `sanitize` in source/ui/sanitize.ts (controls, escapes, bidi and invisibles).
 */
export function escapeBytes(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    out +=
      byte === 0x0a || byte === 0x09 || (byte >= 0x20 && byte < 0x7f)
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The bytes as text when they are UTF-8, otherwise escaped. */
export const bytesAsText = (bytes: Buffer): string =>
  isUtf8(bytes) ? bytes.toString('utf8') : escapeBytes(bytes);
