/**
 * Reads a journal in one pass over its bytes, chunk by chunk: the header, then each line
 * checked (its checksum, its seq) and parsed, the close's seal hash computed on the way.
 * Entries are handed over as they are read, so a long journal is never held whole — not as
 * text, not as entries — unless the caller keeps them. `readJournal` and `parseJournal`
 * (journal/file.ts) are this scanner with a list behind it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import {JOURNAL_VERSION, type JournalEntry, type JournalHeader} from './events.js';

/** A line that is not what the writer wrote. */
export interface JournalDamage {
  /** Byte offset of the damaged line. */
  offset: number;
  line: number;
  reason: string;
}

/** What the scan found besides the entries. */
export interface JournalScan {
  header: JournalHeader;
  /** Things worth saying that lose nothing (a torn last line dropped). */
  warnings: string[];
  /** Damage before the end: never skipped silently. */
  damage: JournalDamage[];
  /** Bytes of whole, valid lines (where appending may go on). */
  validBytes: number;
  /**
   * What the lines before the (first) `session-closed` event really are: their count and
   * sha256, to hold against the seal the writer put in it ({@link verifySeal}).
   */
  closedOver?: {events: number; sha256: string};
  /** The (first) close: its seal, and how many entries came after it (none, if sealed). */
  close?: {seal?: {events: number; sha256: string}; time: string; outcome: string; later: number};
  /** Valid entries read. */
  events: number;
  /** Bytes read in all. */
  bytes: number;
}

export class JournalError extends Error {}

/** sha256 (hex) of a header's fields other than the checksum, in their order. */
export const headerChecksum = (header: JournalHeader): string =>
  crypto
    .createHash('sha256')
    .update(
      JSON.stringify({
        crewchief: header.crewchief,
        version: header.version,
        session: header.session,
        created: header.created,
      }),
    )
    .digest('hex');

// One-shot hashing (Node ≥ 20.12) is several times cheaper per line than createHash.
const sha1 = (data: Uint8Array | string): string =>
  typeof crypto.hash === 'function'
    ? crypto.hash('sha1', data, 'hex')
    : crypto.createHash('sha1').update(data).digest('hex');

/** The first 10 hex digits of the sha1 of an entry's JSON: its checksum. */
export const checksum = (json: string | Uint8Array): string => sha1(json).slice(0, 10);

/** `,"sum":"0123456789"}`: every line ends with it. */
const SUM_TAIL = 20;
const SUM_HEAD = Buffer.from(',"sum":"', 'latin1');
const NL = 0x0a;
const isHex = (b: number): boolean => (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66);

/**
 * Checks and parses one line held in `buf` at `[start, end)` (no newline). Throws with the
 * reason when it is damaged. The byte before the checksum is set to `}` while the JSON is
 * hashed and parsed, and put back: the caller's bytes are unchanged when this returns.
 * `verify` false: the line's bytes are known to be the writer's (a seal that matched
 * covers them), so its checksum is not computed again; its shape still is.
 */
export function parseLineBytes(
  buf: Buffer,
  start: number,
  end: number,
  verify = true,
): JournalEntry {
  const at = end - SUM_TAIL;
  if (at < start || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) throw new Error('no checksum');
  for (let i = 0; i < SUM_HEAD.length; i++)
    if (buf[at + i] !== SUM_HEAD[i]) throw new Error('no checksum');
  for (let i = at + 8; i < end - 2; i++) if (!isHex(buf[i]!)) throw new Error('no checksum');
  buf[at] = 0x7d;
  let entry: JournalEntry;
  try {
    if (verify && checksum(buf.subarray(start, at + 1)) !== buf.toString('latin1', at + 8, end - 2))
      throw new Error('checksum mismatch');
    entry = JSON.parse(buf.toString('utf8', start, at + 1)) as JournalEntry;
  } finally {
    buf[at] = 0x2c;
  }
  if (typeof entry.seq !== 'number' || typeof entry.type !== 'string')
    throw new Error('not a journal event');
  return entry;
}

/** Parses one line of text; throws with the reason when it is damaged. */
export function parseEntry(line: string): JournalEntry {
  const buf = Buffer.from(line, 'utf8');
  return parseLineBytes(buf, 0, buf.length);
}

/**
 * Receives entries as they are read, in order, a batch at a time, with the byte offsets
 * where each one's line starts and ends (after its newline).
 */
