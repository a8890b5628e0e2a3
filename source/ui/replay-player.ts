/**
 * Plays journal entries into a store against a clock: pause, speed, step, seek to a
 * phase or a time, and (following a journal still being written) take new entries as
 * they come. Going back folds from the nearest checkpoint: the fold is pure, so the
 * store ends exactly as a straight run would leave it.
 */
import type {JournalEntry} from '../journal/events.js';
import {MemoryLog, type ReplayLog} from '../journal/replay-log.js';
import type {JournalEnd} from '../journal/scan.js';
import {fold, initialState, type FoldItem, type SessionState} from '../store/fold.js';
import type {SessionStore, SessionStoreApi} from '../store/store.js';
import type {ReplayControls} from './app.js';
import type {ReplayPosition} from './components/replay-bar.js';
import {parseDuration} from '../runbook/duration.js';

/** Waits longer than this (at the current speed) are shortened to it. */
export const MAX_GAP_MS = 2000;
/**
 * A checkpoint (the folded state) every this many entries: going back refolds at most this
 * many. Each holds what changed since the last (shared otherwise), so a million entries
 * keep ~500 of them.
 */
const CHECKPOINT_EVERY = 2048;
/** At most this many: past it, every other one goes and the spacing doubles. */
const MAX_CHECKPOINTS = 64;
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256];

/** A loaded player's position, checkpoints and state, as they cross to another thread. */
export interface PlayerParts {
  index: number;
  every: number;
  checkpoints: [number, SessionState][];
  state: SessionState;
}

export interface PlayerOptions {
  /** 1 = as it happened. */
  speed?: number;
  paused?: boolean;
  /** New entries will be appended (a journal still being written). */
  follow?: boolean;
  /**
   * Folds entries into the store: the pipeline's sink (services/pipeline.ts), so replay
   * applies entries exactly as live, watch and plain replay do. Default: the store's own.
   */
  take?: (entries: readonly FoldItem[]) => void;
  /** Test seams. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export class ReplayPlayer implements ReplayControls {
  private readonly entries: ReplayLog;
  /** The reader's fact about the journal's end: it holds at every position. */
  private endFact: JournalEnd | undefined;
  private index = 0;
  private speed: number;
  private paused: boolean;
  private readonly follow: boolean;
  /** Journal time (ms) the clock has reached, and the real time it was read. */
  private virtual = 0;
  private lastReal = 0;
  private timer: unknown;
  private readonly listeners = new Set<() => void>();
  private readonly checkpoints = new Map<number, SessionState>();
  /** Entries between checkpoints (doubles as the journal grows: memory stays bounded). */
  private every = CHECKPOINT_EVERY;
  private snapshot: ReplayPosition;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private finished?: () => void;
  private readonly take: (entries: readonly FoldItem[]) => void;
  /** Resolves when the last entry has been played (never while following). */
  readonly ended: Promise<void>;

  constructor(
    private readonly store: SessionStoreApi,
    entries: readonly JournalEntry[] | ReplayLog,
    options: PlayerOptions = {},
  ) {
    this.entries =
      'slice' in entries && 'at' in entries && 'phases' in entries
        ? (entries as ReplayLog)
        : new MemoryLog(entries as readonly JournalEntry[]);
    this.speed = options.speed ?? 1;
    this.paused = options.paused ?? false;
    this.follow = options.follow ?? false;
    this.take = options.take ?? ((entries) => this.store.getState().applyMany(entries));
    this.now = options.now ?? (() => performance.now());
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
    this.ended = new Promise((resolve) => (this.finished = resolve));
    this.snapshot = this.describe();
  }

  /**
   * The log has more entries (the scan read on): fold them now, so the player stands at the
   * end of what was read, with checkpoints on the way (before the console is up).
   */
  loaded(): void {
    this.forward(this.entries.length);
  }

  /**
   * Where loading left the player (it stands at the end of what was read), without the
   * store's functions: to be sent from the thread that read the journal ({@link restore}).
   */
  loadedParts(): PlayerParts {
    const strip = (state: SessionState): SessionState => {
      const {apply: _a, applyMany: _m, reset: _r, ...rest} = state as SessionStore;
      return rest;
    };
    return {
      index: this.index,
      every: this.every,
      checkpoints: [...this.checkpoints].map(([at, state]) => [at, strip(state)]),
      state: strip(this.store.getState()),
    };
  }

