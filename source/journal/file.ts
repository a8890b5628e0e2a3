/**
 * The JSONL journal file: a versioned header line, then one event per line with seq,
 * wall time, monotonic time and a checksum. Append-only. Events that cause effects are
 * fsynced before the effect; output is group-committed.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {performance} from 'node:perf_hooks';
import {
  JOURNAL_VERSION,
  syncEvents,
  type JournalEntry,
  type JournalEvent,
  type JournalHeader,
} from './events.js';

export const sessionsDir = (env: NodeJS.ProcessEnv = process.env): string =>
  path.join(
    env['XDG_STATE_HOME'] || path.join(os.homedir(), '.local', 'state'),
    'crewchief',
    'sessions',
  );

const checksum = (json: string): string =>
  createHash('sha1').update(json).digest('hex').slice(0, 10);

/** Serialises an entry as one journal line (with its checksum and the newline). */
export function formatEntry(entry: JournalEntry): string {
  const json = JSON.stringify(entry);
  return `${json.slice(0, -1)},"sum":"${checksum(json)}"}\n`;
}

const SUM_SUFFIX = /,"sum":"([0-9a-f]{10})"\}$/;

/** Parses one line; throws with the reason when it is damaged. */
export function parseEntry(line: string): JournalEntry {
  const match = SUM_SUFFIX.exec(line);
  if (!match) throw new Error('no checksum');
  const json = `${line.slice(0, match.index)}}`;
  if (checksum(json) !== match[1]) throw new Error('checksum mismatch');
  const entry = JSON.parse(json) as JournalEntry;
  if (typeof entry.seq !== 'number' || typeof entry.type !== 'string') {
    throw new Error('not a journal event');
  }
  return entry;
}

export interface JournalStats {
  events: number;
  fsyncs: number;
  bytes: number;
}

export type EntryListener = (entry: JournalEntry) => void;

export interface JournalWriterOptions {
  /** How long output may wait before it is written and fsynced (group commit). */
  groupCommitMs?: number;
  /** For tests: the clock. */
  now?: () => Date;
}

