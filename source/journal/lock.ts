/**
 * The lock on a session's journal: one crewchief writes a journal at a time, whatever
 * its state directory, user or shell. The lock is `<journal>.lock` beside the journal,
 * created atomically (written whole under a private name, then hard-linked in, which
 * fails when the name exists: O_EXCL without a half-written lock), naming its holder:
 * pid, host, user, driver, since, and the process's start time. It is taken before the
 * journal is read (resume) or created (a new session), held for the whole session and
 * removed when the journal closes, on every way out, and at process exit.
 *
 * A lock whose process is gone on this host (or whose pid now belongs to a younger
 * process) is stale: it is taken over, and the session's own take-over rules then
 * decide whether this driver may go on. A lock held on another host cannot be checked
 * from here: it is refused unless the driver takes over with a reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {JournalWriteError} from './file.js';

export interface JournalLockHolder {
  pid: number;
  host: string;
  user: string;
  /** Who drives (CREWCHIEF_DRIVER or user@host). */
  driver?: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The process's start time (Linux: /proc/PID/stat), to tell a reused pid apart. */
  started?: string;
}

/** Another crewchief has the journal (exit status 6), or the lock cannot be made (4). */
export class JournalLockError extends Error {
  constructor(
    message: string,
    readonly code: 'locked' | 'journal',
    readonly holder?: JournalLockHolder,
  ) {
    super(message);
  }
}

export const lockFileOf = (journal: string): string => `${journal}.lock`;

/** A process's start time in clock ticks since boot (Linux), or undefined. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether the holder's process is certainly gone (only decidable on this host). */
function gone(holder: JournalLockHolder): boolean {
  if (holder.host !== os.hostname()) return false;
  if (!alive(holder.pid)) return true;
  const started = processStart(holder.pid);
  return !!holder.started && !!started && started !== holder.started;
}

/**
 * Removes a lock file whose holder is gone: moves it aside, and puts it back if it was not
 * the one looked at (another crewchief replaced it meanwhile: that one wins). True when
 * the stale lock was the one removed.
 */
export function removeStaleLock<H extends {pid: number; since: string}>(
  file: string,
  stale: H,
  read: (file: string) => H | undefined,
): boolean {
  const aside = `${file}.${process.pid}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return false;
  }
  const moved = read(aside);
  const same = !moved || (moved.pid === stale.pid && moved.since === stale.since);
  if (!same) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // Someone else holds it now; they win.
    }
  }
  fs.rmSync(aside, {force: true});
  return same;
}

function readHolder(file: string): JournalLockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as JournalLockHolder;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

const userName = (): string => {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
};

export function describeJournalHolder(journal: string, holder: JournalLockHolder): string {
  const since = holder.since.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return `${journal} is in use by another crewchief: process ${holder.pid} on ${holder.host}, user ${holder.user}${holder.driver ? `, driving as ${holder.driver}` : ''}, since ${since} (lock ${lockFileOf(journal)})`;
}

const held = new Set<JournalLock>();
let exitHook = false;

export class JournalLock {
  private released = false;

  private constructor(
    /** The journal (absolute path). */
    readonly journal: string,
    readonly file: string,
    private readonly mine: JournalLockHolder,
    /** The stale lock this one replaced, if any. */
    readonly tookOver: JournalLockHolder | undefined,
  ) {}

  /**
   * Takes the lock of a journal (which need not exist yet). Throws JournalLockError.
   * `takeOver` (the driver's reason) also breaks a lock held on another host.
   */
  static acquire(journal: string, who: {driver?: string; takeOver?: string} = {}): JournalLock {
    const absolute = path.resolve(journal);
    const file = lockFileOf(absolute);
    const mine: JournalLockHolder = {
      pid: process.pid,
      host: os.hostname(),
      user: userName(),
      ...(who.driver ? {driver: who.driver} : {}),
      since: new Date().toISOString(),
      ...(processStart(process.pid) ? {started: processStart(process.pid)!} : {}),
    };
    const text = `${JSON.stringify(mine)}\n`;
    let tookOver: JournalLockHolder | undefined;
    let last: JournalLockHolder | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const temp = `${file}.${process.pid}.${attempt}.new`;
      try {
        fs.mkdirSync(path.dirname(absolute), {recursive: true, mode: 0o700});
        fs.writeFileSync(temp, text, {mode: 0o644});
        fs.linkSync(temp, file);
        const lock = new JournalLock(absolute, file, mine, tookOver);
        held.add(lock);
        if (!exitHook) {
          exitHook = true;
          process.on('exit', () => {
            for (const l of [...held]) l.release();
          });
        }
        return lock;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST')
          // A lock that cannot be written is a journal that cannot be written: say it the
          // same way (the fault and the free space), exit 4.
          throw new JournalLockError(
            `${JournalWriteError.from(absolute, error).message} (taking its lock ${file})`,
            'journal',
          );
      } finally {
        fs.rmSync(temp, {force: true});
      }
      const current = readHolder(file);
      if (!current) {
        // Removed meanwhile, or (a crash mid-write of an older crewchief) unreadable.
        if (fs.existsSync(file) && attempt >= 5) fs.rmSync(file, {force: true});
        continue;
      }
      last = current;
      const breakable = gone(current) || (current.host !== mine.host && !!who.takeOver);
      if (!breakable) {
        throw new JournalLockError(
          `${describeJournalHolder(absolute, current)}.\nOne crewchief writes a journal at a time. Follow it read-only with crewchief replay --follow ${absolute}${current.host !== mine.host ? `; if that crewchief is gone (its host lost), take the session over and say why: crewchief resume ${absolute} --take-over "REASON"` : ''}`,
          'locked',
          current,
        );
      }
      if (removeStaleLock(file, current, readHolder)) tookOver = current;
    }
    throw new JournalLockError(
      last
        ? describeJournalHolder(absolute, last)
        : `cannot take the lock of the journal ${absolute} (${file})`,
      'locked',
      last,
    );
  }

  /** Said to the driver when a stale lock was taken over. */
  get notice(): string | undefined {
    const t = this.tookOver;
    if (!t) return undefined;
    return `took over the lock of ${this.journal} left by process ${t.pid} on ${t.host} (user ${t.user}, since ${t.since}), which is gone`;
  }

  /** Holds the lock until the journal closes (whoever closes it, on whatever path). */
  holdUntilClosed(journal: {close(): void}): void {
    const close = journal.close.bind(journal);
    journal.close = () => {
      try {
        close();
      } finally {
        this.release();
      }
    };
  }

  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this);
    const current = readHolder(this.file);
    if (current && current.pid === this.mine.pid && current.since === this.mine.since) {
      fs.rmSync(this.file, {force: true});
    }
  }
}
