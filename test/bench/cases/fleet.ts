/**
 * `true` on 50 hosts, cold and warm; and the scale case: cold fan-out at 10, 50 and 200
 * hosts, crewchief against parallel-ssh, time per added host and crewchief's memory per
 * pooled connection.
 *
 *   crewchief   `crewchief run` (the built CLI, --plain --yes) of a machine with the same
 *               command step twice on group `all` (fanOut parallel 50): the first step's
 *               time is the cold case (50 connections opened), the second's the warm one
 *               (same session, connections pooled; the first step started each host's
 *               command shell, so the second runs there: a fork per host, no session
 *               start). Times are the steps' durationMs in
 *               the journal: step-started (fsynced) to the last host's result.
 *   cold peers  a bash loop of ssh; parallel-ssh -p 50; xargs -P 50 ssh; ansible raw -f 50
 *   warm peers  xargs -P 50 and parallel-ssh through 50 ControlMasters opened beforehand
 *
 * Peers are timed in bash around the whole command, as `time` would.
 *
 *   scale       per size N: `crewchief run` of one step on N hosts (fanOut parallel N, the
 *               step's durationMs, as cold above) and `parallel-ssh -p N`. Time per added
 *               host is the slope from the smallest size to the largest, per round, so
 *               what both pay once (process start, Python's imports) drops out. Memory
 *               per pooled connection is the same slope of crewchief's peak RSS.
 */
import fs from 'node:fs';
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

/** The bed's first n hosts: a hosts file, an Ansible inventory, a profile whose `all` is them. */
function firstHosts(
  bed: Bed,
  n: number,
  id: string,
): {hostsFile: string; inventory: string; profile: string} {
  const hosts = bed.hosts.slice(0, n);
  const hostsFile = path.join(bed.dir, `hosts-${n}`);
  fs.writeFileSync(hostsFile, hosts.map((h) => `${h}\n`).join(''));
  const inventory = path.join(bed.dir, `inventory-${n}.ini`);
  fs.writeFileSync(inventory, `[fleet]\n${hosts.join('\n')}\n`);
  const profile = path.join(bed.dir, `${id}-${n}.yaml`);
  const every = fs.readFileSync(bed.sshProfile(id), 'utf8');
  fs.writeFileSync(profile, every.replace(/^ {2}all: \[.*\]$/m, `  all: [${hosts.join(', ')}]`));
  return {hostsFile, inventory, profile};
}

