/**
 * A tmux pane for the console cases: its own server socket, a pane of a fixed size running
 * one command (exec'd, so the pane's pid is the command's), the screen read back as text.
 */
import {execFileSync, spawnSync} from 'node:child_process';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

let servers = 0;

export class Pane {
  private constructor(private readonly socket: string) {}

  /**
   * Starts `argv` in a new pane with exactly `env`. With `held`, the pane's shell waits
   * for Enter before it execs the command (`release()`), so a timer can start at the key.
   */
  static start(
    argv: readonly string[],
    env: Record<string, string>,
    options: {columns?: number; rows?: number; cwd?: string; held?: boolean} = {},
  ): Pane {
    const pane = new Pane(`crewchief-bench-${process.pid}-${++servers}`);
    const vars = Object.entries(env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ');
    const run = `exec env -i ${vars} ${argv.map(quote).join(' ')}`;
    const line = options.held ? `read _; ${run}` : run;
    pane.tmux([
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'bench',
      '-x',
      String(options.columns ?? 120),
      '-y',
      String(options.rows ?? 40),
      ...(options.cwd ? ['-c', options.cwd] : []),
      `sh -c ${quote(line)}`,
    ]);
    pane.tmux(['set-option', '-t', 'bench', 'remain-on-exit', 'on']);
    return pane;
  }

  tmux(args: readonly string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], {encoding: 'utf8'});
  }

  /** Lets a held pane go on (presses Enter). */
  release(): void {
    this.tmux(['send-keys', '-t', 'bench', 'Enter']);
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'bench', ...keys]);
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', 'bench']);
  }

  pid(): number {
    return Number(this.tmux(['display-message', '-p', '-t', 'bench', '#{pane_pid}']).trim());
  }

  dead(): boolean {
    return this.tmux(['display-message', '-p', '-t', 'bench', '#{pane_dead}']).trim() === '1';
  }

  /** The exit status of the command, once the pane is dead. */
  exitStatus(): string {
    return this.tmux(['display-message', '-p', '-t', 'bench', '#{pane_dead_status}']).trim();
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], {stdio: 'ignore'});
  }
}
