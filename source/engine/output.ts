/**
 * Turns a command's raw output into journal events: redacted (also across chunks),
 * text when it is UTF-8 and base64 when not, bounded per step and host (head and tail
 * kept, the middle counted and hashed).
 */
import {createHash} from 'node:crypto';
import {isUtf8} from 'node:buffer';
import v8 from 'node:v8';
import vm from 'node:vm';
import {bytesAsText} from '../journal/bytes.js';
import type {JournalEvent} from '../journal/events.js';
import type {Redactor, StreamRedactor} from '../journal/redact.js';

/** Past the cap, how often the screen hears how far the output got, and how much of it. */
const PROGRESS_EVERY_MS = 1000;
const PROGRESS_TAIL_BYTES = 2048;

/** How long output may sit unfinished (no newline) before it is shown anyway. */
const IDLE_FLUSH_MS = 150;

/** Past the cap, a young-generation collection per this many bytes (all hosts together). */
const SCAVENGE_EVERY_BYTES = 4 << 20;

type Collect = (options: {type: 'minor'}) => void;
let collect: Collect | null | undefined;
let sinceScavenge = 0;

/**
 * Frees the buffers a flood leaves behind, every 4 MiB past the cap. ssh2 decrypts each
 * 32 KiB packet into a new buffer and the socket reads into another: garbage as soon as
 * the chunk is counted, hashed and out of the window, but only freed when V8 collects,
 * and V8 waited for ~64 MB of them (its external-memory limit) before it did: the
 * console's peak went from 125 MB at rest to 170 MB during a 200 MB flood. A minor
 * collection finds little alive (the kept windows), so it costs well under a
 * millisecond, and the peak stays ~25 MB lower (measured: console 169 → 146 MB, --plain
 * 150 → 122 MB). `gc` is taken from a context of its own, made while `--expose-gc` is
 * set for that moment only: no other code sees a `gc` global. Where V8 refuses, nothing
 * is collected early.
 */
function scavengeEvery(bytes: number): void {
  sinceScavenge += bytes;
  if (sinceScavenge < SCAVENGE_EVERY_BYTES) return;
  sinceScavenge = 0;
  if (collect === undefined) collect = findCollect();
  collect?.({type: 'minor'});
}