export type EntryBatch = (entries: JournalEntry[], starts: number[], ends: number[]) => void;

export interface ScanOptions {
  /** Hand over no entry after the first damaged line (the rest is still checked). */
  untilDamage?: boolean;
  /**
   * The lines before byte `before` hash to `sha256`, which is the seal of the close line
   * that starts there ({@link sealedClose}): they are the writer's bytes, so their
   * checksums are not computed again, nor the seal's hash.
   */
  sealed?: {before: number; sha256: string};
}

/**
 * The scanner: `push` chunks of the file in order, then `end`. Entries go to `deliver` in
 * batches (one per chunk); damage, torn lines and the seal are in the result of `end`.
 */
export class JournalScanner {
  private rest: Buffer | undefined;
  /** Absolute offset of the first byte of `rest` (or of the next chunk). */
  private base = 0;
  private header: JournalHeader | undefined;
  private readonly warnings: string[] = [];
  private readonly damage: JournalDamage[] = [];
  private validBytes = 0;
  private lineNo = 0;
  private lastSeq = 0;
  private events = 0;
  private closedOver: JournalScan['closedOver'];
  private close: JournalScan['close'];
  private readonly seal = crypto.createHash('sha256');
  private hashedTo = 0;

  constructor(
    private readonly name: string,
    private readonly deliver: EntryBatch,
    private readonly options: ScanOptions = {},
  ) {}