export async function fleetCases(bed: Bed, settings: Settings): Promise<CaseResult[]> {
  const n = Math.min(settings.fleetHosts, bed.hosts.length);
  const WARM_PEERS = `warm peers (${n} masters opened first)`;
  const {hostsFile, inventory, profile} = firstHosts(bed, n, 'bench-fleet');
  const cold = newCase('fleet-cold', `true on ${n} hosts, connections cold`, 'ms', 'lower');
  const warm = newCase('fleet-warm', `true on ${n} hosts, connections warm`, 'ms', 'lower');
  const ssh = `ssh -F ${bed.sshConfig}`;
  const control = path.join(bed.controlDir, 'cm-%n');
  const viaMaster = `-o ControlPath=${control} -o ControlMaster=no`;
  const pssh = have('parallel-ssh') ? 'parallel-ssh' : have('pssh') ? 'pssh' : undefined;
  const ansible = have('ansible');

  const peersCold: Record<string, string | undefined> = {
    'bash loop of ssh': `while read -r h; do ${ssh} "$h" true < /dev/null || exit 1; done < ${hostsFile}`,
    [`parallel-ssh -p ${n}`]:
      pssh && `${pssh} -p ${n} -t 60 -h ${hostsFile} -x '-F ${bed.sshConfig}' true > /dev/null`,
    [`xargs -P ${n} ssh`]: `xargs -P ${n} -I{} ${ssh} {} true < ${hostsFile}`,
    [`ansible raw -f ${n}`]: ansible
      ? `ansible all -i ${inventory} -m raw -a true -f ${n} > /dev/null`
      : undefined,
  };
  const peersWarm: Record<string, string | undefined> = {
    [`xargs -P ${n} via ControlMasters`]: `xargs -P ${n} -I{} ${ssh} ${viaMaster} {} true < ${hostsFile}`,
    [`parallel-ssh -p ${n} via ControlMasters`]:
      pssh &&
      `${pssh} -p ${n} -t 60 -h ${hostsFile} -x '-F ${bed.sshConfig} ${viaMaster}' true > /dev/null`,
  };

  cold.targets.push(
    {
      kind: 'ratio',
      of: CC_COLD,
      against: `parallel-ssh -p ${n}`,
      bound: 'max',
      limit: 1 / 5,
      label: '≤ 1/5 of parallel-ssh',
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
    against: `xargs -P ${n} via ControlMasters`,
    bound: 'max',
    limit: 1 / 3,
    label: '≤ 1/3 of xargs through masters',
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
      `xargs -P ${n} -I{} ${ssh} -o ControlPath=${control} -o ControlMaster=yes -o ControlPersist=yes -f -N {} < ${hostsFile}`,
      {timeoutMs: 60_000},
    );
    try {
      if (open.code !== 0) throw new Error(`could not open the masters: ${open.stderr.trim()}`);
      const out: number[] = [];
      for (const [, cmd] of warmPeers) out.push(...(await timeInBash(cmd!, 1)));
      return out;
    } finally {
      await bash(
        `xargs -P ${n} -I{} ${ssh} -o ControlPath=${control} -O exit {} < ${hostsFile} 2>/dev/null; true`,
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
  return [cold, warm, ...(await scaleCases(bed, settings))];
}

/** Cold fan-out at each size against parallel-ssh: time and memory per added host. */
async function scaleCases(bed: Bed, settings: Settings): Promise<CaseResult[]> {
  const sizes = settings.scaleHosts.filter((k) => k <= bed.hosts.length);
  const [small, large] = [sizes[0]!, sizes.at(-1)!];
  const time = newCase(
    'fleet-scale',
    `true on ${sizes.join(', ')} hosts, cold: time per added host (${small}→${large})`,
    'ms',
    'lower',
  );
  const memory = newCase(
    'fleet-memory',
    `crewchief's peak memory at ${sizes.join(', ')} hosts, per pooled connection`,
    'MB',
    'lower',
  );
  const pssh = have('parallel-ssh') ? 'parallel-ssh' : have('pssh') ? 'pssh' : undefined;
  const CC = (k: number): string => `crewchief, ${k} hosts`;
  const PSSH = (k: number): string => `parallel-ssh -p ${k}, ${k} hosts`;
  const CC_SLOPE = `crewchief ms per added host`;
  const PSSH_SLOPE = `parallel-ssh ms per added host`;
  const MB_SLOPE = `crewchief MB per pooled connection`;
  time.targets.push({
    kind: 'ratio',
    of: CC_SLOPE,
    against: PSSH_SLOPE,
    bound: 'max',
    limit: 1 / 4,
    label: 'time per added host ≤ 1/4 of parallel-ssh’s',
  });
  seriesOf(time, CC_SLOPE).crewchief = true;
  seriesOf(time, PSSH_SLOPE);
  for (const k of sizes) {
    Object.assign(seriesOf(time, CC(k)), {crewchief: true, info: true});
    const peer = seriesOf(time, PSSH(k));
    peer.info = true;
    if (!pssh) peer.skipped = 'parallel-ssh is not installed (npm run bench:setup)';
  }
  if (!pssh) seriesOf(time, PSSH_SLOPE).skipped = 'parallel-ssh is not installed';
  for (const k of sizes) Object.assign(seriesOf(memory, CC(k)), {crewchief: true, info: true});
  Object.assign(seriesOf(memory, MB_SLOPE), {crewchief: true, info: true});

  const machine = bed.machine(
    'bench-scale',
    `phase({id: 'p', title: 'scale', steps: [
      command({id: 'cold', title: 'true on every host', run: 'true', on: '@all', fanOut: {parallel: ${large}}}),
    ]})`,
  );
  const ssh = `-x '-F ${bed.sshConfig}'`;
  const runners: Record<string, (round: number) => Promise<number[]>> = {};
  // per round: time and peak memory at each size, for the slopes
  const ccTimes: Map<number, number>[] = [];
  const ccPeaks: Map<number, number>[] = [];
  const psshTimes: Map<number, number>[] = [];
  const at = (list: Map<number, number>[], round: number): Map<number, number> =>
    (list[round] ??= new Map());
  for (const k of sizes) {
    const {hostsFile, profile} = firstHosts(bed, k, 'bench-scale');
    runners[CC(k)] = async (round) => {
      const run = await runPlain(machine, profile, path.join(bed.dir, `scale-${k}-${round}.jsonl`));
      const ms = okDuration(run, 'p/cold');
      at(ccTimes, round).set(k, ms);
      if (run.peakMb !== undefined) {
        at(ccPeaks, round).set(k, run.peakMb);
        seriesOf(memory, CC(k)).samples.push(run.peakMb);
      }
      return [ms];
    };
    if (pssh) {
      runners[PSSH(k)] = async (round) => {
        const [ms] = await timeInBash(
          `${pssh} -p ${k} -t 120 -h ${hostsFile} ${ssh} true > /dev/null`,
          1,
        );
        at(psshTimes, round).set(k, ms!);
        return [ms!];
      };
    }
  }
  await alternate(time, runners, settings.rounds, undefined, {
    name: "sshd's CPU per host",
    read: () => bed.sshdCpuSeconds(),
    per: (tool) => Number(/(\d+) hosts$/.exec(tool)?.[1] ?? 1),
  });
  const slope = (list: Map<number, number>[]): number[] =>
    list.flatMap((m) => {
      const [a, b] = [m.get(small), m.get(large)];
      return a !== undefined && b !== undefined ? [(b - a) / (large - small)] : [];
    });
  seriesOf(time, CC_SLOPE).samples.push(...slope(ccTimes));
  seriesOf(time, PSSH_SLOPE).samples.push(...slope(psshTimes));
  seriesOf(memory, MB_SLOPE).samples.push(...slope(ccPeaks));
  time.notes.push(
    `per added host: (time at ${large} − time at ${small}) / ${large - small}, per round; crewchief's time is the step's (step-started to the last host's result), parallel-ssh's the whole command's`,
  );
  memory.notes.push(
    `peak RSS of the crewchief process (one ssh2 connection per host, pooled); per pooled connection: (peak at ${large} − peak at ${small}) / ${large - small}`,
  );
  return [time, memory];
}
