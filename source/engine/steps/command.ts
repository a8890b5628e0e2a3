/** Command steps: run on their hosts (in parallel with a limit, or in rolling batches). */
import {setMaxListeners} from 'node:events';
import {parseDuration} from '../../runbook/duration.js';
import type {Capture, CommandStep} from '../../runbook/vocabulary.js';
import {shellPath} from '../../transport/shell.js';
import {hostName, runToText, type HostSpec, type RunResult} from '../../transport/types.js';
import type {StepInput, StepResult} from '../machine.js';
import {OutputRecorder} from '../output.js';
import {startBackground} from './background.js';
import {journalAttempt, verifyHost} from './check.js';
import {
  DEFAULT_TIMEOUT,
  fillCommand,
  fillText,
  retrying,
  retryPlan,
  sleep,
  stepOf,
  targets,
  transportFor,
  type StepServices,
} from './shared.js';

/** Runs a command step on its hosts (parallel with a limit, or rolling in batches). */
export async function runCommand(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {resolved, step} = stepOf<CommandStep>(services, input.key);
  const started = performance.now();
  let text: string;
  let shown: string;
  try {
    ({run: text, shown} = fillCommand(services, step.run, input.vars));
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  // A retry (or a re-run after a crash) never runs again on a host where it succeeded.
  const succeeded = services.succeededHosts.get(input.key) ?? new Set<string>();
  services.succeededHosts.set(input.key, succeeded);
  let all: ReturnType<typeof targets>;
  try {
    all = targets(services, resolved, input.vars);
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  // Every host's command listens on the step's signal: a 50-host fan-out is not a leak.
  setMaxListeners(Math.max(10, all.length * 2 + 10), signal);
  const excluded = services.excludedHosts?.get(input.key) ?? new Set<string>();
  const walked = all.filter((h) => !excluded.has(hostName(h)));
  const hosts = walked.filter((h) => !succeeded.has(hostName(h)));
  services.append({
    type: 'step-started',
    step: input.key,
    runs: hosts.map((h) => ({host: hostName(h), command: shown})),
    attempt: input.attempt,
  });
  if (succeeded.size) {
    services.append({
      type: 'notice',
      step: input.key,
      level: 'info',
      text: `not run again where it already succeeded: ${[...succeeded].join(', ')}`,
    });
  }
  if (excluded.size) {
    services.append({
      type: 'notice',
      step: input.key,
      level: 'warn',
      text: `left out by the driver: ${[...excluded].join(', ')}`,
    });
  }
  const timeoutMs = parseDuration(step.timeout) ?? DEFAULT_TIMEOUT;
  let cwd: string | undefined;
  try {
    cwd = step.cwd ? fillText(step.cwd, input.vars, services.secrets) : undefined;
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  const recorders = new Map<string, OutputRecorder>();
  const retry = retryPlan(step.background ? undefined : step.retry, {
    attempts: 1,
    backoffMs: 5000,
    factor: 2,
  });

  /** One attempt on one host: the command, then `expect`, `verify` and `produces`. */
  const attemptOn = async (host: HostSpec | 'local'): Promise<RunResult & {ok: boolean}> => {
    const name = hostName(host);
    const recorder = new OutputRecorder({
      step: input.key,
      host: name,
      redactor: services.redactor,
      capBytes: services.plan.profile.outputCapBytes,
      append: services.append,
    });
    recorders.set(name, recorder);
    if (step.background && !services.dryRun) {
      return startBackground(services, input.key, host, text, recorder, step, signal);
    }
    const running = transportFor(services, host).start(
      {
        host,
        command: text,
        timeoutMs,
        signal,
        ...(cwd ? {cwd} : {}),
        ...(step.pty ? {pty: true} : {}),
        // nothing is typed into a foreground command: it may run in the host's command shell
        noInput: true,
      },
      recorder.sink,
    );
    const result = await running.done;
    recorder.end();
    let ok =
      !result.unknown &&
      !result.timedOut &&
      !result.canceled &&
      result.exitCode !== null &&
      (step.okExit ?? [0]).includes(result.exitCode);
    let error = result.error;
    if (
      ok &&
      step.expect &&
      !services.dryRun &&
      !new RegExp(step.expect, 'm').test(recorder.text)
    ) {
      ok = false;
      error = `output did not match /${step.expect}/`;
    }
    if (ok && step.fanOut?.verify?.length && !services.dryRun) {
      error = await verifyHost(
        services,
        host,
        step.fanOut.verify,
        input.vars,
        signal,
        input.key,
        step.fanOut.verifyRetry,
      );
      ok = !error;
    }
    if (ok && step.produces && !services.dryRun) {
      const file = fillText(step.produces, input.vars, services.secrets);
      const probe = await runToText(transportFor(services, host), {
        host,
        command: `test -s ${shellPath(file)}`,
        timeoutMs: 30_000,
        signal,
      });
      if (probe.exitCode !== 0) {
        ok = false;
        error = `${file} is missing or empty on ${name}: the next step may not start`;
      }
    }
    return {...result, ...(error ? {error} : {}), ok};
  };

  /** A host's attempts (`retry`): a known failure tries again; an unknown end never does. */
  const runOne = async (host: HostSpec | 'local'): Promise<RunResult & {ok: boolean}> => {
    const name = hostName(host);
    const run = await retrying(
      {...retry, signal, wait: services.sleep ?? sleep},
      async (attempt) => {
        const r = await attemptOn(host);
        const final = r.ok || !!r.unknown || r.canceled || signal.aborted;
        if (retry.attempts > 1 && !services.dryRun) {
          const why = r.ok
            ? []
            : [r.error ?? (r.timedOut ? 'timed out' : `exit ${r.exitCode ?? 'unknown'}`)];
          journalAttempt(
            services,
            input.key,
            retry,
            attempt,
            why,
            'command',
            name,
            r.exitCode,
            final,
          );
        }
        // `ok` here means "no more attempts": success, or an end no retry may follow.
        return {ok: final, value: r};
      },
    );
    const result = run.value!;
    const ok = result.ok;
    const error = result.error;
    if (ok) {
      succeeded.add(name);
      services.succeededAt?.set(input.key, Date.now());
    }
    services.append({
      type: 'host-finished',
      step: input.key,
      host: name,
      exitCode: result.exitCode,
      outcome: ok
        ? 'ok'
        : result.unknown
          ? 'unknown'
          : result.timedOut
            ? 'timed-out'
            : result.canceled
              ? 'canceled'
              : 'failed',
      ...(error ? {error} : {}),
      ...(run.attempts > 1 ? {attempts: run.attempts} : {}),
    });
    return result;
  };

  const results = await fanOut(walked, step, runOne, signal, services.sleep ?? sleep, {
    done: succeeded,
    ...(services.succeededAt?.has(input.key)
      ? {lastDoneAt: services.succeededAt.get(input.key)!}
      : {}),
  });
  const failed = results.filter((r) => !r.ok);
  const durationMs = performance.now() - started;
  const exitCode =
    results.length === 1 ? (results[0]!.exitCode ?? null) : (failed[0]?.exitCode ?? 0);
  if (results.some((r) => r.unknown)) {
    return {
      outcome: 'unknown',
      exitCode: null,
      durationMs,
      reason: 'the link to the host dropped while the command ran',
    };
  }
  if (signal.aborted || results.some((r) => r.canceled))
    return {outcome: 'canceled', exitCode, durationMs};
  if (results.some((r) => r.timedOut)) {
    return {
      outcome: 'timed-out',
      exitCode,
      durationMs,
      reason: `no end after ${Math.round(timeoutMs / 1000)}s`,
    };
  }
  if (failed.length || results.length < hosts.length) {
    const reason =
      failed.map((r) => r.error).find(Boolean) ??
      (results.length < hosts.length
        ? `stopped after a failed batch (${results.length} of ${hosts.length} hosts ran)`
        : undefined);
    return {outcome: 'failed', exitCode, durationMs, ...(reason ? {reason} : {})};
  }
  const captured = step.capture
    ? captureValue(step.capture.pattern, [...recorders.values()].map((r) => r.text).join('\n'))
    : undefined;
  if (step.capture && captured === undefined && !services.dryRun) {
    return {
      outcome: 'failed',
      exitCode,
      durationMs,
      reason: `nothing in the output matched /${step.capture.pattern}/ to capture ${step.capture.as}`,
    };
  }
  const refused = captured === undefined ? undefined : refuseCapture(step.capture!, captured);
  if (refused)
    return {outcome: 'failed', exitCode, durationMs, reason: services.redactor.text(refused)};
  return {
    outcome: 'ok',
    exitCode,
    durationMs,
    ...(excluded.size ? {reason: `left out by the driver: ${[...excluded].join(', ')}`} : {}),
    ...(step.capture
      ? {captured: {[step.capture.as]: captured ?? `dry-run:${step.capture.as}`}}
      : {}),
  };
}

/**
 * Runs hosts in parallel (with a limit) or in rolling batches that stop at a failure.
 * Hosts in `done` (succeeded before, in this session or an earlier process) are not run
 * again; batches keep their places, so a resumed rolling update walks the same batches
 * and still pauses between them: before a batch none of whose hosts ran yet, it waits
 * what is left of `fanOut.pause` since the batch before it ended (`lastDoneAt` when that
 * batch ended before a resume).
 */
export async function fanOut<R extends {ok: boolean}>(
  hosts: (HostSpec | 'local')[],
  step: CommandStep,
  runOne: (host: HostSpec | 'local') => Promise<R>,
  signal: AbortSignal,
  wait: (ms: number, signal: AbortSignal) => Promise<void>,
  options: {done?: ReadonlySet<string>; lastDoneAt?: number} = {},
): Promise<R[]> {
  const done = options.done ?? new Set<string>();
  const todo = (list: (HostSpec | 'local')[]) => list.filter((h) => !done.has(hostName(h)));
  const batch = step.fanOut?.batch;
  if (batch) {
    const pause = parseDuration(step.fanOut?.pause) ?? 0;
    const results: R[] = [];
    // When the batch before ended in an earlier process (a resume): only the rest of the
    // pause is owed. A batch that ran in this process is always followed by the whole pause.
    let endedBefore: number | undefined;
    for (let i = 0; i < hosts.length && !signal.aborted; i += batch) {
      const members = hosts.slice(i, i + batch);
      const pending = todo(members);
      if (!pending.length) {
        endedBefore = options.lastDoneAt ?? endedBefore;
        continue;
      }
      const fresh = pending.length === members.length;
      if (i > 0 && pause && fresh) {
        const left = endedBefore === undefined ? pause : endedBefore + pause - Date.now();
        if (left > 0) await wait(Math.min(pause, left), signal);
        if (signal.aborted) break;
      }
      const group = await Promise.all(pending.map(runOne));
      endedBefore = undefined;
      results.push(...group);
      if (group.some((r) => !r.ok)) break;
    }
    return results;
  }
  const list = todo(hosts);
  const limit = step.fanOut?.parallel ?? list.length;
  const results: R[] = new Array(list.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < list.length) {
      const i = nextIndex++;
      results[i] = await runOne(list[i]!);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, list.length)}, worker));
  return results;
}

/** The first group (or the whole match) of the last output line the pattern matches. */
export function captureValue(pattern: string, text: string): string | undefined {
  const re = new RegExp(pattern);
  const lines = text.split('\n');
  // The text after the last newline is not a line when it is empty.
  if (lines.at(-1) === '') lines.pop();
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(lines[i]!);
    if (m) return (m[1] ?? m[0]).trim();
  }
  return undefined;
}

/** Why a captured value may not be kept (it must be one clean line, and match `value`). */
export function refuseCapture(capture: Capture, value: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(value))
    return `the value captured for ${capture.as} holds a control character (${JSON.stringify(value).slice(0, 80)}): not kept`;
  if (capture.value !== undefined && !new RegExp(`^(?:${capture.value})$`).test(value))
    return `the value captured for ${capture.as} (${JSON.stringify(value).slice(0, 80)}) does not match /^(?:${capture.value})$/ as a whole: not kept`;
  return undefined;
}
