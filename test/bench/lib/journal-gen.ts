/**
 * A synthetic journal of a long session, written with the real JournalWriter: 8 phases,
 * each a gate, four command steps on 50 hosts with their output, and a watch sampling
 * every 2 s, spread over about three hours, closing as finished. The event count is exact.
 */
import type {JournalEvent, PlanPhase, PlanStep} from '../../../source/journal/events.js';
import {JournalWriter} from '../../../source/journal/file.js';

const PHASES = 8;
const COMMANDS = 4;
const HOSTS = Array.from({length: 50}, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
const WATCH_SAMPLES = 200;

export function writeLongJournal(file: string, events: number): {events: number; spanMs: number} {
  const start = Date.parse('2026-11-22T08:00:00.000Z');
  let clock = start;
  const writer = JournalWriter.create(file, 'bench-replay-20261122T080000-0000', {
    now: () => new Date(clock),
    groupCommitMs: 60_000,
  });
  const phases: PlanPhase[] = [];
  const steps: PlanStep[] = [];
  for (let p = 1; p <= PHASES; p++) {
    const phase = `phase-${p}`;
    phases.push({id: phase, title: `${p}. Phase ${p} of the release`, applies: true});
    const add = (id: string, title: string, kind: string, hosts?: string[]): void => {
      steps.push({
        key: `${phase}/${id}`,
        id: `${id}-${p}`,
        title,
        kind,
        phase,
        applies: true,
        ...(hosts ? {hosts} : {}),
        hash: `${p}${id}`.padEnd(16, '0').slice(0, 16),
      });
    };
    add('gate', `${p}.0 Check the dashboards, then go`, 'gate');
    for (let c = 1; c <= COMMANDS; c++)
      add(
        `cmd-${c}`,
        `${p}.${c} Roll the update to the fleet (${c}/${COMMANDS})`,
        'command',
        HOSTS,
      );
    add('watch', `${p}.9 Wait until every instance is back in service`, 'watch', ['h01']);
  }
  const fixedPerPhase = 1 + 3 + COMMANDS * (2 + HOSTS.length) + (2 + WATCH_SAMPLES); // entered, gate, commands, watch
  const fixed = 2 + PHASES * fixedPerPhase; // opened, closed
  const outputs = events - fixed;
  if (outputs < 0) throw new Error(`a journal needs at least ${fixed} events`);
  const pairs = PHASES * COMMANDS * HOSTS.length;

  let written = 0;
  const append = (event: JournalEvent, gapMs: number): void => {
    clock += gapMs;
    writer.append(event);
    written++;
  };
  append(
    {
      type: 'session-opened',
      session: 'bench-replay-20261122T080000-0000',
      site: 'bench-replay',
      siteTitle: 'Fleet release (synthetic, for the replay benchmark)',
      siteFile: '/nonexistent/bench-replay.ts',
      profile: 'bench-replay',
      profileFile: '/nonexistent/bench-replay.yaml',
      runbookHash: '0000000000000000',
      driver: 'bench@loopback',
      version: 'bench',
      transport: 'ssh',
      dryRun: false,
      plan: {phases, steps},
      variables: {release_tag: 'v42'},
    },
    0,
  );
  let pair = 0;
  for (let p = 1; p <= PHASES; p++) {
    const phase = `phase-${p}`;
    append({type: 'phase-entered', phase}, 1000);
    append(
      {type: 'prompt-shown', step: `${phase}/gate`, prompt: 'gate', text: 'type go', expects: 'go'},
      200,
    );
    append({type: 'decision', step: `${phase}/gate`, decision: 'go', by: 'bench@loopback'}, 45_000);
    append({type: 'step-finished', step: `${phase}/gate`, outcome: 'done', durationMs: 45_000}, 5);
    for (let c = 1; c <= COMMANDS; c++) {
      const step = `${phase}/cmd-${c}`;
      append(
        {
          type: 'step-started',
          step,
          runs: HOSTS.map((host) => ({host, command: `sudo systemctl restart app@${c}`})),
          attempt: 1,
        },
        2000,
      );
      for (const host of HOSTS) {
        const mine =
          Math.floor((outputs * (pair + 1)) / pairs) - Math.floor((outputs * pair) / pairs);
        pair++;
        for (let k = 0; k < mine; k++) {
          append(
            {
              type: 'output',
              step,
              host,
              stream: k % 17 === 16 ? 'stderr' : 'stdout',
              text: `${new Date(clock).toISOString()} ${host} app[${1000 + k}]: restart ${c}: unit ${k} ready, ${k * 3} connections\n`,
            },
            35,
          );
        }
        append({type: 'host-finished', step, host, exitCode: 0, outcome: 'ok'}, 10);
      }
      append({type: 'step-finished', step, outcome: 'ok', exitCode: 0, durationMs: 90_000}, 5);
    }
    const watch = `${phase}/watch`;
    append(
      {
        type: 'step-started',
        step: watch,
        runs: [{host: 'h01', command: 'fleetctl status | grep -c in-service'}],
        attempt: 1,
      },
      500,
    );
    for (let k = 0; k < WATCH_SAMPLES; k++) {
      const value = Math.min(50, Math.floor((k * 50) / (WATCH_SAMPLES - 1)));
      append(
        {
          type: 'count-sampled',
          step: watch,
          value,
          target: '= 50',
          raw: `${value} of 50 instances in service`,
        },
        2000,
      );
    }
    append(
      {
        type: 'step-finished',
        step: watch,
        outcome: 'ok',
        durationMs: WATCH_SAMPLES * 2000,
        reason: '50 = 50',
      },
      5,
    );
  }
  append({type: 'session-closed', outcome: 'finished'}, 1000);
  writer.close();
  if (written !== events) throw new Error(`wrote ${written} events, not ${events}`);
  return {events: written, spanMs: clock - start};
}
