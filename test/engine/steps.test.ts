/** Each step kind on its own, with the fake transport and fake timers (no real waiting). */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import type {JournalEvent} from '../../source/journal/events.js';
import {Redactor} from '../../source/journal/redact.js';
import {resolvePlan} from '../../source/engine/plan.js';
import {
  captureValue,
  conditionHolds,
  parseCount,
  probeCommand,
  retrying,
  runCheck,
  runCommand,
  runNotify,
  runWatch,
  sendToBackground,
  type StepServices,
} from '../../source/engine/steps/index.js';
import type {Profile} from '../../source/runbook/profile.js';
import type {Site, Step} from '../../source/runbook/vocabulary.js';
import {fakeTransport, type Script} from '../helpers/fake-transport.js';

const profileOf = (over: Partial<Profile> = {}): Profile => ({
  name: 'test',
  file: 'test.yaml',
  site: 'unit',
  transport: 'local',
  ssh: {} as Profile['ssh'],
  hosts: {a: {name: 'a'}, b: {name: 'b'}, c: {name: 'c'}},
  groups: {web: ['a', 'b', 'c']},
  variables: {},
  flags: [],
  secrets: {},
  overrides: {},
  outputCapBytes: 1 << 20,
  team: {} as Profile['team'],
  lineOf: () => 1,
  ...over,
});

function setup(
  steps: Step[],
  scripts: Script[],
  over: Partial<StepServices> & {profile?: Partial<Profile>} = {},
) {
  const site: Site = {id: 'unit', title: 'Unit', phases: [{id: 'p', title: 'P', steps}]};
  const plan = resolvePlan(site, profileOf(over.profile));
  const transport = fakeTransport(scripts);
  const events: JournalEvent[] = [];
  const services: StepServices = {
    plan,
    transport,
    local: transport,
    redactor: new Redactor(['hunter2']),
    secrets: {token: 'hunter2'},
    append: (e) => void events.push(e),
    dryRun: false,
    backgrounds: new Map(),
    succeededHosts: new Map(),
    ...over,
  };
  const input = (id: string, vars: Record<string, string> = {}) => ({
    key: `p/${id}`,
    vars: {...vars},
    attempt: 1,
  });
  return {services, transport, events, input, signal: new AbortController().signal};
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('command steps', () => {
  it('runs on each host of a group, journals the command before it runs, and captures', async () => {
    const t = setup(
      [
        {
          kind: 'command',
          id: 'list',
          title: 'List',
          run: 'list --name ${who}',
          on: '@web',
          capture: {as: 'last', pattern: '^item (\\S+)$'},
        },
      ],
      [{match: /^list/, stdout: 'item one\nitem two\n'}],
    );
    const done = runCommand(t.services, t.input('list', {who: 'me'}), t.signal);
    await vi.runAllTimersAsync();
    const result = await done;
    expect(result.outcome).toBe('ok');
    expect(result.captured).toEqual({last: 'two'});
    expect(t.transport.calls.map((c) => c.host).sort()).toEqual(['a', 'b', 'c']);
    expect(t.events[0]).toMatchObject({type: 'step-started', step: 'p/list'});
    expect(t.events.filter((e) => e.type === 'host-finished')).toHaveLength(3);
  });

  it('rolls in batches with a pause (fake clock) and stops at the failed batch', async () => {
    const t = setup(
      [
        {
          kind: 'command',
          id: 'roll',
          title: 'Roll',
          run: 'restart',
          on: '@web',
          fanOut: {batch: 1, pause: '30s'},
        },
      ],
      [{match: /restart/, exitCode: (n) => (n === 2 ? 1 : 0)}],
    );
    const done = runCommand(t.services, t.input('roll'), t.signal);
    await vi.advanceTimersByTimeAsync(10);
    expect(t.transport.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(t.transport.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(t.transport.calls).toHaveLength(2);
    await vi.runAllTimersAsync();
    const result = await done;
    expect(result.outcome).toBe('failed');
    expect(t.transport.calls).toHaveLength(2);
  });

  it('fails with the reason when a variable has no value, and runs nothing', async () => {
    const t = setup([{kind: 'command', id: 'x', title: 'X', run: 'echo ${missing}'}], []);
    const result = await runCommand(t.services, t.input('x'), t.signal);
    expect(result).toMatchObject({outcome: 'failed'});
    expect(result.reason).toMatch(/\$\{missing\} has no value/);
    expect(t.transport.calls).toHaveLength(0);
  });

  it('journals the command exactly as it runs, quoted, with secrets masked', async () => {
    const t = setup(
      [
        {
          kind: 'command',
          id: 'q',
          title: 'Q',
          run: 'deploy ${tag} --token ${secret.token} "${note}"',
        },
      ],
      [{match: /^deploy/}],
    );
    const done = runCommand(
      t.services,
      t.input('q', {tag: 'v1; rm -rf /', note: 'a "b"'}),
      t.signal,
    );
    await vi.runAllTimersAsync();
    expect((await done).outcome).toBe('ok');
    expect(t.transport.calls[0]!.command).toBe(
      `deploy 'v1; rm -rf /' --token 'hunter2' "a \\"b\\""`,
    );
    expect(t.events[0]).toMatchObject({
      type: 'step-started',
      runs: [{host: 'local', command: `deploy 'v1; rm -rf /' --token '[redacted]' "a \\"b\\""`}],
    });
  });

  it('refuses a captured value that does not match its value pattern as a whole', async () => {
    const t = setup(
      [
        {
          kind: 'command',
          id: 'pod',
          title: 'Pod',
          run: 'get pod',
          capture: {as: 'pod', pattern: '^(\\S+)$', value: '[a-z0-9-]+'},
        },
      ],
      [{match: /get pod/, stdout: 'web-1$(reboot)\n'}],
    );
    const done = runCommand(t.services, t.input('pod'), t.signal);
    await vi.runAllTimersAsync();
    const result = await done;
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/does not match .* as a whole: not kept/);
    expect(result.captured).toBeUndefined();
  });

  it('times out at the step timeout', async () => {
    const t = setup(
      [{kind: 'command', id: 'slow', title: 'Slow', run: 'sleep forever', timeout: '5s'}],
      [{match: /sleep/, hang: true}],
    );
    const done = runCommand(t.services, t.input('slow'), t.signal);
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await done).outcome).toBe('timed-out');
  });
});

