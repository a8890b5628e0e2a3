/**
 * Small helpers for tests that drive the SSH transport against the loopback sshd lab.
 */
import {
  createSshTransport,
  type ConnectionStateEvent,
  type SshTransport,
  type SshTransportOptions,
} from '../../source/transport/ssh/index.js';
import type {HostSpec, OutputSink, RunRequest, RunResult} from '../../source/transport/types.js';
import type {SshLab} from './sshd.js';

/** A transport that reads only the lab's config and known_hosts, with no agent. */
export function labTransport(
  lab: SshLab,
  options: SshTransportOptions = {},
): SshTransport & {states: ConnectionStateEvent[]} {
  const states: ConnectionStateEvent[] = [];
  const transport = createSshTransport({
    configFile: lab.configFile,
    userConfig: false,
    agentSocket: false,
    connectTimeoutMs: 10_000,
    ...options,
    onConnectionState: (event) => {
      states.push(event);
      options.onConnectionState?.(event);
    },
  });
  return Object.assign(transport, {states});
}

/** A sink that keeps everything and lets a test wait for some text. */
export interface Capture extends OutputSink {
  readonly out: string;
  readonly err: string;
  /** Resolves when stdout has matched. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function capture(): Capture {
  let out = '';
  let err = '';
  const waiters: {pattern: RegExp; resolve: (m: RegExpMatchArray) => void}[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const m = w.pattern.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    stdout(chunk) {
      out += chunk.toString();
      check();
    },
    stderr(chunk) {
      err += chunk.toString();
    },
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const m = pattern.exec(out);
        if (m) {
          resolve(m);
          return;
        }
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} in output within ${timeoutMs} ms: ${out}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (match) => {
            clearTimeout(timer);
            resolve(match);
          },
        });
      });
    },
  };
}

/** Runs to completion and returns the result with its output. */
export async function run(
  transport: SshTransport,
  host: HostSpec,
  command: string,
  extra: Partial<RunRequest> = {},
): Promise<RunResult & {out: string; err: string}> {
  const sink = capture();
  const result = await transport.start({host, command, ...extra}, sink).done;
  return {...result, out: sink.out, err: sink.err};
}

/** Log text written after `mark` (a length taken earlier with `log().length`). */
export const logSince = (lab: SshLab, which: 'target' | 'bastion', mark: number): string =>
  lab[which].log().slice(mark);
