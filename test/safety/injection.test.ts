/**
 * Issue 11 #3: a value in a shell command is one word. An injection corpus goes through
 * profile variables and through values captured from command output, run for real
 * locally (the local transport) and over SSH (the loopback sshd lab): no payload runs
 * (its canary file never appears) and each arrives intact as one argument.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {resolvePlan} from '../../source/engine/plan.js';
import {runCommand, type StepServices} from '../../source/engine/steps/index.js';
import type {JournalEvent} from '../../source/journal/events.js';
import {Redactor} from '../../source/journal/redact.js';
import type {Profile} from '../../source/runbook/profile.js';
import type {Step} from '../../source/runbook/vocabulary.js';
import {createLocalTransport} from '../../source/transport/local.js';
import type {HostSpec, Transport} from '../../source/transport/types.js';
import {tempDir} from '../helpers/fixtures.js';
import {labTransport} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

const canaries = tempDir('cc-canary-');
const c = (n: number): string => path.join(canaries, `ran-${n}`);

/** Each payload would create its canary file if the shell ran any part of it. */
export const corpus = (): string[] => [
  `$(touch ${c(1)})`,
  `;touch ${c(2)}`,
  `\`touch ${c(3)}\``,
  `'; touch ${c(4)}; '`,
  `"; touch ${c(5)}; "`,
  `x\ntouch ${c(6)}`,
  `&& touch ${c(7)}`,
  `| touch ${c(8)}`,
  `>${c(9)}`,
  `\${IFS}touch\${IFS}${c(10)}`,
  `|| touch ${c(11)} *`,
  `\\'; touch ${c(12)}; echo \\'`,
  `--opt=$(touch ${c(13)})`,
  `& touch ${c(14)} &`,
  `"$(touch ${c(15)})"`,
  `'$(touch ${c(16)})'`,
  `$((1+1))\${HOME} * ? [a] {b,c} !x #y`,
  `\r;touch ${c(18)}`,
  `a\x1b[2Jb;touch ${c(19)}`,
];
/** A captured value is one line with no control character: those payloads fail the step. */
const oneLine = (p: string): boolean => !/[\x00-\x1f\x7f]/.test(p);

const profile = (variables: Record<string, string>, host: HostSpec): Profile => ({
  name: 'inj',
  file: 'inj.yaml',
  site: 'inj',
  transport: 'local',
  ssh: {} as Profile['ssh'],
  hosts: {[host.name]: host},
  groups: {},
  variables,
  flags: [],
  secrets: {},
  overrides: {},
  outputCapBytes: 1 << 20,
  team: {} as Profile['team'],
  lineOf: () => 1,
});

const steps = (on: string): Step[] => [
  // A bare word, and the same value inside the author's double and single quotes.
  {kind: 'command', id: 'bare', title: 'bare', on, run: `printf '<%s>\\n' \${p}`},
  {kind: 'command', id: 'dq', title: 'dq', on, run: `printf '<%s>\\n' "v=\${p}"`},
  {kind: 'command', id: 'sq', title: 'sq', on, run: `printf '<%s>\\n' 'v=\${p}'`},
  {
    kind: 'command',
    id: 'emit',
    title: 'emit',
    on,
    run: `printf '%s\\n' \${p}`,
    capture: {as: 'got', pattern: '^(.*)$'},
  },
  {kind: 'command', id: 'reuse', title: 'reuse', on, run: `printf '<%s>\\n' \${got}`},
];

interface Tally {
  tried: number;
  intact: number;
  refused: number;
}

async function throughSteps(transport: Transport, host: HostSpec, tally: Tally): Promise<void> {
  for (const payload of corpus()) {
    const plan = resolvePlan(
      {id: 'inj', title: 'inj', phases: [{id: 'p', title: 'p', steps: steps(host.name)}]},
      profile({p: payload}, host),
    );
    const events: JournalEvent[] = [];
    const services: StepServices = {
      plan,
      transport,
      local: transport,
      redactor: new Redactor([]),
      secrets: {},
      append: (e) => void events.push(e),
      dryRun: false,
      backgrounds: new Map(),
      succeededHosts: new Map(),
    };
    const signal = new AbortController().signal;
    const out = (): string =>
      events
        .filter((e) => e.type === 'output')
        .map((e) => (e as {text?: string}).text ?? '')
        .join('');
    const runStep = async (id: string, vars: Record<string, string>) => {
      events.length = 0;
      const result = await runCommand(services, {key: `p/${id}`, vars, attempt: 1}, signal);
      return {result, output: out()};
    };
    for (const [id, prefix] of [
      ['bare', ''],
      ['dq', 'v='],
      ['sq', 'v='],
    ] as const) {
      tally.tried++;
      const {result, output} = await runStep(id, {p: payload});
      expect(result.outcome, `${id}: ${JSON.stringify(payload)}: ${result.reason}`).toBe('ok');
      expect(output, `${id}: ${JSON.stringify(payload)}`).toBe(`<${prefix}${payload}>\n`);
      tally.intact++;
    }
    // Through a captured value.
    tally.tried++;
    const emitted = await runStep('emit', {p: payload});
    // The last line of the output is captured, without the blanks around it.
    const line = payload.split('\n').at(-1)!;
    const value = line.trim();
    if (!oneLine(line)) {
      // A control character in the line: the pattern does not match it (`.` stops at \r)
      // or the value is refused. Either way the step fails and nothing is kept.
      expect(emitted.result.outcome).toBe('failed');
      expect(emitted.result.reason).toMatch(/control character|nothing in the output matched/);
      tally.refused++;
      continue;
    }
    expect(emitted.result.captured, JSON.stringify(emitted.result)).toEqual({got: value});
    const reused = await runStep('reuse', {got: value});
    expect(reused.output, JSON.stringify(payload)).toBe(`<${value}>\n`);
    // The journal records the command exactly as it ran.
    expect(events.find((e) => e.type === 'step-started')).toMatchObject({
      runs: [{host: host.name}],
    });
    tally.intact++;
  }
}

const executed = (): string[] => fs.readdirSync(canaries);

describe('injection corpus', () => {
  let lab: SshLab;
  beforeAll(async () => {
    lab = await startSshLab({aliases: 0});
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
  });

  it('locally: no payload runs, each arrives as one intact argument', async () => {
    const tally: Tally = {tried: 0, intact: 0, refused: 0};
    const local = createLocalTransport();
    await throughSteps(local, {name: 'here'}, tally);
    await local.close();
    expect(executed()).toEqual([]);
    expect(corpus().length).toBeGreaterThanOrEqual(10);
    expect(tally.intact + tally.refused).toBe(tally.tried);
    console.log(
      `local: ${corpus().length} payloads, ${tally.tried} runs, ${tally.intact} intact, ${tally.refused} captures refused, ${executed().length} executed`,
    );
  }, 120_000);

  it('over SSH to a real sshd: no payload runs, each arrives as one intact argument', async () => {
    const tally: Tally = {tried: 0, intact: 0, refused: 0};
    const ssh = labTransport(lab);
    await throughSteps(ssh, {name: 'target'}, tally);
    await ssh.close();
    expect(executed()).toEqual([]);
    expect(tally.intact + tally.refused).toBe(tally.tried);
    console.log(
      `ssh: ${corpus().length} payloads, ${tally.tried} runs, ${tally.intact} intact, ${tally.refused} captures refused, ${executed().length} executed`,
    );
  }, 180_000);
});
