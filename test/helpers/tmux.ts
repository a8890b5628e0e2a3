/**
 * A real tmux for end-to-end tests of the console: its own server (socket), a pane of
 * a given size running the built CLI, keys sent as a driver would, and the screen read
 * back as text. Waits poll the screen; nothing sleeps a fixed time.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliJs = path.join(repoRoot, 'dist', 'source', 'cli.js');

let servers = 0;

export const tmuxAvailable = (): boolean => spawnSync('tmux', ['-V']).status === 0;

const newest = (dir: string): number => {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }
  return latest;
};

/** Builds dist/ when it is missing or older than the sources (vitest run on its own). */
export function ensureBuilt(): void {
  const built = fs.existsSync(cliJs) ? fs.statSync(cliJs).mtimeMs : 0;
  const sources = Math.max(
    newest(path.join(repoRoot, 'source')),
    newest(path.join(repoRoot, 'machines')),
  );
  if (built && built >= sources) return;
  execFileSync('npm', ['run', '--silent', 'build'], {cwd: repoRoot, stdio: 'inherit'});
}

export interface PaneOptions {
  columns: number;
  rows: number;
  /** argv of the command (its exit status is printed when it ends: see `exited`). */
  command: readonly string[];
  /** The whole environment of the command (nothing inherited: no CI, no stray NO_COLOR). */
  env: Record<string, string>;
  cwd?: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The environment a driver's shell would have, plus `extra`. */
export function driverEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? os.homedir(),
    LANG: 'C.UTF-8',
    TERM: 'tmux-256color',
    CREWCHIEF_DRIVER: 'ana@bastion',
    // The simulated site at its profile's speed (see vitest.config.ts); a test that shows
    // the demo's pace for people passes CREWCHIEF_SIM_PACE: '' in `extra`.
    CREWCHIEF_SIM_PACE: 'off',
    ...extra,
  };
}

/**
 * Whether a capture holds a whole frame: tmux draws a frame as the pty delivers it, so a
 * capture can hold the top of a new frame and nothing below (a 120×40 frame is more than
 * one read). The console draws its footer ("? help …") last, so a console frame (its
 * header on the first row) is whole once the footer is there. Anything else passes.
 */
function whole(screen: string): boolean {
  if (!/^ (LIVE|READ-ONLY|FOLLOWING|REPLAY) /.test(screen)) return true;
  return /^\? help/m.test(screen);
}

export class TmuxPane {
  private constructor(
    private readonly socket: string,
    readonly target: string,
    private readonly statusFile: string,
  ) {}