  push(chunk: Buffer): void {
    const buf = this.rest?.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let pos = 0;
    const batch: JournalEntry[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (let nl = buf.indexOf(NL); nl >= 0; nl = buf.indexOf(NL, pos)) {
      const entry = this.line(buf, pos, nl);
      if (entry && !(this.options.untilDamage && this.damage.length)) {
        batch.push(entry);
        starts.push(this.base + pos);
        ends.push(this.base + nl + 1);
      }
      pos = nl + 1;
    }
    this.hashTo(buf, this.base + pos);
    this.rest = pos < buf.length ? buf.subarray(pos) : undefined;
    this.base += pos;
    if (batch.length) this.deliver(batch, starts, ends);
  }

  /** The file is over: what was found besides the entries. */
  end(): JournalScan {
    if (!this.header) {
      throw new JournalError(`${this.name}: not a crewchief journal (no header line)`);
    }
    if (this.rest?.length) {
      const lineBytes = this.rest.length;
      this.warnings.push(
        `${this.name}: dropped a torn last line at byte ${this.base} (line ${this.lineNo + 1}, ${lineBytes} bytes): the process was killed while writing it`,
      );
    }
    return {
      header: this.header,
      warnings: this.warnings,
      damage: this.damage,
      validBytes: this.validBytes,
      ...(this.closedOver ? {closedOver: this.closedOver} : {}),
      ...(this.close ? {close: this.close} : {}),
      events: this.events,
      bytes: this.base + (this.rest?.length ?? 0),
    };
  }

  private line(buf: Buffer, start: number, nl: number): JournalEntry | undefined {
    this.lineNo++;
    const offset = this.base + start;
    if (!this.header) {
      this.header = this.readHeader(buf.toString('utf8', start, nl));
      this.validBytes = offset + nl - start + 1;
      return undefined;
    }
    try {
      const sealed = this.options.sealed;
      const entry = parseLineBytes(buf, start, nl, !(sealed && offset < sealed.before));
      const expected = this.lastSeq + 1;
      // After reported damage, the lost lines explain a gap; otherwise a gap is damage.
      const gapExplained = this.damage.length > 0 && entry.seq > expected;
      if (entry.seq !== expected && !gapExplained) {
        throw new Error(`seq ${entry.seq} where ${expected} was expected`);
      }
      this.lastSeq = entry.seq;
      this.events++;
      if (this.close) this.close.later++;
      this.validBytes = offset + nl - start + 1;
      if (entry.type === 'session-closed' && !this.close) {
        this.close = {
          ...(entry.seal ? {seal: entry.seal} : {}),
          time: entry.time,
          outcome: entry.outcome,
          later: 0,
        };
        this.hashTo(buf, offset);
        const sealed = this.options.sealed;
        // (Sealed: a close before the sealed one would have entries after it, and be broken
        // whatever its lines hash to; they were not hashed.)
        if (!sealed) this.closedOver = {events: this.lineNo - 2, sha256: this.seal.digest('hex')};
        else if (sealed.before === offset)
          this.closedOver = {events: this.lineNo - 2, sha256: sealed.sha256};
      }
      return entry;
    } catch (error) {
      this.damage.push({offset, line: this.lineNo, reason: (error as Error).message});
      return undefined;
    }
  }

  /** Feeds the seal's hash up to absolute offset `to` (until the close is found). */
  private hashTo(buf: Buffer, to: number): void {
    if (this.options.sealed || this.closedOver || to <= this.hashedTo) return;
    this.seal.update(buf.subarray(this.hashedTo - this.base, to - this.base));
    this.hashedTo = to;
  }

  private readHeader(text: string): JournalHeader {
    const name = this.name;
    let header: JournalHeader;
    try {
      header = JSON.parse(text) as JournalHeader;
    } catch {
      throw new JournalError(`${name}: not a crewchief journal (header is not JSON)`);
    }
    if (header?.crewchief !== 'journal') {
      throw new JournalError(
        `${name}: not a crewchief journal (header has no "crewchief": "journal")`,
      );
    }
    if (header.checksum !== undefined && header.checksum !== headerChecksum(header)) {
      throw new JournalError(
        `${name}: the journal header is damaged (its checksum does not match its fields: session ${JSON.stringify(header.session)}, created ${JSON.stringify(header.created)}); crewchief will not guess which session this is`,
      );
    }
    if (header.version > JOURNAL_VERSION) {
      throw new JournalError(
        `${name}: journal version ${header.version} is newer than this crewchief understands (${JOURNAL_VERSION}); upgrade crewchief`,
      );
    }
    return header;
  }
}

/**
 * Whether a journal is closed and complete: `sealed` when its close carries a seal that
 * matches every line before it (count and sha256) and nothing damaged or added after;
 * `unsealed` when it has no close, or a close without a seal (version 1); `broken`
 * otherwise (lines changed, lost or added after the close).
 */
export function verifySeal(
  read: Pick<JournalScan, 'damage' | 'closedOver' | 'close'> & {
    entries?: readonly JournalEntry[];
  },
): 'sealed' | 'unsealed' | 'broken' {
  let close = read.close;
  if (!close && read.entries) {
    const at = read.entries.findIndex((e) => e.type === 'session-closed');
    const e = read.entries[at];
    if (e?.type === 'session-closed')
      close = {
        ...(e.seal ? {seal: e.seal} : {}),
        time: e.time,
        outcome: e.outcome,
        later: read.entries.length - 1 - at,
      };
  }
  if (!close?.seal) return 'unsealed';
  if (read.damage.length || close.later > 0 || !read.closedOver) return 'broken';
  return close.seal.events === read.closedOver.events &&
    close.seal.sha256 === read.closedOver.sha256
    ? 'sealed'
    : 'broken';
}

/**
 * Not a journal event: what a reader found at the journal's end, handed over after the
 * last entry (replay, report) and folded into the store like an event, so every view says
 * the same: closed and sealed (checksum verified), closed without a seal (an older
 * crewchief), a seal that does not match, no close at all (crashed, or still running), or
 * damage at a byte offset.
 */
export interface JournalEnd {
  type: 'journal-end';
  state: 'sealed' | 'closed' | 'broken' | 'open' | 'left' | 'damaged';
  /** The close's time; else the last readable event's. */
  time?: string;
  /** Events readable (before any damage). */
  events: number;
  /** The first damaged line. */
  damage?: JournalDamage;
  /** Said plainly, for the screen and the plain view. */
  text: string;
}

const hhmm = (iso: string | undefined): string => (iso ? iso.slice(11, 16) : '--:--');

/**
 * The end fact of a scanned journal. `last` is the last event replayed (the one before any
 * damage). A file's seal and the mirror's (its lines are verbatim) are both checked.
 */
export function journalEnd(
  scan: Pick<JournalScan, 'damage' | 'closedOver' | 'close'> & {entries?: readonly JournalEntry[]},
  last: JournalEntry | undefined,
  events: number,
): JournalEnd {
  const damage = scan.damage[0];
  if (damage)
    return {
      type: 'journal-end',
      state: 'damaged',
      ...(last ? {time: last.time} : {}),
      events,
      damage,
      text: `damaged at byte ${damage.offset} (line ${damage.line}: ${damage.reason}); replayed the ${events} events before it, up to ${hhmm(last?.time)}`,
    };
  const closedAt = last?.type === 'session-closed' ? last.time : scan.close?.time;
  if (closedAt) {
    const seal = verifySeal(scan);
    const at = hhmm(closedAt);
    const [state, text]: [JournalEnd['state'], string] =
      seal === 'sealed'
        ? ['sealed', `closed and sealed at ${at}, checksum verified`]
        : seal === 'broken'
          ? [
              'broken',
              `closed at ${at}, but the seal does not match: lines were changed, lost or added`,
            ]
          : ['closed', `closed at ${at}, without a seal (written by an older crewchief)`];
    return {type: 'journal-end', state, time: closedAt, events, text};
  }
  if (last?.type === 'session-left')
    return {
      type: 'journal-end',
      state: 'left',
      time: last.time,
      events,
      text: `left open at ${hhmm(last.time)} (${last.text}), never closed`,
    };
  return {
    type: 'journal-end',
    state: 'open',
    ...(last ? {time: last.time} : {}),
    events,
    text: `ended without a close at ${hhmm(last?.time)} — the session crashed or is still running`,
  };
}

const CHUNK = 1 << 20;
/** The close line is looked for in this much of the file's end. */
const TAIL = 64 * 1024;

/** Reads `buf.length` bytes at `position` (fewer at the end of the file). */
function readAt(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * When the file's last line is a close whose seal matches every byte before it (sha256,
 * read in chunks, without parsing): where that line starts and the hash. Otherwise (no
 * close at the end, no seal, a torn or damaged line, a seal that does not match: then the
 * full check finds out what and where) undefined. Costs a read and a sha256 of the file,
 * against a sha1 per line that it spares.
 */
export function sealedClose(fd: number): ScanOptions['sealed'] {
  const size = fs.fstatSync(fd).size;
  const from = Math.max(0, size - TAIL);
  const tail = Buffer.allocUnsafe(size - from);
  if (readAt(fd, tail, from) !== tail.length || tail.at(-1) !== NL) return undefined;
  const lineAt = tail.lastIndexOf(NL, tail.length - 2) + 1;
  if (lineAt === 0) return undefined; // the header alone, or a last line longer than TAIL
  let close: JournalEntry;
  try {
    close = parseLineBytes(tail, lineAt, tail.length - 1);
  } catch {
    return undefined;
  }
  if (close.type !== 'session-closed' || !close.seal) return undefined;
  const before = from + lineAt;
  const hash = crypto.createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, before)));
  for (let at = 0; at < before;) {
    const n = readAt(fd, chunk.length > before - at ? chunk.subarray(0, before - at) : chunk, at);
    if (n === 0) return undefined;
    hash.update(chunk.subarray(0, n));
    at += n;
  }
  const sha256 = hash.digest('hex');
  return sha256 === close.seal.sha256 ? {before, sha256} : undefined;
}

