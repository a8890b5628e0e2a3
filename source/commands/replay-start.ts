/**
 * The replay console's reading thread (commands/replay-worker.ts), started as early as
 * possible: the CLI entry starts it as soon as its arguments say `replay FILE` on a
 * terminal, before the replay command's chunk and the console are loaded (they load on
 * the main thread meanwhile). Light: Node's own modules only, so the entry stays small.
 */
import fs from 'node:fs';
import {fileURLToPath} from 'node:url';
import {Worker} from 'node:worker_threads';
import type {FileLogParts} from '../journal/replay-log.js';
import type {PlayerParts} from '../ui/replay-player.js';
import type {Read} from './replay-read.js';

/**
 * Up to this size a journal is read on a thread of its own: the read is then held twice
 * for a moment (the reading thread's state, and its copy on the main thread), which a
 * long journal's memory cannot afford; it is read on the main thread, streamed.
 */
const WORKER_MAX_BYTES = 64 << 20;

/** What the reading thread answers. */
export type WorkerAnswer =
  {read: Read; log: FileLogParts; player: PlayerParts} | {error: string; journal: boolean};

/**
 * Where the reading thread's module is: next to this one (the split build bundles it into
 * dist/cli/; the tsc build has it in dist/source/commands/), or the tsc build's, from the
 * single-file bundle in dist/.
 */
function workerFile(): string | undefined {
  for (const rel of [
    './replay-worker.js',
    '../source/commands/replay-worker.js',
    './source/commands/replay-worker.js',
  ]) {
    const candidate = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The read the CLI entry started, until the replay command takes it. */
let early: {file: string; answer: Promise<WorkerAnswer | undefined>} | undefined;

/**
 * Starts reading `file` on a thread of its own; its answer, or undefined when the thread
 * failed (not the journal: that is an answer). Undefined when that thread cannot be used
 * (a long journal, no thread module, no file: the main thread's read says why).
 */
export function readInWorker(
  file: string,
  /** The thread's module (tests: the built one). */
  script = workerFile(),
): Promise<WorkerAnswer | undefined> | undefined {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return undefined;
  }
  if (!script || size > WORKER_MAX_BYTES) return undefined;
  const worker = new Worker(script, {workerData: {file}});
  return new Promise<WorkerAnswer | undefined>((resolve) => {
    worker.once('message', (message: WorkerAnswer) => {
      void worker.terminate();
      resolve(message);
    });
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
}

/** The CLI entry: `replay FILE` on a terminal is coming; start its read now. */
export function startReplayRead(file: string, script?: string): void {
  const answer = readInWorker(file, script);
  if (answer) early = {file, answer};
}

/** The read started early for `file`, if one was (taken once). */
export function takeEarlyRead(file: string): Promise<WorkerAnswer | undefined> | undefined {
  if (early?.file !== file) return undefined;
  const {answer} = early;
  early = undefined;
  return answer;
}
