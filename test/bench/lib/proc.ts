/**
 * Running and timing processes for the benchmark. Peers are timed inside bash with
 * $EPOCHREALTIME, as `time` in the driver's shell would: node's own spawn costs 1–2 ms a
 * process, which would flatter crewchief against a 5 ms ControlMaster poll.
 */
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';

/** Is `cmd` on PATH? */
export const have = (cmd: string): boolean =>
  spawnSync('bash', ['-c', `command -v ${cmd}`], {stdio: 'ignore'}).status === 0;

/** The first line a command prints (stdout or stderr), or undefined when it cannot run. */
export function versionOf(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: 10_000});
  if (r.error) return undefined;
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The environment for peers and the CLI: plain C locale, nothing that changes behaviour. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {...env, LC_ALL: 'C', LANG: 'C', ...extra};
}

export interface BashResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a bash script, bounded by `timeoutMs` (killed, with its group, after that). */
export function bash(
  script: string,
  options: {env?: Record<string, string>; timeoutMs?: number; cwd?: string} = {},
): Promise<BashResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += c.toString();
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs} ms)`;
      killGroup(child);
    }, options.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({code, stdout, stderr});
    });
  });
}

export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // gone
    }
  }
}

/**
 * Times `body` (bash, run `times` times in a row) inside one bash: each iteration's wall
 * time in ms. `body` must fail (non-zero) when the work was not done right.
 */
export async function timeInBash(
  body: string,
  times: number,
  options: {env?: Record<string, string>; timeoutMs?: number; cwd?: string} = {},
): Promise<number[]> {
  const script = [
    'set -o pipefail',
    `for ((i = 0; i < ${times}; i++)); do`,
    '  s=$EPOCHREALTIME',
    `  { ${body}\n} || { echo "iteration $i failed ($?)" >&2; exit 90; }`,
    '  e=$EPOCHREALTIME',
    '  echo "$s $e"',
    'done',
  ].join('\n');
  const r = await bash(script, options);
  if (r.code !== 0) {
    throw new Error(`${body.split('\n')[0]!.slice(0, 80)}: ${r.stderr.trim().slice(-600)}`);
  }
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [s, e] = l.split(' ').map(Number);
      return ((e ?? 0) - (s ?? 0)) * 1000;
    });
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Stat {
  ppid: number;
  /** utime + stime, plus cutime + cstime (children it reaped), seconds. */
  cpu: number;
}

function statOf(pid: number): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return {ppid: Number(fields[1]), cpu: ticks / CLK_TCK};
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by a process and its descendants: the live ones, and through
 * cutime/cstime the ones already reaped (a reaped process is no longer in the tree, so
 * nothing is counted twice). Orphans re-parented to init are lost.
 */
export function treeCpuSeconds(root: number): number {
  const all = new Map<number, Stat>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (s) all.set(Number(entry), s);
  }
  let total = 0;
  const walk = (pid: number): void => {
    const s = all.get(pid);
    if (!s) return;
    total += s.cpu;
    for (const [child, cs] of all) if (cs.ppid === pid) walk(child);
  };
  walk(root);
  return total;
}

/** Peak resident memory of a process so far (VmHWM), MB. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `test` every `everyMs` until it returns a value; undefined after `timeoutMs`. */
export async function poll<T>(
  test: () => T | undefined,
  timeoutMs: number,
  everyMs = 20,
): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = test();
    if (v !== undefined) return v;
    if (performance.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}
