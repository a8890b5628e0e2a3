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
import {
  checksum,
  headerChecksum,
  JournalScanner,
  scanJournalFile,
  type JournalDamage as ScanDamage,
  type JournalScan,
} from './scan.js';

export {
  checksum,
  headerChecksum,
  JournalError,
  parseEntry,
  parseLineBytes,
  scanJournalFile,
  type JournalDamage,
  type JournalScan,
  verifySeal,
} from './scan.js';

export const sessionsDir = (env: NodeJS.ProcessEnv = process.env): string =>
  path.join(
    env['XDG_STATE_HOME'] || path.join(os.homedir(), '.local', 'state'),
    'crewchief',
    'sessions',
  );

/** What a disk fault is called in a sentence. */
const FAULTS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EFBIG: 'file too large',
};

const formatBytes = (n: number): string =>
  n < 1024
    ? `${n} bytes`
    : n < 1 << 20
      ? `${(n / 1024).toFixed(1)} KiB`
      : n < 1 << 30
        ? `${(n / (1 << 20)).toFixed(1)} MiB`
        : `${(n / (1 << 30)).toFixed(1)} GiB`;

/** Free bytes (for an unprivileged user) on the filesystem holding `file`, if known. */
export function freeBytes(file: string): number | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    } catch {
      if (dir === path.dirname(dir)) return undefined;
    }
  }
}

/**
 * The journal cannot be written (disk full, read-only, I/O error, no permission). Nothing
 * more may happen: an effect the journal cannot record would be an effect resume cannot
 * know about. Names the file, the fault and the free space.
 */
export class JournalWriteError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
    readonly free: number | undefined,
    cause?: unknown,
  ) {
    const what = FAULTS[code] ?? (cause instanceof Error ? cause.message : 'write failed');
    super(
      `cannot write the journal ${file}: ${what} (${code}); ${free === undefined ? 'free space unknown' : `${formatBytes(free)} free`} on its filesystem`,
      {cause},
    );
  }

  static from(file: string, error: unknown): JournalWriteError {
    if (error instanceof JournalWriteError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    return new JournalWriteError(file, code, freeBytes(file), error);
  }
}

export type FaultListener = (error: JournalWriteError) => void;

/** What redacts text (a {@link Redactor}): the one choke point every journaled string passes. */
export interface TextRedactor {
  text(text: string): string;
}

/**
 * Every string in an event, redacted, wherever it sits (commands, output, reasons,
 * probes, prompts, plans, values). `b64` is left alone: those bytes were redacted as a
 * stream before they were encoded, and hiding part of the encoding would only garble it.
 */
export function redactEvent<T>(value: T, redactor: TextRedactor, key?: string): T {
  if (typeof value === 'string') return (key === 'b64' ? value : redactor.text(value)) as T;
  if (Array.isArray(value)) return value.map((v) => redactEvent(v, redactor)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = k === 'type' ? v : redactEvent(v, redactor, k);
    return out as T;
  }
  return value;
}

