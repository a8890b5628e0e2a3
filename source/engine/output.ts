/**
 * Turns a command's raw output into journal events: redacted (also across chunks),
 * text when it is UTF-8 and base64 when not, bounded per step and host (head and tail
 * kept, the middle counted and hashed).
 */
import {createHash} from 'node:crypto';
import {isUtf8} from 'node:buffer';
import type {JournalEvent} from '../journal/events.js';
import type {Redactor, StreamRedactor} from '../journal/redact.js';

/** Past the cap, how often the screen hears how far the output got, and how much of it. */
const PROGRESS_EVERY_MS = 1000;
const PROGRESS_TAIL_BYTES = 2048;

/** Text as it is, or with bytes that are not UTF-8 shown as \xHH. */
const escapeForProgress = (bytes: Buffer): string =>
  isUtf8(bytes)
    ? bytes.toString('utf8')
    : [...bytes]
        .map((b) =>
          b === 10 || (b >= 32 && b < 127)
            ? String.fromCharCode(b)
            : `\\x${b.toString(16).padStart(2, '0')}`,
        )
        .join('');

/** How long output may sit unfinished (no newline) before it is shown anyway. */
const IDLE_FLUSH_MS = 150;

export interface OutputRecorderOptions {
  step: string;
  host: string;
  redactor: Redactor;
  /** Bytes journaled per step and host before only the tail is kept. */
  capBytes: number;
  append: (event: JournalEvent) => void;
  /** Keep this much recent redacted text for `expect` and `capture` (default 1 MiB). */
  keepText?: number;
}

export class OutputRecorder {
  private readonly streams: Record<'stdout' | 'stderr', StreamRedactor>;
  private journaled = 0;
  private total = 0;
  private readonly hash = createHash('sha256');
  private tail: Buffer[] = [];
  private lastProgress = 0;
  private tailBytes = 0;
  private readonly tailCap: number;
  /** Recent redacted text, oldest first; joined only when read (see `text`). */
  private recent: string[] = [];
  private recentLength = 0;
  private readonly keepText: number;
  private idle: NodeJS.Timeout | undefined;
  /** Called with every piece of redacted text (background processes wait on patterns). */
  onText?: (text: string) => void;

  constructor(private readonly options: OutputRecorderOptions) {
    this.streams = {stdout: options.redactor.stream(), stderr: options.redactor.stream()};
    this.tailCap = Math.max(4096, Math.floor(options.capBytes / 4));
    this.keepText = options.keepText ?? 1 << 20;
  }

  /** Redacted text seen recently (bounded), for expect and capture. */
  get text(): string {
    if (this.recent.length > 1) {
      this.recent = [this.recent.join('').slice(-this.keepText)];
      this.recentLength = this.recent[0]!.length;
    }
    return this.recent[0] ?? '';
  }

  get totalBytes(): number {
    return this.total;
  }

  readonly sink = {
    stdout: (chunk: Buffer): void => this.push('stdout', this.streams.stdout.push(chunk)),
    stderr: (chunk: Buffer): void => this.push('stderr', this.streams.stderr.push(chunk)),
  };

  private push(stream: 'stdout' | 'stderr', bytes: Buffer): void {
    this.armIdleFlush();
    if (!bytes.length) return;
    this.total += bytes.length;
    this.hash.update(bytes);
    const text = bytes.toString('utf8');
    this.keep(text);
    this.onText?.(text);
    if (this.journaled < this.options.capBytes) {
      const room = this.options.capBytes - this.journaled;
      const head = bytes.length <= room ? bytes : bytes.subarray(0, room);
      this.journaled += head.length;
      this.options.append(this.event(stream, head));
      if (head.length === bytes.length) return;
      bytes = bytes.subarray(head.length);
    }
    this.tail.push(bytes);
    this.tailBytes += bytes.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= this.tailCap && this.tail.length > 1) {
      this.tailBytes -= this.tail.shift()!.length;
    }
    this.progress();
  }

  /** Past the cap, once a second: the size so far and the latest lines, so the screen moves. */
  private progress(): void {
    const now = Date.now();
    if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    const pieces: Buffer[] = [];
    let size = 0;
    for (let i = this.tail.length - 1; i >= 0 && size < PROGRESS_TAIL_BYTES; i--) {
      pieces.unshift(this.tail[i]!);
      size += this.tail[i]!.length;
    }
    const joined = Buffer.concat(pieces);
    const cut = joined.length > PROGRESS_TAIL_BYTES;
    const text = escapeForProgress(
      joined.subarray(joined.length - Math.min(joined.length, PROGRESS_TAIL_BYTES)),
    );
    this.options.append({
      type: 'output-progress',
      step: this.options.step,
      host: this.options.host,
      totalBytes: this.total,
      // A line cut at the start is left out.
      tail: cut ? text.slice(text.indexOf('\n') + 1) : text,
    });
  }

  /**
   * Appends to the recent text without copying it: re-slicing one growing string per
   * chunk copied the whole window (1 MiB) for every chunk, ~2.7 s for 200 MB of output.
   */
  private keep(text: string): void {
    this.recent.push(text);
    this.recentLength += text.length;
    while (this.recent.length > 1 && this.recentLength - this.recent[0]!.length >= this.keepText) {
      this.recentLength -= this.recent.shift()!.length;
    }
  }

  private armIdleFlush(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.push('stdout', this.streams.stdout.flush());
      this.push('stderr', this.streams.stderr.flush());
    }, IDLE_FLUSH_MS);
    this.idle.unref?.();
  }

  private event(stream: 'stdout' | 'stderr', bytes: Buffer): JournalEvent {
    const base = {
      type: 'output',
      step: this.options.step,
      host: this.options.host,
      stream,
    } as const;
    return isUtf8(bytes)
      ? {...base, text: bytes.toString('utf8')}
      : {...base, b64: bytes.toString('base64')};
  }

  /** Ends the streams: what was held back, then the truncation note and the tail. */
  end(): void {
    if (this.idle) clearTimeout(this.idle);
    this.push('stdout', this.streams.stdout.end());
    this.push('stderr', this.streams.stderr.end());
    const omitted = this.total - this.journaled - this.tailBytes;
    if (this.total > this.journaled) {
      this.options.append({
        type: 'output-truncated',
        step: this.options.step,
        host: this.options.host,
        totalBytes: this.total,
        omittedBytes: omitted,
        sha256: this.hash.digest('hex'),
      });
      const tail = Buffer.concat(this.tail);
      if (tail.length) this.options.append(this.event('stdout', tail));
    }
    this.tail = [];
  }
}
