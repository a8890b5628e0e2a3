/**
 * Follows a journal file as it is written (the crew chief on the driver's machine):
 * inotify where there is one, and a poll in case the file system does not tell. Only
 * whole lines count; events are delivered in seq order and never twice, even when a
 * resume cuts a torn last line off and writes on from there.
 */
import fs from 'node:fs';
import type {JournalEntry} from '../journal/events.js';
import {parseEntry} from '../journal/file.js';

export interface FileTailOptions {
  file: string;
  onEntries: (entries: JournalEntry[]) => void;
  /** A damaged line, an unreadable file: said, never skipped silently. */
  onProblem?: (text: string) => void;
  pollMs?: number;
}

/** The most read at a time (a long journal is taken in steps of this). */
const CHUNK = 4 << 20;

export class FileTail {
  private consumed = 0;
  private lastSeq = 0;
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private again = false;
  private headerSeen = false;
  private waitingSaid = false;

  constructor(private readonly options: FileTailOptions) {}

  start(): void {
    this.read();
    this.timer = setInterval(() => this.read(), this.options.pollMs ?? 250);
  }

  stop(): void {
    clearInterval(this.timer);
    this.watcher?.close();
  }

  get seq(): number {
    return this.lastSeq;
  }

  private watch(): void {
    if (this.watcher) return;
    try {
      this.watcher = fs.watch(this.options.file, {persistent: false}, () => this.read());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // No inotify here: the poll reads.
    }
  }

  private read(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        this.readOnce();
      } while (this.again);
    } finally {
      this.reading = false;
    }
  }

  private readOnce(): void {
    let size: number;
    try {
      size = fs.statSync(this.options.file).size;
    } catch (error) {
      if (!this.waitingSaid) {
        this.waitingSaid = true;
        this.options.onProblem?.(
          `waiting for ${this.options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      return;
    }
    this.watch();
    // A resume cut a torn line off: read again from the last whole line (seqs dedupe).
    if (size < this.consumed) this.consumed = 0;
    if (size === this.consumed) return;
    const fd = fs.openSync(this.options.file, 'r');
    let chunk: Buffer;
    try {
      // A bounded read: a long journal is followed chunk by chunk, never held whole.
      chunk = Buffer.alloc(Math.min(size - this.consumed, CHUNK));
      const n = fs.readSync(fd, chunk, 0, chunk.length, this.consumed);
      chunk = chunk.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
    const end = chunk.lastIndexOf(0x0a);
    if (end < 0) {
      // No whole line yet, or one line longer than a chunk: read it whole.
      if (chunk.length === CHUNK) this.readLongLine(size);
      return;
    }
    if (this.consumed + chunk.length < size) this.again = true;
    this.consumed += end + 1;
    this.take(chunk.subarray(0, end + 1).toString('utf8'));
  }

  /** A line longer than a chunk (a huge output event): read up to its end. */
  private readLongLine(size: number): void {
    const fd = fs.openSync(this.options.file, 'r');
    try {
      const rest = Buffer.alloc(size - this.consumed);
      const n = fs.readSync(fd, rest, 0, rest.length, this.consumed);
      const end = rest.subarray(0, n).indexOf(0x0a);
      if (end < 0) return;
      this.consumed += end + 1;
      this.take(rest.subarray(0, end + 1).toString('utf8'));
      this.again = true;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Whole lines read: parsed, checked against the seq, handed on. */
  private take(text: string): void {
    const entries: JournalEntry[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      if (!this.headerSeen) {
        this.headerSeen = true;
        if (line.includes('"crewchief":"journal"')) continue;
      }
      if (line.startsWith('{"crewchief":')) continue;
      try {
        const entry = parseEntry(line);
        if (entry.seq <= this.lastSeq) continue;
        if (entry.seq !== this.lastSeq + 1)
          this.options.onProblem?.(
            `${this.options.file}: event ${entry.seq} follows ${this.lastSeq}: events in between are damaged or missing`,
          );
        this.lastSeq = entry.seq;
        entries.push(entry);
      } catch (error) {
        this.options.onProblem?.(
          `${this.options.file}: a damaged line after event ${this.lastSeq}: ${(error as Error).message}`,
        );
      }
    }
    if (entries.length) this.options.onEntries(entries);
  }
}
