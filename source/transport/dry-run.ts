/**
 * Runs nothing: records what would run and answers success. `describe` adds a line of
 * its own to each command's output (over SSH: the hops it would go through). Probes print
 * nothing, so watches and checks are not polled in a dry run.
 */
import {hostName, type RunRequest, type RunningCommand, type Transport} from './types.js';

export interface DryRunRecord {
  host: string;
  command: string;
}

export function createDryRunTransport(
  describe?: (request: RunRequest) => string,
): Transport & {readonly recorded: readonly DryRunRecord[]} {
  const recorded: DryRunRecord[] = [];
  return {
    kind: 'dry-run',
    recorded,
    start(request, sink): RunningCommand {
      recorded.push({host: hostName(request.host), command: request.command});
      if (describe && request.host !== 'local') {
        let line: string;
        try {
          line = describe(request);
        } catch (error) {
          line = `would not connect: ${(error as Error).message}`;
        }
        sink.stdout(Buffer.from(`(dry run) ${line}\n`));
      }
      return {
        done: Promise.resolve({exitCode: 0, timedOut: false, canceled: false, durationMs: 0}),
        write() {},
      };
    },
    async close() {},
  };
}
