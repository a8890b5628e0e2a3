/**
 * A TCP proxy in front of PostgreSQL that can misbehave the way networks do: refuse new
 * connections, or freeze the open ones (no data, no FIN, no RST — the dropped link that
 * raises no event).
 */
import net from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<{client: net.Socket; server: net.Socket; frozen: boolean}>();
  private refusing = false;
  /** Frozen links whose one end closed: kept open on the other end, as a dead network does. */
  private readonly frozen: {client: net.Socket; server: net.Socket}[] = [];
  private readonly server: net.Server;
  port = 0;

  private constructor(target: {host: string; port: number}) {
    this.server = net.createServer((client) => {
      if (this.refusing) return void client.destroy();
      const upstream = net.connect(target.port, target.host);
      const pair = {client, server: upstream, frozen: false};
      this.sockets.add(pair);
      client.on('data', (d) => void (pair.frozen || upstream.write(d)));
      upstream.on('data', (d) => void (pair.frozen || client.write(d)));
      const close = (): void => {
        this.sockets.delete(pair);
        if (pair.frozen) return void this.frozen.push(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
  }

  static async start(target: {host: string; port: number}): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** A URL like `url` that goes through the proxy. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** New connections are closed at once (the server is unreachable). */
  refuseNew(refuse: boolean): void {
    this.refusing = refuse;
  }

  /** The connections open now stop carrying data, silently, for good. */
  freezeOpen(): number {
    let n = 0;
    for (const pair of this.sockets) {
      pair.frozen = true;
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const pair of [...this.sockets, ...this.frozen]) {
      pair.client.destroy();
      pair.server.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
