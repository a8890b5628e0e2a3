/**
 * 200 MB of output from one command.
 *
 *   crewchief          `crewchief run` in the console (tmux pane, --yes) of one command
 *                      step `cat big` on h01: output redacted, hashed, journaled up to the
 *                      cap, the console drawing. Throughput is bytes / the step's
 *                      durationMs (connect included, as ssh's is); peak memory is the
 *                      process's VmHWM when the session closed.
 *   crewchief --plain  the same without the console
 *   at rest            the console waiting at a gate (local, nothing running): its resident
 *                      memory (VmRSS) once the prompt is drawn, the floor under the peak
 *   ssh                `ssh -F cfg h01 cat big > /dev/null`, OpenSSH's default cipher
 *                      (chacha20-poly1305) and aes128-gcm (what ssh2 negotiates)
 *   local cat          `cat big > /dev/null`: the physical limit
 */
import fs from 'node:fs';
import path from 'node:path';
import type {Bed} from '../lib/bed.js';
import {cliJs} from '../lib/bed.js';
import {alternate} from '../lib/alternate.js';
import {consoleEnv, okDuration, runConsole, runPlain} from '../lib/cli.js';
import {bash, have, poll, sleep, timeInBash} from '../lib/proc.js';
import {Pane} from '../lib/tmux.js';
import {newCase, seriesOf, type CaseResult} from '../lib/stats.js';
import type {Settings} from '../settings.js';

const CC = 'crewchief command step, console';
const CC_PLAIN = 'crewchief command step, --plain';
const SSH = 'ssh (default cipher)';
const SSH_GCM = 'ssh -c aes128-gcm';
const CAT = 'local cat';
const REST = 'crewchief console at rest at a gate (VmRSS)';

