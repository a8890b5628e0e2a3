/**
 * Runs commands on this machine with execa. Each command gets its own process group, so
 * a timeout or a cancel kills the grandchildren too (execa's own timeout kills only the
 * direct child, and a grandchild holding the pipe keeps the command alive).
 *
 * A HostSpec target runs locally too, with the host's env and prelude and
 * CREWCHIEF_HOST set: that is how the simulated sites stand in for real hosts.
 */
import {execa} from 'execa';
import {commandScript, localShell} from './shell.js';
import {
  hostName,
  type OutputSink,
  type RunRequest,
  type RunResult,
  type RunningCommand,
  type Transport,
} from './types.js';

/** How long a process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * bash reads ~/.bashrc even for `bash -c` when its stdin is a socket (it takes itself for
 * a shell started by sshd), and Node's stdio pipes are socket pairs. So a crewchief started
 * without SHLVL (env -i, cron, systemd) ran the driver's ~/.bashrc before every local
 * command: slow, and whatever it prints or locks (pyenv's rehash lock held a step 30 s).
 * SHLVL of at least 1 makes bash skip it, as it does in the driver's own terminal.
 */
function quietBash(): Record<string, string> {
  const level = Number(process.env['SHLVL']);
  return Number.isFinite(level) && level >= 1 ? {} : {SHLVL: '1'};
}

export function createLocalTransport(options: {env?: Record<string, string>} = {}): Transport {
  installExitHook();
  return {
    kind: 'local',
    start(request: RunRequest, sink: OutputSink): RunningCommand {
      const started = performance.now();
      const env: Record<string, string> = {...options.env, ...quietBash()};
      if (request.host !== 'local') env['CREWCHIEF_HOST'] = hostName(request.host);
      // The one shell (see ./shell.ts): bash when this machine has it, as on the targets.
      const child = execa(
        localShell(),
        ['-c', commandScript(request, request.host === 'local' ? undefined : request.host)],
        {
          detached: true,
          buffer: false,
          stdin: 'pipe',
          reject: false,
          env,
          encoding: 'buffer',
        },
      );
      const pid = child.pid;
      if (pid) liveGroups.add(pid);
      let timedOut = false;
      let canceled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (): void => {
        if (!pid) return;
        killGroup(pid, 'SIGTERM');
        killTimer ??= setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
      };
      const timer =
        request.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              stop();
            }, request.timeoutMs)
          : undefined;
      const onAbort = (): void => {
        canceled = true;
        stop();
      };
      if (request.signal?.aborted) onAbort();
      request.signal?.addEventListener('abort', onAbort, {once: true});
      child.stdout?.on('data', (chunk: Buffer) => sink.stdout(chunk));
      child.stderr?.on('data', (chunk: Buffer) => sink.stderr(chunk));
      child.stdin?.on('error', () => {
        // the command exited before reading its input
      });

      const done = child.then((result): RunResult => {
        if (timer) clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        request.signal?.removeEventListener('abort', onAbort);
        if (pid) {
          // Whatever the command left behind in its group goes with it.
          killGroup(pid, 'SIGKILL');
          liveGroups.delete(pid);
        }
        const failedToStart =
          result.exitCode === undefined && !result.signal && !timedOut && !canceled;
        return {
          exitCode: result.exitCode ?? null,
          ...(result.signal ? {signal: result.signal} : {}),
          timedOut,
          canceled,
          ...(failedToStart ? {error: result.shortMessage} : {}),
          durationMs: performance.now() - started,
        };
      });
      return {
        done,
        write(text: string) {
          child.stdin?.write(text);
        },
      };
    },
    async close() {
      for (const pid of liveGroups) killGroup(pid, 'SIGTERM');
    },
  };
}
