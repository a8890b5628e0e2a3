import fs from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {entriesOf, harness, promptFor, type Harness} from '../helpers/session.js';

const machine = `
export default site({
  id: 'shop',
  title: 'Shop',
  phases: [
    phase({id: 'prep', title: 'Prepare', steps: [
      manual({id: 'notice', title: 'Send the notice', due: 'T-2wd'}),
      manual({id: 'jetstream-only', title: 'Jetstream task', only: 'jetstream'}),
      command({id: 'rev', title: 'Read the revision', run: 'git rev-parse HEAD', capture: {as: 'rev', pattern: '^(\\\\w+)$'}}),
    ]}),
    phase({id: 'deploy', title: 'Deploy', steps: [
      gate({id: 'go', title: 'Go?', checks: ['dashboards are green']}),
      command({id: 'wipe', title: 'Reset the database', run: 'reset-db --yes \${rev}', on: '@db', danger: '\${site}'}),
      command({id: 'flaky', title: 'Flaky step', run: 'flaky-thing', on: 'db1'}),
      choice({id: 'how', title: 'How did it go?', question: 'Well?', options: [
        {id: 'fine', label: 'Fine', steps: []},
        {id: 'debug', label: 'Debug', steps: [command({id: 'logs', title: 'Logs', run: 'show-logs'})]},
      ]}),
      watch({id: 'drain', title: 'Drain', probe: 'count-conns', until: {equals: 0}, every: '10ms', patience: '30ms', timeout: '300ms'}),
      command({id: 'final', title: 'Final', run: 'echo done'}),
    ]}),
  ],
});
`;

const profile = `site: shop
release: 2026-12-02
hosts:
  db1: db1.example.org
  db2: db2.example.org
groups:
  db: [db1, db2]
flags: [cyverse]
`;

const dirs: string[] = [];
afterEach(() =>
  dirs
    .splice(0)
    .forEach((d) =>
      process.env['KEEP'] ? undefined : fs.rmSync(d, {recursive: true, force: true}),
    ),
);

async function start(scripts: Parameters<typeof harness>[2]): Promise<Harness> {
  const h = await harness(machine, profile, scripts);
  dirs.push(h.dir);
  h.launched.session.start();
  return h;
}

let drainCalls = 0;
const baseScripts = () => {
  drainCalls = 0;
  return [
    {match: /^git rev-parse/, stdout: 'abc123\n'},
    {match: /^reset-db/, stdout: 'reset\n'},
    {match: /^flaky-thing/, exitCode: (n: number) => (n === 1 ? 2 : 0), stderr: 'boom\n'},
    {match: /^show-logs/, stdout: 'log line\n'},
    {match: /^count-conns/, stdout: () => `${Math.max(0, 3 - Math.floor(drainCalls++ / 2))}\n`},
    {match: /^echo done/, stdout: 'done\n'},
  ];
};

