/**
 * Redaction: secrets never reach the journal or the screen. Works on bytes (as latin1
 * strings, one char per byte) so binary output and split multi-byte characters are
 * handled the same way as text.
 */

export const MASK = '[redacted]';

/**
 * Patterns that carry a secret even when nobody declared it (the secret is group 2), each
 * with a cheap hint: the pattern only runs on text where its hint appears, since most
 * output (hundreds of megabytes, sometimes) has none of them.
 */
const builtInPatterns: readonly {hint: RegExp; pattern: RegExp}[] = [
  // SQL: PASSWORD 'x', IDENTIFIED BY 'x'
  {
    hint: /(?:password|identified\s+by)\s+['"]/i,
    pattern: /(\b(?:PASSWORD|IDENTIFIED\s+BY)\s+)('(?:[^'\n]|'')*'|"[^"\n]*")/gi,
  },
  // key=value and key: value forms for the usual suspects
  {
    hint: /(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key)["']?\s*[=:]/i,
    pattern:
      /(\b(?:password|passwd|pwd|secret|token|api[_-]?key|auth[_-]?token|access[_-]?key)\b["']?\s*[=:]\s*)("[^"\n]*"|'[^'\n]*'|[^\s"',;&]+)/gi,
  },
  // URLs with credentials: scheme://user:pass@
  {hint: /:\/\/[^\s/@]*@/, pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(?=@)/gi},
  // Authorization headers
  {
    hint: /authorization:\s*(?:basic|bearer)/i,
    pattern: /(\bAuthorization:\s*(?:Basic|Bearer)\s+)(\S+)/gi,
  },
  // Private keys
  {
    hint: /-----BEGIN/,
    pattern: /(-----BEGIN [A-Z ]*PRIVATE KEY-----)([\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)/g,
  },
];

/** Any hint at all: text without one (and without a declared secret) is left as it is. */
const anyHint = new RegExp(builtInPatterns.map((p) => p.hint.source).join('|'), 'i');

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** Every form of a secret we look for: as typed, URL-encoded, base64, JSON-escaped. */
export function secretForms(value: string): string[] {
  if (value.length < 3) return [];
  const forms = new Set<string>([
    value,
    encodeURIComponent(value),
    Buffer.from(value, 'utf8').toString('base64'),
    Buffer.from(value, 'utf8').toString('base64').replace(/=+$/, ''),
    JSON.stringify(value).slice(1, -1),
    Buffer.from(value, 'utf8').toString('hex'),
  ]);
  return [...forms].filter((f) => f.length >= 3).map(latin1);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Redacts known secret values and secret-bearing patterns. */
export class Redactor {
  private readonly literal: RegExp | null;
  /** The same without the global flag, for test() (a global regex keeps state between calls). */
  private readonly literalTest: RegExp | null;
  private readonly forms: readonly string[];
  readonly longest: number;

  constructor(secrets: Iterable<string>) {
    const forms = [...new Set([...secrets].flatMap(secretForms))].sort(
      (a, b) => b.length - a.length,
    );
    this.forms = forms;
    this.literalTest = forms.length ? new RegExp(forms.map(escapeRegExp).join('|')) : null;
    this.literal = forms.length ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : null;
    this.longest = forms[0]?.length ?? 0;
  }

  /** Redacts a latin1 (byte) string. */
  bytes(text: string): string {
    if (!this.mayHold(text)) return text;
    let out = this.literal ? text.replace(this.literal, MASK) : text;
    if (anyHint.test(out)) {
      for (const {pattern} of builtInPatterns) out = out.replace(pattern, `$1${MASK}`);
    }
    return out;
  }

  /** Whether the text could hold anything to redact (a cheap test before the patterns). */
  mayHold(text: string): boolean {
    return (this.literalTest?.test(text) ?? false) || anyHint.test(text);
  }

  /** Length of the longest suffix of `text` that could be the start of a secret. */
  partialSuffix(text: string): number {
    for (let k = Math.min(this.longest - 1, text.length); k > 0; k--) {
      const tail = text.slice(-k);
      if (this.forms.some((f) => f.startsWith(tail))) return k;
    }
    return 0;
  }

  /** Redacts ordinary (UTF-16) text: commands, reasons, values. */
  text(text: string): string {
    return Buffer.from(this.bytes(Buffer.from(text, 'utf8').toString('latin1')), 'latin1').toString(
      'utf8',
    );
  }

  /** A stream redactor for one output stream: holds back what could be half a secret. */
  stream(): StreamRedactor {
    return new StreamRedactor(this);
  }
}

/** Longest run of text held back while waiting for the end of a line. */
const MAX_HOLD = 64 * 1024;

/**
 * Redacts a byte stream chunk by chunk. A secret split across chunks is still found: the
 * unfinished last line (bounded) and anything that could start a secret are held back
 * until the next chunk or the end.
 */
export class StreamRedactor {
  private carry = '';
  constructor(private readonly redactor: Redactor) {}

  push(chunk: Buffer): Buffer {
    const text = this.carry + chunk.toString('latin1');
    const lineEnd = text.lastIndexOf('\n') + 1;
    let cut = lineEnd;
    if (text.length - cut > MAX_HOLD) cut = text.length - Math.max(this.redactor.longest, 1024);
    // Redact the whole text so a secret straddling the cut is found, then keep back the
    // raw tail after the cut.
    const head = text.slice(0, cut);
    this.carry = text.slice(cut);
    if (!head) return Buffer.alloc(0);
    if (!this.redactor.mayHold(text)) return Buffer.from(head, 'latin1');
    const redacted = this.redactor.bytes(text);
    const tailRedacted = this.redactor.bytes(this.carry);
    // When the tail redacts the same on its own, the head is the redacted prefix.
    if (redacted.endsWith(tailRedacted)) {
      return Buffer.from(redacted.slice(0, redacted.length - tailRedacted.length), 'latin1');
    }
    // A secret spans the cut: emit everything redacted, keep nothing.
    this.carry = '';
    return Buffer.from(redacted, 'latin1');
  }

  /**
   * Emits what is held back (output went quiet: a prompt without a newline must show),
   * except a tail that could be the start of a secret.
   */
  flush(): Buffer {
    if (!this.carry) return Buffer.alloc(0);
    const redacted = this.redactor.bytes(this.carry);
    const keep = this.redactor.partialSuffix(redacted);
    this.carry = redacted.slice(redacted.length - keep);
    return Buffer.from(redacted.slice(0, redacted.length - keep), 'latin1');
  }

  end(): Buffer {
    const rest = this.carry;
    this.carry = '';
    return Buffer.from(this.redactor.bytes(rest), 'latin1');
  }
}
