/**
 * Issue 13, conditions and retries: per-host watch conditions, strict comparisons, retries
 * journaled per attempt, targets from variables, steps that run only when a captured
 * value satisfies a condition, and the pause between batches kept across a resume.
 * Sessions run in-process over a scripted transport; waits go through a recorded sleep.
 */
import fs from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {whenFails} from '../../source/runbook/conditions.js';
import {entriesOf, harness, type Harness} from '../helpers/session.js';
import type {Script} from '../helpers/fake-transport.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, {recursive: true, force: true});
});

const replicas = `site: db
hosts:
  primary1: {}
  replica1: {}
  replica2: {}
groups:
  replicas: [replica1, replica2]
variables:
  primary: primary1
  mode: blue
`;

/** Runs a machine to its end with nobody at the keyboard; returns the harness and journal. */
async function runToEnd(
  body: string,
  scripts: Script[],
  options: {profile?: string; waits?: number[]} = {},
): Promise<{h: Harness; entries: JournalEntry[]}> {
  const waits = options.waits ?? [];
  const h = await harness(body, options.profile ?? replicas, scripts, {
    services: {sleep: async (ms) => void waits.push(ms)},
  });
  dirs.push(h.dir);
  h.launched.session.start();
  await h.until((s) => s.closed !== undefined || s.prompt !== undefined);
  return {h, entries: entriesOf(h.journal)};
}

const of = <T extends JournalEntry['type']>(entries: JournalEntry[], type: T) =>
  entries.filter((e): e is Extract<JournalEntry, {type: T}> => e.type === type);

describe('per-host watch conditions', () => {
  const lagWatch = (hosts: string, until = '{below: 1048576}') => `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  watch({id: 'lag', title: 'Replica lag', probe: 'replica-lag', on: '@replicas', hosts: ${hosts},
    until: ${until}, unit: 'bytes', every: '1s', timeout: '1h'}),
]})]});`;
  // replica1 catches up at once; replica2 only on its third poll.
  const lag: Script = {
    match: /^replica-lag$/,
    stdout: (n, host) => (host === 'replica1' ? '512\n' : n < 6 ? '2000000\n' : '1000\n'),
  };

  it("'every' waits for each host, names the host holding it up, and journals each host's count", async () => {
    const {h, entries} = await runToEnd(lagWatch("'every'"), [lag]);
    expect(h.state().closed?.outcome).toBe('finished');
    const samples = of(entries, 'count-sampled');
    expect(samples.length).toBe(3);
    expect(samples[0]).toMatchObject({
      per: 'every',
      value: 2000000,
      target: 'each < 1048576',
      hosts: [
        {host: 'replica1', value: 512, holds: true},
        {host: 'replica2', value: 2000000, holds: false},
      ],
    });
    expect(samples[2]).toMatchObject({
      hosts: [
        {host: 'replica1', value: 512, holds: true},
        {host: 'replica2', value: 1000, holds: true},
      ],
    });
    const finished = of(entries, 'step-finished')[0];
    expect(finished?.reason).toMatch(/replica1 512, replica2 1000/);
  });

  it("'sum' (the default) still tests the total: 512 + 1000 is not below 1500", async () => {
    const {h, entries} = await runToEnd(
      lagWatch("'sum'", '{below: 1500}').replace("timeout: '1h'", "timeout: '1s'"),
      [lag],
    );
    // The sum never drops below 1500 (512 + 1000 = 1512): the watch times out and asks.
    expect(h.state().prompt?.prompt).toBe('watch-timeout');
    const samples = of(entries, 'count-sampled');
    expect(samples.at(-1)).toMatchObject({value: 1512, target: '< 1500'});
    expect(samples.at(-1)).not.toHaveProperty('hosts');
  });

  it("'any' holds as soon as one host does", async () => {
    const {h, entries} = await runToEnd(lagWatch("'any'", '{above: 1000}'), [lag]);
    expect(h.state().closed?.outcome).toBe('finished');
    const samples = of(entries, 'count-sampled');
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({per: 'any', value: 2000000, target: 'any > 1000'});
  });

  it('strict comparisons: below and above are strict, atMost and atLeast are not', () => {
    expect(whenFails({var: 'n', below: 100}, {n: '100'})).toMatch(/n < 100 does not hold/);
    expect(whenFails({var: 'n', below: 100}, {n: '99.5'})).toBeUndefined();
    expect(whenFails({var: 'n', above: 3}, {n: '3'})).toMatch(/n > 3/);
    expect(whenFails({var: 'n', atMost: 100}, {n: '100'})).toBeUndefined();
    expect(whenFails({var: 'n', atLeast: 3}, {n: '3'})).toBeUndefined();
    expect(whenFails({var: 'n', below: 3}, {n: 'many'})).toMatch(/"many" is not a number/);
    expect(whenFails({var: 'mode', equals: 'blue'}, {mode: 'blue'})).toBeUndefined();
    expect(whenFails({var: 'mode', notEquals: 'blue'}, {mode: 'blue'})).toMatch(/mode ≠ blue/);
    expect(whenFails({var: 'tag', matches: 'v\\d+'}, {tag: 'v12x'})).toMatch(/tag ~/);
    expect(
      whenFails(
        [
          {var: 'a', equals: 1},
          {var: 'b', equals: 2},
        ],
        {a: '1'},
      ),
    ).toMatch(/b has no value/);
  });
});

