/**
 * Start-up, replay and idle: the CLI and the console, through their public entry points.
 *
 *   start-up   `crewchief --help` against `node -e 0` (timed in bash); the first frame of
 *              `crewchief demo` in a tmux pane: from the key that starts it to the first
 *              drawn text on the screen (the screen is read every few ms)
 *   replay     a synthetic journal of 100 000 events (a ~2 h session written with the
 *              JournalWriter): `crewchief replay FILE --speed 0` in a tmux pane, from the
 *              key to the screen showing the last event (`event N/N`); and, for
 *              comparison, the same with End pressed as soon as the first frame shows
 *   idle       the console at a gate (nothing answers it): CPU time of the process tree
 *              over 10 s windows, as a share of one core
 */
import fs from 'node:fs';
import path from 'node:path';
import {readJournal} from '../../../source/journal/file.js';
import {foldAll} from '../../../source/store/fold.js';
import type {Bed} from '../lib/bed.js';
import {cliJs} from '../lib/bed.js';
import {alternate} from '../lib/alternate.js';
import {consoleEnv} from '../lib/cli.js';
import {writeLongJournal} from '../lib/journal-gen.js';
import {have, peakRssMb, poll, sleep, timeInBash, treeCpuSeconds} from '../lib/proc.js';
import {median, newCase, seriesOf, type CaseResult} from '../lib/stats.js';
import {Pane} from '../lib/tmux.js';
import type {Settings} from '../settings.js';

const NO_TMUX = 'tmux is not installed (apt-get install -y tmux)';

export async function startupCases(bed: Bed, settings: Settings): Promise<CaseResult[]> {
  const help = newCase('startup-help', 'start-up: crewchief --help', 'ms', 'lower');
  const HELP = 'crewchief --help';
  const NODE = 'node -e 0';
  help.targets.push({
    kind: 'ratio',
    of: HELP,
    against: NODE,
    bound: 'max',
    limit: 4,
    label: '≤ 4× node -e 0',
  });
  seriesOf(help, HELP).crewchief = true;
  seriesOf(help, NODE);
  await alternate(
    help,
    {
      [HELP]: () => timeInBash(`node ${cliJs} --help > /dev/null`, settings.startupRuns),
      [NODE]: () => timeInBash('node -e 0', settings.startupRuns),
    },
    settings.rounds,
  );

  const frame = newCase('startup-frame', 'start-up: first frame of crewchief demo', 'ms', 'lower');
  const DEMO = 'crewchief demo, first frame';
  frame.targets.push({
    kind: 'ratio',
    of: DEMO,
    against: NODE,
    bound: 'max',
    limit: 8,
    label: '≤ 8× node -e 0',
  });
  const row = seriesOf(frame, DEMO);
  row.crewchief = true;
  seriesOf(frame, NODE);
  if (!have('tmux')) row.skipped = NO_TMUX;
  else {
    await alternate(
      frame,
      {
        [NODE]: () => timeInBash('node -e 0', settings.startupRuns),
        [DEMO]: async (round) => {
          const journal = path.join(bed.dir, `demo-${round}.jsonl`);
          const {ms} = await timeToScreen(
            ['node', cliJs, 'demo', '--journal', journal],
            consoleEnv({XDG_STATE_HOME: path.join(bed.dir, 'state')}),
            (s) => /\S/.test(s),
            10_000,
          );
          return [ms];
        },
      },
      settings.rounds,
    );
  }
  return [help, frame];
}

/** A bare Node loop over a journal: read the file and JSON.parse every line (the peer). */
const BARE_LOOP = `const t=require('fs').readFileSync(process.argv[1],'utf8');let n=0;for(const l of t.split('\\n'))if(l){JSON.parse(l);n++}`;

