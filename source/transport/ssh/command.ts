/**
 * One command on one host: lease a channel, exec the wrapped command, stream stdout and
 * stderr apart, and end in exactly one RunResult.
 *
 * Stop (timeout or cancel) kills the remote process group from a second channel: TERM,
 * then KILL after a grace period, then the channel is closed. A channel that closes
 * without an exit status (the link dropped, sshd died) means the outcome is unknown:
 * the command may have finished, or may still be running.
 */
import type {ClientChannel} from 'ssh2';
import type {OutputSink, RunResult, RunningCommand} from '../types.js';
import {killCommand, PidLineReader} from './command-line.js';
import type {Link} from './link.js';
import {AbortedError, type HostPool, type Lease} from './pool.js';

export interface CommandOptions {
  pool: HostPool;
  /** The exec text (already wrapped). */
  execText: string;
  pty: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Between TERM and KILL, and between KILL and giving up on the channel. */
  killGraceMs: number;
  /** Called once when the command has settled. */
  onSettled?: () => void;
}

type StopReason = 'timedOut' | 'canceled';

export class SshCommand implements RunningCommand {
  readonly done: Promise<RunResult>;
  private resolveDone!: (result: RunResult) => void;
  private readonly started = performance.now();
  private stopReason: StopReason | undefined;
  private readonly acquireAbort = new AbortController();
  private lease: Lease | undefined;
  private channel: ClientChannel | undefined;
  private pid: number | undefined;
  private exit: {code: number | null; signal?: string} | undefined;
  private linkDrop: string | undefined;
  /** The exec request was sent but its answer lost with the link. */
  private maybeStarted = false;
  private killSent = false;
  private killConfirmed = false;
  private settled = false;
  private readonly stdin: string[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribeClose: (() => void) | undefined;

  constructor(
    private readonly options: CommandOptions,
    private readonly sink: OutputSink,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (options.timeoutMs !== undefined) {
      this.timers.push(setTimeout(() => this.stop('timedOut'), options.timeoutMs));
    }
    if (options.signal?.aborted) this.stop('canceled');
    else options.signal?.addEventListener('abort', this.onAbort, {once: true});
    void this.run();
  }

  private readonly onAbort = (): void => this.stop('canceled');

  write(text: string): void {
    if (this.channel && !this.settled) this.channel.write(text);
    else if (!this.settled) this.stdin.push(text);
  }

  /** Stops the command: used by timeout, cancel and the transport's close(). */
  stop(reason: StopReason): void {
    if (this.settled || this.stopReason) return;
    this.stopReason = reason;
    if (!this.lease) {
      // Still waiting for a channel slot: leave the queue, nothing ran.
      this.acquireAbort.abort();
      return;
    }
    if (this.pid !== undefined) this.kill();
    else if (this.channel) this.awaitPid();
    // else the exec is on its way: wire() takes it from there
  }

  /** Killed as soon as the pid line arrives; if it never does, stop waiting for it. */
  private awaitPid(): void {
    this.timers.push(
      setTimeout(() => {
        if (this.pid === undefined && !this.settled) this.channel?.close();
      }, this.options.killGraceMs),
    );
  }

  private kill(): void {
    const link = this.lease?.link;
    const pid = this.pid;
    if (!link || pid === undefined || this.killSent) return;
    this.killSent = true;
    void link.runControl(killCommand([pid], 'TERM')).then((code) => {
      if (code === 0) this.killConfirmed = true;
    });
    this.timers.push(
      setTimeout(() => {
        if (this.settled) return;
        void link.runControl(killCommand([pid], 'KILL')).then((code) => {
          if (code === 0) this.killConfirmed = true;
        });
        this.timers.push(
          setTimeout(() => {
            // Something outside the group holds the channel open: stop waiting for it.
            if (!this.settled) this.channel?.close();
            this.timers.push(setTimeout(() => this.finish(), this.options.killGraceMs));
          }, this.options.killGraceMs),
        );
      }, this.options.killGraceMs),
    );
  }

  private async run(attempt = 0): Promise<void> {
    let lease: Lease;
    try {
      lease = await this.options.pool.acquire(this.acquireAbort.signal);
    } catch (error) {
      if (error instanceof AbortedError) {
        this.finish(
          this.stopReason === 'timedOut' ? 'timed out before the command could start' : undefined,
        );
      } else this.finish(error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.stopReason || this.settled) {
      lease.release();
      this.finish();
      return;
    }
    this.lease = lease;
    const link = lease.link;
    let channel: ClientChannel;
    try {
      channel = await link.exec(this.options.execText, {pty: this.options.pty}, (opened) => {
        this.channel = opened;
        this.wire(opened, link);
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.lease = undefined;
      lease.release();
      const openFailed = /open failed/i.test(message);
      // The server allows fewer sessions than we assumed (MaxSessions): carry fewer on this
      // link, and try again shortly (sshd frees a session slot a moment after the close).
      if (openFailed && link.up && link.inUse >= 2) {
        link.capacity = Math.min(link.capacity, link.inUse);
      }
      if (!link.up && /unable to exec/i.test(message)) {
        // The link died after the exec request went out: sshd may have started it.
        // Running it again could run it twice, so the outcome is unknown.
        this.maybeStarted = true;
        this.linkDrop = link.closeReason ?? 'connection lost';
        this.finish();
        return;
      }
      // Otherwise the command certainly did not start: the channel never opened.
      const linkGone = !link.up || /not connected|no response/i.test(message);
      if (attempt < 5 && !this.stopReason && (linkGone || openFailed)) {
        if (openFailed) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        return this.run(attempt + 1);
      }
      this.finish(`could not start the command on ${link.label}: ${message}`);
      return;
    }
    // (Stopped while the channel opened: the pid line triggers the kill.)
    if (!this.settled) for (const text of this.stdin.splice(0)) channel.write(text);
  }

  private wire(channel: ClientChannel, link: Link): void {
    const reader = new PidLineReader(
      (chunk) => this.sink.stdout(chunk),
      (pid) => {
        this.pid = pid;
        if (this.stopReason) this.kill();
      },
    );
    channel.on('data', (chunk: Buffer) => reader.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => this.sink.stderr(chunk));
    channel.on('exit', (code: number | null, signal?: string) => {
      this.exit = {code, ...(signal ? {signal} : {})};
    });
    channel.on('error', () => {
      // surfaced through close
    });
    this.unsubscribeClose = link.onClose((reason) => {
      this.linkDrop = reason ?? 'connection lost';
    });
    if (this.stopReason) this.awaitPid();
    channel.on('close', () => {
      reader.end();
      if (!link.up) this.linkDrop ??= link.closeReason ?? 'connection lost';
      this.finish();
    });
  }

  private finish(error?: string): void {
    if (this.settled) return;
    this.settled = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.unsubscribeClose?.();
    this.lease?.release();
    const started = this.channel !== undefined || this.maybeStarted;
    const exit = this.exit;
    // No exit status from a started command: it may have run to the end or still be running.
    const unknown =
      started && !exit && !(this.stopReason && this.killConfirmed && this.linkDrop === undefined);
    const result: RunResult = {
      exitCode: exit?.code ?? null,
      ...(exit?.signal ? {signal: exit.signal} : {}),
      timedOut: this.stopReason === 'timedOut',
      canceled: this.stopReason === 'canceled',
      ...(unknown ? {unknown: true} : {}),
      ...(error !== undefined
        ? {error}
        : unknown && this.linkDrop
          ? {error: `the link dropped while the command ran (${this.linkDrop}): outcome unknown`}
          : {}),
      durationMs: performance.now() - this.started,
    };
    this.options.onSettled?.();
    this.resolveDone(result);
  }
}
