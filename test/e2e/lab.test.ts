/**
 * The README's recipe for the real path, followed as written: `crewchief lab rubin` starts
 * a bastion and a target sshd around the simulated site and prints the command to run;
 * that command runs the Rubin demo to the end over real SSH through the jump host; SIGTERM
 * stops the lab and both sshd with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {startLab} from '../../source/lab/site.js';
import {loadProfile, resolveSecret} from '../../source/runbook/profile.js';
import {cli, waitFor} from '../helpers/cli.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';

const scratch = tempDir('cc-lab-');
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  fs.rmSync(scratch, {recursive: true, force: true});
});

/** Whether a process is alive (and not a zombie left for its parent to reap). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('crewchief lab', {timeout: 240_000}, () => {
  it('rubin: the printed run command finishes the demo through the bastion; SIGTERM stops both sshd', async () => {
    const dir = path.join(scratch, 'lab');
    const lab = cli(['lab', 'rubin', '--dir', dir, '--speed', '50'], {state: scratch});
    let printed = '';
    lab.all?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    let exited = false;
    void lab.finally(() => (exited = true));
    await waitFor(() => exited || printed.includes('Ctrl-C stops both sshd.'), 60_000);
    expect(printed).toContain('Ctrl-C stops both sshd.');

    const pids = [...printed.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    started.push(...pids);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    const targetPort = /target\s+sshd on 127\.0\.0\.1:(\d+)/.exec(printed)?.[1];
    expect(targetPort).toBeDefined();

    // The command exactly as printed, unattended: gates by --yes, the danger step by its word.
    const command = /^ {2}crewchief (run .*)$/m.exec(printed)?.[1];
    expect(command).toBe(`run rubin --profile ${path.join(dir, 'profile.yaml')}`);
    const journal = path.join(scratch, 'session.jsonl');
    const run = await cli(
      [
        ...command!.split(' '),
        '--plain',
        '--yes',
        '--confirm',
        'cleanup_all',
        '--journal',
        journal,
      ],
      {state: scratch, env: {HOME: scratch, SSH_AUTH_SOCK: ''}},
    );
    expect(run.exitCode, String(run.all).slice(-3000)).toBe(0);

    const {entries} = readJournal(journal);
    const closed = entries.find((e) => e.type === 'session-closed');
    expect(closed?.type === 'session-closed' && closed.outcome).toBe('finished');
    const hosts = new Set(
      entries.flatMap((e) => (e.type === 'host-finished' && e.outcome === 'ok' ? [e.host] : [])),
    );
    for (const host of ['ospl', 'k8s', 'dm01', 'camera01']) expect([...hosts]).toContain(host);

    // Every command reached the target through the bastion: the bastion forwarded channels
    // to the target's port, and the target ran the commands.
    const bastionLog = fs.readFileSync(path.join(dir, 'bastion.log'), 'utf8');
    expect(bastionLog).toMatch(
      new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${targetPort}\\b`),
    );
    const targetLog = fs.readFileSync(path.join(dir, 'target.log'), 'utf8');
    expect(targetLog).toMatch(/Starting session: command for \S+ from 127\.0\.0\.1/);

    lab.kill('SIGTERM');
    const ended = await lab;
    expect(ended.exitCode).toBe(0);
    expect(printed).toContain('crewchief lab: SIGTERM: stopped the bastion and target sshd');
    await waitFor(() => !pids.some(alive), 10_000);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('resin: the secrets its demo profile names beside itself are still found from the lab directory', async () => {
    const lab = await startLab({
      demoProfile: path.join(repoRoot, 'profiles', 'resin-demo.yaml'),
      dir: path.join(scratch, 'resin'),
    });
    started.push(lab.bastion.pid, lab.target.pid);
    try {
      const profile = loadProfile(lab.profileFile);
      expect(profile.transport).toBe('ssh');
      expect(Object.keys(profile.secrets)).toContain('ADMIN_TOKEN');
      for (const [name, ref] of Object.entries(profile.secrets))
        expect(resolveSecret(name, ref).length, name).toBeGreaterThan(0);
    } finally {
      await lab.stop();
    }
    expect([lab.bastion.pid, lab.target.pid].filter(alive)).toEqual([]);
  });

  it('a lab killed with SIGKILL takes both sshd with it (nothing left listening)', async () => {
    const dir = path.join(scratch, 'killed');
    const lab = cli(['lab', 'rubin', '--dir', dir], {state: scratch});
    let printed = '';
    lab.all?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    let exited = false;
    void lab.catch(() => undefined).finally(() => (exited = true));
    await waitFor(() => exited || printed.includes('Ctrl-C stops both sshd.'), 60_000);
    const pids = [...printed.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    started.push(...pids);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    lab.kill('SIGKILL');
    await waitFor(() => exited, 10_000);
    await waitFor(() => !pids.some(alive), 10_000);
    expect(pids.filter(alive)).toEqual([]);
  });
});
