/** Health checks: probes (HTTP, TCP, process, SQL, a command) on hosts, retried. */
import {parseDuration} from '../../runbook/duration.js';
import type {CheckProbe, CheckStep, Retry} from '../../runbook/vocabulary.js';
import {shellQuote} from '../../transport/shell.js';
import {hostName, runToText, type HostSpec} from '../../transport/types.js';
import type {StepInput, StepResult} from '../machine.js';
import {
  fillProbe,
  maskedSecrets,
  retrying,
  retryPlan,
  sleep,
  type RetryPlan,
  stepOf,
  targets,
  transportFor,
  type StepServices,
} from './shared.js';

/** The shell command that tests one probe on a host. */
export function probeCommand(probe: CheckProbe): {
  command: string;
  expect?: RegExp;
  describe: string;
} {
  if ('http' in probe) {
    const status = probe.status ?? 200;
    return {
      command: `curl -sS -m 10 -o /dev/null -w '%{http_code}\\n' ${shellQuote(probe.http)}${probe.contains ? ` && curl -sS -m 10 ${shellQuote(probe.http)} | grep -qF -- ${shellQuote(probe.contains)} && echo contains-ok` : ''}`,
      expect: new RegExp(`^${status}$${probe.contains ? '[\\s\\S]*contains-ok' : ''}`, 'm'),
      describe: `HTTP ${probe.http} answers ${status}${probe.contains ? ` with "${probe.contains}"` : ''}`,
    };
  }
  if ('tcp' in probe) {
    const [host, port] = probe.tcp.includes(':')
      ? probe.tcp.split(/:(?=\d+$)/)
      : ['127.0.0.1', probe.tcp];
    return {
      // Host and port go into bash's own script: only a host name or address and a number.
      command:
        /^[\w.:[\]-]+$/.test(host ?? '') && /^\d+$/.test(port ?? '')
          ? `timeout 5 bash -c ${shellQuote(`exec 3<>/dev/tcp/${host}/${port}`)}`
          : `printf '%s\\n' ${shellQuote(`not a host:port: ${probe.tcp.slice(0, 80)}`)} >&2; exit 2`,
      describe: `port ${port} on ${host} accepts connections`,
    };
  }
  if ('process' in probe) {
    return {
      command: `pgrep -f -- ${shellQuote(probe.process)}`,
      describe: `process "${probe.process}" is running`,
    };
  }
  if ('sql' in probe) {
    return {
      command: `psql -X -tA ${probe.database ? `-d ${shellQuote(probe.database)} ` : ''}-c ${shellQuote(probe.sql)}`,
      expect: new RegExp(probe.expect, 'm'),
      describe: `SQL "${probe.sql}" gives /${probe.expect}/`,
    };
  }
  return {
    command: probe.command,
    ...(probe.expect ? {expect: new RegExp(probe.expect, 'm')} : {}),
    describe: probe.expect
      ? `"${probe.command}" prints /${probe.expect}/`
      : `"${probe.command}" succeeds`,
  };
}

/** Health checks on one host after a command succeeded there (rolling restarts). */
export async function verifyHost(
  services: StepServices,
  host: HostSpec | 'local',
  probes: readonly CheckProbe[],
  vars: Record<string, string>,
  signal: AbortSignal,
  /** The step's key: a passing check is journaled as a notice on it, each attempt too. */
  step?: string,
  /** The command's `fanOut.verifyRetry` (default 5 tries 2 s apart). */
  retry?: Retry,
): Promise<string | undefined> {
  const plan = retryPlan(retry, {attempts: 5, backoffMs: 2000, factor: 1});
  const tries = plan.attempts;
  let list: ReturnType<typeof probeCommand>[];
  let shown: ReturnType<typeof probeCommand>[];
  try {
    list = probes.map((p) => probeCommand(fillProbe(p, vars, services.secrets)));
    shown = probes.map((p) => probeCommand(fillProbe(p, vars, maskedSecrets(services.secrets))));
  } catch (error) {
    return `on ${hostName(host)}: ${(error as Error).message}`;
  }
  const run = await retrying({...plan, signal, wait: services.sleep ?? sleep}, async (attempt) => {
    const failures: string[] = [];
    for (const [i, probe] of list.entries()) {
      const result = await runToText(transportFor(services, host), {
        host,
        command: probe.command,
        probe: true,
        timeoutMs: 30_000,
        signal,
      });
      if (result.exitCode !== 0 || (probe.expect && !probe.expect.test(result.stdout)))
        failures.push(services.redactor.text(shown[i]!.describe));
    }
    if (step && tries > 1)
      journalAttempt(services, step, plan, attempt, failures, 'checks', hostName(host));
    return {ok: !failures.length, value: failures};
  });
  if (run.ok) {
    if (step) {
      services.append({
        type: 'notice',
        step,
        level: 'info',
        text: `after the command, on ${hostName(host)}: ${shown.map((p) => services.redactor.text(p.describe)).join('; ')} passed`,
      });
    }
    return undefined;
  }
  return `after the command, on ${hostName(host)}: ${(run.value ?? []).join('; ')} failed ${tries} times`;
}

