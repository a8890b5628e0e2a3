/**
 * Measures the console in a real tmux (not a test: `npx tsx test/helpers/tmux-measure.ts`,
 * after `npm run build`). Prints, as JSON:
 * - idle: CPU of the console over 60 s at a gate (utime+stime from /proc), and the frames
 *   it wrote meanwhile;
 * - flood: peak memory (VmHWM) and frames per second while a step prints 200 MB;
 * - latency: key press to the frame that shows it, at rest and during the flood.
 * Frames are counted from the terminal stream (tmux pipe-pane): Ink brackets each frame
 * in synchronized-output markers (ESC [ ? 2026 h).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {cliJs, driverEnv, ensureBuilt, repoRoot, TmuxPane} from './tmux.js';
import {writeTestSite} from './tmux-site.js';

const IDLE_SECONDS = Number(process.env['IDLE_SECONDS'] ?? 60);
const FLOOD_BYTES = Number(process.env['FLOOD_BYTES'] ?? 200_000_000);
const CLK_TCK = 100;
const BSU = '\u001b[?2026h';

const cpuTicks = (pid: number): number => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
};

const memory = (pid: number): {rssKb: number; hwmKb: number} => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {rssKb: kb('VmRSS'), hwmKb: kb('VmHWM')};
};

const count = (file: string, what: string): number =>
  fs.existsSync(file) ? fs.readFileSync(file, 'latin1').split(what).length - 1 : 0;
const frames = (file: string): number => count(file, BSU);
/** Whole-screen clears (Ink 6's path once a frame is as tall as the terminal: ink#935). */
const clears = (file: string): number => count(file, '\u001b[2J');

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 10) / 10;
  return {n: s.length, medianMs: at(0.5), p90Ms: at(0.9), maxMs: at(1)};
};

