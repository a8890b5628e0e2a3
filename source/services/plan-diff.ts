/**
 * Two resolved plans of one site compared (`crewchief diff`): what the profiles set
 * differently, the phases and steps that run on one side only, and, for steps that run
 * on both, the commands, hosts and timings that differ. Pure: plans in, facts out.
 */
import {
  builtInVariables,
  interpolate,
  type ResolvedPlan,
  type ResolvedStep,
} from '../engine/plan.js';
import {formatDuration, parseDuration} from '../runbook/duration.js';
import type {Profile} from '../runbook/profile.js';
import type {Duration, Step} from '../runbook/vocabulary.js';

/** One field on the two sides (`—` where a side has nothing). */
export interface FieldDiff {
  field: string;
  a: string;
  b: string;
}

/** A phase or step that runs on one side only. */
export interface OneSided {
  /** `phase` for a phase, else the step's kind. */
  kind: string;
  /** The phase id, or the step's key. */
  key: string;
  title: string;
  /** Why the other side leaves it out (`only for summit`). */
  reason: string;
}

/** A step that runs on both sides, with the fields that differ. */
export interface StepDiff {
  key: string;
  kind: string;
  title: string;
  fields: FieldDiff[];
}

export interface PlanDiff {
  site: string;
  a: {profile: string; title: string};
  b: {profile: string; title: string};
  /** Profile settings that differ: title, release, transport, flags, variables, hosts. */
  profile: FieldDiff[];
  onlyA: OneSided[];
  onlyB: OneSided[];
  differ: StepDiff[];
  /** Steps that run on both sides the same. */
  same: number;
}

const NONE = '—';

/** Profile settings as flat fields, for comparing. */
function profileFields(profile: Profile): Map<string, string> {
  const fields = new Map<string, string>([
    ['title', profile.title ?? NONE],
    ['release', profile.release ?? NONE],
    ['transport', profile.transport],
    ['flags', profile.flags.join(', ') || NONE],
  ]);
  if (profile.ssh.jump) fields.set('ssh.jump', profile.ssh.jump.join(' → '));
  if (profile.ssh.user) fields.set('ssh.user', profile.ssh.user);
  for (const [name, value] of Object.entries(profile.variables))
    fields.set(`variables.${name}`, value);
  for (const name of profile.runTimeVariables ?? [])
    if (!(name in profile.variables)) fields.set(`variables.${name}`, '~ (at run time)');
  for (const [name, host] of Object.entries(profile.hosts))
    fields.set(
      `hosts.${name}`,
      `${host.user ? `${host.user}@` : ''}${host.address ?? name}${host.port ? `:${host.port}` : ''}`,
    );
  for (const [name, members] of Object.entries(profile.groups))
    fields.set(`groups.${name}`, members.join(', '));
  return fields;
}

function compareMaps(a: Map<string, string>, b: Map<string, string>): FieldDiff[] {
  const out: FieldDiff[] = [];
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    const left = a.get(field) ?? NONE;
    const right = b.get(field) ?? NONE;
    if (left !== right) out.push({field, a: left, b: right});
  }
  return out;
}

const duration = (value: Duration | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  return ms === null ? String(value) : formatDuration(ms);
};

/** A step's fields as shown: commands and texts filled with the profile's values. */
function stepFields(resolved: ResolvedStep, vars: Record<string, string>): Map<string, string> {
  const step: Step = resolved.step;
  const fill = (text: string): string => interpolate(text, vars);
  const fields = new Map<string, string | undefined>([
    ['title', fill(step.title)],
    [
      'hosts',
      resolved.hosts === 'local'
        ? 'local'
        : resolved.hosts
            .map((h) => (h.address && h.address !== h.name ? `${h.name} (${h.address})` : h.name))
            .join(', '),
    ],
    ['due', resolved.due],
    ['danger', resolved.danger],
  ]);
  switch (step.kind) {
    case 'command':
      fields.set('run', fill(step.run));
      fields.set('cwd', step.cwd && fill(step.cwd));
      fields.set('timeout', duration(step.timeout));
      fields.set('expect', step.expect);
      fields.set('parallel', step.fanOut?.parallel?.toString());
      fields.set('batch', step.fanOut?.batch?.toString());
      fields.set('pause', duration(step.fanOut?.pause));
      break;
    case 'watch': {
      fields.set('probe', fill(step.probe));
      const until = step.until;
      fields.set(
        'until',
        'near' in until
          ? `near ${until.near}${vars[until.near] !== undefined ? ` = ${vars[until.near]}` : ''} ± ${until.tolerance}`
          : JSON.stringify(until),
      );
      fields.set('every', duration(step.every));
      fields.set('patience', duration(step.patience));
      fields.set('timeout', duration(step.timeout));
      break;
    }
    case 'check':
      step.probes.forEach((probe, i) => fields.set(`probe ${i + 1}`, fill(JSON.stringify(probe))));
      fields.set('retries', step.retries?.toString());
      fields.set('interval', duration(step.interval));
      break;
    case 'notify':
      fields.set('text', fill(step.text));
      fields.set('channel', step.channel && fill(step.channel));
      break;
    case 'gate':
      fields.set('word', step.word);
      (step.checks ?? []).forEach((c, i) => fields.set(`check ${i + 1}`, fill(c)));
      break;
    case 'choice':
      fields.set('question', fill(step.question));
      fields.set('options', step.options.map((o) => o.id).join(', '));
      break;
    default:
      break;
  }
  return new Map(
    [...fields].filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
}

/** Compares two plans of the same site (resolved on two profiles). */
export function diffPlans(a: ResolvedPlan, b: ResolvedPlan): PlanDiff {
  const varsA = builtInVariables(a.profile);
  const varsB = builtInVariables(b.profile);
  const onlyA: OneSided[] = [];
  const onlyB: OneSided[] = [];
  const differ: StepDiff[] = [];
  let same = 0;
  for (const phase of a.outline.phases) {
    const other = b.outline.phases.find((p) => p.id === phase.id);
    if (!other || phase.applies === other.applies) continue;
    const title = interpolate(phase.title, phase.applies ? varsA : varsB);
    if (phase.applies)
      onlyA.push({kind: 'phase', key: phase.id, title, reason: other.reason ?? NONE});
    else onlyB.push({kind: 'phase', key: phase.id, title, reason: phase.reason ?? NONE});
  }
  for (const left of a.steps) {
    const right = b.byKey.get(left.key);
    if (!right || (!left.applies && !right.applies)) continue;
    if (left.applies !== right.applies) {
      const [side, shown, missing] = left.applies
        ? ([onlyA, left, right] as const)
        : ([onlyB, right, left] as const);
      side.push({
        kind: shown.step.kind,
        key: shown.key,
        title: interpolate(shown.step.title, left.applies ? varsA : varsB),
        reason: missing.reason ?? NONE,
      });
      continue;
    }
    const fields = compareMaps(stepFields(left, varsA), stepFields(right, varsB));
    if (!fields.length) same++;
    else
      differ.push({
        key: left.key,
        kind: left.step.kind,
        title: interpolate(left.step.title, varsA),
        fields,
      });
  }
  return {
    site: a.site.id,
    a: {profile: a.profile.name, title: a.profile.title ?? a.profile.name},
    b: {profile: b.profile.name, title: b.profile.title ?? b.profile.name},
    profile: compareMaps(profileFields(a.profile), profileFields(b.profile)),
    onlyA,
    onlyB,
    differ,
    same,
  };
}