/** Serialises an entry as one journal line (with its checksum and the newline). */
export function formatEntry(entry: JournalEntry): string {
  const json = JSON.stringify(entry);
  return `${json.slice(0, -1)},"sum":"${checksum(json)}"}\n`;
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
  private faultListeners: FaultListener[] = [];
  private closed = false;
  private failure: JournalWriteError | undefined;
  /** Bytes of the file that are known written (a failed write is cut back to here). */
  private size: number;
  /** Running sha256 over every line written, header included (the close seal). */
  private readonly hash = createHash('sha256');
  private lines = 0;
  private redactor: TextRedactor | undefined;
  private readonly groupCommitMs: number;
  private readonly now: () => Date;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private seq: number,
    options: JournalWriterOptions,
    size = 0,
  ) {
    this.size = size;
    this.groupCommitMs = options.groupCommitMs ?? 100;
    this.now = options.now ?? (() => new Date());
  }

  /** Creates a new journal with its header. Refuses to overwrite an existing file. */
  static create(file: string, session: string, options: JournalWriterOptions = {}): JournalWriter {
    let fd: number;
    try {
      fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700});
      fd = fs.openSync(file, 'wx', 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code && code in FAULTS) throw JournalWriteError.from(file, error);
      throw error;
    }
    const fields = {
      crewchief: 'journal' as const,
      version: JOURNAL_VERSION,
      session,
      created: (options.now ?? (() => new Date()))().toISOString(),
    };
    const header: JournalHeader = {...fields, checksum: headerChecksum(fields)};
    const writer = new JournalWriter(file, fd, 0, options);
    writer.write(`${JSON.stringify(header)}\n`, true);
    writer.lines = 0;
    if (writer.failure) {
      writer.close();
      fs.rmSync(file, {force: true});
      throw writer.failure;
    }
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
    let writer: JournalWriter;
    let text: Buffer;
    try {
      const fd = fs.openSync(file, 'r+');
      if (fs.fstatSync(fd).size !== validBytes) fs.ftruncateSync(fd, validBytes);
      text = Buffer.alloc(validBytes);
      let read = 0;
      while (read < validBytes) {
        const n = fs.readSync(fd, text, read, validBytes - read, read);
        if (n === 0) break;
        read += n;
      }
      fs.closeSync(fd);
      writer = new JournalWriter(file, fs.openSync(file, 'a'), lastSeq, options, validBytes);
    } catch (error) {
      throw JournalWriteError.from(file, error);
    }
    // The seal covers every line: go on from the lines already there.
    writer.hash.update(text);
    let lines = 0;
    for (let i = text.indexOf(0x0a); i >= 0; i = text.indexOf(0x0a, i + 1)) lines++;
    writer.lines = Math.max(0, lines - 1);
    return writer;
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

  /**
   * Called once when the journal cannot be written: the session must stop before any
   * further effect. The writer refuses every append after that.
   */
  onFault(listener: FaultListener): () => void {
    this.faultListeners.push(listener);
    return () => {
      this.faultListeners = this.faultListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Redacts every string of every event from now on, before it is written or handed to
   * the listeners (the store and the screen, the PostgreSQL mirror, notifications).
   */
  redactWith(redactor: TextRedactor): void {
    this.redactor = redactor;
  }

  /** The disk fault that stopped this journal, if any. */
  get fault(): JournalWriteError | undefined {
    return this.failure;
  }

  /**
   * Appends an event. Effect-bearing events are on disk when this returns; when they
   * cannot be written this throws a {@link JournalWriteError} (the effect must not
   * happen), as does any append after a fault.
   */
  append(event: JournalEvent): JournalEntry {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('journal is closed');
    if (event.type === 'session-closed') {
      // The seal: how many event lines came before, and a running hash over every line.
      this.flush();
      if (this.failure) throw this.failure;
      event = {
        ...event,
        seal: {events: this.lines, sha256: this.hash.copy().digest('hex')},
      };
    }
    if (this.redactor) event = redactEvent(event, this.redactor);
    const entry = {
      ...event,
      seq: ++this.seq,
      time: this.now().toISOString(),
      mono: Math.round(performance.now() * 1000) / 1000,
    } as JournalEntry;
    const line = formatEntry(entry);
    this.stats.events++;
    if (syncEvents.has(event.type)) {
      const text = this.pending + line;
      this.pending = '';
      this.cancelTimer();
      this.write(text, true);
      if (this.failure) throw this.failure;
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
    try {
      fs.closeSync(this.fd);
    } catch (error) {
      this.fail(error);
    }
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Writes (and fsyncs) whole lines. A failure never throws from here: it is recorded,
   * the part written is cut off again where possible (so the file stays whole lines and
   * resume goes on after the last one), and the fault listeners are told.
   */
  private write(text: string, sync: boolean): void {
    if (this.failure) return;
    const buffer = Buffer.from(text, 'utf8');
    try {
      let offset = 0;
      while (offset < buffer.length) offset += fs.writeSync(this.fd, buffer, offset);
      if (sync) {
        fs.fsyncSync(this.fd);
        this.stats.fsyncs++;
      }
    } catch (error) {
      // Free space as the fault found it (before the part written is given back).
      const fault = JournalWriteError.from(this.path, error);
      try {
        fs.ftruncateSync(this.fd, this.size);
      } catch {
        // Read-only or gone: the reader drops a torn last line.
      }
      this.fail(fault);
      return;
    }
    this.size += buffer.length;
    this.stats.bytes += buffer.length;
    this.hash.update(buffer);
    for (let i = buffer.indexOf(0x0a); i >= 0; i = buffer.indexOf(0x0a, i + 1)) this.lines++;
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = JournalWriteError.from(this.path, error);
    this.pending = '';
    this.cancelTimer();
    for (const listener of this.faultListeners) {
      try {
        listener(this.failure);
      } catch {
        // A listener's own trouble must not hide the fault.
      }
    }
  }
}

export interface JournalRead extends Omit<JournalScan, 'events' | 'bytes'> {
  entries: JournalEntry[];
}

/** Parses journal text (the whole file). */
export function parseJournal(text: string, name = 'journal'): JournalRead {
  const entries: JournalEntry[] = [];
  const scanner = new JournalScanner(name, (batch) => void entries.push(...batch));
  scanner.push(Buffer.from(text, 'utf8'));
  const {events: _events, bytes: _bytes, ...scan} = scanner.end();
  return {...scan, entries};
}

/** Reads a whole journal file (streamed in chunks: {@link scanJournalFile}). */
export function readJournal(file: string): JournalRead {
  const entries: JournalEntry[] = [];
  const {
    events: _events,
    bytes: _bytes,
    ...scan
  } = scanJournalFile(file, (batch) => {
    for (const e of batch) entries.push(e);
  });
  return {...scan, entries};
}

/** Says what damage was found, one line each, or nothing. */
export const describeDamage = (file: string, damage: readonly ScanDamage[]): string =>
  damage.map((d) => `${file}: damaged line ${d.line} at byte ${d.offset}: ${d.reason}`).join('\n');