/** Checks every probe on every host, retrying. */
export async function runCheck(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {resolved, step} = stepOf<CheckStep>(services, input.key);
  let hosts: ReturnType<typeof targets>;
  try {
    hosts = targets(services, resolved, input.vars);
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  return checkProbes(services, input, signal, hosts, step.probes, checkRetry(step));
}

/**
 * A check's tries: `retry`, or the older `retries`/`interval` (a constant pause), or 3
 * tries 5 s apart.
 */
export const checkRetry = (step: CheckStep): RetryPlan =>
  retryPlan(step.retry, {
    attempts: step.retries ?? 3,
    backoffMs: parseDuration(step.interval) ?? 5000,
    factor: 1,
  });

/** Journals one attempt of a retried command or of checks (its number, how it ended, the wait). */
export function journalAttempt(
  services: StepServices,
  step: string,
  plan: RetryPlan,
  attempt: number,
  failures: readonly string[],
  what: 'command' | 'checks',
  host?: string,
  exitCode?: number | null,
  /** No attempt follows, whatever the count says (an unknown end is never retried). */
  final = false,
): void {
  const ok = !failures.length;
  services.append({
    type: 'attempt-ended',
    step,
    ...(host ? {host} : {}),
    what,
    attempt,
    of: plan.attempts,
    ok,
    ...(exitCode !== undefined ? {exitCode} : {}),
    ...(ok ? {} : {error: failures.join('; ').slice(0, 500)}),
    ...(!ok && !final && attempt < plan.attempts ? {nextInMs: plan.delayMs(attempt)} : {}),
  });
}

export async function checkProbes(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
  hosts: (HostSpec | 'local')[],
  probes: readonly CheckProbe[],
  retry: RetryPlan,
): Promise<StepResult> {
  const retries = retry.attempts;
  const started = performance.now();
  let probeList: ReturnType<typeof probeCommand>[];
  let shown: ReturnType<typeof probeCommand>[];
  try {
    probeList = probes.map((p) => probeCommand(fillProbe(p, input.vars, services.secrets)));
    // What the journal and the screen get: secrets masked before filling, then redacted.
    shown = probes.map((p) =>
      probeCommand(fillProbe(p, input.vars, maskedSecrets(services.secrets))),
    );
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  services.append({
    type: 'step-started',
    step: input.key,
    runs: hosts.flatMap((h) =>
      shown.map((p) => ({host: hostName(h), command: services.redactor.text(p.command)})),
    ),
    attempt: input.attempt,
  });
  if (services.dryRun) return {outcome: 'ok', durationMs: 0, reason: 'dry run: not checked'};
  const run = await retrying({...retry, signal, wait: services.sleep ?? sleep}, async (attempt) => {
    const failures: string[] = [];
    for (const host of hosts) {
      for (const [i, probe] of probeList.entries()) {
        const result = await runToText(transportFor(services, host), {
          host,
          command: probe.command,
          probe: true,
          timeoutMs: 30_000,
          signal,
        });
        const ok = result.exitCode === 0 && (!probe.expect || probe.expect.test(result.stdout));
        if (!ok)
          failures.push(
            `${hostName(host)}: ${services.redactor.text(shown[i]!.describe)}: ${services.redactor.text((result.stderr.trim() || result.stdout.trim() || result.error || `exit ${result.exitCode}`).split('\n').slice(-1)[0] ?? '')}`,
          );
      }
    }
    services.append({
      type: 'notice',
      step: input.key,
      level: failures.length ? 'warn' : 'info',
      text: failures.length
        ? `check ${attempt}/${retries}: ${failures.join('; ')}`
        : `all ${probeList.length * hosts.length} checks passed`,
    });
    if (retries > 1) journalAttempt(services, input.key, retry, attempt, failures, 'checks');
    return {ok: !failures.length, value: failures};
  });
  if (run.ok) return {outcome: 'ok', durationMs: performance.now() - started};
  if (signal.aborted) return {outcome: 'canceled', durationMs: performance.now() - started};
  return {
    outcome: 'failed',
    durationMs: performance.now() - started,
    reason: (run.value ?? []).join('; '),
  };
}
