/**
 * `crewchief replay FILE --cast OUT.cast [--size COLSxROWS]`: the console as the replay
 * shows it, recorded as an asciicast v2 file. The one console mount renders into a fake
 * terminal of the given size while the replay player feeds the journal's events on a
 * virtual clock (its own rule: long idle gaps shortened to MAX_GAP_MS); each write of the
 * console becomes `[seconds, "o", data]`.
 */
import {EventEmitter} from 'node:events';
import fs from 'node:fs';
import {PassThrough} from 'node:stream';
import type {JournalEntry} from '../journal/events.js';
import {storeSink} from '../services/pipeline.js';
import {createSessionStore} from '../store/store.js';
import {mountConsole} from '../ui/render.js';
import {ReplayPlayer} from '../ui/replay-player.js';

/** A terminal that is only a size and a record of what was written to it. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly chunks: {at: number; data: string}[] = [];
  at = 0;
  wrote = 0;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(data: string | Uint8Array, ...rest: unknown[]): boolean {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    if (text) this.chunks.push({at: this.at, data: text});
    this.wrote++;
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }
}

/** A keyboard nobody types on: raw mode accepted, never a key. */
function keyless(): PassThrough {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: () => stdin,
    ref: () => stdin,
    unref: () => stdin,
  });
  return stdin;
}

export function parseSize(text: string | undefined): {cols: number; rows: number} | undefined {
  if (text === undefined) return {cols: 100, rows: 32};
  const m = /^(\d{2,3})x(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const cols = Number(m[1]);
  const rows = Number(m[2]);
  return cols >= 40 && rows >= 10 ? {cols, rows} : undefined;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 120));

/** Writes the cast; resolves with its frame count and size in bytes. */
export async function writeCast(
  entries: readonly JournalEntry[],
  out: string,
  size: {cols: number; rows: number},
): Promise<{frames: number; bytes: number; seconds: number}> {
  const terminal = new FakeTerminal(size.cols, size.rows);
  const store = createSessionStore();
  let clock = 0;
  let pending: (() => void) | undefined;
  let pendingMs = 0;
  const player = new ReplayPlayer(store, entries, {
    speed: 1,
    take: storeSink(store).take,
    now: () => clock,
    setTimer: (fn, ms) => {
      pending = fn;
      pendingMs = ms;
      return fn;
    },
    clearTimer: () => (pending = undefined),
  });
  const mounted = mountConsole(
    {store, mode: 'replay', replay: player},
    terminal as unknown as NodeJS.WriteStream,
    keyless() as unknown as NodeJS.ReadStream,
  );
  player.play();
  await settle();
  let guard = entries.length * 4 + 16;
  while (pending && guard-- > 0) {
    const fn = pending;
    pending = undefined;
    clock += Math.max(0, pendingMs);
    terminal.at = clock;
    fn();
    await settle();
  }
  await settle();
  mounted.unmount();
  player.dispose();
  // Frames: the leaving of the alternate screen is not part of the recording's last screen.
  const frames = terminal.chunks.filter((c) => c.data !== '\u001B[?1049l');
  const first = entries[0] ? Date.parse(entries[0].time) : Date.now();
  const lines = [
    JSON.stringify({
      version: 2,
      width: size.cols,
      height: size.rows,
      timestamp: Math.floor(first / 1000),
      env: {TERM: 'xterm-256color'},
    }),
    ...frames.map((f) => JSON.stringify([Number((f.at / 1000).toFixed(6)), 'o', f.data])),
  ];
  const text = `${lines.join('\n')}\n`;
  fs.writeFileSync(out, text);
  return {frames: frames.length, bytes: Buffer.byteLength(text), seconds: clock / 1000};
}
