/**
 * `true` on 50 hosts, cold and warm.
 *
 *   crewchief   `crewchief run` (the built CLI, --plain --yes) of a machine with the same
 *               command step twice on group `all` (fanOut parallel 50): the first step's
 *               time is the cold case (50 connections opened), the second's the warm one
 *               (same session, connections pooled). Times are the steps' durationMs in
 *               the journal: step-started (fsynced) to the last host's result.
 *   cold peers  a bash loop of ssh; parallel-ssh -p 50; xargs -P 50 ssh; ansible raw -f 50
 *   warm peers  xargs -P 50 and parallel-ssh through 50 ControlMasters opened beforehand
 *
 * Peers are timed in bash around the whole command, as `time` would.
 */
import path from 'node:path';
import type {Bed} from '../lib/bed.js';
import {alternate} from '../lib/alternate.js';
import {okDuration, runPlain} from '../lib/cli.js';
import {bash, have, timeInBash} from '../lib/proc.js';
import {newCase, seriesOf, type CaseResult} from '../lib/stats.js';
import type {Settings} from '../settings.js';

const CC_COLD = 'crewchief command step (cold)';
const CC_WARM = 'crewchief same step again (warm)';
const CC_RUN = 'crewchief run (both steps)';
const WARM_PEERS = 'warm peers (50 masters opened first)';

