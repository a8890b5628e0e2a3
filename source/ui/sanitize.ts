/**
 * The one escaper every view uses (console, plain, replay, watch): remote output and
 * anything else from the journal is untrusted. Escape sequences that could move the cursor, set the
 * title, write the clipboard (OSC 52), query the terminal or switch screens are made
 * inert and visible; colours (SGR: ESC [ … m) may pass when asked. Other control bytes
 * are shown as ^X, C1 controls as \xHH, invisible and bidi characters as <U+XXXX>.
 */
const ESC = '\u001b';

/**
 * Characters that are invisible or reorder text: bidi embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069: "Trojan Source"), zero-width and directional marks
 * (U+200B–U+200F, U+061C, U+2060–U+2064, U+206A–U+206F), the byte order mark (U+FEFF),
 * line and paragraph separators (U+2028, U+2029), the soft hyphen, interlinear
 * annotation marks. Each is shown as <U+XXXX>, like other controls.
 */
const INVISIBLE =
  '\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb';

const CONTROLS = new RegExp(
  `[\\u0000-\\u0008\\u000b-\\u001f\\u007f\\u0080-\\u009f${INVISIBLE}]`,
  'g',
);

const visible = (s: string): string =>
  s.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    if (code === 0x1b) return '␛';
    if (code < 0x20) return `^${String.fromCharCode(code + 64)}`;
    if (code < 0xa0) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
  });

/** Makes a piece of output safe to print. `keepColour` lets SGR sequences through. */
export function sanitize(text: string, keepColour = false): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const next = text.indexOf(ESC, i);
    const cr = text.indexOf('\r', i);
    const stop = Math.min(next < 0 ? text.length : next, cr < 0 ? text.length : cr);
    out += visible(text.slice(i, stop));
    if (stop >= text.length) break;
    if (text[stop] === '\r') {
      // \r\n is a line end; a lone \r would overwrite the line: show it.
      if (text[stop + 1] === '\n') out += '';
      else out += '^M';
      i = stop + 1;
      continue;
    }
    // An escape sequence: CSI, OSC, or a two-byte one.
    const kind = text[stop + 1];
    let end = stop + 2;
    if (kind === '[') {
      while (end < text.length && !/[\u0040-\u007e]/.test(text[end]!)) end++;
      end = Math.min(end + 1, text.length);
    } else if (kind === ']' || kind === 'P' || kind === '_' || kind === '^') {
      // OSC/DCS/APC/PM run to BEL or ST (ESC \).
      while (
        end < text.length &&
        text[end] !== '\u0007' &&
        !(text[end] === ESC && text[end + 1] === '\\')
      )
        end++;
      end = text[end] === ESC ? Math.min(end + 2, text.length) : Math.min(end + 1, text.length);
    }
    const sequence = text.slice(stop, end);
    out += keepColour && /^\u001b\[[0-9;]*m$/.test(sequence) ? sequence : visible(sequence);
    i = end;
  }
  return out;
}