export async function replayCases(bed: Bed, settings: Settings): Promise<CaseResult[]> {
  const n = settings.journalEvents;
  const c = newCase(
    'replay',
    `replay: open a ${n.toLocaleString('en')}-event journal, draw its last screen`,
    'ms',
    'lower',
  );
  const SPEED0 = 'crewchief replay --speed 0';
  const END = 'crewchief replay, End pressed at the first frame';
  const BARE = 'node: read + JSON.parse every line';
  c.targets.push({
    kind: 'ratio',
    of: SPEED0,
    against: BARE,
    bound: 'max',
    limit: 1.5,
    label: '≤ 1.5× the bare loop',
  });
  seriesOf(c, SPEED0).crewchief = true;
  const end = seriesOf(c, END);
  end.crewchief = true;
  end.info = true;
  seriesOf(c, BARE);
  const file = path.join(bed.dir, 'long.jsonl');
  const made = writeLongJournal(file, n);
  c.notes.push(
    `the journal: ${made.events} events over ${(made.spanMs / 3_600_000).toFixed(1)} h of session time, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB; the bare loop is \`node -e\` timed in bash (start-up included, as crewchief's)`,
  );
  c.notes.push(inProcess(file));
  const big = bigReplayCase(bed, settings);
  if (!have('tmux')) {
    seriesOf(c, SPEED0).skipped = NO_TMUX;
    end.skipped = NO_TMUX;
    seriesOf(c, BARE).skipped = NO_TMUX;
    return [c, await big];
  }
  const last = new RegExp(`event ${n}\\s*/\\s*${n}\\b`);
  const cap = settings.mode === 'full' ? 20_000 : 10_000;
  await alternate(
    c,
    {
      [SPEED0]: async () => {
        const {ms, reached} = await timeToScreen(
          ['node', cliJs, 'replay', file, '--speed', '0'],
          consoleEnv(),
          (s) => last.test(s),
          cap,
        );
        if (!reached) {
          seriesOf(c, SPEED0).samples.push(ms);
          throw new Error(
            `the last event was not on the screen after ${cap / 1000} s (counted as ${cap / 1000} s; no more runs)`,
          );
        }
        return [ms];
      },
      [END]: async () => {
        const {ms, reached} = await timeToScreen(
          ['node', cliJs, 'replay', file, '--speed', '0'],
          consoleEnv(),
          (s) => last.test(s),
          cap,
          (pane) => pane.keys('End'),
        );
        if (!reached) throw new Error(`the last event was not on the screen after ${cap / 1000} s`);
        return [ms];
      },
      [BARE]: () => timeInBash(`node -e "${BARE_LOOP}" ${file}`, 1),
    },
    settings.rounds,
  );
  return [c, await big];
}

/** Where the time goes, in this process: the streamed read (parse + checks), then the fold. */
function inProcess(file: string): string {
  const reads: number[] = [];
  const folds: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    const text = fs.readFileSync(file, 'utf8');
    for (const line of text.split('\n')) if (line) JSON.parse(line);
    bare.push(performance.now() - t);
    t = performance.now();
    const read = readJournal(file);
    reads.push(performance.now() - t);
    t = performance.now();
    foldAll(read.entries);
    folds.push(performance.now() - t);
  }
  return `in-process (medians of 3): read + JSON.parse ${median(bare).toFixed(0)} ms; readJournal (parse, checksums, seal) ${median(reads).toFixed(0)} ms, foldAll ${median(folds).toFixed(0)} ms`;
}

/** A million events: time to the last screen and the process's peak memory. */
async function bigReplayCase(bed: Bed, settings: Settings): Promise<CaseResult> {
  const n = settings.bigJournalEvents;
  const c = newCase(
    'replay-big',
    `replay: a ${n.toLocaleString('en')}-event journal to its last screen`,
    'ms / MB',
    'lower',
  );
  const TIME = 'crewchief replay --speed 0, time [ms]';
  const PEAK = 'crewchief replay --speed 0, peak memory [MB]';
  c.targets.push({kind: 'absolute', of: TIME, bound: 'max', limit: 10_000, label: '< 10 s'});
  c.targets.push({kind: 'absolute', of: PEAK, bound: 'max', limit: 300, label: '< 300 MB'});
  seriesOf(c, TIME).crewchief = true;
  seriesOf(c, PEAK).crewchief = true;
  if (!have('tmux')) {
    seriesOf(c, TIME).skipped = NO_TMUX;
    seriesOf(c, PEAK).skipped = NO_TMUX;
    return c;
  }
  const file = path.join(bed.dir, 'big.jsonl');
  const made = writeLongJournal(file, n);
  c.notes.push(
    `the journal: ${made.events} events, ${(fs.statSync(file).size / 1e6).toFixed(0)} MB; peak memory = VmHWM of the replay process at the last screen`,
  );
  const last = new RegExp(`event ${n}\\s*/\\s*${n}\\b`);
  const cap = 60_000;
  for (let round = 0; round < settings.rounds; round++) {
    const {ms, reached, peakMb} = await timeToScreen(
      ['node', cliJs, 'replay', file, '--speed', '0'],
      consoleEnv(),
      (s) => last.test(s),
      cap,
    );
    seriesOf(c, TIME).samples.push(ms);
    if (peakMb !== undefined) seriesOf(c, PEAK).samples.push(peakMb);
    if (!reached) {
      c.notes.push(
        `round ${round + 1}: the last event was not on the screen after ${cap / 1000} s`,
      );
      break;
    }
  }
  fs.rmSync(file, {force: true});
  return c;
}

