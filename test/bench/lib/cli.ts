/**
 * The built CLI as a driver runs it, headless (`--plain`) or in a tmux console, until
 * its session closes. A CLI still running 500 ms after its session closed is stopped and
 * the linger is reported (until b549c3e a finished session left its ssh connections
 * open and the CLI never exited).
 */
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import type {JournalEntry} from '../../../source/journal/events.js';
import {readJournal} from '../../../source/journal/file.js';
import {cliJs} from './bed.js';
import {cleanEnv, killGroup, peakRssMb, poll, sleep} from './proc.js';
import {Pane} from './tmux.js';

/** Whether the journal's last whole line closes the session. */
export function sessionClosed(journal: string): boolean {
  try {
    const text = fs.readFileSync(journal, 'utf8');
    return text.trimEnd().split('\n').at(-1)?.includes('"type":"session-closed"') ?? false;
  } catch {
    return false;
  }
}

export interface CliRun {
  entries: JournalEntry[];
  /** Still running 500 ms after the session closed (and stopped). */
  lingered: boolean;
  /** Peak resident memory (VmHWM) while it ran, MB. */
  peakMb?: number;
  exitCode?: number | null;
}

const stepDone = (entries: readonly JournalEntry[], key: string) => {
  const e = entries.find((x) => x.type === 'step-finished' && x.step === key);
  return e?.type === 'step-finished' ? e : undefined;
};

/** `durationMs` of a step that finished ok, or an error saying what happened. */
export function okDuration(run: CliRun, key: string): number {
  const e = stepDone(run.entries, key);
  if (!e) {
    const last = run.entries.at(-1);
    throw new Error(
      `step ${key} did not finish (last event: ${JSON.stringify(last)?.slice(0, 200)})`,
    );
  }
  if (e.outcome !== 'ok')
    throw new Error(`step ${key} ended ${e.outcome}: ${e.reason ?? ''}`.trim());
  return e.durationMs;
}

const settle = async (
  journal: string,
  alive: () => boolean,
  timeoutMs: number,
): Promise<{closed: boolean; lingered: boolean}> => {
  const closed = await poll(
    () => (sessionClosed(journal) || !alive() ? true : undefined),
    timeoutMs,
  );
  if (!closed) return {closed: false, lingered: false};
  if (!alive()) return {closed: sessionClosed(journal), lingered: false};
  const gone = await poll(() => (alive() ? undefined : true), 500);
  return {closed: true, lingered: !gone};
};

/** `crewchief run MACHINE --profile PROFILE --plain --yes --journal JOURNAL`. */
export async function runPlain(
  machine: string,
  profile: string,
  journal: string,
  options: {timeoutMs?: number; env?: Record<string, string>} = {},
): Promise<CliRun> {
  const child = spawn(
    'node',
    [cliJs, 'run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
    {
      env: cleanEnv({CREWCHIEF_DRIVER: 'bench@loopback', ...options.env}),
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 16_384) stderr += c.toString();
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const peak = watchPeak(child.pid);
  const {closed, lingered} = await settle(journal, () => !exited, options.timeoutMs ?? 120_000);
  const peakMb = peak.stop();
  if (!exited) {
    killGroup(child, 'SIGTERM');
    await poll(() => (exited ? true : undefined), 2000);
    if (!exited) killGroup(child);
  }
  if (!closed) throw new Error(`the session did not close: ${stderr.trim().slice(-400)}`);
  return {
    entries: readJournal(journal).entries,
    lingered,
    exitCode: child.exitCode,
    ...(peakMb ? {peakMb} : {}),
  };
}

/**
 * The same in the console, in a tmux pane: `--yes` answers the prompts, the console draws
 * everything. The peak memory is read when the session closes.
 */
export async function runConsole(
  machine: string,
  profile: string,
  journal: string,
  options: {timeoutMs?: number} = {},
): Promise<CliRun> {
  const pane = Pane.start(
    ['node', cliJs, 'run', machine, '--profile', profile, '--yes', '--journal', journal],
    consoleEnv(),
  );
  let pid: number | undefined;
  let peak: {stop(): number | undefined} | undefined;
  try {
    pid = pane.pid();
    peak = watchPeak(pid);
    const alive = (): boolean => !pane.dead();
    const closed = await poll(
      () => (sessionClosed(journal) || !alive() ? true : undefined),
      options.timeoutMs ?? 120_000,
    );
    const peakMb = peak.stop();
    if (!closed || !sessionClosed(journal)) {
      throw new Error(`the session did not close; the screen:\n${pane.screen().trimEnd()}`);
    }
    // The console stays on the end until the driver leaves it: that is no linger.
    return {entries: readJournal(journal).entries, lingered: false, ...(peakMb ? {peakMb} : {})};
  } finally {
    peak?.stop();
    pane.kill();
    if (pid) {
      await sleep(50);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone with the pane
      }
    }
  }
}

/**
 * Reads a process's VmHWM every 20 ms while it runs: the high-water mark only grows, so
 * the last reading is its peak (less what the last 20 ms before an exit added).
 */
function watchPeak(pid: number | undefined): {stop(): number | undefined} {
  let peak: number | undefined;
  const read = (): void => {
    const mb = pid ? peakRssMb(pid) : undefined;
    if (mb !== undefined) peak = Math.max(peak ?? 0, mb);
  };
  const timer = setInterval(read, 20);
  return {
    stop() {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}

/** What a driver's terminal has: a UTF-8 locale, a tmux TERM, and no CI (Ink would draw only the last frame). */
export function consoleEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/root',
    LANG: 'C.UTF-8',
    TERM: 'tmux-256color',
    CREWCHIEF_DRIVER: 'bench@loopback',
    ...extra,
  };
}
