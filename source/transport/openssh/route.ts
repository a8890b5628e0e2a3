/**
 * One transport over two SSH clients: each host goes to the client its profile chose
 * (`ssh.client`, or the host's own `client`). Link events and connection states of both
 * are merged; close closes both.
 */
import type {HostSpec, LinkChange, RunRequest, Transport} from '../types.js';

export function routeByHost<T extends Transport>(
  primary: T,
  others: readonly Transport[],
  pick: (host: HostSpec) => Transport,
): T {
  const all = [primary, ...others];
  return {
    ...primary,
    kind: all.map((t) => t.kind).join('+'),
    start(request: RunRequest, sink) {
      const transport = request.host === 'local' ? primary : pick(request.host);
      return transport.start(request, sink);
    },
    connections() {
      return Object.assign({}, ...all.map((t) => t.connections?.() ?? {})) as Record<
        string,
        string
      >;
    },
    onLink(listener: (change: LinkChange) => void) {
      const offs = all.map((t) => t.onLink?.(listener) ?? (() => {}));
      return () => offs.forEach((off) => off());
    },
    async close() {
      await Promise.all(all.map((t) => t.close()));
    },
  };
}