describe('retries', () => {
  it('a command retries a known failure with backoff, journaling each attempt', async () => {
    const waits: number[] = [];
    const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'pull', title: 'Pull the image', run: 'pull-image', on: 'replica1',
    retry: {attempts: 4, backoff: '2s'}}),
]})]});`;
    const {h, entries} = await runToEnd(
      body,
      [{match: /^pull-image$/, exitCode: (n) => (n < 3 ? 7 : 0), stdout: 'pulling\n'}],
      {waits},
    );
    expect(h.state().closed?.outcome).toBe('finished');
    expect(h.transport.calls.filter((c) => c.command === 'pull-image')).toHaveLength(3);
    const attempts = of(entries, 'attempt-ended');
    expect(attempts.map((a) => [a.attempt, a.of, a.ok, a.exitCode, a.nextInMs])).toEqual([
      [1, 4, false, 7, 2000],
      [2, 4, false, 7, 4000],
      [3, 4, true, 0, undefined],
    ]);
    expect(attempts[0]).toMatchObject({what: 'command', host: 'replica1'});
    expect(waits).toEqual([2000, 4000]);
    expect(of(entries, 'host-finished')[0]).toMatchObject({outcome: 'ok', attempts: 3});
  });

  it('a command whose end is unknown is never retried: the driver decides', async () => {
    const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'migrate', title: 'Migrate', run: 'migrate', on: 'replica1', retry: {attempts: 3}}),
]})]});`;
    const {h, entries} = await runToEnd(body, [{match: /^migrate$/, unknown: true}]);
    expect(h.state().prompt?.prompt).toBe('unknown');
    expect(h.transport.calls).toHaveLength(1);
    const attempts = of(entries, 'attempt-ended');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).not.toHaveProperty('nextInMs');
  });

  it('a check takes retry (the general form) and keeps the older retries/interval', async () => {
    const waits: number[] = [];
    const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  check({id: 'new', title: 'New form', on: 'replica1', probes: [{command: 'health-a', expect: '^ok$'}],
    retry: {attempts: 3, backoff: '1s', factor: 3}}),
  check({id: 'old', title: 'Old form', on: 'replica1', probes: [{command: 'health-b', expect: '^ok$'}],
    retries: 2, interval: '7s'}),
]})]});`;
    const {h, entries} = await runToEnd(
      body,
      [
        {match: /^health-a$/, stdout: (n) => (n < 3 ? 'starting\n' : 'ok\n')},
        {match: /^health-b$/, stdout: (n) => (n < 2 ? 'starting\n' : 'ok\n')},
      ],
      {waits},
    );
    expect(h.state().closed?.outcome).toBe('finished');
    expect(waits).toEqual([1000, 3000, 7000]);
    const attempts = of(entries, 'attempt-ended');
    expect(attempts.map((a) => [a.step, a.attempt, a.of, a.ok])).toEqual([
      ['p/new', 1, 3, false],
      ['p/new', 2, 3, false],
      ['p/new', 3, 3, true],
      ['p/old', 1, 2, false],
      ['p/old', 2, 2, true],
    ]);
    expect(attempts[0]?.error).toMatch(/"health-a" prints/);
  });

  it('per-host checks after a command take verifyRetry', async () => {
    const waits: number[] = [];
    const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'restart', title: 'Restart', run: 'restart', on: '@replicas',
    fanOut: {batch: 1, verify: [{command: 'health'}], verifyRetry: {attempts: 2, backoff: '3s'}}}),
]})]});`;
    const {h, entries} = await runToEnd(
      body,
      [{match: /^restart$/}, {match: /^health$/, exitCode: () => 1}],
      {waits},
    );
    expect(h.state().prompt?.prompt).toBe('failed');
    expect(waits).toEqual([3000]);
    const failed = of(entries, 'host-finished')[0];
    expect(failed).toMatchObject({host: 'replica1', outcome: 'failed'});
    expect(failed?.error).toMatch(/failed 2 times/);
    expect(of(entries, 'attempt-ended').map((a) => [a.what, a.host, a.attempt])).toEqual([
      ['checks', 'replica1', 1],
      ['checks', 'replica1', 2],
    ]);
  });
});