/** Polls the screen as fast as tmux answers (each capture costs a few ms) until `test` holds. */
async function until(
  pane: TmuxPane,
  test: (s: string) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test(pane.screen())) {
    if (performance.now() > deadline) throw new Error(`timed out:\n${pane.screen()}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Types a character at the prompt and times until the screen shows it, then erases it.
 * Keys come 300 ms apart, as a person types; the figure includes tmux's own capture
 * (a few ms).
 */
async function keyLatency(pane: TmuxPane, samples: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    pane.type(ch);
    await until(pane, (s) => s.includes(`> ${ch}`));
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 300));
    pane.keys('BSpace');
    await until(pane, (s) => !s.includes(`> ${ch}`));
  }
  return out;
}

/** What one tmux capture costs (to subtract mentally from the latencies). */
function captureCost(pane: TmuxPane): number {
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) pane.screen();
  return Math.round(((performance.now() - t0) / 20) * 10) / 10;
}

function floodSite(): {dir: string; machine: string; profile: string} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-flood-'));
  const vocabulary = path.join(repoRoot, 'dist', 'source', 'runbook', 'vocabulary.js');
  const machine = path.join(dir, 'flood.ts');
  fs.writeFileSync(
    machine,
    `import {command, gate, phase, site} from ${JSON.stringify(vocabulary)};
export default site({
  id: 'flood',
  title: 'Flood',
  phases: [
    phase({
      id: 'flood',
      title: 'Flood',
      steps: [
        gate({id: 'ready', title: 'Ready? Type go'}),
        command({id: 'print', title: 'Print a lot', run: 'head -c ${FLOOD_BYTES} /dev/urandom | base64', timeout: '10m'}),
        gate({id: 'after', title: 'Done? Type go'}),
      ],
    }),
  ],
});
`,
  );
  const profile = path.join(dir, 'flood.yaml');
  fs.writeFileSync(profile, 'site: flood\ntransport: local\n');
  return {dir, machine, profile};
}

async function idle(): Promise<object> {
  const site = writeTestSite();
  const stream = path.join(site.dir, 'stream.bin');
  const pane = TmuxPane.start({
    columns: 80,
    rows: 24,
    command: ['node', cliJs, 'run', './console-test.ts', '--profile', './console-test.yaml'],
    env: driverEnv({XDG_STATE_HOME: site.state}),
    cwd: site.dir,
  });
  try {
    await pane.waitFor((s) => s.includes('GATE') && !s.includes('> …'));
    const pid = pane.pid();
    const latency = await keyLatency(pane, 30);
    const capture = captureCost(pane);
    pane.tmux(['pipe-pane', '-t', pane.target, '-o', `cat > '${stream}'`]);
    const t0 = cpuTicks(pid);
    const started = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const seconds = (performance.now() - started) / 1000;
    const ticks = cpuTicks(pid) - t0;
    return {
      seconds: Math.round(seconds),
      cpuSeconds: ticks / CLK_TCK,
      cpuPercent: Math.round((ticks / CLK_TCK / seconds) * 100 * 1000) / 1000,
      framesWhileIdle: frames(stream),
      memory: memory(pid),
      keyLatencyAtRest: stats(latency),
      oneCaptureMs: capture,
    };
  } finally {
    pane.kill();
    fs.rmSync(site.dir, {recursive: true, force: true});
  }
}

async function flood(): Promise<object> {
  const site = floodSite();
  const state = path.join(site.dir, 'state');
  const stream = path.join(site.dir, 'stream.bin');
  const pane = TmuxPane.start({
    columns: 80,
    rows: 24,
    command: ['node', cliJs, 'run', './flood.ts', '--profile', './flood.yaml'],
    env: driverEnv({XDG_STATE_HOME: state}),
    cwd: site.dir,
  });
  try {
    await pane.waitFor((s) => s.includes('GATE · Ready?') && !s.includes('> …'));
    const pid = pane.pid();
    pane.tmux(['pipe-pane', '-t', pane.target, '-o', `cat > '${stream}'`]);
    pane.type('go');
    pane.keys('Enter');
    await pane.waitFor('▶ Print a lot');
    const started = performance.now();
    const cpu0 = cpuTicks(pid);
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, memory(pid).rssKb);
      } catch {
        // gone
      }
    }, 100);
    // While it prints, the driver's keys still show (Ctrl-L opens the log, and closes it).
    const latency: number[] = [];
    for (let i = 0; i < 10 && !pane.screen().includes('GATE · Done?'); i++) {
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      pane.keys('C-l');
      await until(pane, (s) => s.includes('─ command log'));
      latency.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 300));
      const t1 = performance.now();
      pane.keys('C-l');
      await until(pane, (s) => !s.includes('─ command log'));
      latency.push(performance.now() - t1);
    }
    await pane.waitFor('GATE · Done?', 600_000);
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const cpu = (cpuTicks(pid) - cpu0) / CLK_TCK;
    const frameCount = frames(stream);
    const screen = pane.screen();
    return {
      bytesPrinted: Math.round(FLOOD_BYTES * 1.35),
      seconds: Math.round(seconds * 10) / 10,
      frames: frameCount,
      framesPerSecond: Math.round((frameCount / seconds) * 10) / 10,
      screenClears: clears(stream),
      bytesToTerminal: fs.statSync(stream).size,
      consoleCpuSeconds: cpu,
      peakRssMb: Math.round(peakRss / 1024),
      vmHwmMb: Math.round(memory(pid).hwmKb / 1024),
      keyLatencyDuringFlood: stats(latency),
      lastScreen: screen,
    };
  } finally {
    pane.kill();
    fs.rmSync(site.dir, {recursive: true, force: true});
  }
}

ensureBuilt();
const which = process.argv[2] ?? 'all';
const result: Record<string, object> = {};
if (which === 'all' || which === 'idle') result['idle'] = await idle();
if (which === 'all' || which === 'flood') result['flood'] = await flood();
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