/** Appends events to a journal file. One writer per file. */
export class JournalWriter {
  readonly stats: JournalStats = {events: 0, fsyncs: 0, bytes: 0};
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private listeners: EntryListener[] = [];
  private closed = false;
  private readonly groupCommitMs: number;
  private readonly now: () => Date;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private seq: number,
    options: JournalWriterOptions,
  ) {
    this.groupCommitMs = options.groupCommitMs ?? 100;
    this.now = options.now ?? (() => new Date());
  }

  /** Creates a new journal with its header. Refuses to overwrite an existing file. */
  static create(file: string, session: string, options: JournalWriterOptions = {}): JournalWriter {
    fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
    const fd = fs.openSync(file, 'wx', 0o600);
    const header: JournalHeader = {
      crewchief: 'journal',
      version: JOURNAL_VERSION,
      session,
      created: (options.now ?? (() => new Date()))().toISOString(),
    };
    const writer = new JournalWriter(file, fd, 0, options);
    writer.write(`${JSON.stringify(header)}\n`, true);
    return writer;
  }

  /**
   * Opens an existing journal to go on writing after `lastSeq`. A torn last line is cut
   * off first (at `validBytes`), so the file stays a sequence of whole lines.
   */
  static reopen(
    file: string,
    lastSeq: number,
    validBytes: number,
    options: JournalWriterOptions = {},
  ): JournalWriter {
    const fd = fs.openSync(file, 'r+');
    if (fs.fstatSync(fd).size !== validBytes) fs.ftruncateSync(fd, validBytes);
    fs.closeSync(fd);
    return new JournalWriter(file, fs.openSync(file, 'a'), lastSeq, options);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Called with every entry, in order, as it is appended (the store, mirrors). */
  onEntry(listener: EntryListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Appends an event. Effect-bearing events are on disk when this returns. */
  append(event: JournalEvent): JournalEntry {
    if (this.closed) throw new Error('journal is closed');
    const entry = {
      ...event,
      seq: ++this.seq,
      time: this.now().toISOString(),
      mono: Math.round(performance.now() * 1000) / 1000,
    } as JournalEntry;
    const line = formatEntry(entry);
    this.stats.events++;
    if (syncEvents.has(event.type)) {
      this.write(this.pending + line, true);
      this.pending = '';
      this.cancelTimer();
    } else {
      this.pending += line;
      if (this.pending.length > 1 << 20) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.groupCommitMs);
    }
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** Writes and fsyncs whatever output is waiting. */
  flush(): void {
    this.cancelTimer();
    if (!this.pending || this.closed) return;
    const text = this.pending;
    this.pending = '';
    this.write(text, true);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private write(text: string, sync: boolean): void {
    const buffer = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < buffer.length) offset += fs.writeSync(this.fd, buffer, offset);
    this.stats.bytes += buffer.length;
    if (sync) {
      fs.fsyncSync(this.fd);
      this.stats.fsyncs++;
    }
  }
}

export interface JournalDamage {
  /** Byte offset of the damaged line. */
  offset: number;
  line: number;
  reason: string;
}

export interface JournalRead {
  header: JournalHeader;
  entries: JournalEntry[];
  /** Things worth saying that lose nothing (a torn last line dropped). */
  warnings: string[];
  /** Damage before the end: never skipped silently. */
  damage: JournalDamage[];
  /** Bytes of whole, valid lines (where appending may go on). */
  validBytes: number;
}

export class JournalError extends Error {}

/** Parses journal text (the whole file). */
export function parseJournal(text: string, name = 'journal'): JournalRead {
  const warnings: string[] = [];
  const damage: JournalDamage[] = [];
  const entries: JournalEntry[] = [];
  const firstEnd = text.indexOf('\n');
  if (firstEnd < 0) throw new JournalError(`${name}: not a crewchief journal (no header line)`);
  let header: JournalHeader;
  try {
    header = JSON.parse(text.slice(0, firstEnd)) as JournalHeader;
  } catch {
    throw new JournalError(`${name}: not a crewchief journal (header is not JSON)`);
  }
  if (header.crewchief !== 'journal') {
    throw new JournalError(
      `${name}: not a crewchief journal (header has no "crewchief": "journal")`,
    );
  }
  if (header.version > JOURNAL_VERSION) {
    throw new JournalError(
      `${name}: journal version ${header.version} is newer than this crewchief understands (${JOURNAL_VERSION}); upgrade crewchief`,
    );
  }
  let offset = Buffer.byteLength(text.slice(0, firstEnd + 1));
  let validBytes = offset;
  let lineNo = 1;
  let pos = firstEnd + 1;
  while (pos < text.length) {
    lineNo++;
    const end = text.indexOf('\n', pos);
    const torn = end < 0;
    const line = text.slice(pos, torn ? text.length : end);
    const lineBytes = Buffer.byteLength(line) + (torn ? 0 : 1);
    try {
      if (torn) throw new Error('no end of line');
      const entry = parseEntry(line);
      const expected = (entries.at(-1)?.seq ?? 0) + 1;
      // After reported damage, the lost lines explain a gap; otherwise a gap is damage.
      const gapExplained = damage.length > 0 && entry.seq > expected;
      if (entry.seq !== expected && !gapExplained) {
        throw new Error(`seq ${entry.seq} where ${expected} was expected`);
      }
      entries.push(entry);
      validBytes = offset + lineBytes;
    } catch (error) {
      const reason = (error as Error).message;
      if (torn) {
        warnings.push(
          `${name}: dropped a torn last line at byte ${offset} (line ${lineNo}, ${lineBytes} bytes): the process was killed while writing it`,
        );
      } else {
        damage.push({offset, line: lineNo, reason});
      }
    }
    offset += lineBytes;
    pos = torn ? text.length : end + 1;
  }
  return {header, entries, warnings, damage, validBytes};
}

export function readJournal(file: string): JournalRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new JournalError(`cannot read journal ${file}: ${(error as Error).message}`);
  }
  return parseJournal(text, file);
}

/** Says what damage was found, one line each, or nothing. */
export const describeDamage = (file: string, damage: readonly JournalDamage[]): string =>
  damage.map((d) => `${file}: damaged line ${d.line} at byte ${d.offset}: ${d.reason}`).join('\n');