describe('targets from variables', () => {
  const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'who', title: 'Find the new primary', run: 'elect', capture: {as: 'next', pattern: '^next=(\\\\S+)$'}}),
  command({id: 'on-profile', title: 'On the profile primary', run: 'promote-a', on: '\${primary}'}),
  command({id: 'on-captured', title: 'On the elected host', run: 'promote-b', on: '\${next}'}),
]})]});`;

  it('runs on the host a profile variable or a captured value names', async () => {
    const {h} = await runToEnd(body, [
      {match: /^elect$/, stdout: 'next=replica2\n'},
      {match: /^promote-/},
    ]);
    expect(h.state().closed?.outcome).toBe('finished');
    expect(h.transport.calls.filter((c) => c.command.startsWith('promote'))).toEqual([
      {host: 'primary1', command: 'promote-a'},
      {host: 'replica2', command: 'promote-b'},
    ]);
  });

  it('a value that names no host or group fails the step and runs nowhere', async () => {
    const {h, entries} = await runToEnd(body, [
      {match: /^elect$/, stdout: 'next=evil.example.com\n'},
      {match: /^promote-/},
    ]);
    expect(h.state().prompt).toMatchObject({prompt: 'failed', step: 'p/on-captured'});
    expect(h.transport.calls.filter((c) => c.command === 'promote-b')).toHaveLength(0);
    const finished = of(entries, 'step-finished').find((e) => e.step === 'p/on-captured');
    expect(finished?.reason).toMatch(
      /the target \$\{next\} is "evil.example.com", which is not a host or group of profile .*: the step runs nowhere/,
    );
  });
});

describe('conditions on captured values', () => {
  it('runs a step only when its condition holds, and journals a skip with the reason', async () => {
    const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'lag', title: 'Read lag', run: 'read-lag', capture: {as: 'lag', pattern: '^(\\\\d+)$'}}),
  command({id: 'fast', title: 'Fast failover', run: 'fast-failover', when: {var: 'lag', below: 100}}),
  command({id: 'slow', title: 'Slow failover', run: 'slow-failover', when: {var: 'lag', atLeast: 100}}),
  manual({id: 'blue', title: 'Blue only', when: [{var: 'mode', equals: 'blue'}, {var: 'lag', above: 10}]}),
]})]});`;
    const h = await harness(body, replicas, [
      {match: /^read-lag$/, stdout: '250\n'},
      {match: /failover$/},
    ]);
    dirs.push(h.dir);
    h.launched.session.start();
    await h.until((s) => s.prompt?.step === 'p/blue');
    h.launched.session.decide({type: 'TICK'});
    const end = await h.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(h.transport.calls.map((c) => c.command)).toEqual(['read-lag', 'slow-failover']);
    const skipped = of(entriesOf(h.journal), 'step-skipped');
    expect(skipped).toEqual([
      expect.objectContaining({
        step: 'p/fast',
        reason: 'not run: its condition lag < 100 does not hold: lag is "250"',
      }),
    ]);
    expect(end.steps.find((s) => s.id === 'fast')).toMatchObject({status: 'skipped'});
  });
});

