/**
 * The step actors: plain async functions the machine invokes. Each honours the abort
 * signal, journals `step-started` (fsynced) before it touches anything, and reports its
 * output and counts as journal events.
 */
import {setMaxListeners} from 'node:events';
import {fromPromise} from 'xstate';
import type {JournalEvent} from '../journal/events.js';
import type {Redactor} from '../journal/redact.js';
import {parseDuration} from '../runbook/duration.js';
import type {
  CheckProbe,
  CheckStep,
  CommandStep,
  GateStep,
  NotifyStep,
  WatchStep,
  WatchUntil,
} from '../runbook/vocabulary.js';
import {shellPath, shellQuote} from '../transport/shell.js';
import {
  hostName,
  runToText,
  type HostSpec,
  type RunningCommand,
  type RunResult,
  type Transport,
} from '../transport/types.js';
import type {StepInput, StepResult} from './machine.js';
import {OutputRecorder} from './output.js';
import type {ResolvedPlan, ResolvedStep} from './plan.js';

export interface StepServices {
  plan: ResolvedPlan;
  /** Runs commands on hosts. */
  transport: Transport;
  /** Runs `local` commands. */
  local: Transport;
  redactor: Redactor;
  /** Secret values by name, for `${secret.NAME}`. */
  secrets: Readonly<Record<string, string>>;
  append: (event: JournalEvent) => void;
  dryRun: boolean;
  /** Long-running processes started by `background` command steps. */
  backgrounds: Map<string, Background>;
  /** Hosts where a command step already succeeded, by step key (from the journal too). */
  succeededHosts: Map<string, Set<string>>;
  /** Hosts the driver left out of a step, by step key. */
  excludedHosts?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Waits, honouring the signal (fake clocks in tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  fetch?: typeof fetch;
}

export interface Background {
  step: string;
  host: string;
  running: RunningCommand;
  recorder: OutputRecorder;
  exited?: RunResult;
  listeners: Set<(text: string) => void>;
  /** Stops the process (the session ends). */
  stop?: () => void;
}

const DEFAULT_TIMEOUT = 10 * 60_000;

export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, {once: true});
  });

class MissingVariable extends Error {}

/** Fills `${name}` and `${secret.NAME}`; a name with no value is an error, never run as is. */
export function fill(
  template: string,
  vars: Record<string, string>,
  secrets: Readonly<Record<string, string>>,
): string {
  return template.replace(/\$\{([A-Za-z_][\w.-]*)\}/g, (_, name: string) => {
    const value = name.startsWith('secret.') ? secrets[name.slice(7)] : vars[name];
    if (value === undefined)
      throw new MissingVariable(
        `\${${name}} has no value (not in the profile, not captured by an earlier step)`,
      );
    return value;
  });
}

/** A check probe with `${…}` filled in each of its text fields (values may hold any character). */
const fillProbe = (
  probe: CheckProbe,
  vars: Record<string, string>,
  secrets: Readonly<Record<string, string>>,
): CheckProbe =>
  Object.fromEntries(
    Object.entries(probe).map(([k, v]) => [k, typeof v === 'string' ? fill(v, vars, secrets) : v]),
  ) as CheckProbe;

const stepOf = <T>(services: StepServices, key: string): {resolved: ResolvedStep; step: T} => {
  const resolved = services.plan.byKey.get(key);
  if (!resolved) throw new Error(`no step ${key} in the plan`);
  return {resolved, step: resolved.step as T};
};

const transportFor = (services: StepServices, host: HostSpec | 'local'): Transport =>
  host === 'local' ? services.local : services.transport;

const targets = (resolved: ResolvedStep): (HostSpec | 'local')[] =>
  resolved.hosts === 'local' ? ['local'] : resolved.hosts;

