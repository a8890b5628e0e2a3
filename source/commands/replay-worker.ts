/**
 * A journal file read for the replay console on a thread of its own, while the main thread
 * loads the console (on two cores, the read and the start-up overlap): the same scan, log
 * and player as on the main thread, handed back as the player's position, checkpoints and
 * state, the log's offsets and times (transferred, not copied), and what the read found.
 * See `loadInWorker` (commands/replay.tsx).
 */
import {parentPort, workerData} from 'node:worker_threads';
import {FileLog} from '../journal/replay-log.js';
import {JournalError} from '../journal/scan.js';
import {createSessionStore} from '../store/store.js';
import {ReplayPlayer} from '../ui/replay-player.js';
import {readFile} from './replay-read.js';

const {file} = workerData as {file: string};
try {
  const store = createSessionStore();
  const log = new FileLog(file);
  const player = new ReplayPlayer(store, log);
  const read = readFile(file, (entries, starts, ends) => {
    log.add(entries, starts, ends);
    player.loaded();
  });
  const parts = log.parts();
  parentPort!.postMessage({read, log: parts, player: player.loadedParts()}, [
    parts.starts.buffer as ArrayBuffer,
    parts.times.buffer as ArrayBuffer,
  ]);
} catch (error) {
  parentPort!.postMessage({
    error: (error as Error).message,
    journal: error instanceof JournalError,
  });
}
