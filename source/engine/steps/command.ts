/** Command steps: run on their hosts (in parallel with a limit, or in rolling batches). */
import {setMaxListeners} from 'node:events';
import {parseDuration} from '../../runbook/duration.js';
import type {Capture, CommandStep} from '../../runbook/vocabulary.js';
import {shellPath} from '../../transport/shell.js';
import {hostName, runToText, type HostSpec, type RunResult} from '../../transport/types.js';
import type {StepInput, StepResult} from '../machine.js';
import {OutputRecorder} from '../output.js';
import {startBackground} from './background.js';
import {verifyHost} from './check.js';
import {
  DEFAULT_TIMEOUT,
  fillCommand,
  fillText,
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
  // Every host's command listens on the step's signal: a 50-host fan-out is not a leak.
  setMaxListeners(Math.max(10, targets(resolved).length * 2 + 10), signal);
  const excluded = services.excludedHosts?.get(input.key) ?? new Set<string>();
  const hosts = targets(resolved).filter(
    (h) => !succeeded.has(hostName(h)) && !excluded.has(hostName(h)),
  );
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

  const runOne = async (host: HostSpec | 'local'): Promise<RunResult & {ok: boolean}> => {
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
      error = await verifyHost(services, host, step.fanOut.verify, input.vars, signal, input.key);
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
    if (ok) succeeded.add(name);
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
    });
    return {...result, ...(error ? {error} : {}), ok};
  };

  const results = await fanOut(hosts, step, runOne, signal, services.sleep ?? sleep);
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

/** Runs hosts in parallel (with a limit) or in rolling batches that stop at a failure. */
export async function fanOut<R extends {ok: boolean}>(
  hosts: (HostSpec | 'local')[],
  step: CommandStep,
  runOne: (host: HostSpec | 'local') => Promise<R>,
  signal: AbortSignal,
  wait: (ms: number, signal: AbortSignal) => Promise<void>,
): Promise<R[]> {
  const batch = step.fanOut?.batch;
  if (batch) {
    const pause = parseDuration(step.fanOut?.pause) ?? 0;
    const results: R[] = [];
    for (let i = 0; i < hosts.length && !signal.aborted; i += batch) {
      if (i > 0 && pause) await wait(pause, signal);
      const group = await Promise.all(hosts.slice(i, i + batch).map(runOne));
      results.push(...group);
      if (group.some((r) => !r.ok)) break;
    }
    return results;
  }
  const limit = step.fanOut?.parallel ?? hosts.length;
  const results: R[] = new Array(hosts.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < hosts.length) {
      const i = nextIndex++;
      results[i] = await runOne(hosts[i]!);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, hosts.length)}, worker));
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
