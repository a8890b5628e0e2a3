/**
 * Redaction: secrets never reach the journal or the screen. Works on bytes (as latin1
 * strings, one char per byte) so binary output and split multi-byte characters are
 * handled the same way as text.
 */

export const MASK = '[redacted]';

/** Replaces the secret part of a match: quotes around it, and what comes before, stay. */
type Hide = (match: string, ...groups: (string | undefined)[]) => string;

/** `prefix` kept; then a double-quoted, single-quoted or bare value hidden (quotes kept). */
const hideValue: Hide = (match, prefix, dq, sq, bare) => {
  if (dq !== undefined) return dq ? `${prefix}"${MASK}"` : match;
  if (sq !== undefined) return sq ? `${prefix}'${MASK}'` : match;
  return bare ? `${prefix}${MASK}` : match;
};

/** A value: "…", '…' or a bare word up to a space, quote, comma, semicolon or ampersand. */
const VALUE = String.raw`(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"',;&]+))`;
/** Names that say their value is a secret: PGPASSWORD, DB_PASSWORD, AWS_SECRET_ACCESS_KEY, api-key… */
const SECRET_NAME = String.raw`(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key)(?:[_-][a-z0-9]+)*`;

/**
 * Patterns that carry a secret even when nobody declared it, each hiding only the secret
 * itself (so a journaled command still reads as what ran), each with a cheap hint: the
 * pattern only runs on text where its hint appears, since most output (hundreds of
 * megabytes, sometimes) has none of them.
 */
const builtInPatterns: readonly {hint: RegExp; pattern: RegExp; hide: Hide}[] = [
  // SQL: PASSWORD 'x', IDENTIFIED BY 'x'
  {
    hint: /(?:password|identified\s+by)\s+['"]/i,
    pattern: /(\b(?:PASSWORD|IDENTIFIED\s+BY)\s+)(?:'((?:[^'\n]|'')*)'|"([^"\n]*)")/gi,
    hide: (match, prefix, sq, dq) =>
      sq ? `${prefix}'${MASK}'` : dq ? `${prefix}"${MASK}"` : match,
  },
  // key=value and key: value, the name anywhere in a longer one (PGPASSWORD=, --password=)
  {
    hint: new RegExp(String.raw`${SECRET_NAME}["']?\s*[=:]`, 'i'),
    pattern: new RegExp(String.raw`(${SECRET_NAME}["']?\s*[=:]\s*)${VALUE}`, 'gi'),
    hide: hideValue,
  },
  // --password X, --db-password X (the next word, unless it is another option)
  {
    hint: /--[a-z0-9-]*passw(?:or)?d\s/i,
    pattern: new RegExp(String.raw`(--(?:[a-z0-9]+-)*passw(?:or)?d\s+)(?!-)${VALUE}`, 'gi'),
    hide: hideValue,
  },
  // URLs with credentials: scheme://user:pass@
  {
    hint: /:\/\/[^\s/@]*@/,
    pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(?=@)/gi,
    hide: (_match, prefix) => `${prefix}${MASK}`,
  },
  // Authorization headers: only the credentials (token68 characters), not what follows
  {
    hint: /authorization:\s*(?:basic|bearer)/i,
    pattern: /(\bAuthorization:\s*(?:Basic|Bearer)\s+)([A-Za-z0-9._~+/-]+=*)/gi,
    hide: (_match, prefix) => `${prefix}${MASK}`,
  },
  // Private keys
  {
    hint: /-----BEGIN/,
    pattern: /(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)/g,
    hide: (_match, begin, end) => `${begin}${MASK}${end}`,
  },
];

/** Any hint at all: text without one (and without a declared secret) is left as it is. */
const anyHint = new RegExp(builtInPatterns.map((p) => p.hint.source).join('|'), 'i');

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/**
 * The base64 text that stands for `bytes` wherever they sit in a longer base64 text: at a
 * byte offset of 0, 1 or 2 (mod 3) the same bytes encode differently, and the characters
 * at either end also carry bits of the neighbouring bytes, so only the characters fully
 * made of the secret's bits are looked for. Standard and URL-safe alphabets.
 */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    const start = [0, 2, 3][shift]!;
    const end = (bytes.length + shift) % 3 === 0 ? encoded.length : encoded.length - 1;
    const core = encoded.slice(start, end);
    if (core.length >= 4) forms.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}

/** Every form of a secret we look for: as typed, URL-encoded, base64, hex, JSON-escaped. */
export function secretForms(value: string): string[] {
  if (value.length < 3) return [];
  const bytes = Buffer.from(value, 'utf8');
  const uri = encodeURIComponent(value);
  const hex = bytes.toString('hex');
  const forms = new Set<string>([
    value,
    uri,
    uri.replace(/%20/g, '+'),
    uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    new URLSearchParams({v: value}).toString().slice(2),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    ...base64Forms(bytes),
    JSON.stringify(value).slice(1, -1),
    hex,
    hex.toUpperCase(),
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
      for (const {pattern, hide} of builtInPatterns) out = out.replace(pattern, hide);
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
