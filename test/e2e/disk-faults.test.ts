/**
 * Disk faults on the journal (issue 11, finding 7) on a real small filesystem: a tmpfs
 * mounted for the test (root only). ENOSPC in the middle of a session and EROFS at start
 * and at resume stop crewchief cleanly: exit 4, the file and the free space named, no
 * stack trace, nothing shown as a failed step, nothing run after the fault; once there
 * is room again, `resume` finishes the session.
 */
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';

let dir: string;
let mnt: string;
/** Why a real filesystem cannot be used here (printed with the skip). */
let cannotMount: string | undefined;

function sh(command: string, args: string[]): void {
  execFileSync(command, args, {stdio: 'pipe'});
}

beforeAll(() => {
  dir = tempDir('cc-disk-');
  mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  if (process.getuid?.() !== 0) {
    cannotMount = 'not root: cannot mount a small tmpfs';
  } else {
    try {
      sh('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt]);
    } catch (error) {
      cannotMount = `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  if (cannotMount) console.warn(`disk-fault tests on a real filesystem skipped: ${cannotMount}`);
});

afterAll(() => {
  if (!cannotMount) {
    try {
      sh('umount', [mnt]);
    } catch {
      sh('umount', ['-l', mnt]);
    }
  }
  fs.rmSync(dir, {recursive: true, force: true});
});

const noStack = (text: string): void => {
  expect(text).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
  expect(text).not.toMatch(/Uncaught|node:internal|\bError: E[A-Z]+:/);
};

describe('disk faults on the journal', () => {
  it('ENOSPC mid-session stops before the next step, exits 4 naming file and free space; resume finishes once there is room', async (ctx) => {
    if (cannotMount) ctx.skip(`skipped: ${cannotMount}`);
    const marker = path.join(dir, 'second-ran');
    const machine = writeMachine(
      dir,
      'fill',
      `export default site({id: 'fill', title: 'Fill', phases: [phase({id: 'p', title: 'P', steps: [
        command({id: 'flood', title: 'Print a lot', run: "head -c 900000 /dev/zero | tr '\\\\0' x | fold -w 100"}),
        command({id: 'second', title: 'Leave a mark', run: 'touch ${marker}'}),
      ]})]});`,
    );
    const profile = writeFile(dir, 'fill.yaml', 'site: fill\ntransport: local\n');
    const journal = path.join(mnt, 'fill.jsonl');
    const run = await cli(
      ['run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
      {
        state: dir,
      },
    );
    const out = run.all ?? '';
    expect(run.exitCode, out).toBe(4);
    expect(out).toContain(journal);
    expect(out).toMatch(/no space left on device/i);
    expect(out).toMatch(/free/);
    expect(out).toMatch(/crewchief resume/);
    noStack(out);
    // Never shown as a failed step; nothing ran after the fault.
    expect(out).not.toMatch(/failed/i);
    expect(fs.existsSync(marker)).toBe(false);

    // Read-only now: resume refuses cleanly.
    sh('mount', ['-o', 'remount,ro', mnt]);
    const ro = await cli(['resume', journal, '--plain', '--yes', '--on-unknown', 'rerun'], {
      state: dir,
    });
    expect(ro.exitCode, ro.all).toBe(4);
    expect(ro.all).toContain(journal);
    expect(ro.all).toMatch(/read-only file system/i);
    noStack(ro.all ?? '');

    // Room again: resume goes on and finishes.
    sh('mount', ['-o', 'remount,rw,size=8m', mnt]);
    const resumed = await cli(['resume', journal, '--plain', '--yes', '--on-unknown', 'rerun'], {
      state: dir,
    });
    expect(resumed.exitCode, resumed.all).toBe(0);
    expect(resumed.all).toMatch(/session finished/);
    expect(fs.existsSync(marker)).toBe(true);
  }, 120_000);

  it('EROFS at start: exit 4, the file named, no stack trace', async (ctx) => {
    if (cannotMount) ctx.skip(`skipped: ${cannotMount}`);
    const machine = writeMachine(
      dir,
      'tiny',
      `export default site({id: 'tiny', title: 'Tiny', phases: [phase({id: 'p', title: 'P', steps: [
        command({id: 'one', title: 'One', run: 'true'}),
      ]})]});`,
    );
    const profile = writeFile(dir, 'tiny.yaml', 'site: tiny\ntransport: local\n');
    const journal = path.join(mnt, 'ro', 'tiny.jsonl');
    fs.mkdirSync(path.dirname(journal), {recursive: true});
    sh('mount', ['-o', 'remount,ro', mnt]);
    try {
      const run = await cli(
        ['run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
        {
          state: dir,
        },
      );
      expect(run.exitCode, run.all).toBe(4);
      expect(run.all).toContain(journal);
      expect(run.all).toMatch(/read-only file system/i);
      expect(run.all).toMatch(/free/);
      noStack(run.all ?? '');
    } finally {
      sh('mount', ['-o', 'remount,rw', mnt]);
    }
  }, 60_000);
});
