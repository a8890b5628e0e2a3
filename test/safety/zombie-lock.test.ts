/**
 * A crewchief killed -9 whose parent has not reaped it yet is a zombie: signals still
 * reach its pid, but it drives nothing. Its site lock and journal lock are stale: the next
 * crewchief takes them instead of saying "being driven by … process N" (seen when a
 * driver's terminal was killed and the demo started again at once).
 */
import {spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, expect, it} from 'vitest';
import {JournalLock, lockFileOf, processAlive} from '../../source/journal/lock.js';
import {FileLock} from '../../source/team/lock.js';
import {waitFor} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';

const dir = tempDir('cc-zombie-');
let parent: ChildProcess | undefined;
afterAll(() => {
  parent?.kill('SIGKILL');
  fs.rmSync(dir, {recursive: true, force: true});
});

const state = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
};

/** A process that has exited and that its parent (an exec'd sleep) never reaps. */
async function zombie(): Promise<number> {
  parent = spawn('sh', ['-c', 'sleep 0 & exec sleep 60'], {stdio: 'ignore'});
  const children = () =>
    fs
      .readFileSync(`/proc/${parent!.pid}/task/${parent!.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  let pid = 0;
  await waitFor(() => {
    pid = children()[0] ?? 0;
    return pid > 0 && state(pid) === 'Z';
  }, 10_000);
  return pid;
}

it.skipIf(process.platform !== 'linux')(
  'a zombie holds neither the site lock nor the journal lock',
  async () => {
    const pid = await zombie();
    expect(() => process.kill(pid, 0)).not.toThrow(); // signals still reach it
    expect(processAlive(pid)).toBe(false);
    expect(processAlive(process.pid)).toBe(true);

    const journal = path.join(dir, 'session.jsonl');
    fs.writeFileSync(
      lockFileOf(journal),
      `${JSON.stringify({pid, host: os.hostname(), user: 'ana', since: new Date().toISOString()})}\n`,
    );
    const lock = JournalLock.acquire(journal);
    expect(lock.tookOver?.pid).toBe(pid);
    lock.release();

    const locks = path.join(dir, 'locks');
    fs.mkdirSync(locks);
    const holder = {
      driver: 'ana@bastion',
      host: os.hostname(),
      since: new Date().toISOString(),
      site: 'rubin',
      profile: 'tts',
    };
    fs.writeFileSync(path.join(locks, 'rubin--tts.lock'), `${JSON.stringify({...holder, pid})}\n`);
    const site = FileLock.acquire(locks, {...holder, pid: process.pid});
    expect(JSON.parse(fs.readFileSync(path.join(locks, 'rubin--tts.lock'), 'utf8')).pid).toBe(
      process.pid,
    );
    site.release();
  },
);
