import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {cli, entriesNow, waitFor, waitForEntry} from '../helpers/cli.js';
import {repoRoot, tempDir, writeMachine} from '../helpers/fixtures.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';
import {slots} from '../helpers/slots.js';

let dir: string;
let profile: string;
let journal: string;

beforeAll(() => {
  dir = tempDir('cc-crash-');
  // The demo profile, slowed down so a kill lands inside a command.
  profile = path.join(dir, 'rubin-tts-slow.yaml');
  fs.writeFileSync(
    profile,
    fs
      .readFileSync(path.join(repoRoot, 'profiles', 'rubin-tts-demo.yaml'), 'utf8')
      .replace('speed: 20', 'speed: 3'),
  );
  journal = path.join(dir, 'session.jsonl');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

const isStep = (step: string, type: JournalEntry['type']) => (e: JournalEntry) =>
  e.type === type && 'step' in e && e.step === step;

/** Entries in the file now, minus a torn tail. */
const snapshotOf = (file: string): JournalEntry[] => readJournal(file).entries;
const snapshot = (): JournalEntry[] => snapshotOf(journal);

describe('kill -9 and resume', () => {
  it('loses no event, never re-runs a command on its own, and puts the unknown step to the driver', async () => {
    const common = ['--plain', '--yes', '--confirm', 'cleanup_all', '--journal', journal];
    const snapshots: JournalEntry[][] = [];

    // 1. Killed in the middle of a command (docker compose down on the DM and Camera hosts).
    const first = cli(['run', 'rubin', '--profile', profile, ...common], {state: dir});
    await waitForEntry(journal, isStep('cleanup/dm-camera-down', 'step-started'));
    // Mid-command for real: the simulated docker on dm01 has started (it takes ~1 s).
    const callsLog = path.join(`${journal}.sim`, 'state', 'calls.log');
    await waitFor(
      () =>
        fs.existsSync(callsLog) &&
        /"host":"dm01","program":"docker","args":\["compose"[^\n]*"down"/.test(
          fs.readFileSync(callsLog, 'utf8'),
        ),
    );
    first.kill('SIGKILL');
    await first;
    snapshots.push(snapshot());
    expect(snapshots[0]!.some(isStep('cleanup/dm-camera-down', 'step-finished'))).toBe(false);
    // The simulated site's clock may speed up again: not part of the runbook.
    fs.writeFileSync(profile, fs.readFileSync(profile, 'utf8').replace('speed: 3', 'speed: 20'));

    // 2. Resumed: the step's outcome is unknown, so it is put to the driver. Killed at that prompt.
    const second = cli(
      ['resume', journal, '--plain', '--yes', '--confirm', 'cleanup_all', '--auto-delay', '600000'],
      {
        state: dir,
      },
    );
    const prompt = await waitForEntry(
      journal,
      (e) => e.type === 'prompt-shown' && e.prompt === 'unknown',
    );
    expect(prompt).toMatchObject({step: 'cleanup/dm-camera-down'});
    second.kill('SIGKILL');
    await second;
    snapshots.push(snapshot());

    // 3. Resumed again: the driver (by flag) says run it again. Killed while the count is watched.
    const third = cli(
      ['resume', journal, '--plain', '--yes', '--confirm', 'cleanup_all', '--on-unknown', 'rerun'],
      {
        state: dir,
      },
    );
    await waitForEntry(
      journal,
      (e) => e.type === 'count-sampled' && e.step === 'cleanup/federations-zero',
    );
    third.kill('SIGKILL');
    await third;
    snapshots.push(snapshot());

    // 4. Resumed to the end: the watch is safe to repeat and restarts on its own.
    const last = await cli(['resume', journal, '--plain', '--yes', '--confirm', 'cleanup_all'], {
      state: dir,
    });
    expect(last.all).toMatch(/session finished/);
    expect(last.exitCode).toBe(0);

    const final = readJournal(journal);
    expect(final.damage).toEqual([]);
    expect(final.entries.map((e) => e.seq)).toEqual(final.entries.map((_, i) => i + 1));
    // No event lost: what was on disk at each kill is a prefix of the final journal.
    for (const s of snapshots) expect(final.entries.slice(0, s.length)).toEqual(s);
    const entries = final.entries;
    expect(entries.filter((e) => e.type === 'session-resumed')).toHaveLength(3);
    expect(entries.find((e) => e.type === 'decision' && e.decision === 'retry')).toMatchObject({
      step: 'cleanup/dm-camera-down',
      by: 'tester@bastion (flag)',
    });
    expect(
      entries.filter(isStep('cleanup/federations-zero', 'step-started')).length,
    ).toBeGreaterThanOrEqual(2);
    expect(
      entries.some(
        (e) =>
          e.type === 'notice' &&
          e.step === 'cleanup/federations-zero' &&
          /safe to repeat/.test(e.text),
      ),
    ).toBe(true);

    // Count what really ran on the simulated hosts.
    const calls = fs
      .readFileSync(path.join(`${journal}.sim`, 'state', 'calls.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as {host: string; program: string; args: string[]});
    const runs = (host: string, needle: string) =>
      calls.filter((c) => c.host === host && `${c.program} ${c.args.join(' ')}`.includes(needle))
        .length;
    // Killed mid-run and re-run by the driver's decision: twice, and no more.
    expect(runs('dm01', 'compose -f /deployment/docker-compose.yaml down')).toBe(2);
    // Every other command ran exactly once.
    for (const host of ['auxtel01', 'm1m3', 'hexrot']) {
      expect(runs(host, 'compose -f /deployment/docker-compose.yaml down')).toBe(1);
      expect(runs(host, 'compose -f /deployment/docker-compose.yaml up')).toBe(1);
    }
    expect(runs('love', 'compose -f /deployment/love/docker-compose.yaml down')).toBe(1);
    expect(runs('k8s', 'cleanup_all -d')).toBe(1);
    expect(runs('ospl', 'stop ospl-daemon')).toBe(1);
    // And no command step started twice without a retry decision.
    const retried = new Set(
      entries
        .filter((e) => e.type === 'decision' && e.decision === 'retry')
        .map((e) => (e as {step: string}).step),
    );
    const started = new Map<string, number>();
    for (const e of entries)
      if (e.type === 'step-started') started.set(e.step, (started.get(e.step) ?? 0) + 1);
    const opened = entries[0]!;
    const kinds = new Map(
      opened.type === 'session-opened' ? opened.plan.steps.map((s) => [s.key, s.kind]) : [],
    );
    for (const [step, n] of started) {
      if (kinds.get(step) === 'command' && step !== 'cleanup/federations-before') {
        expect(n, step).toBe(retried.has(step) ? 2 : 1);
      }
    }
  }, 120_000);
});

/**
 * The same promise when the link dies instead of the process: a frozen peer (its sshd
 * session SIGSTOPped, caught by keepalive) or sshd killed under a command leaves the step
 * `unknown`. A plain `crewchief resume` then must not run it again: it asks, and with no
 * terminal to ask on it stops with status 5. Counted on the far side with a marker file.
 */
describe('a link that dies under a command (real sshd)', () => {
  let lab: SshLab;
  let work: string;
  beforeAll(async () => {
    lab = await startSshLab({aliases: 0});
    work = tempDir('cc-link-unknown-');
  });
  afterAll(async () => {
    lab?.target.thaw();
    for (const marker of fs.existsSync(work ?? '') ? fs.readdirSync(work) : [])
      if (marker.startsWith('runs-'))
        for (const pid of fs.readFileSync(path.join(work, marker), 'utf8').split('\n'))
          if (/^\d+$/.test(pid)) {
            try {
              process.kill(-Number(pid), 'SIGKILL');
            } catch {
              // gone already
            }
          }
    await lab?.close();
    fs.rmSync(work, {recursive: true, force: true});
  });

  async function setUp(name: string) {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, {recursive: true});
    const marker = path.join(work, `runs-${name}`);
    writeMachine(
      dir,
      'site',
      `export default site({id: 'migrations', title: 'Migrations', phases: [phase({id: 'db', title: 'Database', steps: [
  command({id: 'migrate', title: 'Migrate the schema', on: 'db1', run: ${JSON.stringify(
    `echo $$ >> ${marker}; echo started; sleep 20; echo ended`,
  )}}),
  command({id: 'after', title: 'After', on: 'db1', run: 'echo after'}),
]})]});`,
    );
    const profile = path.join(dir, 'lab.yaml');
    fs.writeFileSync(
      profile,
      [
        'site: migrations',
        'transport: ssh',
        'ssh:',
        `  config: ${lab.configFile}`,
        `  known_hosts: ${lab.knownHostsFile}`,
        `  identity: ${lab.keyPath}`,
        `  user: ${lab.user}`,
        '  strict_host_keys: "yes"',
        '  keepalive: {interval: 500ms, count: 2}',
        'hosts:',
        '  db1: {address: target}',
        '',
      ].join('\n'),
    );
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const journal = path.join(dir, 'session.jsonl');
    const env = {HOME: home, SSH_AUTH_SOCK: ''};
    const runs = (): number =>
      fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim().split('\n').length : 0;
    const run = (args: string[]) => cli(args, {state: dir, env});
    return {dir, profile, journal, runs, run, site: path.join(dir, 'site.ts')};
  }

  /** Breaks the link mid-command, then resumes twice: without flags, then with the driver's word. */
  async function breakAndResume(
    name: string,
    breakLink: () => Promise<void>,
    mend: () => Promise<void>,
  ) {
    const t = await setUp(name);
    const first = t.run(['run', t.site, '--profile', t.profile, '--plain', '--journal', t.journal]);
    await waitForEntry(t.journal, (e) => e.type === 'output' && e.step === 'db/migrate');
    expect(t.runs()).toBe(1);
    await breakLink();
    const ended = await first;
    // Unknown, never failed: put to the driver; no terminal, so it stops with 5.
    expect(ended.exitCode, ended.all).toBe(5);
    const afterFirst = readJournal(t.journal).entries;
    expect(
      afterFirst.find((e) => e.type === 'step-finished' && e.step === 'db/migrate'),
    ).toMatchObject({
      outcome: 'unknown',
    });
    expect(afterFirst.some((e) => e.type === 'prompt-shown' && e.prompt === 'unknown')).toBe(true);
    await mend();

    // A plain resume: the step is not run again; the driver is asked (no terminal: 5).
    const second = await t.run(['resume', t.journal, '--plain']);
    expect(second.exitCode, second.all).toBe(5);
    expect(second.stderr).toMatch(/needs the driver \(unknown\)/);
    const afterSecond = readJournal(t.journal).entries.slice(afterFirst.length);
    expect(afterSecond[0]).toMatchObject({type: 'session-resumed'});
    expect(afterSecond.find((e) => e.type === 'prompt-shown')).toMatchObject({
      step: 'db/migrate',
      prompt: 'unknown',
      runs: [{host: 'db1', command: expect.stringContaining('sleep 20')}],
    });
    expect(afterSecond.some((e) => e.type === 'step-started')).toBe(false);
    expect(t.runs()).toBe(1);

    // The driver says it did run: the session goes on and finishes; still one run.
    const third = await t.run(['resume', t.journal, '--plain', '--on-unknown', 'done']);
    expect(third.exitCode, third.all).toBe(0);
    expect(t.runs()).toBe(1);
    const last = readJournal(t.journal).entries;
    expect(last.filter((e) => e.type === 'step-started' && e.step === 'db/migrate')).toHaveLength(
      1,
    );
    expect(last.at(-1)).toMatchObject({type: 'session-closed', outcome: 'finished'});
  }

  it('a frozen peer (keepalive timeout): resume asks, runs nothing again', async () => {
    await breakAndResume(
      'frozen',
      async () => void expect(lab.target.freeze().length).toBeGreaterThan(0),
      async () => lab.target.thaw(),
    );
  }, 120_000);

  it('sshd killed mid-command: resume asks, runs nothing again', async () => {
    await breakAndResume(
      'killed',
      () => lab.target.stop(),
      () => lab.target.start(),
    );
  }, 120_000);
});

/**
 * Every shipped site, with its demo profile: killed (SIGKILL) as the middle command step
 * of its plan starts, resumed with the driver's answers given by flag, to the end. Nothing
 * on disk at the kill is lost, and no command step starts twice without a retry decision.
 */
const sites = [
  'rubin',
  'atmosphere',
  'atmosphere-hotfix',
  'powo',
  'wikimedia-service',
  'wikimedia-service-config',
  'resin',
  'resin-etcd',
];

/** Two at a time: the machine is shared. */
const slot = slots(2);

describe.concurrent('kill -9 mid-run and resume, every shipped site', {timeout: 600_000}, () => {
  let state: string;
  beforeAll(() => void (state = tempDir('cc-crash-sites-')));
  afterAll(() => fs.rmSync(state, {recursive: true, force: true}));

  for (const site of sites) {
    it(`${site}: resumed to the end, no event lost, no silent re-run`, async () => {
      const release = await slot.take();
      try {
        const journal = path.join(state, `${site}.jsonl`);
        const first = cli(['demo', site, '--plain', '--journal', journal], {state});
        const opened = await waitForEntry(journal, (e) => e.type === 'session-opened');
        if (opened.type !== 'session-opened') throw new Error('no session-opened');
        const kinds = new Map(opened.plan.steps.map((s) => [s.key, s.kind]));
        // A mid-point: as the third command step starts (branches count: some sites run
        // most of their commands inside a chosen branch).
        const commandStarts = (): JournalEntry[] =>
          entriesNow(journal).filter(
            (e) => e.type === 'step-started' && kinds.get(e.step) === 'command',
          );
        await waitFor(() => commandStarts().length >= 3, 120_000);
        const middle = commandStarts()[2] as Extract<JournalEntry, {type: 'step-started'}>;
        first.kill('SIGKILL');
        await first;
        const atKill = snapshotOf(journal);
        expect(atKill.some((e) => e.type === 'session-closed')).toBe(false);

        const resumed = await cli(
          [
            'resume',
            journal,
            '--plain',
            '--yes',
            '--confirm',
            'all',
            '--on-unknown',
            'rerun',
            '--on-failure',
            'abort',
            '--on-timeout',
            'abort',
          ],
          {state},
        );
        expect(resumed.exitCode, String(resumed.all).slice(-3000)).toBe(0);
        const final = readJournal(journal);
        expect(final.damage).toEqual([]);
        expect(final.entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'finished'});
        // Nothing lost: what was on disk at the kill is a prefix of the final journal.
        expect(final.entries.slice(0, atKill.length)).toEqual(atKill);
        expect(final.entries.map((e) => e.seq)).toEqual(final.entries.map((_, i) => i + 1));
        // No silent re-run: a command step starts again only on a retry decision, or on
        // its own when declared safe to repeat (and the journal says so).
        const starts = new Map<string, number>();
        const retries = new Map<string, number>();
        const again = (step: string) => retries.set(step, (retries.get(step) ?? 0) + 1);
        for (const e of final.entries) {
          if (e.type === 'step-started') starts.set(e.step, (starts.get(e.step) ?? 0) + 1);
          if (e.type === 'decision' && e.decision === 'retry') again(e.step);
          if (e.type === 'notice' && e.step && /safe to repeat/.test(e.text)) again(e.step);
        }
        for (const [step, n] of starts)
          if (kinds.get(step) === 'command')
            expect(n, `${site}: ${step} started ${n} times`).toBe(1 + (retries.get(step) ?? 0));
        // The step killed mid-run was put to the driver, who (by flag) said run it again.
        const unknown = final.entries.find(
          (e) => e.type === 'prompt-shown' && e.prompt === 'unknown',
        );
        const open = new Set<string>();
        for (const e of atKill) {
          if (e.type === 'step-started') open.add(e.step);
          if (e.type === 'step-finished') open.delete(e.step);
        }
        const unfinishedCommand = [...open].find((s) => kinds.get(s) === 'command');
        const restarted = (step: string) =>
          final.entries.some(
            (e) => e.type === 'notice' && e.step === step && /safe to repeat/.test(e.text),
          );
        console.log(
          `${site}: killed as ${middle.step} started (${atKill.length} events on disk); resumed to the end; ${unfinishedCommand ? `${unfinishedCommand} put to the driver` : 'no command in flight'}; events lost 0; silent re-runs 0`,
        );
        expect(
          unknown && 'step' in unknown ? unknown.step : undefined,
          `${site}: killed as ${middle.step} started`,
        ).toBe(unfinishedCommand && !restarted(unfinishedCommand) ? unfinishedCommand : undefined);
      } finally {
        release();
      }
    });
  }
});
