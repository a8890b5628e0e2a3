/** A scripted transport for engine tests: answers commands by pattern, records every start. */
import {
  hostName,
  type OutputSink,
  type RunRequest,
  type RunResult,
  type RunningCommand,
  type Transport,
} from '../../source/transport/types.js';

export interface Script {
  /** Matches the command text. */
  match: RegExp;
  /** The output; a function gets the call's number (1-based, per script) and the host. */
  stdout?: string | ((call: number, host: string) => string);
  stderr?: string;
  exitCode?: number | ((call: number, host: string) => number);
  /** Never ends by itself (until canceled or timed out). */
  hang?: boolean;
  unknown?: boolean;
}

export interface FakeCall {
  host: string;
  command: string;
}

export function fakeTransport(
  scripts: Script[],
  onStart?: (call: FakeCall) => void,
): Transport & {calls: FakeCall[]; inputs: string[]} {
  const calls: FakeCall[] = [];
  const inputs: string[] = [];
  const counts = new Map<Script, number>();
  return {
    kind: 'fake',
    calls,
    inputs,
    start(request: RunRequest, sink: OutputSink): RunningCommand {
      const call = {host: hostName(request.host), command: request.command};
      onStart?.(call);
      calls.push(call);
      const script = scripts.find((s) => s.match.test(request.command));
      const n = (counts.get(script!) ?? 0) + 1;
      if (script) counts.set(script, n);
      const done = new Promise<RunResult>((resolve) => {
        const finish = (r: Partial<RunResult>): void =>
          resolve({exitCode: 0, timedOut: false, canceled: false, durationMs: 1, ...r});
        if (!script) {
          sink.stderr(Buffer.from(`fake: no script for ${request.command}\n`));
          return finish({exitCode: 127});
        }
        const out =
          typeof script.stdout === 'function' ? script.stdout(n, call.host) : script.stdout;
        if (out) sink.stdout(Buffer.from(out));
        if (script.stderr) sink.stderr(Buffer.from(script.stderr));
        if (script.unknown) return finish({exitCode: null, unknown: true});
        if (script.hang) {
          request.signal?.addEventListener(
            'abort',
            () => finish({exitCode: null, canceled: true}),
            {once: true},
          );
          if (request.timeoutMs !== undefined)
            setTimeout(() => finish({exitCode: null, timedOut: true}), request.timeoutMs);
          return;
        }
        const code =
          typeof script.exitCode === 'function'
            ? script.exitCode(n, call.host)
            : (script.exitCode ?? 0);
        setTimeout(() => finish({exitCode: code}), 1);
      });
      return {done, write: (text) => void inputs.push(text)};
    },
    async close() {},
  };
}
