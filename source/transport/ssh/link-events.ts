/**
 * Turns a pool's connection states into the link events the session journals
 * (`Transport.onLink`): down (with the reason), reconnecting (attempt n, with the last
 * failure), up. Repeats are dropped; a first connect that fails counts as down.
 */
import type {LinkChange} from '../types.js';
import type {ConnectionState} from './pool.js';

export interface StateReport {
  host: string;
  state: ConnectionState;
  error?: string;
  attempt?: number;
}

export interface LinkReporter {
  report(event: StateReport): void;
  onLink(listener: (change: LinkChange) => void): () => void;
}

export function createLinkReporter(): LinkReporter {
  const listeners = new Set<(change: LinkChange) => void>();
  const last = new Map<string, LinkChange>();
  return {
    report(event) {
      const state: LinkChange['state'] | undefined =
        event.state === 'up'
          ? 'up'
          : event.state === 'down' || event.state === 'failed'
            ? 'down'
            : event.state === 'reconnecting' && event.attempt !== undefined
              ? 'reconnecting'
              : undefined;
      if (!state) return;
      const change: LinkChange = {
        host: event.host,
        state,
        ...(event.error !== undefined ? {error: event.error} : {}),
        ...(event.attempt !== undefined ? {attempt: event.attempt} : {}),
      };
      const previous = last.get(event.host);
      if (previous && JSON.stringify(previous) === JSON.stringify(change)) return;
      // `up` again (a second link failed meanwhile) changes nothing the driver sees.
      if (state === 'up' && previous?.state === 'up') return;
      last.set(event.host, change);
      for (const listener of [...listeners]) {
        try {
          listener(change);
        } catch {
          // a listener's failure is its own
        }
      }
    },
    onLink(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
