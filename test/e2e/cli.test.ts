import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';

let state: string;
beforeAll(() => {
  state = tempDir('cc-cli-');
});
afterAll(() => fs.rmSync(state, {recursive: true, force: true}));

describe('the command line', () => {
  it('prints help and version', async () => {
    const help = await cli(['--help'], {state});
    expect(help.exitCode).toBe(0);
    for (const command of ['run', 'resume', 'replay', 'validate', 'demo', 'graph', 'list']) {
      expect(help.stdout).toMatch(new RegExp(`crewchief ${command}\\b`));
    }
    expect(help.stdout).toMatch(/Exit status: 0 finished/);
    const version = await cli(['--version'], {state});
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('says what was expected on a usage error, with status 2', async () => {
    const cases: [string[], RegExp][] = [
      [['deploy'], /unknown command "deploy" \(expected run, resume, replay, /],
      [['run', 'rubin'], /run expects --profile NAME \(profiles for rubin: .*rubin-tts/],
      [['run'], /run expects one SITE/],
      [['run', 'nosuch', '--profile', 'rubin-tts'], /no site "nosuch" \(known: [^)]*rubin/],
      [['run', 'rubin', '--profile', 'nosuch'], /no profile "nosuch" \(known: .*rubin-tts/],
      [
        ['run', 'rubin', '--profile', 'rubin-tts', '--on-failure', 'pray'],
        /--on-failure expects one of abort, skip, retry, rollback, not "pray"/,
      ],
      [['run', 'rubin', '--colour'], /Unknown option '--colour'/],
      [['resume', 'no-such-session'], /no session "no-such-session"/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args, {state});
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.exitCode, args.join(' ')).toBe(2);
    }
  });

  it('never hangs at a prompt without a terminal: it stops, says what is needed, and the session resumes', async () => {
    const journal = path.join(state, 'no-tty.jsonl');
    const first = await cli(
      ['demo', '--plain', '--journal', journal, '--yes', '--choose', 'k8s-cleanup-result=nope'],
      {state},
    );
    // --choose names an option that does not exist, so the choice waits for the driver.
    expect(first.exitCode).toBe(5);
    expect(first.stderr).toMatch(/needs the driver \(choice\), and there is no terminal to ask on/);
    expect(first.stderr).toContain(`crewchief resume ${journal}`);
    const entries = readJournal(journal).entries;
    expect(entries.at(-1)).toMatchObject({
      type: 'session-left',
      reason: 'needs-driver',
      text: 'no terminal to answer a prompt',
    });
    expect(
      entries.some((e) => e.type === 'decision' && e.step === 'cleanup/k8s-cleanup-result'),
    ).toBe(false);

    const second = await cli(
      ['resume', journal, '--plain', '--yes', '--choose', 'k8s-cleanup-result=yes'],
      {state},
    );
    expect(second.all).toMatch(/session finished/);
    expect(second.exitCode).toBe(0);
  }, 60_000);

  it('runs nothing in a dry run and journals what would run', async () => {
    const journal = path.join(state, 'dry.jsonl');
    const result = await cli(
      [
        'run',
        'rubin',
        '--profile',
        'rubin-tts',
        '--dry-run',
        '--plain',
        '--yes',
        '--confirm',
        'cleanup_all',
        '--journal',
        journal,
      ],
      {state},
    );
    expect(result.exitCode).toBe(0);
    const entries = readJournal(journal).entries;
    expect(entries[0]).toMatchObject({type: 'session-opened', dryRun: true, transport: 'dry-run'});
    const runs = entries.flatMap((e) => (e.type === 'step-started' ? e.runs : []));
    expect(runs).toContainEqual({host: 'k8s', command: './cleanup_all -d'});
    // Nothing ran: the only output is where each command would have gone, hop by hop.
    const outputs = entries.flatMap((e) => (e.type === 'output' ? [`${e.host}: ${e.text}`] : []));
    expect(outputs.length).toBeGreaterThan(0);
    for (const line of outputs)
      expect(line).toMatch(
        /^\S+: \(dry run\) would connect: bastion\.tts\.example\.org \(.*\) → \S+/,
      );
    const me = os.userInfo().username;
    expect(outputs).toContain(
      `k8s: (dry run) would connect: bastion.tts.example.org (${me}@bastion.tts.example.org) → k8s-admin.tts.example.org (${me}@k8s-admin.tts.example.org)\n`,
    );
  });

  it('lists sites, profiles and sessions', async () => {
    const result = await cli(['list'], {state});
    expect(result.stdout).toMatch(/Sites:[\s\S]*\n\s+rubin\s+Rubin T&S deployment/);
    expect(result.stdout).toMatch(/rubin-tts-demo\s+site rubin/);
    expect(result.stdout).toMatch(/Sessions \(/);
  });

  it('prints the machine as a Mermaid state diagram', async () => {
    const result = await cli(['graph', 'rubin', '--profile', 'rubin-tts'], {state});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^stateDiagram-v2/);
    expect(result.stdout).toMatch(
      /cleanup_k8s_cleanup_result --> cleanup_k8s_cleanup_result_argocd_argocd_delete : argocd/,
    );
    // Summit-only steps are not in the TTS diagram.
    expect(result.stdout).not.toContain('heartbeats');
  });
});