  /** Starts a server and a pane of `columns`×`rows` running the command. */
  static start(options: PaneOptions): TmuxPane {
    const socket = `crewchief-test-${process.pid}-${++servers}`;
    const env = Object.entries(options.env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ');
    // tmux 3.3a here sometimes left the exited command unreaped (a zombie) for many
    // seconds before saying the pane was dead: the shell writes the status to a file.
    const status = path.join(os.tmpdir(), `${socket}.status`);
    fs.rmSync(status, {force: true});
    // The shell then stays a while: a dead pane's screen is wiped, and the driver's screen
    // after the console is part of what the tests read.
    const line = `env -i ${env} ${options.command.map(quote).join(' ')}; echo $? > ${quote(status)}; sleep 60`;
    const pane = new TmuxPane(socket, 'console', status);
    pane.tmux([
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'console',
      '-x',
      String(options.columns),
      '-y',
      String(options.rows),
      '-c',
      options.cwd ?? repoRoot,
      line,
    ]);
    // Keep the last screen after the command exits, and let OSC 52 reach tmux's buffers
    // (so a test can see that no clipboard write got through).
    pane.tmux(['set-option', '-t', 'console', 'remain-on-exit', 'on']);
    pane.tmux(['set-option', '-g', 'set-clipboard', 'on']);
    pane.tmux(['set-option', '-g', 'allow-rename', 'on']);
    return pane;
  }

  tmux(args: readonly string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], {encoding: 'utf8'});
  }

  /** The screen as text, one line per row, trailing blanks trimmed. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', this.target])
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .replace(/\n+$/, '');
  }

  /** The screen with tmux's rendering of colours and attributes as escape sequences. */
  screenWithEscapes(): string {
    return this.tmux(['capture-pane', '-p', '-e', '-t', this.target]);
  }

  /** Key names as tmux knows them (Enter, Tab, BTab, C-c, PPage, Up …). */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.target, ...keys]);
  }

  /** Literal text, as typed. */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.target, '-l', text]);
  }

  /** Waits until the screen passes `test`; returns it. Fails with the last screen. */
  async waitFor(
    test: RegExp | string | ((screen: string) => boolean),
    timeoutMs = 15_000,
  ): Promise<string> {
    const check =
      typeof test === 'function'
        ? test
        : typeof test === 'string'
          ? (s: string) => s.includes(test)
          : (s: string) => test.test(s);
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let exitedAt: number | undefined;
    for (;;) {
      last = this.screen();
      if (check(last) && whole(last)) return last;
      // Once the command has ended, tmux gets a moment to show its last output.
      if (exitedAt === undefined && this.status() !== undefined) exitedAt = Date.now();
      if (exitedAt !== undefined && Date.now() - exitedAt > 2000)
        throw new Error(
          `the command exited (status ${this.status()}) before ${String(test)}:\n${last}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${String(test)}; the screen:\n${last}`,
        );
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  /**
   * Answers the console's prompt as a person would: types the text, waits until the
   * answer line shows it (keys typed while the prompt was too new to read are dropped:
   * then it clears and types again), then presses Enter on its own (an Enter too close
   * to the typing reads as a paste and sends nothing: then it presses Enter again).
   */
  async answer(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = (): number => Math.max(500, deadline - Date.now());
    for (;;) {
      this.type(text);
      try {
        await this.waitFor((s) => s.includes(`> ${text}`), Math.min(2000, left()));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        this.keys('Escape');
        await this.waitFor((s) => answerLine(s) === '', left());
      }
    }
    for (;;) {
      this.keys('Enter');
      const screen = await this.waitFor(
        (s) => !s.includes(`> ${text}`) || s.includes('press Enter on its own'),
        left(),
      );
      if (!screen.includes(`> ${text}`)) return;
    }
  }

  resize(columns: number, rows: number): void {
    this.tmux(['resize-window', '-t', this.target, '-x', String(columns), '-y', String(rows)]);
  }

  /** The pid of the command in the pane (a child of the pane's shell). */
  pid(): number {
    const shell = this.tmux(['display-message', '-p', '-t', this.target, '#{pane_pid}']).trim();
    const child = spawnSync('pgrep', ['-P', shell], {encoding: 'utf8'})
      .stdout.trim()
      .split('\n')[0];
    return Number(child || shell);
  }

  title(): string {
    return this.tmux(['display-message', '-p', '-t', this.target, '#{pane_title}']).trim();
  }

  /** tmux paste buffers (OSC 52 with set-clipboard on would create one). */
  buffers(): string {
    return this.tmux(['list-buffers']).trim();
  }

  /** The command's exit status, once it has ended. */
  status(): number | undefined {
    const text = fs.existsSync(this.statusFile) ? fs.readFileSync(this.statusFile, 'utf8') : '';
    return text.trim() ? Number(text.trim()) : undefined;
  }

  /** Waits until the command exits; returns its exit status. */
  async exited(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.status();
      if (status !== undefined) return status;
      if (Date.now() > deadline)
        throw new Error(`still running after ${timeoutMs} ms; the screen:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    fs.rmSync(this.statusFile, {force: true});
  }
}

/** What the console's answer line holds ('' when empty; undefined when there is none). */
export function answerLine(screen: string): string | undefined {
  const match = /^[║│] > (.*?)\s*[║│]$/m.exec(screen);
  return match ? match[1]!.replace(/\s+$/, '') : undefined;
}

/** Lines of a screen. */
export const rows = (screen: string): string[] => screen.split('\n');