/**
 * Starts `argv` in a held pane, presses Enter, and measures until `test` passes on the
 * screen (at most `capMs`). `atFirstFrame` runs once the first text shows, and every 100 ms
 * after until the test passes.
 */
async function timeToScreen(
  argv: string[],
  env: Record<string, string>,
  test: (screen: string) => boolean,
  capMs: number,
  atFirstFrame?: (pane: Pane) => void,
): Promise<{ms: number; reached: boolean; peakMb?: number}> {
  const pane = Pane.start(argv, env, {held: true});
  let pid: number | undefined;
  try {
    pid = pane.pid();
    // The shell is waiting at `read` once the pane exists; give it a moment to be there.
    await sleep(150);
    pane.release();
    const t0 = performance.now();
    let nudged = 0;
    const hit = await poll(
      () => {
        const screen = pane.screen();
        // Again every 100 ms: a key typed before the console listens is lost.
        if (atFirstFrame && /\S/.test(screen) && performance.now() - nudged > 100) {
          nudged = performance.now();
          atFirstFrame(pane);
        }
        if (test(screen)) return performance.now() - t0;
        if (pane.dead()) {
          const text = screen.trim().split('\n').slice(-3).join(' / ');
          throw new Error(
            `the command exited (status ${pane.exitStatus() || '?'}) before the screen showed it${text ? `: ${text}` : ''}`,
          );
        }
        return undefined;
      },
      capMs,
      3,
    );
    const peak = pid ? peakRssMb(pid) : undefined;
    const peakMb = peak === undefined ? {} : {peakMb: peak};
    return hit === undefined
      ? {ms: capMs, reached: false, ...peakMb}
      : {ms: hit, reached: true, ...peakMb};
  } finally {
    pane.kill();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone with the pane
      }
      // The next round starts once this crewchief is gone: while it exits, it still holds
      // the site's lock (3 of 5 demos in one run were refused by the round before's).
      await poll(() => (running(pid!) ? undefined : true), 5000, 10);
    }
  }
}

/** Whether a process is still there and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

export async function idleCase(bed: Bed, settings: Settings): Promise<CaseResult> {
  const c = newCase(
    'idle',
    `idle: the console waiting at a gate for ${settings.idleSeconds} s`,
    '% of one core',
    'lower',
  );
  const IDLE = 'crewchief console at a gate';
  c.targets.push({kind: 'absolute', of: IDLE, bound: 'max', limit: 1, label: '< 1% of one core'});
  const row = seriesOf(c, IDLE);
  row.crewchief = true;
  if (!have('tmux')) {
    row.skipped = NO_TMUX;
    return c;
  }
  const machine = bed.machine(
    'bench-idle',
    `phase({id: 'p', title: 'wait', steps: [gate({id: 'wait', title: 'Nobody answers this gate', checks: ['nothing to check']})]})`,
  );
  const profile = bed.localProfile('bench-idle');
  const journal = path.join(bed.dir, 'idle.jsonl');
  const pane = Pane.start(
    ['node', cliJs, 'run', machine, '--profile', profile, '--journal', journal],
    consoleEnv(),
  );
  try {
    const pid = pane.pid();
    const waiting = await poll(
      () =>
        fs.existsSync(journal) && fs.readFileSync(journal, 'utf8').includes('"type":"prompt-shown"')
          ? true
          : undefined,
      30_000,
      50,
    );
    if (!waiting) throw new Error(`no gate prompt within 30 s; the screen:\n${pane.screen()}`);
    await sleep(1000); // the first frames after the prompt are not idling
    const window = Math.min(10, settings.idleSeconds);
    const windows = Math.max(1, Math.round(settings.idleSeconds / window));
    let total = 0;
    for (let i = 0; i < windows; i++) {
      const cpu0 = treeCpuSeconds(pid);
      const t0 = performance.now();
      await sleep(window * 1000);
      const cpu = treeCpuSeconds(pid) - cpu0;
      const seconds = (performance.now() - t0) / 1000;
      total += cpu;
      row.samples.push((cpu / seconds) * 100);
    }
    const peak = peakRssMb(pid);
    c.notes.push(
      `${windows} windows of ${window} s; over the whole ${windows * window} s: ${((total / (windows * window)) * 100).toFixed(2)}% (CPU ticks are 10 ms)${peak ? `; the console's peak memory: ${peak.toFixed(0)} MB` : ''}`,
    );
  } catch (error) {
    row.skipped = `failed: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    pane.kill();
  }
  return c;
}
