/**
 * What every step kind shares: the services a session gives the step actors, the one
 * wait-for-pattern, the one retry loop, and the filling of `${…}` into a step's text.
 */
import type {JournalEvent} from '../../journal/events.js';
import {MASK, type Redactor} from '../../journal/redact.js';
import {fillTemplate} from '../../runbook/template.js';
import {parseDuration} from '../../runbook/duration.js';
import type {CheckProbe, Retry} from '../../runbook/vocabulary.js';
import type {HostSpec, RunningCommand, RunResult, Transport} from '../../transport/types.js';
import type {OutputRecorder} from '../output.js';
import {hostsAtRun, type ResolvedPlan, type ResolvedStep} from '../plan.js';

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
  /** When a host last succeeded in each step, by step key (epoch ms, from the journal). */
  succeededAt?: Map<string, number>;
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

export const DEFAULT_TIMEOUT = 10 * 60_000;

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

const lookupIn =
  (vars: Readonly<Record<string, string>>, secrets: Readonly<Record<string, string>>) =>
  (name: string): string | undefined =>
    name.startsWith('secret.') ? secrets[name.slice(7)] : vars[name];

/**
 * Fills `${name}` and `${secret.NAME}` into a shell command: each value reaches the shell
 * as one word, quoted for where it stands, unless written `${raw:name}`; `$${X}` is the
 * shell's own `${X}` (see ../../runbook/template.ts). A name with no value is an error,
 * never run as is.
 */
export const fill = (
  template: string,
  vars: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
): string => fillTemplate(template, lookupIn(vars, secrets), 'shell');

/** Fills text that is not shell: shown, posted, or quoted whole later (paths, URLs). */
export const fillText = (
  template: string,
  vars: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
): string => fillTemplate(template, lookupIn(vars, secrets), 'text');

/** The secrets as `[redacted]`: what the journal and the screen are given instead. */
export const maskedSecrets = (
  secrets: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> =>
  Object.fromEntries(Object.keys(secrets).map((name) => [name, MASK]));

/**
 * A command as it runs, and as the journal records it: the same text, quoted the same
 * way, with each secret as `[redacted]` (a quoted secret may no longer read as the secret,
 * so it is masked before it is filled, then the redactor runs over the rest).
 */
export function fillCommand(
  services: StepServices,
  template: string,
  vars: Readonly<Record<string, string>>,
): {run: string; shown: string} {
  const run = fill(template, vars, services.secrets);
  const shown = services.redactor.text(fill(template, vars, maskedSecrets(services.secrets)));
  return {run, shown};
}

/**
 * A check probe with `${…}` filled in each of its fields. A free `command` is shell text;
 * the other fields (URL, text to find, process name, SQL, database, host:port) become one
 * quoted word each when the probe's command is built, so they are filled as they are.
 */
export const fillProbe = (
  probe: CheckProbe,
  vars: Readonly<Record<string, string>>,
  secrets: Readonly<Record<string, string>>,
): CheckProbe =>
  Object.fromEntries(
    Object.entries(probe).map(([k, v]) => [
      k,
      typeof v !== 'string'
        ? v
        : k === 'command'
          ? fill(v, vars, secrets)
          : fillText(v, vars, secrets),
    ]),
  ) as CheckProbe;

export const stepOf = <T>(
  services: StepServices,
  key: string,
): {resolved: ResolvedStep; step: T} => {
  const resolved = services.plan.byKey.get(key);
  if (!resolved) throw new Error(`no step ${key} in the plan`);
  return {resolved, step: resolved.step as T};
};

export const transportFor = (services: StepServices, host: HostSpec | 'local'): Transport =>
  host === 'local' ? services.local : services.transport;

/**
 * The hosts a step runs on now (a `${name}` target is read from the variables): throws,
 * saying why, when a variable target names no host or group of the profile.
 */
export const targets = (
  services: StepServices,
  resolved: ResolvedStep,
  vars: Readonly<Record<string, string>>,
): (HostSpec | 'local')[] => {
  try {
    const hosts = hostsAtRun(resolved, vars, services.plan.profile);
    return hosts === 'local' ? ['local'] : hosts;
  } catch (error) {
    if (!services.dryRun) throw error;
    // A dry run captures nothing real: a target from a captured value names no host here.
    services.append({
      type: 'notice',
      step: resolved.key,
      level: 'info',
      text: `dry run: ${(error as Error).message.replace(/: the step runs nowhere$/, '')}; a real run reads it when the step runs`,
    });
    return [];
  }
};

export type PatternOutcome = 'matched' | 'exited' | 'timed-out' | 'canceled';

/**
 * The one wait-for-pattern: resolves when the text seen so far (starting from `initial`,
 * then every chunk the background process prints) matches `pattern`, when the process
 * exits, at the timeout, or when the signal aborts. With no pattern it waits for the exit.
 */
export function waitForPattern(options: {
  background: Background;
  pattern: RegExp | undefined;
  timeoutMs: number;
  signal: AbortSignal;
  initial?: string;
  /** Called once the listener is attached (to type into the process). */
  onListening?: () => void;
}): Promise<PatternOutcome> {
  const {background, pattern, timeoutMs, signal} = options;
  let seen = options.initial ?? '';
  return new Promise((resolve) => {
    let settled = false;
    const listener = (text: string): void => {
      seen = (seen + text).slice(-65536);
      if (pattern?.test(seen)) finish('matched');
    };
    const onAbort = (): void => finish('canceled');
    const timer = setTimeout(() => finish('timed-out'), timeoutMs);
    function finish(result: PatternOutcome): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      background.listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    }
    if (signal.aborted) return finish('canceled');
    background.listeners.add(listener);
    signal.addEventListener('abort', onAbort, {once: true});
    void background.running.done.then((result) => {
      background.exited ??= result;
      finish('exited');
    });
    if (pattern?.test(seen)) return finish('matched');
    options.onListening?.();
  });
}