function findCollect(): Collect | null {
  // Started with --expose-gc: that one, and the flag stays as it was.
  const global = (globalThis as {gc?: unknown}).gc;
  if (typeof global === 'function') return global as Collect;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    return null;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

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

/**
 * Records one host's output of one step. Up to the cap, output goes through the stream
 * redactor into the journal. Past it, bytes are only counted and hashed, with a raw
 * window of the latest ones kept: they are redacted when shown (a progress line, the
 * tail at the end, `expect` and `capture`), so a flood costs no redaction at all.
 */
export class OutputRecorder {
  private readonly streams: Record<'stdout' | 'stderr', StreamRedactor>;
  /** Redacted bytes journaled so far (the head). */
  private journaled = 0;
  /** Bytes the command printed. */
  private total = 0;
  /** sha256 of the bytes the command printed. */
  private readonly hash = createHash('sha256');
  /** Raw bytes past the cap, latest last (bounded by tailCap). */
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private readonly tailCap: number;
  private lastProgress = 0;
  /** Some output was left out of the journal (past the cap). */
  private overflowed = false;
  /** Raw recent bytes for expect and capture, latest last (bounded by keepText). */
  private recent: Buffer[] = [];
  private recentBytes = 0;
  private recentTrimmed = false;
  private readonly keepText: number;
  private idle: NodeJS.Timeout | undefined;
  /** Called with every piece of output as it comes (background processes wait on patterns). */
  onText?: (text: string) => void;

  constructor(private readonly options: OutputRecorderOptions) {
    this.streams = {stdout: options.redactor.stream(), stderr: options.redactor.stream()};
    this.tailCap = Math.max(4096, Math.floor(options.capBytes / 4));
    this.keepText = options.keepText ?? 1 << 20;
  }

  /** Recent output (bounded), redacted, for expect and capture. */
  get text(): string {
    return this.shown(this.recent, this.recentTrimmed).toString('utf8');
  }

  get totalBytes(): number {
    return this.total;
  }

  readonly sink = {
    stdout: (chunk: Buffer): void => this.take('stdout', chunk),
    stderr: (chunk: Buffer): void => this.take('stderr', chunk),
  };

  private get pastCap(): boolean {
    return this.journaled >= this.options.capBytes;
  }

  private take(stream: 'stdout' | 'stderr', raw: Buffer): void {
    if (!raw.length) return;
    this.total += raw.length;
    this.hash.update(raw);
    this.keep(raw);
    this.onText?.(raw.toString('utf8'));
    if (!this.pastCap) {
      this.armIdleFlush();
      this.journal(stream, this.streams[stream].push(raw));
      return;
    }
    this.overflowed = true;
    this.tail.push(raw);
    this.tailBytes += raw.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= this.tailCap) {
      this.tailBytes -= this.tail.shift()!.length;
    }
    this.progress();
    scavengeEvery(raw.length);
  }

  /** Journals redacted output up to the cap; what does not fit is left out (counted). */
  private journal(stream: 'stdout' | 'stderr', redacted: Buffer): void {
    if (!redacted.length) return;
    const room = this.options.capBytes - this.journaled;
    const head = redacted.length <= room ? redacted : redacted.subarray(0, room);
    if (head.length < redacted.length) this.overflowed = true;
    if (!head.length) return;
    this.journaled += head.length;
    this.options.append(this.event(stream, head));
  }

  /**
   * Raw bytes made fit to show: a line cut at the start is left out (it may hold the end
   * of a secret), and so is a last piece that could be the start of one; then redacted.
   */
  private shown(pieces: readonly Buffer[], cut: boolean): Buffer {
    let text = Buffer.concat(pieces).toString('latin1');
    if (cut) {
      const newline = text.indexOf('\n');
      text = text.slice(
        newline >= 0 ? newline + 1 : Math.min(text.length, this.options.redactor.longest),
      );
    }
    const redacted = this.options.redactor.bytes(text);
    const keep = redacted.length - this.options.redactor.partialSuffix(redacted);
    return Buffer.from(redacted.slice(0, keep), 'latin1');
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
    const window = joined.subarray(Math.max(0, joined.length - PROGRESS_TAIL_BYTES));
    this.options.append({
      type: 'output-progress',
      step: this.options.step,
      host: this.options.host,
      totalBytes: this.total,
      tail: bytesAsText(this.shown([window], true)),
    });
  }

  /** Keeps the latest raw bytes without copying them (joined only when read). */
  private keep(raw: Buffer): void {
    this.recent.push(raw);
    this.recentBytes += raw.length;
    while (this.recent.length > 1 && this.recentBytes - this.recent[0]!.length >= this.keepText) {
      this.recentBytes -= this.recent.shift()!.length;
      this.recentTrimmed = true;
    }
  }

  private armIdleFlush(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.journal('stdout', this.streams.stdout.flush());
      this.journal('stderr', this.streams.stderr.flush());
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
    this.journal('stdout', this.streams.stdout.end());
    this.journal('stderr', this.streams.stderr.end());
    if (this.overflowed) {
      const tail = this.tailBytes ? this.shown(this.tail, true) : Buffer.alloc(0);
      const shownBytes = tail.length;
      this.options.append({
        type: 'output-truncated',
        step: this.options.step,
        host: this.options.host,
        totalBytes: this.total,
        omittedBytes: Math.max(0, this.total - this.journaled - shownBytes),
        sha256: this.hash.digest('hex'),
      });
      if (tail.length) this.options.append(this.event('stdout', tail));
    }
    this.tail = [];
  }
}