describe('the engine', () => {
  it('walks a runbook: variants, due dates, capture, gate, typed danger confirmation, retry, choice, watch', async () => {
    const h = await start(baseScripts());
    const s0 = await h.until(promptFor('notice'));
    const notice = s0.steps.find((s) => s.id === 'notice')!;
    expect(notice.due).toBe('2026-11-30'); // Wednesday release: Tuesday, Monday
    expect(s0.steps.find((s) => s.id === 'jetstream-only')).toMatchObject({
      status: 'not-applicable',
      reason: 'only for jetstream',
    });
    const {session} = h.launched;
    expect(session.decide({type: 'TICK'})).toBe(true);

    await h.until(promptFor('go'));
    expect(h.state().vars['rev']).toBe('abc123');
    expect(session.decide({type: 'GO', value: 'nope'})).toBe(false);
    expect(session.decide({type: 'GO', value: 'go'})).toBe(true);

    const confirm = await h.until(promptFor('wipe'));
    expect(confirm.prompt).toMatchObject({prompt: 'confirm', expects: 'shop'});
    expect(session.decide({type: 'CONFIRM', value: 'wipe'})).toBe(false);
    expect(h.transport.calls.filter((c) => c.command.startsWith('reset-db'))).toHaveLength(0);
    expect(session.decide({type: 'CONFIRM', value: 'shop'})).toBe(true);

    const failed = await h.until((s) => s.prompt?.prompt === 'failed');
    expect(failed.steps.find((s) => s.id === 'wipe')).toMatchObject({
      status: 'ok',
      hosts: ['db1', 'db2'],
    });
    expect(
      h.transport.calls.filter((c) => c.command === "reset-db --yes 'abc123'").map((c) => c.host),
    ).toEqual(['db1', 'db2']);
    expect(failed.steps.find((s) => s.id === 'flaky')).toMatchObject({
      status: 'failed',
      exitCode: 2,
    });
    expect(session.decide({type: 'RETRY'})).toBe(true);

    await h.until(promptFor('how'));
    expect(session.decide({type: 'CHOOSE', option: 'debug'})).toBe(true);
    const afterWatch = await h.until((s) => s.closed !== undefined);
    expect(afterWatch.closed?.outcome).toBe('finished');
    expect(afterWatch.steps.find((s) => s.id === 'logs')?.status).toBe('ok');
    expect(afterWatch.counts['deploy/drain']?.value).toBe(0);
    expect(afterWatch.counts['deploy/drain']?.samples.length).toBeGreaterThan(3);

    const entries = entriesOf(h.journal);
    const decisions = entries
      .filter((e) => e.type === 'decision')
      .map((e) => e.type === 'decision' && `${e.decision}:${e.by}`);
    expect(decisions).toEqual([
      'tick:tester@test',
      'go:tester@test',
      'confirm:tester@test',
      'retry:tester@test',
      'choose:tester@test',
    ]);
    expect(
      entries.filter((e) => e.type === 'step-started' && e.step === 'deploy/flaky'),
    ).toHaveLength(2);
  });

  it('journals step-started on disk before the command runs', async () => {
    const h = await harness(machine, profile, baseScripts());
    dirs.push(h.dir);
    const seenOnDisk: boolean[] = [];
    const original = h.transport.start.bind(h.transport);
    h.transport.start = (request, sink) => {
      const text = fs.readFileSync(h.journal, 'utf8');
      seenOnDisk.push(
        text.includes(`"type":"step-started"`) &&
          text.includes(JSON.stringify(request.command).slice(1, -1)),
      );
      return original(request, sink);
    };
    h.launched.session.start();
    await h.until(promptFor('notice'));
    h.launched.session.decide({type: 'TICK'});
    await h.until(promptFor('go'));
    expect(seenOnDisk).toEqual([true]);
  });

  it('warns when a count stalls, asks at the timeout, and keeps waiting when told', async () => {
    const h = await start([
      ...baseScripts().filter((s) => !String(s.match).includes('count')),
      {match: /^count-conns/, stdout: '2\n'},
    ]);
    const {session} = h.launched;
    await h.until(promptFor('notice'));
    session.decide({type: 'TICK'});
    await h.until(promptFor('go'));
    session.decide({type: 'GO', value: 'go'});
    await h.until(promptFor('wipe'));
    session.decide({type: 'CONFIRM', value: 'shop'});
    await h.until((s) => s.prompt?.prompt === 'failed');
    session.decide({type: 'SKIP', reason: 'known flaky, checked by hand'});
    await h.until(promptFor('how'));
    session.decide({type: 'CHOOSE', option: 'fine'});
    const timedOut = await h.until((s) => s.prompt?.prompt === 'watch-timeout', 5000);
    expect(timedOut.counts['deploy/drain']).toMatchObject({value: 2, stalled: true, target: '= 0'});
    expect(timedOut.log.some((l) => /has not moved from 2/.test(l.text))).toBe(true);
    expect(timedOut.steps.find((s) => s.id === 'flaky')).toMatchObject({
      status: 'skipped',
      reason: 'known flaky, checked by hand',
    });
    expect(timedOut.steps.find((s) => s.id === 'logs')?.status).toBe('not-chosen');
    const samples = timedOut.counts['deploy/drain']!.samples.length;
    expect(session.decide({type: 'KEEP_WAITING'})).toBe(true);
    await h.until((s) => (s.counts['deploy/drain']?.samples.length ?? 0) > samples);
    await h.until((s) => s.prompt?.prompt === 'watch-timeout');
    expect(session.decide({type: 'ABORT', reason: 'rogue process'})).toBe(true);
    const end = await h.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('aborted');
  });
});