  /** Stands where another thread's player was after loading ({@link loadedParts}). */
  restore(parts: PlayerParts): void {
    this.index = parts.index;
    this.every = parts.every;
    this.checkpoints.clear();
    for (const [at, state] of parts.checkpoints) this.checkpoints.set(at, state);
    this.setState(parts.state);
    this.changed();
  }

  /** The reader's fact about the journal's end, folded in at every position. */
  endWith(end: JournalEnd): void {
    this.endFact = end;
    this.take([end]);
    this.changed();
  }

  /** Starts the clock from the first entry (call once the console is up). */
  play(): void {
    this.seek(0);
    this.resume();
    this.changed();
  }

  // ReplayControls

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  position = (): ReplayPosition => this.snapshot;

  togglePause(): void {
    if (this.paused) {
      this.paused = false;
      if (this.index >= this.entries.length && !this.follow) this.seek(0);
      this.resume();
    } else this.pause();
    this.changed();
  }

  faster(): void {
    this.speed = SPEEDS.find((s) => s > this.speed) ?? this.speed;
    this.resume();
    this.changed();
  }

  slower(): void {
    this.speed = [...SPEEDS].reverse().find((s) => s < this.speed) ?? this.speed;
    this.resume();
    this.changed();
  }

  step(delta: number): void {
    this.pause();
    this.seek(this.index + delta);
    this.changed();
  }

  /** Jumps to the start of the next phase, or back to this phase's (or the previous) start. */
  phase(delta: number): void {
    // A phase's start is just after its phase-entered entry.
    const starts = this.phaseStarts().map((i) => i + 1);
    let target: number | undefined;
    if (delta > 0) target = starts.find((i) => i > this.index);
    else {
      // Back: to this phase's start, or the one before if already there.
      const before = starts.filter((i) => i < this.index);
      target = before.at(-1) ?? 0;
    }
    if (target === undefined) return;
    this.pause();
    this.seek(target);
    this.changed();
  }

