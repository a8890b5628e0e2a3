/**
 * The exact text sent to sshd for a request, and the reading of the process-group id the
 * wrapper prints before the command runs.
 *
 * sshd runs an exec request as `$SHELL -c TEXT` in a new session (it calls setsid), so the
 * login shell is its own process-group leader. `exec sh -c SCRIPT` keeps that pid, the
 * script prints it, then runs the command: killing `-PID` from a second channel stops
 * the command and everything it started. ssh2's `signal()` cannot do this: sshd ignores
 * it for root logins and ssh2 drops it after `end()`. `setsid` is used only when the
 * shell is not a group leader: for a leader it forks, and the exit status would be lost.
 */
import {commandScript, PICK_SHELL, shellQuote} from '../shell.js';
import type {HostSpec, RunRequest} from '../types.js';

export {shellPath, shellQuote} from '../shell.js';

/** The marker line the wrapper writes to stdout first: RS, text, pid, RS, newline. */
export const PID_MARKER_PREFIX = '\x1ecrewchief:pid=';

/** The shell text run on the host (see ../shell.ts). */
export const remoteScript = (request: RunRequest, host: HostSpec): string =>
  commandScript(request, host);

/**
 * If the login shell does not lead its process group (a ForceCommand wrapper that forks,
 * say), `setsid` makes the command a group of its own: not being a leader, it needs no
 * fork, so the exit status stays the command's.
 */
const LEAD_GROUP =
  'set --; if [ -r /proc/$$/stat ] && read -r _ _ _ _ g _ </proc/$$/stat && [ "$g" != "$$" ] ' +
  '&& command -v setsid >/dev/null 2>&1; then set -- setsid; fi; ';

/** The exec request text: prints the process-group id, then runs the script. */
export function wrapForGroupKill(script: string): string {
  const announce = `printf '${PID_MARKER_PREFIX.replace('\x1e', '\\036')}%s\\036\\n' "$$"`;
  // The one shell: bash where the host has it, else sh (PICK_SHELL, ../shell.ts).
  return `${LEAD_GROUP}${PICK_SHELL}exec "$@" "$CREWCHIEF_SH" -c ${shellQuote(`${announce}\n${script}`)}`;
}

/** Kills a process group (or, if the pid leads none, the process) with a signal. */
export function killCommand(pids: readonly number[], signal: 'TERM' | 'KILL'): string {
  return (
    pids
      // `kill -SIG -PGID`, not `kill -SIG -- -PGID`: dash's kill does not take `--`.
      .map((pid) => `kill -${signal} -${pid} 2>/dev/null || kill -${signal} ${pid} 2>/dev/null`)
      .concat('true')
      .join('; ')
  );
}

/**
 * Splits the wrapper's pid line out of stdout. Anything a login script printed before it
 * is passed through; after 64 KiB without a marker it gives up and passes everything.
 */
export class PidLineReader {
  private pending: Buffer | undefined = Buffer.alloc(0);
  pid: number | undefined;

  constructor(
    private readonly forward: (chunk: Buffer) => void,
    private readonly onPid: (pid: number) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.pending === undefined) {
      this.forward(chunk);
      return;
    }
    const data = Buffer.concat([this.pending, chunk]);
    const text = data.toString('latin1');
    const start = text.indexOf(PID_MARKER_PREFIX);
    if (start >= 0) {
      const end = text.indexOf('\n', start);
      if (end < 0) {
        this.pending = data;
        return;
      }
      const match = /^(\d+)\x1e\r?$/.exec(text.slice(start + PID_MARKER_PREFIX.length, end));
      this.pending = undefined;
      if (start > 0) this.forward(data.subarray(0, start));
      if (match?.[1]) {
        this.pid = Number(match[1]);
        this.onPid(this.pid);
      } else {
        this.forward(data.subarray(start, end + 1));
      }
      if (end + 1 < data.length) this.forward(data.subarray(end + 1));
      return;
    }
    if (data.length > 65_536) {
      this.pending = undefined;
      this.forward(data);
      return;
    }
    // Keep a possible partial marker at the end; pass the rest through.
    const lastRs = text.lastIndexOf('\x1e');
    const keepFrom = lastRs >= 0 && text.length - lastRs < 40 ? lastRs : data.length;
    if (keepFrom > 0) this.forward(data.subarray(0, keepFrom));
    this.pending = data.subarray(keepFrom);
  }

  /** The stream ended: whatever was held back goes out. */
  end(): void {
    if (this.pending && this.pending.length) this.forward(this.pending);
    this.pending = undefined;
  }
}
