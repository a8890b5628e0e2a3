/**
 * The lock on a session's journal (issue 11, finding 5): whatever the state directory,
 * one crewchief at a time has a journal; a lock whose process is gone is taken over; a
 * lock held on another host is refused unless taken over with a reason; the lock goes
 * when the journal closes.
 */
import {execa} from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {afterAll, describe, expect, it} from 'vitest';
import {JournalWriter} from '../../source/journal/file.js';
import {JournalLock, JournalLockError, lockFileOf} from '../../source/journal/lock.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, {recursive: true, force: true});
});
const journalIn = (): string => {
  const dir = tempDir('cc-jlock-');
  dirs.push(dir);
  return path.join(dir, 'session.jsonl');
};

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = await execa('node', ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout);
}

describe('the journal lock', () => {
  it('names its holder, refuses a second taker, and is gone once released', () => {
    const journal = journalIn();
    const lock = JournalLock.acquire(journal, {driver: 'alice@a'});
    const holder = JSON.parse(fs.readFileSync(lockFileOf(journal), 'utf8'));
    expect(holder).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
      user: os.userInfo().username,
      driver: 'alice@a',
    });
    let refusal: unknown;
    try {
      JournalLock.acquire(journal, {driver: 'bob@b'});
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(JournalLockError);
    expect((refusal as JournalLockError).code).toBe('locked');
    expect((refusal as Error).message).toContain(
      `${journal} is in use by another crewchief: process ${process.pid} on ${os.hostname()}, user ${os.userInfo().username}, driving as alice@a`,
    );
    lock.release();
    expect(fs.existsSync(lockFileOf(journal))).toBe(false);
    JournalLock.acquire(journal).release();
  });

  it('takes over a lock whose process is gone on this host, and says so', async () => {
    const journal = journalIn();
    const pid = await deadPid();
    const stale = {pid, host: os.hostname(), user: 'carol', since: '2026-12-01T10:00:00.000Z'};
    fs.writeFileSync(lockFileOf(journal), JSON.stringify(stale));
    const lock = JournalLock.acquire(journal);
    expect(lock.tookOver).toMatchObject(stale);
    expect(lock.notice).toContain(`left by process ${pid} on ${os.hostname()} (user carol`);
    expect(JSON.parse(fs.readFileSync(lockFileOf(journal), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another, younger process', () => {
    const journal = journalIn();
    const reused = {
      pid: process.pid,
      host: os.hostname(),
      user: 'dave',
      since: '2026-12-01T10:00:00.000Z',
      started: '1',
    };
    fs.writeFileSync(lockFileOf(journal), JSON.stringify(reused));
    const lock = JournalLock.acquire(journal);
    expect(lock.tookOver).toMatchObject({user: 'dave'});
    lock.release();
  });

  it('refuses a lock held on another host unless taken over with a reason', () => {
    const journal = journalIn();
    const remote = {pid: 4242, host: 'bastion-9', user: 'erin', since: '2026-12-01T10:00:00.000Z'};
    fs.writeFileSync(lockFileOf(journal), JSON.stringify(remote));
    expect(() => JournalLock.acquire(journal)).toThrow(
      /process 4242 on bastion-9, user erin[\s\S]*--take-over "REASON"/,
    );
    const lock = JournalLock.acquire(journal, {takeOver: 'bastion-9 is gone'});
    expect(lock.tookOver).toMatchObject({host: 'bastion-9'});
    lock.release();
  });

  it('is held until the journal closes, whoever closes it', () => {
    const journal = journalIn();
    const lock = JournalLock.acquire(journal);
    const writer = JournalWriter.create(journal, 's-1');
    lock.holdUntilClosed(writer);
    expect(fs.existsSync(lockFileOf(journal))).toBe(true);
    writer.close();
    expect(fs.existsSync(lockFileOf(journal))).toBe(false);
  });

  it('is released when the process exits, also without closing the journal', async () => {
    const journal = journalIn();
    // The built module (npm run build), as the CLI runs it.
    const built = pathToFileURL(path.join(repoRoot, 'dist', 'source', 'journal', 'lock.js')).href;
    const script = `const {JournalLock} = await import(${JSON.stringify(built)});
      JournalLock.acquire(${JSON.stringify(journal)});
      process.stdout.write('locked');`;
    const run = await execa('node', ['--input-type=module', '-e', script], {reject: false});
    expect(run.stdout, run.stderr).toBe('locked');
    expect(fs.existsSync(lockFileOf(journal))).toBe(false);
  });
});