  /**
   * Jumps to where the phase numbered `n` on screen began ("5. Update …" is 5); phases
   * without a number count in order. Seeking pauses.
   */
  phaseNumber(n: number): void {
    const starts = this.phaseStarts();
    const phases = this.entries.phases;
    const title = (p: {phase: string}) => this.entries.phaseTitle(p.phase);
    const numbered = phases.find((p) => new RegExp(`^\\s*${n}[.):]\\s`).test(title(p)))?.index;
    const anyNumbered = phases.some((p) => /^\s*\d+[.):]\s/.test(title(p)));
    const start = numbered ?? (anyNumbered ? undefined : starts[n - 1]);
    if (start === undefined) return;
    this.pause();
    this.seek(start + 1);
    this.changed();
  }

  goTo(text: string): string | undefined {
    if (!this.entries.length) return 'the journal is empty';
    const target = parseTime(text.trim(), this.iso(0)!);
    if (target === undefined)
      return `"${text}" is not a time: hh:mm[:ss] (UTC) or +offset such as +90s or +1h5m`;
    let i = 0;
    while (i < this.entries.length && !(this.entries.at(i) > target)) i++;
    this.pause();
    this.seek(i);
    this.changed();
    return undefined;
  }

  end(): void {
    this.seek(this.entries.length);
    this.resume();
    this.changed();
  }

  /** Back to the first event (seeking pauses). */
  start(): void {
    this.pause();
    this.seek(0);
    this.changed();
  }

  /** New entries from a journal that is still being written. */
  append(entries: readonly JournalEntry[]): void {
    if (!entries.length) return;
    const atEdge = this.index >= this.entries.length;
    this.entries.append(entries);
    if (atEdge && !this.paused) {
      // At the live edge: show them as they come.
      this.seek(this.entries.length);
    }
    this.changed();
  }

  dispose(): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  // The clock

  private pause(): void {
    this.paused = true;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
  }

  private resume(): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    if (this.paused) return;
    const at = this.entries.length ? Math.max(0, this.index - 1) : undefined;
    this.virtual = at === undefined ? 0 : this.entries.at(at);
    this.lastReal = this.now();
    this.tick();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.paused) return;
    const real = this.now();
    this.virtual += (real - this.lastReal) * this.speed;
    this.lastReal = real;
    let end = this.index;
    while (end < this.entries.length && this.entries.at(end) <= this.virtual) end++;
    if (end > this.index) this.forward(end);
    if (this.index >= this.entries.length) {
      this.changed();
      if (!this.follow) this.finished?.();
      return;
    }
    const next = this.entries.at(this.index);
    let wait = (next - this.virtual) / this.speed;
    if (wait > MAX_GAP_MS) {
      this.virtual = next - MAX_GAP_MS * this.speed;
      wait = MAX_GAP_MS;
    }
    this.changed();
    this.timer = this.setTimer(() => this.tick(), Math.max(0, wait));
  }

  /** Applies entries up to `end` (exclusive), keeping checkpoints on the way. */
  private forward(end: number): void {
    for (let i = this.index; i < end;) {
      const next = Math.min(end, (Math.floor(i / CHECKPOINT_EVERY) + 1) * CHECKPOINT_EVERY);
      this.take(this.entries.slice(i, next));
      i = next;
      if (i % this.every === 0) this.checkpoint(i);
    }
    this.index = end;
  }

  private checkpoint(i: number): void {
    this.checkpoints.set(i, this.store.getState());
    if (this.checkpoints.size <= MAX_CHECKPOINTS) return;
    this.every *= 2;
    for (const at of this.checkpoints.keys())
      if (at % this.every !== 0) this.checkpoints.delete(at);
  }

  /** Puts the store where it is after `target` entries. */
  private seek(target: number): void {
    const to = Math.max(0, Math.min(this.entries.length, target));
    if (to >= this.index) {
      if (to > this.index) this.forward(to);
      return;
    }
    let from = 0;
    for (const at of this.checkpoints.keys()) if (at <= to && at > from) from = at;
    const base = from ? this.checkpoints.get(from)! : initialState();
    this.index = from;
    this.setState(base);
    this.forward(to);
  }

  private setState(state: SessionState): void {
    // Replace, never merge: keys the fold removed (an answered prompt) must go. The end
    // fact is the journal's, not a position's: it holds wherever the player stands.
    const {apply, applyMany, reset} = this.store.getState();
    const at = this.endFact ? fold(state, this.endFact) : state;
    this.store.setState({...at, apply, applyMany, reset}, true);
  }

  private phaseStarts(): readonly number[] {
    return this.entries.phases.map((p) => p.index);
  }

  private iso(i: number): string | undefined {
    const t = this.entries.at(i);
    return Number.isNaN(t) ? undefined : new Date(t).toISOString();
  }

  private describe(): ReplayPosition {
    const phases = this.entries.phases;
    const time = this.index ? this.iso(this.index - 1) : undefined;
    const start = this.iso(0);
    const end = this.iso(this.entries.length - 1);
    let phase = 0;
    while (phase < phases.length && phases[phase]!.index < this.index) phase++;
    return {
      index: this.index,
      total: this.entries.length,
      paused: this.paused,
      speed: this.speed,
      follow: this.follow,
      ...(time ? {time} : {}),
      ...(start ? {start} : {}),
      ...(end ? {end} : {}),
      phase,
      phases: phases.length,
    };
  }

  private changed(): void {
    this.snapshot = this.describe();
    for (const l of this.listeners) l();
  }
}

/** `hh:mm[:ss]` (UTC, on or after the session's first day) or `+offset`; ms since epoch. */
export function parseTime(text: string, firstIso: string): number | undefined {
  const start = Date.parse(firstIso);
  if (text.startsWith('+')) {
    const ms = parseDuration(text.slice(1));
    return ms === null ? undefined : start + ms;
  }
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return undefined;
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || min > 59 || s > 59) return undefined;
  let t = Date.parse(
    `${firstIso.slice(0, 10)}T${m[1]!.padStart(2, '0')}:${m[2]}:${String(s).padStart(2, '0')}Z`,
  );
  if (t < start - 1000) t += 86_400_000;
  return t;
}
