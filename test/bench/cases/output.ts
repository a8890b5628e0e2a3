/**
 * 200 MB of output from one command.
 *
 *   crewchief          `crewchief run` in the console (tmux pane, --yes) of one command
 *                      step `cat big` on h01: output redacted, hashed, journaled up to the
 *                      cap, the console drawing. Throughput is bytes / the step's
 *                      durationMs (connect included, as ssh's is); peak memory is the
 *                      process's VmHWM when the session closed.
 *   crewchief --plain  the same without the console (info: what the console costs)
 *   ssh                `ssh -F cfg h01 cat big > /dev/null`, OpenSSH's default cipher
 *                      (chacha20-poly1305) and aes128-gcm (what ssh2 negotiates)
 *   local cat          `cat big > /dev/null`: the physical limit
 */
import path from 'node:path';
import type {Bed} from '../lib/bed.js';
import {alternate} from '../lib/alternate.js';
import {okDuration, runConsole, runPlain} from '../lib/cli.js';
import {bash, have, timeInBash} from '../lib/proc.js';
import {newCase, seriesOf, type CaseResult} from '../lib/stats.js';
import type {Settings} from '../settings.js';

const CC = 'crewchief command step, console';
const CC_PLAIN = 'crewchief command step, --plain';
const SSH = 'ssh (default cipher)';
const SSH_GCM = 'ssh -c aes128-gcm';
const CAT = 'local cat';

export async function outputCases(bed: Bed, settings: Settings): Promise<[CaseResult, CaseResult]> {
  const mb = bed.bigBytes / 1e6;
  const tput = newCase('output', `${mb} MB of output from one command`, 'MB/s', 'higher');
  const memory = newCase('output-memory', `peak memory during ${mb} MB of output`, 'MB', 'lower');
  tput.targets.push({
    kind: 'ratio',
    of: CC,
    against: [SSH, SSH_GCM],
    bound: 'min',
    limit: 0.8,
    label: "≥ 0.8 of ssh's throughput",
  });
  memory.targets.push({kind: 'absolute', of: CC, bound: 'max', limit: 200, label: '< 200 MB'});
  for (const c of [tput, memory]) {
    seriesOf(c, CC).crewchief = true;
    const plain = seriesOf(c, CC_PLAIN);
    plain.crewchief = true;
    plain.info = true;
  }
  const tmux = have('tmux');
  if (!tmux) {
    for (const c of [tput, memory])
      seriesOf(c, CC).skipped = 'tmux is not installed (apt-get install -y tmux)';
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
  memory.series = memory.series.filter((s) => s.tool === CC || s.tool === CC_PLAIN);
  tput.notes.push(
    'throughput = bytes / wall time, connection set-up included for every tool (crewchief: the step durationMs)',
  );
  return [tput, memory];
}

const tool2cases = (tool: string, tput: CaseResult, memory: CaseResult): CaseResult[] =>
  tool === CC || tool === CC_PLAIN ? [tput, memory] : [tput];