/**
 * The one retry loop: runs `attempt` up to `attempts` times (at least once) until it
 * reports success, waiting `delayMs(n)` after failed attempt n, and stops early when the
 * signal aborts. Returns the last attempt's value and how many attempts ran.
 */
export async function retrying<T>(
  options: {
    attempts: number;
    delayMs: (attempt: number) => number;
    signal: AbortSignal;
    wait: (ms: number, signal: AbortSignal) => Promise<void>;
  },
  attempt: (n: number) => Promise<{ok: boolean; value: T}>,
): Promise<{ok: boolean; value: T | undefined; attempts: number}> {
  const max = Math.max(1, Math.floor(options.attempts));
  let last: {ok: boolean; value: T} | undefined;
  let n = 0;
  while (n < max && !options.signal.aborted) {
    n++;
    last = await attempt(n);
    if (last.ok) return {ok: true, value: last.value, attempts: n};
    if (n < max && !options.signal.aborted) await options.wait(options.delayMs(n), options.signal);
  }
  return {ok: false, value: last?.value, attempts: n};
}

/** Backoff: `base` after the first failure, doubling each time, at most `max`. */
export const backoff =
  (base: number, factor = 2, max = 60_000) =>
  (attempt: number): number =>
    Math.min(max, base * factor ** (attempt - 1));

/** How many attempts a `retry` makes and the wait after each failure. */
export interface RetryPlan {
  attempts: number;
  delayMs: (attempt: number) => number;
}

/**
 * A step's `retry` as a plan for {@link retrying}: `backoff` after the first failure,
 * times `factor` after each later one, at most `maxDelay`. Fields left out come from
 * `defaults` (each step kind has its own).
 */
export function retryPlan(
  retry: Retry | undefined,
  defaults: {attempts: number; backoffMs: number; factor: number},
): RetryPlan {
  return {
    attempts: Math.max(1, Math.floor(retry?.attempts ?? defaults.attempts)),
    delayMs: backoff(
      parseDuration(retry?.backoff) ?? defaults.backoffMs,
      retry?.factor ?? (retry ? 2 : defaults.factor),
      parseDuration(retry?.maxDelay) ?? 60_000,
    ),
  };
}
