/**
 * Runs nothing: records what would run and answers success. Probes print nothing, so a
 * watch in a dry run is skipped by the engine rather than polled.
 */
import {hostName, type RunRequest, type RunningCommand, type Transport} from './types.js';

export interface DryRunRecord {
  host: string;
  command: string;
}

export function createDryRunTransport(): Transport & {readonly recorded: readonly DryRunRecord[]} {
  const recorded: DryRunRecord[] = [];
  return {
    kind: 'dry-run',
    recorded,
    start(request: RunRequest): RunningCommand {
      recorded.push({host: hostName(request.host), command: request.command});
      return {
        done: Promise.resolve({exitCode: 0, timedOut: false, canceled: false, durationMs: 0}),
        write() {},
      };
    },
    async close() {},
  };
}
