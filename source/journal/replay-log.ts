/**
 * The entries a replay plays, by index: their times, where the phases start, and the
 * entries themselves on demand. A journal file is not held in memory: the log keeps each
 * entry's byte offset and time, and reads a window of lines back when the player needs
 * them (a seek, the clock moving on). Entries from a mirror, or appended while following,
 * are kept as they are.
 */
import fs from 'node:fs';
import type {JournalEntry} from './events.js';
import {parseLineBytes} from './scan.js';

/** Where the player reads entries from. */
export interface ReplayLog {
  readonly length: number;
  /** Entry `i`'s wall time, in ms since the epoch. */
  at(i: number): number;
  /** Entries `[from, to)`. */
  slice(from: number, to: number): JournalEntry[];
  /** Every `phase-entered`: its index and the phase. */
  readonly phases: readonly {index: number; phase: string}[];
  /** A phase's title, from the session's plan. */
  phaseTitle(id: string): string;
  /** Entries written after the log was read (following a journal). */
  append(entries: readonly JournalEntry[]): void;
}

/** Numbers in a typed array that grows (8 bytes each, no boxes, no holes). */
export class NumberList {
  private data: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const more = new Float64Array(this.data.length * 2);
      more.set(this.data);
      this.data = more;
    }
    this.data[this.length++] = value;
  }

  /** Entry `i`, or NaN past the end. */
  get(i: number): number {
    return i >= 0 && i < this.length ? this.data[i]! : NaN;
  }

  /** The numbers, in an array of their own (to hand to another thread). */
  toArray(): Float64Array {
    return this.data.slice(0, this.length);
  }

  static of(values: Float64Array): NumberList {
    const list = new NumberList(0);
    list.data = values;
    list.length = values.length;
    return list;
  }
}

/** The minute a time was last read in, and its ms since the epoch. */
let minuteKey = '';
let minuteMs = NaN;
const digit = (text: string, i: number): number => {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};

/**
 * An ISO time's ms since the epoch, as `Date.parse` gives it. A writer's time
 * (`2026-11-22T08:00:01.234Z`) is read from its seconds and ms, the minute parsed once for
 * all the entries in it; any other form goes to `Date.parse`.
 */
export function timeMs(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(23) !== 90 /* Z */ ||
    text.charCodeAt(16) !== 58 /* : */ ||
    text.charCodeAt(19) !== 46 /* . */
  )
    return Date.parse(text);
  const s = digit(text, 17) * 10 + digit(text, 18);
  const ms = digit(text, 20) * 100 + digit(text, 21) * 10 + digit(text, 22);
  if (!(s < 60 && ms < 1000)) return Date.parse(text);
  if (!text.startsWith(minuteKey) || minuteKey.length !== 16) {
    minuteKey = text.slice(0, 16);
    minuteMs = Date.parse(`${minuteKey}:00.000Z`);
  }
  return minuteMs + s * 1000 + ms;
}

/** What every log keeps per entry: the time, phase starts and the plan's titles. */
abstract class IndexedLog implements ReplayLog {
  protected times = new NumberList();
  readonly phases: {index: number; phase: string}[] = [];
  protected titles = new Map<string, string>();

  get length(): number {
    return this.times.length;
  }

  at(i: number): number {
    return this.times.get(i);
  }

  phaseTitle(id: string): string {
    return this.titles.get(id) ?? '';
  }

  abstract slice(from: number, to: number): JournalEntry[];
  abstract append(entries: readonly JournalEntry[]): void;

  protected index(entries: readonly JournalEntry[]): void {
    for (const e of entries) {
      if (e.type === 'phase-entered') this.phases.push({index: this.times.length, phase: e.phase});
      else if (e.type === 'session-opened' && !this.titles.size)
        this.titles = new Map(e.plan.phases.map((p) => [p.id, p.title]));
      this.times.push(timeMs(e.time));
    }
  }
}