/** Runs a command step on its hosts (parallel with a limit, or rolling in batches). */
export async function runCommand(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {resolved, step} = stepOf<CommandStep>(services, input.key);
  const started = performance.now();
  let text: string;
  try {
    text = fill(step.run, input.vars, services.secrets);
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
    runs: hosts.map((h) => ({host: hostName(h), command: services.redactor.text(text)})),
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
  const cwd = step.cwd ? fill(step.cwd, input.vars, services.secrets) : undefined;
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
    if (ok && step.expect && !new RegExp(step.expect, 'm').test(recorder.text)) {
      ok = false;
      error = `output did not match /${step.expect}/`;
    }
    if (ok && step.fanOut?.verify?.length && !services.dryRun) {
      error = await verifyHost(services, host, step.fanOut.verify, input.vars, signal);
      ok = !error;
    }
    if (ok && step.produces && !services.dryRun) {
      const file = fill(step.produces, input.vars, services.secrets);
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
async function fanOut<R extends {ok: boolean}>(
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

export function captureValue(pattern: string, text: string): string | undefined {
  const re = new RegExp(pattern);
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = re.exec(lines[i]!);
    if (m) return (m[1] ?? m[0]).trim();
  }
  return undefined;
}

/** Starts a long-running process; done once its output shows `readyWhen`. */
async function startBackground(
  services: StepServices,
  key: string,
  host: HostSpec | 'local',
  text: string,
  recorder: OutputRecorder,
  step: CommandStep,
  signal: AbortSignal,
): Promise<RunResult & {ok: boolean}> {
  const spec = step.background!;
  const ready = new RegExp(spec.readyWhen, 'm');
  const controller = new AbortController();
  const running = transportFor(services, host).start(
    {host, command: text, signal: controller.signal},
    recorder.sink,
  );
  const background: Background = {
    step: key,
    host: hostName(host),
    running,
    recorder,
    listeners: new Set(),
  };
  recorder.onText = (chunk) => background.listeners.forEach((l) => l(chunk));
  services.backgrounds.set(spec.name, background);
  const stopBackground = (): void => controller.abort();
  const timeoutMs = parseDuration(step.timeout) ?? DEFAULT_TIMEOUT;
  const outcome = await new Promise<'ready' | 'exited' | 'timed-out' | 'canceled'>((resolve) => {
    const listener = (): void => {
      if (ready.test(recorder.text)) finish('ready');
    };
    const onAbort = (): void => finish('canceled');
    const timer = setTimeout(() => finish('timed-out'), timeoutMs);
    function finish(result: 'ready' | 'exited' | 'timed-out' | 'canceled'): void {
      clearTimeout(timer);
      background.listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    }
    background.listeners.add(listener);
    signal.addEventListener('abort', onAbort, {once: true});
    void running.done.then((result) => {
      background.exited = result;
      finish('exited');
    });
    listener();
  });
  if (outcome !== 'ready') {
    stopBackground();
    services.backgrounds.delete(spec.name);
    const result = background.exited ?? (await running.done);
    recorder.end();
    return {
      ...result,
      timedOut: outcome === 'timed-out',
      canceled: outcome === 'canceled',
      ok: false,
      error: outcome === 'exited' ? `exited before showing /${spec.readyWhen}/` : undefined,
    };
  }
  void running.done.then((result) => {
    background.exited = result;
    recorder.end();
  });
  services.append({
    type: 'notice',
    step: key,
    level: 'info',
    text: `${spec.name} keeps running in the background`,
  });
  background.stop = stopBackground;
  return {exitCode: 0, timedOut: false, canceled: false, durationMs: 0, ok: true};
}

/** Types the gate's word into a background process and waits for its next pause. */
export async function sendToBackground(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {step} = stepOf<GateStep>(services, input.key);
  const send = step.send!;
  const started = performance.now();
  const background = services.backgrounds.get(send.to);
  if (services.dryRun) {
    services.append({
      type: 'step-started',
      step: input.key,
      runs: [{host: 'local', command: `(typed into ${send.to}) ${send.text ?? step.word ?? 'go'}`}],
      attempt: input.attempt,
    });
    return {outcome: 'ok', durationMs: 0, reason: 'dry run: nothing typed'};
  }
  if (!background || background.exited) {
    return {
      outcome: 'failed',
      durationMs: 0,
      reason: `the background process "${send.to}" is not running${background?.exited ? ` (it exited with ${background.exited.exitCode})` : ''}`,
    };
  }
  const word = send.text ?? step.word ?? 'go';
  services.append({
    type: 'step-started',
    step: input.key,
    runs: [{host: background.host, command: `(typed into ${send.to}) ${word}`}],
    attempt: input.attempt,
  });
  const until = send.until ? new RegExp(send.until, 'm') : undefined;
  const timeoutMs = parseDuration(send.timeout) ?? DEFAULT_TIMEOUT;
  let seen = '';
  const outcome = await new Promise<'ok' | 'exited' | 'timed-out' | 'canceled'>((resolve) => {
    const listener = (text: string): void => {
      seen = (seen + text).slice(-65536);
      if (until?.test(seen)) finish('ok');
    };
    const timer = setTimeout(() => finish('timed-out'), timeoutMs);
    const onAbort = (): void => finish('canceled');
    function finish(result: 'ok' | 'exited' | 'timed-out' | 'canceled'): void {
      clearTimeout(timer);
      background!.listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    }
    background.listeners.add(listener);
    signal.addEventListener('abort', onAbort, {once: true});
    void background.running.done.then(() => finish(until ? 'exited' : 'ok'));
    background.running.write(`${word}\n`);
  });
  const durationMs = performance.now() - started;
  if (outcome === 'ok') return {outcome: 'ok', durationMs};
  if (outcome === 'exited') {
    return {
      outcome: 'failed',
      durationMs,
      reason: `${send.to} exited before showing /${send.until}/`,
    };
  }
  return {outcome: outcome === 'canceled' ? 'canceled' : 'timed-out', durationMs};
}

/** What a watch's condition says, for the screen: `= 0`, `≤ 3`, `≈ 120 ± 5%`, `X of X`. */
export function describeUntil(until: WatchUntil, vars: Record<string, string>): string {
  if ('equals' in until) return `= ${until.equals}`;
  if ('atMost' in until) return `≤ ${until.atMost}`;
  if ('atLeast' in until) return `≥ ${until.atLeast}`;
  if ('near' in until) return `≈ ${vars[until.near] ?? `\${${until.near}}`} ± ${until.tolerance}`;
  return 'X of X';
}

/** Reads the number from a probe's output. For `xOfX`, the pair. */
export function parseCount(
  step: WatchStep,
  output: string,
): {value: number | null; of?: number; raw?: string} {
  const lines = output.split('\n').filter((l) => l.trim());
  if ('xOfX' in step.until) {
    const re = new RegExp(step.until.xOfX);
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = re.exec(lines[i]!);
      if (m && m[1] !== undefined && m[2] !== undefined)
        return {value: Number(m[1]), of: Number(m[2]), raw: lines[i]!};
    }
    return {value: null};
  }
  if (step.parse === 'lines') return {value: lines.length, raw: lines.at(-1) ?? ''};
  if (step.parse) {
    const re = new RegExp(step.parse);
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = re.exec(lines[i]!);
      if (m) return {value: Number(m[1] ?? m[0]), raw: lines[i]!};
    }
    return {value: null};
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const numbers = lines[i]!.match(/-?\d+(?:\.\d+)?/g);
    if (numbers?.length) return {value: Number(numbers.at(-1)), raw: lines[i]!};
  }
  return {value: null};
}

export function conditionHolds(
  until: WatchUntil,
  value: number,
  of: number | undefined,
  vars: Record<string, string>,
): boolean {
  if ('equals' in until) return value === until.equals;
  if ('atMost' in until) return value <= until.atMost;
  if ('atLeast' in until) return value >= until.atLeast;
  if ('xOfX' in until) return of !== undefined && of > 0 && value === of;
  const base = Number(vars[until.near]);
  if (!Number.isFinite(base)) return false;
  const tol =
    typeof until.tolerance === 'string' && until.tolerance.endsWith('%')
      ? (Math.abs(base) * Number(until.tolerance.slice(0, -1))) / 100
      : Number(until.tolerance);
  return Math.abs(value - base) <= tol;
}

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
  try {
    probe = fill(step.probe, input.vars, services.secrets);
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  const hosts = targets(resolved);
  services.append({
    type: 'step-started',
    step: input.key,
    runs: hosts.map((h) => ({host: hostName(h), command: services.redactor.text(probe)})),
    attempt: input.attempt,
  });
  const target = describeUntil(step.until, input.vars);
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
  let last: number | null = null;
  let lastChange = Date.now();
  let warned = false;
  while (!signal.aborted) {
    let sum: number | null = null;
    let of: number | undefined;
    let raw = '';
    for (const host of hosts) {
      const result = await runToText(transportFor(services, host), {
        host,
        command: probe,
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
    }
    if (signal.aborted) break;
    services.append({
      type: 'count-sampled',
      step: input.key,
      value: sum,
      target: of !== undefined ? `= ${of}` : target,
      ...(raw ? {raw} : {}),
    });
    if (sum !== null && conditionHolds(step.until, sum, of, input.vars)) {
      return {outcome: 'ok', durationMs: performance.now() - started, reason: `${sum} ${target}`};
    }
    if (sum !== last) {
      last = sum;
      lastChange = Date.now();
      warned = false;
    } else if (!warned && Date.now() - lastChange >= patience) {
      warned = true;
      services.append({
        type: 'count-stalled',
        step: input.key,
        value: sum,
        sinceMs: Date.now() - lastChange,
      });
    }
    if (Date.now() >= deadline) {
      return {
        outcome: 'timed-out',
        durationMs: performance.now() - started,
        reason: `still ${sum ?? 'unreadable'} after ${Math.round(timeout / 60000)} min`,
      };
    }
    await wait(Math.min(every, Math.max(0, deadline - Date.now())), signal);
  }
  return {outcome: 'canceled', durationMs: performance.now() - started};
}

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
      command: `timeout 5 bash -c ${shellQuote(`exec 3<>/dev/tcp/${host}/${port}`)}`,
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
async function verifyHost(
  services: StepServices,
  host: HostSpec | 'local',
  probes: readonly CheckProbe[],
  vars: Record<string, string>,
  signal: AbortSignal,
  tries = 5,
  intervalMs = 2000,
): Promise<string | undefined> {
  const wait = services.sleep ?? sleep;
  const list = probes.map((p) => probeCommand(fillProbe(p, vars, services.secrets)));
  let failures: string[] = [];
  for (let attempt = 1; attempt <= tries && !signal.aborted; attempt++) {
    failures = [];
    for (const probe of list) {
      const result = await runToText(transportFor(services, host), {
        host,
        command: probe.command,
        timeoutMs: 30_000,
        signal,
      });
      if (result.exitCode !== 0 || (probe.expect && !probe.expect.test(result.stdout)))
        failures.push(probe.describe);
    }
    if (!failures.length) return undefined;
    if (attempt < tries) await wait(intervalMs, signal);
  }
  return `after the command, on ${hostName(host)}: ${failures.join('; ')} failed ${tries} times`;
}

/** Checks every probe on every host, retrying. */
export async function runCheck(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {resolved, step} = stepOf<CheckStep>(services, input.key);
  return checkProbes(
    services,
    input,
    signal,
    targets(resolved),
    step.probes,
    step.retries ?? 3,
    parseDuration(step.interval) ?? 5000,
  );
}

export async function checkProbes(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
  hosts: (HostSpec | 'local')[],
  probes: readonly CheckProbe[],
  retries: number,
  interval: number,
): Promise<StepResult> {
  const started = performance.now();
  const wait = services.sleep ?? sleep;
  const probeList = probes.map((p) => {
    const filled = fillProbe(p, input.vars, services.secrets);
    return probeCommand(filled);
  });
  services.append({
    type: 'step-started',
    step: input.key,
    runs: hosts.flatMap((h) =>
      probeList.map((p) => ({host: hostName(h), command: services.redactor.text(p.command)})),
    ),
    attempt: input.attempt,
  });
  if (services.dryRun) return {outcome: 'ok', durationMs: 0, reason: 'dry run: not checked'};
  let failures: string[] = [];
  for (let attempt = 1; attempt <= Math.max(1, retries) && !signal.aborted; attempt++) {
    failures = [];
    for (const host of hosts) {
      for (const probe of probeList) {
        const result = await runToText(transportFor(services, host), {
          host,
          command: probe.command,
          timeoutMs: 30_000,
          signal,
        });
        const ok = result.exitCode === 0 && (!probe.expect || probe.expect.test(result.stdout));
        if (!ok)
          failures.push(
            `${hostName(host)}: ${probe.describe}: ${services.redactor.text((result.stderr.trim() || result.stdout.trim() || result.error || `exit ${result.exitCode}`).split('\n').slice(-1)[0] ?? '')}`,
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
    if (!failures.length) return {outcome: 'ok', durationMs: performance.now() - started};
    if (attempt < retries) await wait(interval, signal);
  }
  if (signal.aborted) return {outcome: 'canceled', durationMs: performance.now() - started};
  return {outcome: 'failed', durationMs: performance.now() - started, reason: failures.join('; ')};
}

/** Posts to the webhook. A failed post never stops the deployment: it is journaled and shown. */
export async function runNotify(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {step} = stepOf<NotifyStep>(services, input.key);
  const started = performance.now();
  const text = fill(step.text, input.vars, services.secrets);
  const url = step.webhook ? services.secrets[step.webhook] : undefined;
  services.append({
    type: 'step-started',
    step: input.key,
    runs: [
      {
        host: 'local',
        command: `post to ${step.channel ?? 'webhook'}: ${services.redactor.text(text)}`,
      },
    ],
    attempt: input.attempt,
  });
  if (!url || services.dryRun) {
    return {
      outcome: 'ok',
      durationMs: 0,
      reason: url ? 'dry run: not posted' : 'no webhook: shown to copy',
    };
  }
  try {
    const timeout = AbortSignal.timeout(10_000);
    const response = await (services.fetch ?? fetch)(url, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({text, ...(step.channel ? {channel: step.channel} : {})}),
      signal: AbortSignal.any([signal, timeout]),
    });
    if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
    return {outcome: 'ok', durationMs: performance.now() - started};
  } catch (error) {
    const reason = services.redactor.text(
      `could not post to ${step.channel ?? 'the webhook'}: ${(error as Error).message}; post it by hand`,
    );
    services.append({type: 'notice', step: input.key, level: 'warn', text: reason});
    return {outcome: 'ok', durationMs: performance.now() - started, reason};
  }
}

/** The actors the machine invokes, bound to a session's services. */
export function stepActors(services: StepServices) {
  const actor = (fn: (s: StepServices, i: StepInput, signal: AbortSignal) => Promise<StepResult>) =>
    fromPromise<StepResult, StepInput>(({input, signal}) => fn(services, input, signal));
  return {
    command: actor(runCommand),
    watch: actor(runWatch),
    check: actor(runCheck),
    notify: actor(runNotify),
    send: actor(sendToBackground),
  };
}
