/**
 * One interface to run a command somewhere: locally (execa), over SSH (ssh2), or nowhere
 * (dry run). The engine only ever sees this.
 */

/** A host as the profile describes it, resolved. */
export interface HostSpec {
  /** The name the runbook and the journal use (profile key). */
  name: string;
  /** Address or ~/.ssh/config alias to connect to (default: the name). */
  address?: string;
  user?: string;
  port?: number;
  /** Jump hosts, outermost first (ProxyJump). */
  jump?: readonly string[];
  /** Environment variables set for commands on this host. */
  env?: Readonly<Record<string, string>>;
  /** Shell text run before every command on this host (e.g. `cd /opt/deploy`). */
  prelude?: string;
  /** The SSH client for this host: the built-in `ssh2` or the system's `openssh`. */
  client?: 'ssh2' | 'openssh';
}

/** What to run. */
export interface RunRequest {
  /** `local`, or a host from the profile. */
  host: HostSpec | 'local';
  /** A shell command line (run by `bash -c` where the target has bash, else `sh -c`: ./shell.ts). */
  command: string;
  cwd?: string;
  /** Kill the command's process group after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting stops the command (its whole process group). */
  signal?: AbortSignal;
  /** Ask for a pseudo-terminal. */
  pty?: boolean;
  /**
   * A probe (a watch's poll, a check): read-only, no stdin. The ssh transport runs it in
   * the host's long-lived probe shell, so it costs no session start on the server; other
   * transports run it as any command.
   */
  probe?: true;
  /**
   * Nothing will be typed into it (stdin may be /dev/null). The ssh transport may then run
   * it in the host's command shell, a long-lived shell like the probe shell, when that
   * shell is idle: a command costs a fork on the server, not a session start.
   */
  noInput?: true;
}

/** Where output goes, as it arrives. Chunks are raw bytes. */
export interface OutputSink {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** How a command ended. */
export interface RunResult {
  /** The exit status, or null when it was killed or the outcome is unknown. */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal?: string;
  timedOut: boolean;
  canceled: boolean;
  /**
   * The link to the host dropped while the command ran: whether it ran to completion is
   * unknown. Never treat as failed.
   */
  unknown?: boolean;
  /** A transport error (could not connect, host key refused …), said plainly. */
  error?: string;
  durationMs: number;
}

/** A change of the link to one host. */
export interface LinkChange {
  host: string;
  state: 'up' | 'down' | 'reconnecting';
  /** Why it went down or why the last attempt failed, said plainly. */
  error?: string;
  /** The reconnect attempt, counting from 1. */
  attempt?: number;
}

/** A started command. */
export interface RunningCommand {
  /** Settles when the command ends; never rejects. */
  readonly done: Promise<RunResult>;
  /** Types into the command's stdin. */
  write(text: string): void;
}

export interface Transport {
  /** A short name for the journal: `local`, `ssh`, `dry-run`. */
  readonly kind: string;
  /** Starts a command and streams its output to `sink`. */
  start(request: RunRequest, sink: OutputSink): RunningCommand;
  /** Per-host connection state, for the header (`up`, `down`, `connecting` …). */
  connections?(): Readonly<Record<string, string>>;
  /**
   * Link changes per host (down, reconnecting, up), as they happen; the session journals
   * each as a `link` event. Returns a function that unsubscribes.
   */
  onLink?(listener: (change: LinkChange) => void): () => void;
  /** Closes every connection and stops every command still running. */
  close(): Promise<void>;
}

/** A command that could not start (closed transport, refused host): it ends at once, saying why. */
export function notStarted(error: string, startedAt: number): RunningCommand {
  return {
    done: Promise.resolve({
      exitCode: null,
      timedOut: false,
      canceled: false,
      error,
      durationMs: performance.now() - startedAt,
    }),
    write() {},
  };
}

/** Runs a command to completion and collects its output as text (probes, checks). */
export async function runToText(
  transport: Transport,
  request: RunRequest,
): Promise<RunResult & {stdout: string; stderr: string}> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const running = transport.start(request, {
    stdout: (c) => out.push(c),
    stderr: (c) => err.push(c),
  });
  const result = await running.done;
  return {
    ...result,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** Names a target for the journal and the screen. */
export const hostName = (host: HostSpec | 'local'): string =>
  host === 'local' ? 'local' : host.name;
