/**
 * One poll, 30 in a row: `grep -c federations durability.log` on a 10 000-line file.
 *
 *   crewchief      a watch step on h01, driven in-process (launch + drive: engine, journal,
 *                  store), over its pooled connection. The wait between polls is taken
 *                  out (the engine's sleep seam returns at once), so a poll's time is one
 *                  turn of the watch loop: channel, command, parse, count-sampled journaled.
 *                  The first poll opens the connection and is not counted (the
 *                  ControlMaster below is opened before its polls too).
 *                  Watches send their polls to the host's probe shell (one long-lived
 *                  bash per host), so a poll costs a fork and grep's exec on the server,
 *                  no session start; grep itself (fork, exec, 630 kB) is ~1.2 ms here.
 *   crewchief openssh  the same command through the OpenSSH transport (createOpenSshTransport:
 *                  one ControlMaster per host, a multiplexed `ssh` per poll), the first
 *                  poll (opening the master) not counted
 *   ssh fresh      `ssh -F cfg h01 CMD`, a new connection each time
 *   ControlMaster  the same through a master opened before the polls
 *
 * Peers are timed in bash ($EPOCHREALTIME) and check every answer.
 */
import path from 'node:path';
import {drive} from '../../../source/services/drive.js';
import {launch, type Launched} from '../../../source/services/open.js';
import {readJournal} from '../../../source/journal/file.js';
import {createOpenSshTransport} from '../../../source/transport/openssh/index.js';
import {runToText} from '../../../source/transport/types.js';
import type {Bed} from '../lib/bed.js';
import {bash, timeInBash} from '../lib/proc.js';
import {alternate} from '../lib/alternate.js';
import {newCase, seriesOf, type CaseResult} from '../lib/stats.js';
import type {Settings} from '../settings.js';

const CC = 'crewchief watch (pooled)';
const FRESH = 'ssh fresh';
const MASTER = 'ssh ControlMaster';
const OPENSSH = 'crewchief openssh transport';

export async function pollCase(bed: Bed, settings: Settings): Promise<CaseResult> {
  const polls = settings.polls;
  const c = newCase(
    'poll',
    `one poll (grep -c on 10k lines), ${polls} in a row`,
    'ms per poll',
    'lower',
  );
  c.targets.push(
    {
      kind: 'ratio',
      of: CC,
      against: FRESH,
      bound: 'max',
      limit: 1 / 100,
      label: '≤ 1/100 of fresh ssh',
    },
    {
      kind: 'ratio',
      of: CC,
      against: MASTER,
      bound: 'max',
      limit: 1 / 10,
      label: '≤ 1/10 of ControlMaster',
    },
    {
      kind: 'ratio',
      of: OPENSSH,
      against: MASTER,
      bound: 'max',
      limit: 1.2,
      label: 'OpenSSH transport ≤ 1.2× a bare ControlMaster ssh',
    },
  );
  const cc = seriesOf(c, CC);
  cc.crewchief = true;
  seriesOf(c, FRESH);
  seriesOf(c, MASTER);
  seriesOf(c, OPENSSH).crewchief = true;

  const machine = bed.machine(
    'bench-poll',
    `phase({id: 'p', title: 'poll', steps: [watch({id: 'federations', title: 'federations', on: 'h01', probe: ${JSON.stringify(bed.pollCommand)}, every: '2s', until: {equals: -1}, patience: '1h', timeout: '1h'})]})`,
  );
  const profile = bed.sshProfile('bench-poll');
  const ssh = `ssh -F ${bed.sshConfig}`;
  const control = path.join(bed.controlDir, 'cm-%n');
  const check = `out=$(CMD) && [ "$out" = ${bed.pollExpected} ]`;
  const connects: number[] = [];

  const runners: Record<string, (round: number) => Promise<number[]>> = {
    [CC]: async (round) => {
      const journal = path.join(bed.dir, `poll-${round}.jsonl`);
      const stamps: number[] = [];
      const started = performance.now();
      // The seam is only called once the session runs, after `launched` is set.
      const launched: Launched = await launch(machine, profile, {
        version: 'bench',
        journalPath: journal,
        driver: 'bench@loopback',
        services: {
          sleep: () => {
            stamps.push(performance.now());
            if (stamps.length > polls) void launched.session.detach('bench: enough polls');
            return Promise.resolve();
          },
        },
      });
      const end = drive(launched, {
        plain: false,
        interactive: false,
        autopilot: {yes: true},
        driver: 'bench@loopback',
        write: () => {},
      });
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('the watch did not finish its polls in 60 s')),
          60_000,
        ).unref(),
      );
      await Promise.race([end, timeout]).catch(async (error: unknown) => {
        await launched.session.detach('bench: timed out');
        throw error;
      });
      const samples = readJournal(journal).entries.filter((e) => e.type === 'count-sampled');
      const wrong = samples.find(
        (e) => e.type === 'count-sampled' && String(e.value) !== bed.pollExpected,
      );
      if (samples.length < polls + 1 || wrong) {
        throw new Error(
          `the watch sampled ${samples.length} times${wrong ? `, once ${JSON.stringify(wrong)}` : ''}`,
        );
      }
      const first = stamps[0];
      if (first !== undefined) connects.push(first - started);
      return stamps.slice(1, polls + 1).map((t, i) => t - stamps[i]!);
    },
    [OPENSSH]: async () => {
      const transport = createOpenSshTransport({
        configFile: bed.sshConfig,
        userConfig: false,
        controlDir: path.join(bed.controlDir, 'openssh'),
      });
      try {
        const times: number[] = [];
        for (let i = 0; i <= polls; i++) {
          const started = performance.now();
          const result = await runToText(transport, {
            host: {name: 'h01'},
            command: bed.pollCommand,
            probe: true,
          });
          if (result.exitCode !== 0 || result.stdout.trim() !== bed.pollExpected) {
            throw new Error(`openssh poll: ${result.error ?? result.stderr}`);
          }
          if (i > 0) times.push(performance.now() - started);
        }
        return times;
      } finally {
        await transport.close();
      }
    },
    [FRESH]: () => timeInBash(check.replace('CMD', `${ssh} h01 '${bed.pollCommand}'`), polls),
    [MASTER]: async () => {
      const opts = `-o ControlPath=${control}`;
      const open = await bash(
        `${ssh} ${opts} -o ControlMaster=yes -o ControlPersist=yes -f -N h01`,
        {timeoutMs: 30_000},
      );
      if (open.code !== 0) throw new Error(`could not open the master: ${open.stderr}`);
      try {
        return await timeInBash(
          check.replace('CMD', `${ssh} ${opts} -o ControlMaster=no h01 '${bed.pollCommand}'`),
          polls,
        );
      } finally {
        await bash(`${ssh} ${opts} -O exit h01`, {timeoutMs: 10_000});
      }
    },
  };
  await alternate(c, runners, settings.rounds, undefined, {
    name: "sshd's CPU per poll",
    read: () => bed.sshdCpuSeconds(),
    per: (tool) => (tool === CC || tool === OPENSSH ? polls + 1 : polls),
  });
  if (connects.length) {
    const avg = connects.reduce((a, b) => a + b, 0) / connects.length;
    c.notes.push(
      `crewchief's first poll of each run (launch, connect, poll) took ${avg.toFixed(0)} ms on average; not counted, like the master's opening`,
    );
  }
  return c;
}