describe('a condition on the first step of a phase, and across a resume', () => {
  it('the phase is entered before the skip; a resume goes on after the skipped step', async () => {
    const body = `
export default site({id: 'db', title: 'DB', phases: [
  phase({id: 'a', title: 'A', steps: [
    command({id: 'read', title: 'Read mode', run: 'read-mode', capture: {as: 'm', pattern: '^(\\\\w+)$'}}),
  ]}),
  phase({id: 'b', title: 'B', steps: [
    command({id: 'green', title: 'Green only', run: 'green-thing', when: {var: 'm', equals: 'green'}}),
    manual({id: 'after', title: 'After'}),
  ]}),
]});`;
    const first = await harness(body, replicas, [{match: /^read-mode$/, stdout: 'blue\n'}]);
    dirs.push(first.dir);
    first.launched.session.start();
    await first.until((s) => s.prompt?.step === 'b/after');
    const entries = entriesOf(first.journal);
    const order = entries
      .filter((e) => e.type === 'phase-entered' || e.type === 'step-skipped')
      .map((e) => (e.type === 'phase-entered' ? `phase ${e.phase}` : `skipped ${e.step}`));
    expect(order).toEqual(['phase a', 'phase b', 'skipped b/green']);
    await first.launched.session.detach({reason: 'signal', signal: 'SIGTERM', text: 'killed'});
    first.launched.journal.close();

    const second = await harness(body, replicas, [{match: /.*/}], {
      dir: first.dir,
      resumeFrom: first.journal,
    });
    expect(second.launched.resume?.startAt).toEqual({key: 'b/after'});
    second.launched.session.start();
    await second.until((s) => s.prompt?.step === 'b/after' && s.prompt.seq > entries.length);
    second.launched.session.decide({type: 'TICK'});
    const end = await second.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(second.transport.calls).toEqual([]);
  });
});

describe('rolling fan-out across a resume (issue 13 #5)', () => {
  const body = `
export default site({id: 'db', title: 'DB', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'roll', title: 'Rolling restart', run: 'restart', on: '@replicas', fanOut: {batch: 1, pause: '10m'}}),
]})]});`;

  it('a session left during the pause between batches still pauses before the next batch', async () => {
    // The first session: replica1 restarts, then the pause holds until the session is left.
    const first = await harness(body, replicas, [{match: /^restart$/}], {
      services: {
        sleep: (_ms, signal) =>
          new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
      },
    });
    dirs.push(first.dir);
    first.launched.session.start();
    await first.until((s) => s.steps.some((x) => x.hostResults?.['replica1']?.outcome === 'ok'));
    await first.launched.session.detach({reason: 'signal', signal: 'SIGTERM', text: 'killed'});
    first.launched.journal.close();

    const waits: number[] = [];
    const second = await harness(body, replicas, [{match: /^restart$/}], {
      dir: first.dir,
      resumeFrom: first.journal,
      services: {sleep: async (ms) => void waits.push(ms)},
    });
    second.launched.session.start();
    await second.until((s) => s.prompt?.prompt === 'unknown');
    second.launched.session.decide({type: 'RETRY'});
    const end = await second.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(second.transport.calls).toEqual([{host: 'replica2', command: 'restart'}]);
    // What was left of the 10-minute pause since replica1 finished (not skipped, not doubled).
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(9 * 60_000);
    expect(waits[0]).toBeLessThanOrEqual(10 * 60_000);
  });
});
