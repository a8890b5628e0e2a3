/**
 * ControlMasters must not outlive the crewchief that started them, even one killed with
 * `kill -9` (which runs no exit handler).
 *
 * - Where util-linux's `setpriv` is there (Linux), a master is started through
 *   `setpriv --pdeathsig TERM`: the kernel sends it SIGTERM the moment its parent dies,
 *   and ssh then closes the connection and removes its socket.
 * - Everywhere, each transport writes its pid into its socket directory (`owner`), and a
 *   transport starting next to it ends the masters of directories whose owner is gone
 *   (`ssh -O exit` on each socket) and removes them.
 */
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

/** The file in a socket directory naming the process that owns its masters. */
const OWNER = 'owner';

/** Socket directories crewchief makes: next to a journal, or in the temp dir. */
export const SOCKET_DIR = /^(\.ssh-[0-9a-f]{8}|cc-ssh-.+)$/;

let deathSignal: readonly string[] | undefined;

/**
 * The command prefix that ties a master's life to crewchief's: `setpriv --pdeathsig TERM
 * --` where it works, else nothing (the next start reaps instead).
 */
export function tiedToParent(): readonly string[] {
  deathSignal ??=
    spawnSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], {stdio: 'ignore'}).status === 0
      ? ['setpriv', '--pdeathsig', 'TERM', '--']
      : [];
  return deathSignal;
}

/** Marks a socket directory as this process's. */
export function claimSocketDir(dir: string, pid = process.pid): void {
  writeFileSync(join(dir, OWNER), `${pid}\n`);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, someone else's
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Asks the master on a socket to exit; resolves when ssh has answered (or after 5 s). */
function exitMaster(ssh: string, socket: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(
      ssh,
      ['-F', '/dev/null', '-o', `ControlPath=${socket}`, '-O', 'exit', 'x'],
      {
        stdio: 'ignore',
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    child.once('error', done);
    child.once('close', done);
  });
}

/** Masters a dead owner left in a socket directory. */
export interface Reaped {
  dir: string;
  /** The owner that is gone. */
  pid: number;
  /** Masters that answered `-O exit`. */
  masters: number;
}

/** The owner of a socket directory if it is gone (not this process), else undefined. */
function deadOwner(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, OWNER), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) return undefined;
  return pid;
}

/** Ends the masters in a directory whose owner is gone (sockets left in place are stale). */
export async function endOrphanedMasters(dir: string, ssh: string): Promise<Reaped | undefined> {
  const pid = deadOwner(dir);
  if (pid === undefined) return undefined;
  let sockets: string[];
  try {
    sockets = readdirSync(dir).filter((f) => f.startsWith('cm-'));
  } catch {
    return undefined;
  }
  await Promise.all(sockets.map((s) => exitMaster(ssh, join(dir, s))));
  return {dir, pid, masters: sockets.filter((s) => !existsSync(join(dir, s))).length};
}

/**
 * Ends the masters left in crewchief's socket directories under `parent` whose owner is
 * gone, and removes those directories. Directories without an owner file are left alone.
 */
export async function reapStaleMasters(
  parent: string,
  options: {ssh: string; keep?: string},
): Promise<Reaped[]> {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const reaped: Reaped[] = [];
  for (const name of names) {
    const dir = join(parent, name);
    if (!SOCKET_DIR.test(name) || dir === options.keep) continue;
    const ended = await endOrphanedMasters(dir, options.ssh);
    if (!ended) continue;
    rmSync(dir, {recursive: true, force: true});
    reaped.push(ended);
  }
  return reaped;
}