/** Entries in memory (a mirror's session, tests). */
export class MemoryLog extends IndexedLog {
  private readonly entries: JournalEntry[] = [];

  constructor(entries: readonly JournalEntry[] = []) {
    super();
    this.append(entries);
  }

  slice(from: number, to: number): JournalEntry[] {
    return this.entries.slice(from, to);
  }

  append(entries: readonly JournalEntry[]): void {
    this.index(entries);
    for (const e of entries) this.entries.push(e);
  }
}

/** A {@link FileLog}'s index of a file, as it crosses to another thread. */
export interface FileLogParts {
  starts: Float64Array;
  times: Float64Array;
  end: number;
  phases: readonly {index: number; phase: string}[];
  titles: [string, string][];
}

/** Lines read back at a time when the player moves on. */
const WINDOW = 2048;

/**
 * A journal file by byte offsets: filled by the scan (`add`, a batch at a time, the batch
 * kept as the window), read back in windows after that. Entries appended while following
 * are kept in memory after the file's.
 */
export class FileLog extends IndexedLog {
  /** Where each entry's line starts in the file. */
  private starts = new NumberList();
  private end = 0;
  private window: {from: number; entries: JournalEntry[]} = {from: 0, entries: []};
  private readonly later: JournalEntry[] = [];

  constructor(private readonly file: string) {
    super();
  }

  /** Entries the scan read, with where their lines start and end. */
  add(entries: JournalEntry[], starts: readonly number[], ends: readonly number[]): void {
    const from = this.starts.length;
    this.index(entries);
    for (let i = 0; i < starts.length; i++) this.starts.push(starts[i]!);
    this.end = ends.at(-1) ?? this.end;
    this.window = {from, entries};
  }

  append(entries: readonly JournalEntry[]): void {
    this.index(entries);
    for (const e of entries) this.later.push(e);
  }

  /** What the log knows of the file, to be sent to another thread ({@link FileLog.from}). */
  parts(): FileLogParts {
    return {
      starts: this.starts.toArray(),
      times: this.times.toArray(),
      end: this.end,
      phases: this.phases,
      titles: [...this.titles],
    };
  }

  /** The log another thread read ({@link FileLog.parts}); lines are read back from `file`. */
  static from(file: string, parts: FileLogParts): FileLog {
    const log = new FileLog(file);
    log.starts = NumberList.of(parts.starts);
    log.times = NumberList.of(parts.times);
    log.end = parts.end;
    log.phases.push(...parts.phases);
    log.titles = new Map(parts.titles);
    return log;
  }

  slice(from: number, to: number): JournalEntry[] {
    const inFile = this.starts.length;
    const out: JournalEntry[] = [];
    if (from < inFile) {
      const stop = Math.min(to, inFile);
      let w = this.window;
      if (from < w.from || stop > w.from + w.entries.length) {
        w = this.read(from, Math.min(inFile, Math.max(stop, from + WINDOW)));
        this.window = w;
      }
      for (let i = from; i < stop; i++) out.push(w.entries[i - w.from]!);
    }
    for (let i = Math.max(from, inFile); i < to && i - inFile < this.later.length; i++)
      out.push(this.later[i - inFile]!);
    return out;
  }

  /** Reads entries `[from, to)` back from the file (they were checked once; again now). */
  private read(from: number, to: number): {from: number; entries: JournalEntry[]} {
    const start = this.starts.get(from);
    const stop = to < this.starts.length ? this.starts.get(to) : this.end;
    const buf = Buffer.allocUnsafe(stop - start);
    const fd = fs.openSync(this.file, 'r');
    try {
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) throw new Error(`${this.file} is shorter than when it was read`);
        got += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    const entries: JournalEntry[] = [];
    for (let i = from; i < to; i++) {
      const lineStart = this.starts.get(i) - start;
      const lineEnd = (i + 1 < to ? this.starts.get(i + 1) : stop) - start - 1;
      entries.push(parseLineBytes(buf, lineStart, lineEnd));
    }
    return {from, entries};
  }
}
