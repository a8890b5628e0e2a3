/**
 * The gate in front of every effect a session has: commands on hosts, local commands and
 * webhook posts all pass through here. Team mode closes it while the driver lock is being
 * regained (and for good when it is lost), and, in strict mode, until the PostgreSQL
 * mirror has every event journaled so far — so whatever runs is in the mirror first.
 */
import type {RunningCommand, RunResult, Transport} from '../transport/types.js';

export class GateClosed extends Error {}

export interface Gate {
  /** True when an effect may start now (no waiting needed). */
  open(): boolean;
  /** Resolves when the effect may start; rejects with GateClosed when it must not. */
  wait(what: string, signal?: AbortSignal): Promise<void>;
}

/** A transport whose commands start only when the gate lets them. */
export function guardTransport(transport: Transport, gate: Gate): Transport {
  return {
    kind: transport.kind,
    ...(transport.connections ? {connections: () => transport.connections!()} : {}),
    close: () => transport.close(),
    start(request, sink): RunningCommand {
      if (gate.open()) return transport.start(request, sink);
      const started = Date.now();
      const typed: string[] = [];
      let running: RunningCommand | undefined;
      const stopped = (error?: string): RunResult => ({
        exitCode: null,
        timedOut: false,
        canceled: true,
        ...(error ? {error} : {}),
        durationMs: Date.now() - started,
      });
      const done = gate.wait(request.command, request.signal).then(
        () => {
          if (request.signal?.aborted) return stopped();
          running = transport.start(request, sink);
          for (const text of typed) running.write(text);
          return running.done;
        },
        (error: unknown) => stopped(`not run: ${(error as Error).message}`),
      );
      return {
        done,
        write: (text) => (running ? running.write(text) : void typed.push(text)),
      };
    },
  };
}

/** A fetch whose posts go out only when the gate lets them. */
export function guardFetch(f: typeof fetch, gate: Gate): typeof fetch {
  return async (input, init) => {
    if (!gate.open()) await gate.wait('a webhook post', init?.signal ?? undefined);
    return f(input, init);
  };
}