export async function fleetCases(bed: Bed, settings: Settings): Promise<[CaseResult, CaseResult]> {
  const n = bed.hosts.length;
  const cold = newCase('fleet-cold', `true on ${n} hosts, connections cold`, 'ms', 'lower');
  const warm = newCase('fleet-warm', `true on ${n} hosts, connections warm`, 'ms', 'lower');
  const ssh = `ssh -F ${bed.sshConfig}`;
  const control = path.join(bed.controlDir, 'cm-%n');
  const viaMaster = `-o ControlPath=${control} -o ControlMaster=no`;
  const pssh = have('parallel-ssh') ? 'parallel-ssh' : have('pssh') ? 'pssh' : undefined;
  const ansible = have('ansible');

  const peersCold: Record<string, string | undefined> = {
    'bash loop of ssh': `while read -r h; do ${ssh} "$h" true < /dev/null || exit 1; done < ${bed.hostsFile}`,
    [`parallel-ssh -p ${n}`]:
      pssh && `${pssh} -p ${n} -t 60 -h ${bed.hostsFile} -x '-F ${bed.sshConfig}' true > /dev/null`,
    [`xargs -P ${n} ssh`]: `xargs -P ${n} -I{} ${ssh} {} true < ${bed.hostsFile}`,
    [`ansible raw -f ${n}`]: ansible
      ? `ansible all -i ${bed.inventory} -m raw -a true -f ${n} > /dev/null`
      : undefined,
  };
  const peersWarm: Record<string, string | undefined> = {
    [`xargs -P ${n} via ControlMasters`]: `xargs -P ${n} -I{} ${ssh} ${viaMaster} {} true < ${bed.hostsFile}`,
    [`parallel-ssh -p ${n} via ControlMasters`]:
      pssh &&
      `${pssh} -p ${n} -t 60 -h ${bed.hostsFile} -x '-F ${bed.sshConfig} ${viaMaster}' true > /dev/null`,
  };

  cold.targets.push(
    {
      kind: 'ratio',
      of: CC_COLD,
      against: `parallel-ssh -p ${n}`,
      bound: 'max',
      limit: 1 / 4,
      label: '≤ 1/4 of parallel-ssh',
    },
    {
      kind: 'ratio',
      of: CC_COLD,
      against: Object.keys(peersCold),
      bound: 'max',
      limit: 1,
      label: '≤ the fastest peer',
    },
  );
  warm.targets.push({
    kind: 'ratio',
    of: CC_WARM,
    against: Object.keys(peersWarm),
    bound: 'max',
    limit: 1 / 2,
    label: '≤ 1/2 of the fastest peer',
  });
  seriesOf(cold, CC_COLD).crewchief = true;
  seriesOf(warm, CC_WARM).crewchief = true;
  const missing = (tool: string): string => `${tool} is not installed (npm run bench:setup)`;
  for (const [name, cmd] of Object.entries(peersCold)) {
    if (!cmd) seriesOf(cold, name).skipped = missing(name.split(' ')[0]!);
  }
  for (const [name, cmd] of Object.entries(peersWarm)) {
    if (!cmd) seriesOf(warm, name).skipped = missing(name.split(' ')[0]!);
  }

  const machine = bed.machine(
    'bench-fleet',
    `phase({id: 'p', title: 'fleet', steps: [
      command({id: 'cold', title: 'true on every host', run: 'true', on: '@all', fanOut: {parallel: ${n}}}),
      command({id: 'warm', title: 'true on every host, again', run: 'true', on: '@all', fanOut: {parallel: ${n}}}),
    ]})`,
  );
  const profile = bed.sshProfile('bench-fleet');
  let lingered = 0;
  let runs = 0;

  // One "tool" per turn: crewchief gives a cold and a warm sample in one run.
  const runners: Record<string, (round: number) => Promise<number[]>> = {
    [CC_RUN]: async (round) => {
      const run = await runPlain(machine, profile, path.join(bed.dir, `fleet-${round}.jsonl`));
      runs++;
      if (run.lingered) lingered++;
      return [okDuration(run, 'p/cold'), okDuration(run, 'p/warm')];
    },
  };
  for (const [name, cmd] of Object.entries(peersCold)) {
    if (cmd) {
      runners[name] = () =>
        timeInBash(cmd, 1, {...(name.startsWith('ansible') ? {env: bed.ansibleEnv} : {})});
    }
  }
  const warmPeers = Object.entries(peersWarm).filter(([, cmd]) => cmd);
  runners[WARM_PEERS] = async () => {
    const open = await bash(
      `xargs -P ${n} -I{} ${ssh} -o ControlPath=${control} -o ControlMaster=yes -o ControlPersist=yes -f -N {} < ${bed.hostsFile}`,
      {timeoutMs: 60_000},
    );
    try {
      if (open.code !== 0) throw new Error(`could not open the masters: ${open.stderr.trim()}`);
      const out: number[] = [];
      for (const [, cmd] of warmPeers) out.push(...(await timeInBash(cmd!, 1)));
      return out;
    } finally {
      await bash(
        `xargs -P ${n} -I{} ${ssh} -o ControlPath=${control} -O exit {} < ${bed.hostsFile} 2>/dev/null; true`,
        {timeoutMs: 30_000},
      );
    }
  };

  const scratch = newCase('fleet', '', '', 'lower');
  const meter = {name: "sshd's CPU per run", read: () => bed.sshdCpuSeconds()};
  await alternate(
    scratch,
    runners,
    settings.rounds,
    (tool, samples) => {
      if (tool === CC_RUN) {
        seriesOf(cold, CC_COLD).samples.push(samples[0]!);
        seriesOf(warm, CC_WARM).samples.push(samples[1]!);
      } else if (tool === WARM_PEERS) {
        warmPeers.forEach(([name], i) => seriesOf(warm, name).samples.push(samples[i]!));
      } else {
        seriesOf(cold, tool).samples.push(...samples);
      }
    },
    meter,
  );
  cold.notes.push(...scratch.notes);
  // Failures recorded on the scratch rows go to the rows they concern.
  for (const s of scratch.series) {
    const why = s.skipped ?? s.note;
    if (!why) continue;
    if (s.tool === CC_RUN) {
      for (const [c, name] of [
        [cold, CC_COLD],
        [warm, CC_WARM],
      ] as const) {
        const row = seriesOf(c, name);
        if (row.samples.length) row.note = why;
        else row.skipped = why;
      }
    } else if (s.tool === WARM_PEERS) {
      for (const [name] of warmPeers) {
        const row = seriesOf(warm, name);
        if (row.samples.length) row.note = why;
        else row.skipped = why;
      }
    } else {
      const row = seriesOf(cold, s.tool);
      if (row.samples.length) row.note = why;
      else row.skipped = why;
    }
  }
  if (lingered) {
    cold.notes.push(
      `crewchief run was still running 500 ms after its session closed in ${lingered} of ${runs} runs (stopped by the bench; not in the times)`,
    );
  }
  return [cold, warm];
}
