/**
 * Ctrl-C, SIGTERM, SIGHUP and a closed output pipe, in one place. A command that has
 * something to leave cleanly (a live session, a console, a tail) registers a handler and
 * gets the signal's name; with none registered the process ends quietly at once. A second
 * signal while the first is being handled ends the process at once (the terminal is
 * restored by the console's exit hook).
 */
import {EXIT} from './exit.js';

export type Interrupt = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGPIPE';
type Handler = (signal: Interrupt) => void;

const handlers = new Set<Handler>();
let installed = false;
let pending = false;

/** Calls `handler` on the next interrupt; returns the function that unregisters it. */
export function onInterrupt(handler: Handler): () => void {
  handlers.add(handler);
  return () => void handlers.delete(handler);
}

function interrupted(signal: Interrupt): void {
  if (pending || !handlers.size) {
    process.exit(signal === 'SIGPIPE' ? (process.exitCode ?? 0) : EXIT.detached);
  }
  pending = true;
  for (const handler of [...handlers]) handler(signal);
}

/** Installs the process-wide listeners (once, by the command line). */
export function installInterrupts(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => interrupted(signal));
  // `crewchief demo --plain | head -3`: the reader went away. Stop writing, leave quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      silence(stream);
      interrupted('SIGPIPE');
    });
  }
}

function silence(stream: NodeJS.WriteStream): void {
  stream.write = (() => true) as typeof stream.write;
}