export async function outputCases(bed: Bed, settings: Settings): Promise<[CaseResult, CaseResult]> {
  const mb = bed.bigBytes / 1e6;
  const tput = newCase('output', `${mb} MB of output from one command`, 'MB/s', 'higher');
  const memory = newCase('output-memory', `peak memory during ${mb} MB of output`, 'MB', 'lower');
  // Issue 15's targets: the console within 0.9 and --plain within 0.95 of OpenSSH with
  // the cipher ssh2 negotiates; the console under 150 MB at its peak, under 100 MB at rest.
  tput.targets.push(
    {
      kind: 'ratio',
      of: CC,
      against: SSH_GCM,
      bound: 'min',
      limit: 0.9,
      label: 'console ≥ 0.9 of aes128-gcm',
    },
    {
      kind: 'ratio',
      of: CC_PLAIN,
      against: SSH_GCM,
      bound: 'min',
      limit: 0.95,
      label: '--plain ≥ 0.95 of aes128-gcm',
    },
  );
  memory.targets.push(
    {kind: 'absolute', of: CC, bound: 'max', limit: 150, label: '< 150 MB'},
    {kind: 'absolute', of: REST, bound: 'max', limit: 100, label: '< 100 MB'},
  );
  for (const c of [tput, memory]) {
    seriesOf(c, CC).crewchief = true;
    seriesOf(c, CC_PLAIN).crewchief = true;
  }
  seriesOf(memory, CC_PLAIN).info = true;
  seriesOf(memory, REST).crewchief = true;
  const tmux = have('tmux');
  if (!tmux) {
    for (const c of [tput, memory])
      seriesOf(c, CC).skipped = 'tmux is not installed (apt-get install -y tmux)';
    seriesOf(memory, REST).skipped = 'tmux is not installed (apt-get install -y tmux)';
  }

  const machine = bed.machine(
    'bench-output',
    `phase({id: 'p', title: 'output', steps: [command({id: 'cat', title: 'a lot of output', run: ${JSON.stringify(`cat ${bed.bigFile}`)}, on: 'h01', timeout: '5m'})]})`,
  );
  const profile = bed.sshProfile('bench-output');
  const mbps = (ms: number): number => bed.bigBytes / 1e6 / (ms / 1000);
  const ssh = `ssh -F ${bed.sshConfig}`;
  // ssh's byte count is checked once, untimed; the timed runs write to /dev/null.
  let checked = false;

  const runners: Record<string, (round: number) => Promise<number[]>> = {
    ...(tmux
      ? {
          [CC]: async (round: number) => {
            const run = await runConsole(
              machine,
              profile,
              path.join(bed.dir, `output-console-${round}.jsonl`),
            );
            const total = run.entries.find((e) => e.type === 'output-truncated');
            if (total?.type === 'output-truncated' && total.totalBytes !== bed.bigBytes)
              throw new Error(`crewchief saw ${total.totalBytes} bytes, not ${bed.bigBytes}`);
            return [okDuration(run, 'p/cat'), run.peakMb ?? Number.NaN];
          },
          [REST]: async (round: number) => [await restingMb(bed, round)],
        }
      : {}),
    [CC_PLAIN]: async (round) => {
      const run = await runPlain(
        machine,
        profile,
        path.join(bed.dir, `output-plain-${round}.jsonl`),
      );
      return [okDuration(run, 'p/cat'), run.peakMb ?? Number.NaN];
    },
    [SSH]: async () => {
      if (!checked) {
        const r = await bash(`${ssh} h01 cat ${bed.bigFile} | wc -c`, {timeoutMs: 60_000});
        if (r.stdout.trim() !== String(bed.bigBytes))
          throw new Error(`ssh printed ${r.stdout.trim()} bytes: ${r.stderr.trim()}`);
        checked = true;
      }
      return timeInBash(`${ssh} h01 cat ${bed.bigFile} > /dev/null`, 1);
    },
    [SSH_GCM]: () =>
      timeInBash(`${ssh} -c aes128-gcm@openssh.com h01 cat ${bed.bigFile} > /dev/null`, 1),
    [CAT]: () => timeInBash(`cat ${bed.bigFile} > /dev/null`, 1),
  };
  const scratch = newCase('output', '', '', 'lower');
  await alternate(scratch, runners, settings.rounds, (tool, samples) => {
    if (tool === REST) {
      seriesOf(memory, tool).samples.push(samples[0]!);
      return;
    }
    seriesOf(tput, tool).samples.push(mbps(samples[0]!));
    if ((tool === CC || tool === CC_PLAIN) && Number.isFinite(samples[1]))
      seriesOf(memory, tool).samples.push(samples[1]!);
  });
  for (const s of scratch.series) {
    for (const c of tool2cases(s.tool, tput, memory)) {
      const row = seriesOf(c, s.tool);
      if (s.skipped && !row.samples.length) row.skipped = s.skipped;
      else if (s.skipped ?? s.note) row.note = s.skipped ?? s.note;
    }
  }
  memory.series = memory.series.filter((s) => [CC, CC_PLAIN, REST].includes(s.tool));
  tput.notes.push(
    'throughput = bytes / wall time, connection set-up included for every tool (crewchief: the step durationMs)',
  );
  return [tput, memory];
}

const tool2cases = (tool: string, tput: CaseResult, memory: CaseResult): CaseResult[] =>
  tool === REST ? [memory] : tool === CC || tool === CC_PLAIN ? [tput, memory] : [tput];

/** Resident memory of a process now (VmRSS), MB. */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The console at a gate nobody answers (a local profile: no connection), in a tmux pane:
 * its VmRSS two seconds after the prompt is in the journal, when start-up is over.
 */
async function restingMb(bed: Bed, round: number): Promise<number> {
  const machine = bed.machine(
    'bench-rest',
    `phase({id: 'p', title: 'wait', steps: [gate({id: 'wait', title: 'Nobody answers this gate', checks: ['nothing to check']})]})`,
  );
  const profile = bed.localProfile('bench-rest');
  const journal = path.join(bed.dir, `rest-${round}.jsonl`);
  const pane = Pane.start(
    ['node', cliJs, 'run', machine, '--profile', profile, '--journal', journal],
    consoleEnv(),
  );
  let pid: number | undefined;
  try {
    pid = pane.pid();
    const waiting = await poll(
      () =>
        fs.existsSync(journal) && fs.readFileSync(journal, 'utf8').includes('"type":"prompt-shown"')
          ? true
          : undefined,
      30_000,
      50,
    );
    if (!waiting) throw new Error(`no gate prompt within 30 s; the screen:\n${pane.screen()}`);
    await sleep(2000);
    const mb = rssMb(pid);
    if (mb === undefined) throw new Error('the console is gone');
    return mb;
  } finally {
    pane.kill();
    await sleep(50);
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // gone with the pane
    }
  }
}