describe('rolling updates', () => {
  const rolling = `
export default site({id: 'svc', title: 'Service', phases: [phase({id: 'deploy', title: 'Deploy', steps: [
  command({id: 'restart', title: 'Restart', run: 'restart-service', on: '@web', fanOut: {batch: 2, verify: [{command: 'health', expect: 'ok'}]}}),
]})]});`;
  const hosts = `site: svc\nhosts:\n  w1: {}\n  w2: {}\n  w3: {}\n  w4: {}\n  w5: {}\n  w6: {}\ngroups:\n  web: [w1, w2, w3, w4, w5, w6]\n`;

  it('stop at the batch whose health checks fail, and a retry runs only where it has not succeeded', async () => {
    let w3Healthy = false;
    const h = await harness(rolling, hosts, [{match: /^restart-service$/, stdout: 'restarted\n'}], {
      services: {sleep: async () => {}},
    });
    dirs.push(h.dir);
    const original = h.transport.start.bind(h.transport);
    h.transport.start = (request, sink) => {
      const host = typeof request.host === 'string' ? request.host : request.host.name;
      if (request.command === 'health') {
        const ok = host !== 'w3' || w3Healthy;
        return {
          done: Promise.resolve(sink.stdout(Buffer.from(ok ? 'ok\n' : 'down\n'))).then(() => ({
            exitCode: 0,
            timedOut: false,
            canceled: false,
            durationMs: 1,
          })),
          write() {},
        };
      }
      return original(request, sink);
    };
    const ran = (): string[] =>
      h.transport.calls.filter((c) => c.command === 'restart-service').map((c) => c.host);
    h.launched.session.start();
    const failed = await h.until((s) => s.prompt?.prompt === 'failed');
    expect(ran()).toEqual(['w1', 'w2', 'w3', 'w4']);
    const restart = failed.steps.find((s) => s.id === 'restart')!;
    expect(restart.hostResults?.['w3']).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/on w3: "health" prints \/ok\/ failed 5 times/),
    });
    expect(restart.hostResults?.['w4']?.outcome).toBe('ok');
    expect(restart.reason).toMatch(/w3/);

    w3Healthy = true;
    h.launched.session.decide({type: 'RETRY'});
    const end = await h.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(ran()).toEqual(['w1', 'w2', 'w3', 'w4', 'w3', 'w5', 'w6']);
  });
});

describe('excluding a host', () => {
  it('leaves the host out, runs the rest, and says so; a resume keeps it out', async () => {
    const machine = `
export default site({id: 'svc', title: 'Service', phases: [phase({id: 'deploy', title: 'Deploy', steps: [
  command({id: 'restart', title: 'Restart', run: 'restart-service', on: '@web', fanOut: {batch: 2, pause: '1s'}}),
]})]});`;
    const profile = `site: svc\nhosts:\n  w1: {}\n  w2: {}\n  w3: {}\n  w4: {}\ngroups:\n  web: [w1, w2, w3, w4]\n`;
    const pauses: number[] = [];
    const h = await harness(machine, profile, [{match: /^restart-service$/, stdout: 'ok\n'}], {
      services: {sleep: async (ms) => void pauses.push(ms)},
    });
    dirs.push(h.dir);
    const original = h.transport.start.bind(h.transport);
    h.transport.start = (request, sink) => {
      const host = typeof request.host === 'string' ? request.host : request.host.name;
      if (host === 'w3') {
        sink.stderr(Buffer.from('disk full\n'));
        return {
          done: Promise.resolve({exitCode: 1, timedOut: false, canceled: false, durationMs: 1}),
          write() {},
        };
      }
      return original(request, sink);
    };
    h.launched.session.start();
    await h.until((s) => s.prompt?.prompt === 'failed');
    expect(pauses).toEqual([1000]);
    const {session} = h.launched;
    expect(session.decide({type: 'EXCLUDE', host: 'w9', reason: 'no such host'})).toBe(false);
    expect(session.decide({type: 'EXCLUDE', host: 'w3', reason: ''})).toBe(false);
    expect(session.decide({type: 'EXCLUDE', host: 'w3', reason: 'disk full, ticket OPS-1'})).toBe(
      true,
    );
    const end = await h.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(end.steps[0]).toMatchObject({status: 'ok', reason: 'left out by the driver: w3'});
    const decision = entriesOf(h.journal).find((e) => e.type === 'decision');
    expect(decision).toMatchObject({
      decision: 'exclude',
      value: 'w3',
      reason: 'disk full, ticket OPS-1',
    });
  });
});
