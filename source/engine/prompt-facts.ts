/**
 * What a prompt shows, as fields of the `prompt-shown` event: the step's title filled,
 * its hosts, what to check, what skipping it gives up, and the exact commands it would
 * run per host — built the way the step actor builds them, then redacted. The screen
 * reads these fields; nothing parses the prompt's text.
 */
import type {JournalEvent, PromptKind} from '../journal/events.js';
import type {Redactor} from '../journal/redact.js';
import type {CheckProbe, CheckStep, CommandStep, WatchStep} from '../runbook/vocabulary.js';
import {hostName} from '../transport/types.js';
import {hostsAtRun, interpolate, type ResolvedPlan, type ResolvedStep} from './plan.js';
import {describeUntil, fill, fillProbe, maskedSecrets, probeCommand} from './steps.js';

type PromptShown = Extract<JournalEvent, {type: 'prompt-shown'}>;

/** The fact fields of a prompt. */
export type PromptFacts = Pick<
  PromptShown,
  'title' | 'runs' | 'hosts' | 'checks' | 'guards' | 'count'
>;

/** Facts for a step's prompt, given the variables as they are when it shows. */
export type DescribePrompt = (
  step: string,
  prompt: PromptKind,
  vars: Readonly<Record<string, string>>,
) => PromptFacts;

export interface LiveFacts {
  secrets: Readonly<Record<string, string>>;
  redactor: Redactor;
  /** The last count a watch sampled, by step key. */
  lastCount?: (step: string) => {value: number | null; target: string} | undefined;
  /** Hosts that will not run again (succeeded, or left out by the driver), by step key. */
  skipHosts?: (step: string) => ReadonlySet<string>;
}

/** The step's hosts with the variables as they are now (none when a variable target has no host). */
const targets = (
  plan: ResolvedPlan,
  resolved: ResolvedStep,
  vars: Readonly<Record<string, string>>,
): string[] => {
  try {
    const hosts = hostsAtRun(resolved, vars, plan.profile);
    return hosts === 'local' ? ['local'] : hosts.map(hostName);
  } catch {
    return [];
  }
};

/** The commands a step runs per host, filled and redacted; undefined when a value is missing. */
function commandsOf(
  plan: ResolvedPlan,
  resolved: ResolvedStep,
  vars: Record<string, string>,
  live: LiveFacts,
): {host: string; command: string}[] | undefined {
  const step = resolved.step;
  let texts: string[];
  // Secrets masked before filling: a quoted secret may no longer read as the secret.
  const secrets = maskedSecrets(live.secrets);
  try {
    if (step.kind === 'command') texts = [fill((step as CommandStep).run, vars, secrets)];
    else if (step.kind === 'watch') texts = [fill((step as WatchStep).probe, vars, secrets)];
    else if (step.kind === 'check')
      texts = (step as CheckStep).probes.map(
        (p) => probeCommand(fillProbe(p, vars, secrets)).command,
      );
    else return undefined;
  } catch {
    return undefined;
  }
  const skip = live.skipHosts?.(resolved.key);
  return targets(plan, resolved, vars)
    .filter((h) => !skip?.has(h))
    .flatMap((host) => texts.map((t) => ({host, command: live.redactor.text(t)})));
}

/**
 * What a probe checks, said plainly, with the values it has now (secrets masked). A value
 * still missing, or one the probe refuses, leaves the probe as written: a prompt never fails.
 */
function describeProbe(probe: CheckProbe, vars: Record<string, string>, live?: LiveFacts) {
  try {
    return probeCommand(fillProbe(probe, vars, maskedSecrets(live?.secrets ?? {}))).describe;
  } catch {
    return Object.values(probe)
      .filter((v) => typeof v === 'string')
      .join(' ');
  }
}

/** What skipping a watch or a check gives up: the step that comes next relies on it. */
function guardsOf(
  plan: ResolvedPlan,
  resolved: ResolvedStep,
  vars: Record<string, string>,
  live?: LiveFacts,
) {
  const step = resolved.step as {guards?: unknown};
  if (typeof step.guards === 'string') return interpolate(step.guards, vars);
  const next = resolved.next ? plan.byKey.get(resolved.next) : undefined;
  if (!next) return undefined;
  const nextTitle = interpolate(next.step.title, vars);
  if (resolved.step.kind === 'watch')
    return `"${nextTitle}" comes next and assumes the count is ${describeUntil(resolved.step.until, vars)}`;
  if (resolved.step.kind === 'check')
    return `"${nextTitle}" comes next and assumes ${resolved.step.probes
      .map((p) => describeProbe(p, vars, live))
      .join('; ')}`;
  return undefined;
}

/**
 * Builds the facts of every prompt of a plan. Without `live` (no secrets at hand, as in
 * the machine walk), commands are left out.
 */
export function describePrompts(plan: ResolvedPlan, live?: LiveFacts): DescribePrompt {
  return (key, prompt, vars) => {
    const resolved = plan.byKey.get(key);
    if (!resolved) return {};
    const all = {...vars};
    const checks =
      resolved.step.kind === 'gate'
        ? resolved.step.checks?.map((c) => interpolate(c, all))
        : resolved.step.kind === 'check'
          ? resolved.step.probes.map((p) => describeProbe(p, all, live))
          : undefined;
    const runs = live ? commandsOf(plan, resolved, all, live) : undefined;
    const guards = guardsOf(plan, resolved, all, live);
    const count = prompt === 'watch-timeout' ? live?.lastCount?.(key) : undefined;
    const unit = resolved.step.kind === 'watch' ? resolved.step.unit : undefined;
    return {
      title: interpolate(resolved.step.title, all),
      hosts: targets(plan, resolved, all),
      ...(runs ? {runs} : {}),
      ...(checks?.length ? {checks} : {}),
      ...(guards ? {guards} : {}),
      ...(count ? {count: {...count, ...(unit ? {unit} : {})}} : {}),
    };
  };
}