describe('per-host health checks', () => {
  it('journals a notice for each host whose check passes (issue 13 #5)', async () => {
    const t = setup(
      [
        {
          kind: 'command',
          id: 'roll',
          title: 'Roll',
          run: 'restart',
          on: '@web',
          fanOut: {batch: 1, verify: [{command: 'healthy', expect: 'up'}]},
        },
      ],
      [
        {match: /restart/, stdout: ''},
        {match: /healthy/, stdout: 'up\n'},
      ],
    );
    const done = runCommand(t.services, t.input('roll'), t.signal);
    await vi.runAllTimersAsync();
    expect((await done).outcome).toBe('ok');
    const passed = t.events.filter(
      (e) => e.type === 'notice' && e.step === 'p/roll' && / passed$/.test(e.text),
    );
    expect(passed.map((e) => (e as {text: string}).text.split(':')[0])).toEqual([
      'after the command, on a',
      'after the command, on b',
      'after the command, on c',
    ]);
  });
});

describe('background and send', () => {
  it('is ready at its pattern, then a gate types into it and waits for the next pause', async () => {
    const steps: Step[] = [
      {
        kind: 'command',
        id: 'bg',
        title: 'Bg',
        run: 'interactive',
        background: {name: 'tool', readyWhen: 'type go'},
      },
      {kind: 'gate', id: 'go', title: 'Go', send: {to: 'tool', until: 'type go|finished'}},
    ];
    const t = setup(steps, [{match: /interactive/, stdout: 'step 1\ntype go\n', hang: true}]);
    const bg = runCommand(t.services, t.input('bg'), t.signal);
    await vi.advanceTimersByTimeAsync(1);
    expect((await bg).outcome).toBe('ok');
    const background = t.services.backgrounds.get('tool')!;
    const write = (text: string): void => void background.recorder.sink.stdout(Buffer.from(text));
    const sent = sendToBackground(t.services, t.input('go'), t.signal);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.transport.inputs).toEqual(['go\n']);
    write('working\n');
    await vi.advanceTimersByTimeAsync(1);
    write('finished\n');
    expect((await sent).outcome).toBe('ok');
  });

  it('a background that never shows its pattern times out', async () => {
    const t = setup(
      [
        {
          kind: 'command',
          id: 'bg',
          title: 'Bg',
          run: 'quiet',
          timeout: '1m',
          background: {name: 'q', readyWhen: 'ready'},
        },
      ],
      [{match: /quiet/, hang: true}],
    );
    const done = runCommand(t.services, t.input('bg'), t.signal);
    await vi.advanceTimersByTimeAsync(60_000);
    expect((await done).outcome).toBe('timed-out');
    expect(t.services.backgrounds.has('q')).toBe(false);
  });
});

