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

/** What every log keeps per entry: the time, phase starts and the plan's titles. */
abstract class IndexedLog implements ReplayLog {
  protected readonly times: number[] = [];
  readonly phases: {index: number; phase: string}[] = [];
  private titles = new Map<string, string>();

  get length(): number {
    return this.times.length;
  }

  at(i: number): number {
    return this.times[i] ?? NaN;
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
      this.times.push(Date.parse(e.time));
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

/** Lines read back at a time when the player moves on. */
const WINDOW = 2048;

/**
 * A journal file by byte offsets: filled by the scan (`add`, a batch at a time, the batch
 * kept as the window), read back in windows after that. Entries appended while following
 * are kept in memory after the file's.
 */
export class FileLog extends IndexedLog {
  private readonly starts: number[] = [];
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
    for (const s of starts) this.starts.push(s);
    this.end = ends.at(-1) ?? this.end;
    this.window = {from, entries};
  }

  append(entries: readonly JournalEntry[]): void {
    this.index(entries);
    for (const e of entries) this.later.push(e);
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
    const start = this.starts[from]!;
    const stop = to < this.starts.length ? this.starts[to]! : this.end;
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
      const lineStart = this.starts[i]! - start;
      const lineEnd = (i + 1 < to ? this.starts[i + 1]! : stop) - start - 1;
      entries.push(parseLineBytes(buf, lineStart, lineEnd));
    }
    return {from, entries};
  }
}