/**
 * Streams a journal file through `deliver` (a batch of entries per chunk read) and says
 * what else it found. Memory: one chunk and whatever the caller keeps. A journal closed
 * with a seal that matches is not checked line by line again ({@link sealedClose}).
 */
export function scanJournalFile(
  file: string,
  deliver: EntryBatch,
  options: ScanOptions = {},
): JournalScan {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new JournalError(`cannot read journal ${file}: ${(error as Error).message}`);
  }
  try {
    let sealed: ScanOptions['sealed'];
    try {
      sealed = sealedClose(fd);
    } catch (error) {
      throw new JournalError(`cannot read journal ${file}: ${(error as Error).message}`);
    }
    const scanner = new JournalScanner(file, deliver, {...options, ...(sealed ? {sealed} : {})});
    for (;;) {
      // A fresh buffer each time: the scanner may keep the tail of the last one.
      const chunk = Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        n = fs.readSync(fd, chunk, 0, CHUNK, null);
      } catch (error) {
        throw new JournalError(`cannot read journal ${file}: ${(error as Error).message}`);
      }
      if (n === 0) break;
      scanner.push(n < CHUNK ? chunk.subarray(0, n) : chunk);
    }
    return scanner.end();
  } finally {
    fs.closeSync(fd);
  }
}
