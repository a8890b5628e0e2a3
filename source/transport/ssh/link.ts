/**
 * One authenticated ssh2 connection to one hop: a TCP socket with Nagle off, or a
 * forwarded channel through the previous hop (ProxyJump). Every link has its own host-key
 * check and its own keepalive; a link cannot be opened without a host-key verifier.
 */
import {connect as tcpConnect, type Socket} from 'node:net';
import type {Duplex} from 'node:stream';
import ssh2 from 'ssh2';
import type {ClientChannel, ConnectConfig} from 'ssh2';
import {makeAuthHandler, type AskPassphrase} from './auth.js';
import {hopLabel, type ResolvedHop} from './ssh-config.js';

const {Client} = ssh2;
type Ssh2Client = InstanceType<typeof Client>;

/**
 * Decides whether a hop's host key is trusted: `undefined` when it is, otherwise the
 * reason for refusing, said plainly with the fingerprints.
 */
export type HostKeyVerifier = (hop: ResolvedHop, key: Buffer) => string | undefined;

/** A connect failure. `permanent` ones (host key, authentication) are not retried. */
export class SshConnectError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'SshConnectError';
  }
}

export interface LinkOptions {
  hop: ResolvedHop;
  /** The name messages use: the profile host, or the jump alias (default: the alias). */
  name?: string;
  /** The previous hop's link, when jumping. */
  via?: Link;
  /** Required: there is no way to connect without checking the host key. */
  verifier: HostKeyVerifier;
  /** Host key algorithms to ask for, known types first. */
  hostKeyAlgorithms?: string[];
  agentSocket: string | undefined;
  askPassphrase?: AskPassphrase;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  connectTimeoutMs: number;
  forwardAgent: boolean;
}

type CloseListener = (reason: string | undefined) => void;

/** An open connection. Channels are counted by the pool; this only tracks liveness. */
export class Link {
  /** Leases (channels for commands) in use; the pool keeps this. */
  inUse = 0;
  /** How many command channels this link may carry (lowered if the server refuses). */
  capacity: number;
  private closed = false;
  private reason: string | undefined;
  private readonly listeners = new Set<CloseListener>();
  private control: Promise<unknown> = Promise.resolve();

  constructor(
    readonly client: Ssh2Client,
    readonly hop: ResolvedHop,
    readonly label: string,
    capacity: number,
  ) {
    this.capacity = capacity;
    client.on('error', (error: Error) => {
      this.reason ??= error.message;
    });
    client.on('close', () => this.markClosed());
    // Through a jump host the socket is a forwarded channel: when the far sshd dies, the
    // channel ends but ssh2 emits no 'close', and every exec then throws "Not connected".
    client.on('end', () => this.markClosed());
  }

  /** Watches the transport stream under the client: its end is the link's end. */
  watch(sock: Duplex): void {
    const gone = (): void => {
      if (this.closed) return;
      this.markClosed();
      this.client.destroy();
    };
    sock.once('end', gone);
    sock.once('close', gone);
    sock.once('finish', gone);
  }

  get up(): boolean {
    return !this.closed;
  }

  /** Why the link closed, if it did. */
  get closeReason(): string | undefined {
    return this.reason;
  }

  markClosed(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.reason ??= reason ?? 'connection closed';
    for (const listener of [...this.listeners]) listener(this.reason);
    this.listeners.clear();
  }

  /** Calls `listener` once when the link closes; returns an unsubscribe. */
  onClose(listener: CloseListener): () => void {
    if (this.closed) {
      queueMicrotask(() => listener(this.reason));
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Opens an exec channel. Rejects if the link is down or the server refuses. `wire` runs
   * synchronously when the channel opens: a fast command's output, exit status and close
   * can arrive in the same read as the open confirmation, before a promise continuation.
   */
  exec(
    command: string,
    options: {pty?: boolean},
    wire: (channel: ClientChannel) => void,
  ): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`connection to ${this.label} is closed`));
        return;
      }
      try {
        this.client.exec(command, options.pty ? {pty: true} : {}, (error, channel) => {
          if (error) {
            reject(error);
            return;
          }
          wire(channel);
          resolve(channel);
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (/not connected/i.test(message)) {
          // The socket is gone though ssh2 said nothing: the link is dead, say so.
          this.markClosed(`connection lost (${message})`);
          this.client.destroy();
        }
        reject(error instanceof Error ? error : new Error(message));
      }
    });
  }

  /**
   * Runs a short control command (a kill) on a channel kept outside the command slots,
   * one at a time, and resolves with its exit code (null if it could not run).
   */
  runControl(command: string, timeoutMs = 5000): Promise<number | null> {
    const run = async (): Promise<number | null> => {
      if (this.closed) return null;
      let code: number | null = null;
      let timer: NodeJS.Timeout | undefined;
      const closed = new Promise<void>((resolve) => {
        this.exec(command, {}, (channel) => {
          timer = setTimeout(() => channel.close(), timeoutMs);
          channel.on('exit', (c: number | null) => (code = c));
          channel.on('data', () => {});
          channel.stderr.on('data', () => {});
          channel.on('close', () => resolve());
          channel.end();
        }).catch(() => resolve());
      });
      await closed;
      clearTimeout(timer);
      return code;
    };
    const result = this.control.then(run, run);
    this.control = result;
    return result;
  }

  /** Opens a TCP-like stream to host:port from the far side of this link. */
  forward(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`jump connection ${this.label} is closed`));
        return;
      }
      try {
        this.client.forwardOut('127.0.0.1', 0, host, port, (error, stream) =>
          error ? reject(error) : resolve(stream),
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (/not connected/i.test(message)) {
          this.markClosed(`connection lost (${message})`);
          this.client.destroy();
        }
        reject(error instanceof Error ? error : new Error(message));
      }
    });
  }

  end(): void {
    this.client.end();
    // A frozen peer never answers the disconnect: do not wait for it.
    setTimeout(() => this.client.destroy(), 1000).unref();
    this.markClosed('closed by crewchief');
  }
}

function tcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({host, port});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      // Without this, each exec on a reused connection waits ~40 ms on Nagle + delayed ACK.
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** ssh2 calls this on every connect; the check throws rather than ever connect unchecked. */
export function assertVerifier(config: ConnectConfig): void {
  if (typeof config.hostVerifier !== 'function') {
    throw new SshConnectError('refusing to connect without a host key verifier', true);
  }
}

/** Connects and authenticates one hop. */
export async function openLink(options: LinkOptions, capacity: number): Promise<Link> {
  const {hop} = options;
  if (typeof options.verifier !== 'function') {
    throw new SshConnectError('refusing to connect without a host key verifier', true);
  }
  const label = `${options.name ?? hop.alias} (${hopLabel(hop)})`;
  const started = Date.now();
  let sock: Duplex;
  try {
    sock = options.via
      ? await options.via.forward(hop.hostName, hop.port)
      : await tcp(hop.hostName, hop.port, options.connectTimeoutMs);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SshConnectError(
      options.via
        ? `cannot reach ${label} through ${options.via.label}: ${message}`
        : `cannot connect to ${label}: ${message}`,
      false,
    );
  }

  const client = new Client();
  let refusal: string | undefined;
  const report = {tried: [] as string[]};

  return new Promise<Link>((resolve, reject) => {
    let settled = false;
    let lastError: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    let remaining = Math.max(1, options.connectTimeoutMs - (Date.now() - started));
    let armedAt = Date.now();
    const arm = (): void => {
      armedAt = Date.now();
      timer = setTimeout(() => {
        fail(
          new SshConnectError(
            `timed out connecting to ${label} after ${options.connectTimeoutMs} ms`,
            false,
          ),
        );
        client.destroy();
      }, remaining);
    };
    const pause = (open: boolean): void => {
      if (open) {
        clearTimeout(timer);
        remaining = Math.max(1, remaining - (Date.now() - armedAt));
      } else if (!settled) {
        arm();
      }
    };
    const fail = (error: SshConnectError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };

    client.on('error', (error: Error & {level?: string}) => {
      // Agent errors are reported and ssh2 goes on to the next method.
      if (error.level === 'agent') return;
      lastError = error;
    });
    client.on('close', () => {
      if (settled) return;
      if (refusal) {
        fail(new SshConnectError(refusal, true));
      } else if (lastError && (lastError as {level?: string}).level === 'client-authentication') {
        fail(
          new SshConnectError(
            `authentication failed for ${label} (tried: ${report.tried.join(', ') || 'no usable key'})`,
            true,
          ),
        );
      } else {
        const why = lastError?.message ?? 'connection closed during the handshake';
        const permanent = /too many authentication failures/i.test(why);
        fail(new SshConnectError(`cannot connect to ${label}: ${why}`, permanent));
      }
    });
    client.once('ready', () => {
      if (settled) {
        client.end();
        return;
      }
      settled = true;
      clearTimeout(timer);
      const link = new Link(client, hop, label, capacity);
      link.watch(sock);
      resolve(link);
    });

    const config: ConnectConfig = {
      sock: sock as ConnectConfig['sock'],
      username: hop.user,
      // Our own timer covers TCP, handshake and authentication, paused while the driver
      // types a passphrase.
      readyTimeout: 0,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      hostVerifier: (key: Buffer): boolean => {
        let reason: string | undefined;
        try {
          reason = options.verifier(hop, key);
        } catch (error) {
          reason = `cannot check the host key of ${label}: ${error instanceof Error ? error.message : String(error)}`;
        }
        if (reason !== undefined) refusal = reason;
        return reason === undefined;
      },
      authHandler: makeAuthHandler(
        {
          user: hop.user,
          identityFiles: hop.identityFiles,
          identitiesOnly: hop.identitiesOnly,
          agentSocket: options.agentSocket,
          ...(options.askPassphrase ? {askPassphrase: options.askPassphrase} : {}),
          onPrompt: pause,
        },
        report,
      ),
      ...(options.hostKeyAlgorithms
        ? {algorithms: {serverHostKey: options.hostKeyAlgorithms as never}}
        : {}),
      ...(options.forwardAgent && options.agentSocket
        ? {agent: options.agentSocket, agentForward: true}
        : {}),
    };
    assertVerifier(config);
    arm();
    try {
      client.connect(config);
    } catch (error) {
      fail(
        new SshConnectError(
          `cannot connect to ${label}: ${error instanceof Error ? error.message : String(error)}`,
          true,
        ),
      );
    }
  });
}
