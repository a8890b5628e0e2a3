import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {cli, waitFor, waitForEntry} from '../helpers/cli.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';

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
const snapshot = (): JournalEntry[] => readJournal(journal).entries;

describe('kill -9 and resume', () => {
  it('loses no event, never re-runs a command on its own, and puts the unknown step to the driver', async () => {
    const common = ['--plain', '--yes', '--journal', journal];
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
    const second = cli(['resume', journal, '--plain', '--yes', '--auto-delay', '600000'], {
      state: dir,
    });
    const prompt = await waitForEntry(
      journal,
      (e) => e.type === 'prompt-shown' && e.prompt === 'unknown',
    );
    expect(prompt).toMatchObject({step: 'cleanup/dm-camera-down'});
    second.kill('SIGKILL');
    await second;
    snapshots.push(snapshot());

    // 3. Resumed again: the driver (by flag) says run it again. Killed while the count is watched.
    const third = cli(['resume', journal, '--plain', '--yes', '--on-unknown', 'rerun'], {
      state: dir,
    });
    await waitForEntry(
      journal,
      (e) => e.type === 'count-sampled' && e.step === 'cleanup/federations-zero',
    );
    third.kill('SIGKILL');
    await third;
    snapshots.push(snapshot());

    // 4. Resumed to the end: the watch is safe to repeat and restarts on its own.
    const last = await cli(['resume', journal, '--plain', '--yes'], {state: dir});
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