describe('watch steps and count parsing', () => {
  it('polls on the clock until the count holds, warning when it stalls', async () => {
    const values = [5, 5, 5, 2, 0];
    const t = setup(
      [
        {
          kind: 'watch',
          id: 'w',
          title: 'W',
          probe: 'count',
          every: '10s',
          patience: '20s',
          until: {equals: 0},
        },
      ],
      [{match: /count/, stdout: (n) => `left: ${values[n - 1] ?? 0}\n`}],
    );
    const done = runWatch(t.services, t.input('w'), t.signal);
    await vi.advanceTimersByTimeAsync(60_000);
    const result = await done;
    expect(result.outcome).toBe('ok');
    const samples = t.events.filter((e) => e.type === 'count-sampled').map((e) => e.value);
    expect(samples).toEqual([5, 5, 5, 2, 0]);
    expect(t.events.some((e) => e.type === 'count-stalled')).toBe(true);
  });

  it('gives up at the timeout', async () => {
    const t = setup(
      [
        {
          kind: 'watch',
          id: 'w',
          title: 'W',
          probe: 'count',
          every: '1m',
          timeout: '5m',
          until: {atLeast: 3},
        },
      ],
      [{match: /count/, stdout: '1\n'}],
    );
    const done = runWatch(t.services, t.input('w'), t.signal);
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect((await done).outcome).toBe('timed-out');
  });

  it('parses counts: last integer, a pattern, lines, X of X; near a captured value', () => {
    const w = (o: object) => ({kind: 'watch', id: 'w', title: 'W', probe: '', ...o}) as never;
    expect(parseCount(w({until: {equals: 0}}), 'a 1\nb 2 7\n').value).toBe(7);
    expect(parseCount(w({until: {equals: 0}, parse: 'n=(\\d+)'}), 'n=4 m=9\n').value).toBe(4);
    expect(parseCount(w({until: {equals: 0}, parse: 'lines'}), 'x\ny\n\n').value).toBe(2);
    expect(parseCount(w({until: {xOfX: '(\\d+)/(\\d+)'}}), '3/4\n')).toMatchObject({
      value: 3,
      of: 4,
    });
    expect(conditionHolds({near: 'base', tolerance: '10%'}, 105, undefined, {base: '100'})).toBe(
      true,
    );
    expect(conditionHolds({near: 'base', tolerance: 2}, 105, undefined, {base: '100'})).toBe(false);
    expect(captureValue('^v(\\d+)$', 'v1\nnoise\nv2\n')).toBe('2');
  });
});

describe('check steps', () => {
  it('retries on the interval and passes once every probe passes', async () => {
    const t = setup(
      [
        {
          kind: 'check',
          id: 'c',
          title: 'C',
          on: 'a',
          probes: [{command: 'health', expect: '^ok$'}],
          retries: 3,
          interval: '5s',
        },
      ],
      [{match: /health/, stdout: (n) => (n < 3 ? 'starting\n' : 'ok\n')}],
    );
    const done = runCheck(t.services, t.input('c'), t.signal);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(t.transport.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(11_000);
    const result = await done;
    expect(result.outcome).toBe('ok');
    expect(t.transport.calls).toHaveLength(3);
    const notices = t.events.filter((e) => e.type === 'notice').map((e) => e.text);
    expect(notices[0]).toMatch(/^check 1\/3/);
    expect(notices.at(-1)).toMatch(/checks passed/);
  });

  it('fails after its tries, saying which probe failed on which host', async () => {
    const t = setup(
      [
        {
          kind: 'check',
          id: 'c',
          title: 'C',
          on: '@web',
          probes: [{process: 'nginx'}],
          retries: 2,
          interval: '1s',
        },
      ],
      [{match: /pgrep/, exitCode: (n) => (n % 3 === 2 ? 1 : 0)}],
    );
    const done = runCheck(t.services, t.input('c'), t.signal);
    await vi.runAllTimersAsync();
    const result = await done;
    expect(result.outcome).toBe('failed');
    expect(result.reason).toMatch(/b: process "nginx" is running/);
  });
});

describe('probe commands', () => {
  it('a tcp probe takes only a host and a port: anything else fails the probe, never runs', () => {
    expect(probeCommand({tcp: 'db:5432'}).command).toBe(
      `timeout 5 bash -c 'exec 3<>/dev/tcp/db/5432'`,
    );
    const bad = probeCommand({tcp: 'x;touch /tmp/p:1'}).command;
    expect(bad).toMatch(/^printf '%s\\n' 'not a host:port: x;touch \/tmp\/p:1' >&2; exit 2$/);
  });
});

describe('notify steps', () => {
  it('posts the text; a failed post is a warning, never a failure', async () => {
    const posted: string[] = [];
    const t = setup(
      [{kind: 'notify', id: 'n', title: 'N', text: 'deploying ${what}', webhook: 'hook'}],
      [],
      {
        secrets: {hook: 'https://hooks.example/x'},
        fetch: (async (_url: string, init: RequestInit) => {
          posted.push(String(init.body));
          return new Response('', {status: 500});
        }) as unknown as typeof fetch,
      },
    );
    const result = await runNotify(t.services, t.input('n', {what: 'v2'}), t.signal);
    expect(JSON.parse(posted[0]!)).toMatchObject({text: 'deploying v2'});
    expect(result.outcome).toBe('ok');
    expect(t.events.at(-1)).toMatchObject({type: 'notice', level: 'warn'});
  });
});

describe('the one retry loop', () => {
  it('waits between failed attempts on the injected clock and stops at the cap', async () => {
    const waits: number[] = [];
    const result = await retrying(
      {
        attempts: 4,
        delayMs: (n) => 1000 * 2 ** (n - 1),
        signal: new AbortController().signal,
        wait: async (ms) => void waits.push(ms),
      },
      async (n) => ({ok: false, value: n}),
    );
    expect(result).toEqual({ok: false, value: 4, attempts: 4});
    expect(waits).toEqual([1000, 2000, 4000]);
  });
});
