/** Watch steps: poll a probe until a count holds, warn when it stalls, give up at the timeout. */
import {parseDuration} from '../../runbook/duration.js';
import type {WatchStep} from '../../runbook/vocabulary.js';
import {hostName, runToText} from '../../transport/types.js';
import type {StepInput, StepResult} from '../machine.js';
import {conditionHolds, describeUntil, parseCount} from './count.js';
import {fillCommand, sleep, stepOf, targets, transportFor, type StepServices} from './shared.js';

/** Polls the probe until the condition holds, warns when the count stalls, gives up at the timeout. */
export async function runWatch(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {resolved, step} = stepOf<WatchStep>(services, input.key);
  const started = performance.now();
  const every = parseDuration(step.every) ?? 5000;
  const patience = parseDuration(step.patience) ?? 120_000;
  const timeout = parseDuration(step.timeout) ?? 30 * 60_000;
  const wait = services.sleep ?? sleep;
  let probe: string;
  let shown: string;
  try {
    ({run: probe, shown} = fillCommand(services, step.probe, input.vars));
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  let hosts: ReturnType<typeof targets>;
  try {
    hosts = targets(services, resolved, input.vars);
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  // Per host (`every`, `any`) only means something on a group; one host is its own sum.
  const per = step.hosts === 'every' || step.hosts === 'any' ? step.hosts : undefined;
  services.append({
    type: 'step-started',
    step: input.key,
    runs: hosts.map((h) => ({host: hostName(h), command: shown})),
    attempt: input.attempt,
  });
  const target = `${per === 'every' ? 'each ' : per === 'any' ? 'any ' : ''}${describeUntil(step.until, input.vars)}`;
  if (services.dryRun) {
    services.append({
      type: 'notice',
      step: input.key,
      level: 'info',
      text: `dry run: would poll every ${every / 1000}s until ${target}`,
    });
    return {outcome: 'ok', durationMs: 0, reason: 'dry run: not polled'};
  }
  const deadline = Date.now() + timeout;
  let last: string | undefined;
  let lastChange = Date.now();
  let warned = false;
  while (!signal.aborted) {
    let sum: number | null = null;
    let of: number | undefined;
    let raw = '';
    const readings: {host: string; value: number | null; holds: boolean}[] = [];
    for (const host of hosts) {
      const result = await runToText(transportFor(services, host), {
        host,
        command: probe,
        probe: true,
        timeoutMs: Math.max(every * 3, 30_000),
        signal,
      });
      if (signal.aborted) break;
      const parsed = parseCount(step, result.stdout);
      raw = services.redactor
        .text(parsed.raw ?? (result.stderr.trim().split('\n').at(-1) || result.error || ''))
        .slice(0, 200);
      if (parsed.value !== null) {
        sum = (sum ?? 0) + parsed.value;
        if (parsed.of !== undefined) of = (of ?? 0) + parsed.of;
      }
      readings.push({
        host: hostName(host),
        value: parsed.value,
        holds:
          parsed.value !== null && conditionHolds(step.until, parsed.value, parsed.of, input.vars),
      });
    }
    if (signal.aborted) break;
    // Per host: the value shown is the host holding it up (every) or the one that holds (any).
    const deciding = per
      ? (readings.find((r) => (per === 'every' ? !r.holds : r.holds)) ?? readings[0])
      : undefined;
    const value = per ? (deciding?.value ?? null) : sum;
    const holds = per
      ? per === 'every'
        ? readings.length > 0 && readings.every((r) => r.holds)
        : readings.some((r) => r.holds)
      : sum !== null && conditionHolds(step.until, sum, of, input.vars);
    services.append({
      type: 'count-sampled',
      step: input.key,
      value,
      target: !per && of !== undefined ? `= ${of}` : target,
      ...(raw ? {raw} : {}),
      ...(step.unit ? {unit: step.unit} : {}),
      deadline: new Date(deadline).toISOString(),
      ...(per ? {per, hosts: readings} : {}),
    });
    if (holds) {
      const where = per
        ? ` (${readings.map((r) => `${r.host} ${r.value ?? 'unreadable'}`).join(', ')})`
        : '';
      return {
        outcome: 'ok',
        durationMs: performance.now() - started,
        reason: `${value} ${target}${where}`,
      };
    }
    // No progress means no host's count moved.
    const seen = JSON.stringify(per ? readings.map((r) => r.value) : sum);
    if (seen !== last) {
      last = seen;
      lastChange = Date.now();
      warned = false;
    } else if (!warned && Date.now() - lastChange >= patience) {
      warned = true;
      services.append({
        type: 'count-stalled',
        step: input.key,
        value,
        sinceMs: Date.now() - lastChange,
      });
    }
    if (Date.now() >= deadline) {
      return {
        outcome: 'timed-out',
        durationMs: performance.now() - started,
        reason: `still ${value ?? 'unreadable'}${deciding ? ` on ${deciding.host}` : ''} after ${Math.round(timeout / 60000)} min`,
      };
    }
    await wait(Math.min(every, Math.max(0, deadline - Date.now())), signal);
  }
  return {outcome: 'canceled', durationMs: performance.now() - started};
}
