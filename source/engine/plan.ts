/**
 * Site + profile → a resolved plan: every step with its key, whether it applies on this
 * profile, its hosts, its due date and the order the engine walks them in.
 */
import {createHash} from 'node:crypto';
import type {Plan, PlanPhase, PlanStep} from '../journal/events.js';
import type {Profile} from '../runbook/profile.js';
import {applicability} from '../runbook/flags.js';
import {fillTemplate} from '../runbook/template.js';
import type {Phase, Site, Step} from '../runbook/vocabulary.js';
import type {HostSpec} from '../transport/types.js';

export interface ResolvedStep {
  key: string;
  step: Step;
  phase: Phase;
  applies: boolean;
  reason?: string;
  /** `local`, or the hosts of the step's target. */
  hosts: 'local' | HostSpec[];
  /** The choice step and option this step belongs to, if it is in a branch. */
  branch?: {choice: string; option: string};
  /** Key of the step that follows when this one is done (undefined: the end). */
  next?: string;
  due?: string;
  danger?: string;
  hash: string;
  /** For a choice: the steps of each option, by option id. */
  branches?: Record<string, ResolvedStep[]>;
  /** The steps that run when this one fails (its `onFailure: {steps}`). */
  onFailureSteps?: ResolvedStep[];
  /** The named rollback that runs when this one fails (its `onFailure: {rollback}`). */
  onFailureRollback?: string;
  /** Runs only when something goes wrong (see PlanStep.standby). */
  standby?: {when: 'on-failure' | 'rollback'; of: string};
  /** Once it starts (or is answered), rolling back is no longer offered. */
  pointOfNoReturn?: boolean;
}

/** The rollback steps of one phase, or of a named rollback. */
export interface ResolvedRollback {
  /** The phase id, or `rollback:NAME` for a named rollback. */
  id: string;
  title: string;
  /** Its steps, applicable or not, in order. */
  steps: ResolvedStep[];
  /** The first applicable step (undefined: nothing to run on this profile). */
  first?: string;
}

export interface ResolvedPlan {
  site: Site;
  profile: Profile;
  steps: ResolvedStep[];
  byKey: Map<string, ResolvedStep>;
  /** First step to run (undefined when nothing applies). */
  first?: string;
  /** Hash of the whole runbook structure as resolved for this profile. */
  hash: string;
  /** What the journal records at session start. */
  outline: Plan;
  /** Phases with rollback steps that apply, in site order. */
  phaseRollbacks: ResolvedRollback[];
  /** Named rollbacks (`site.rollbacks`), by name. */
  namedRollbacks: Map<string, ResolvedRollback>;
}

/** The pseudo-phase id a named rollback's steps carry. */
export const namedRollbackId = (name: string): string => `rollback:${name}`;

/**
 * The step keys a rollback of these phases runs, in order: each phase's applicable
 * rollback steps, the latest phase first.
 */
export function rollbackSteps(plan: ResolvedPlan, phases: readonly string[]): string[] {
  return plan.phaseRollbacks
    .filter((r) => phases.includes(r.id))
    .reverse()
    .flatMap((r) => r.steps.filter((s) => s.applies).map((s) => s.key));
}

/**
 * Resolves `T-14d` (calendar days) or `T-2wd` (working days, Monday to Friday) against a
 * release date. Returns YYYY-MM-DD, or null when the form is not understood.
 */
export function resolveDue(due: string, release: string): string | null {
  const match = /^T-(\d+)(d|wd)$/.exec(due.trim());
  if (!match) return null;
  const date = new Date(`${release}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return null;
  let n = Number(match[1]);
  if (match[2] === 'd') date.setUTCDate(date.getUTCDate() - n);
  else {
    while (n > 0) {
      date.setUTCDate(date.getUTCDate() - 1);
      const day = date.getUTCDay();
      if (day !== 0 && day !== 6) n--;
    }
  }
  return date.toISOString().slice(0, 10);
}

/** The hosts a target names: `local`, a host, or a group (with or without a leading @). */
export function resolveTarget(
  target: string | undefined,
  profile: Profile,
): 'local' | HostSpec[] | null {
  if (target === undefined || target === 'local') return 'local';
  const name = target.startsWith('@') ? target.slice(1) : target;
  const host = profile.hosts[name];
  if (host) return [host];
  const group = profile.groups[name];
  if (group) return group.map((h) => profile.hosts[h]).filter((h): h is HostSpec => !!h);
  return null;
}

/** The variable a target names when it is written `${name}` (read when the step runs). */
export const targetVariable = (target: string | undefined): string | undefined =>
  target === undefined ? undefined : /^\$\{([A-Za-z_][\w.-]*)\}$/.exec(target.trim())?.[1];

/**
 * The hosts a step runs on, given the variables as they are when it runs: a `${name}`
 * target is read then (a profile variable, or a value an earlier step captured). Its value
 * must name a host or a group of the profile (not `local`): otherwise this throws, saying
 * so, and the step runs nowhere.
 */
export function hostsAtRun(
  resolved: ResolvedStep,
  vars: Readonly<Record<string, string>>,
  profile: Profile,
): 'local' | HostSpec[] {
  const name = targetVariable(stepTarget(resolved.step));
  if (name === undefined) return resolved.hosts;
  const value = vars[name];
  if (value === undefined)
    throw new Error(`the target \${${name}} has no value: the step runs nowhere`);
  const hosts = value === 'local' ? null : resolveTarget(value, profile);
  if (hosts === null || hosts === 'local') {
    throw new Error(
      `the target \${${name}} is ${JSON.stringify(value.slice(0, 80))}, which is not a host or group of profile ${profile.name} (hosts: ${Object.keys(profile.hosts).join(', ') || 'none'}; groups: ${Object.keys(profile.groups).join(', ') || 'none'}): the step runs nowhere`,
    );
  }
  return hosts;
}

const stepTarget = (step: Step): string | undefined =>
  step.kind === 'command' || step.kind === 'watch' || step.kind === 'check' ? step.on : undefined;

/**
 * Fills names into text that is shown (titles, the danger line, prompts): values as they
 * are, `$${X}` as `${X}`. Names with no value yet (captured later) stay as `${name}`.
 * Shell commands are filled by the step actors, quoted (see ../runbook/template.ts).
 */
export function interpolate(
  text: string,
  vars: Readonly<Record<string, string>>,
  onMissing?: (name: string) => void,
): string {
  return fillTemplate(
    text,
    (name) => vars[name],
    'text',
    (name, whole) => {
      onMissing?.(name);
      return whole;
    },
  );
}

/** Built-in variables every runbook can use. */
export const builtInVariables = (profile: Profile): Record<string, string> => ({
  site: profile.site,
  profile: profile.name,
  release: profile.release ?? '',
  ...profile.variables,
});

const hashOf = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** Applies the profile's per-step timing overrides. */
function withOverrides(step: Step, profile: Profile): Step {
  const override = profile.overrides[step.id];
  return override ? ({...step, ...override} as Step) : step;
}

export function resolvePlan(site: Site, profile: Profile): ResolvedPlan {
  const vars = builtInVariables(profile);
  const steps: ResolvedStep[] = [];

  // Walk a list of steps, then link each applicable step to the next applicable one.
  const walk = (
    list: readonly Step[],
    phase: Phase,
    phaseReason: string | undefined,
    prefix: string,
    branch: ResolvedStep['branch'],
    standby?: ResolvedStep['standby'],
  ): ResolvedStep[] => {
    const level: ResolvedStep[] = [];
    for (const raw of list) {
      const step = withOverrides(raw, profile);
      const reason = phaseReason ?? applicability(step, profile.flags);
      const target = stepTarget(step);
      // A `${name}` target: known now when a profile variable names it, else when it runs.
      const variable = targetVariable(target);
      const named = variable === undefined ? target : vars[variable];
      const hosts =
        variable !== undefined && (named === undefined || named === 'local')
          ? []
          : (resolveTarget(named, profile) ?? []);
      const due = step.due ?? phase.due;
      const dueDate = due && profile.release ? resolveDue(due, profile.release) : undefined;
      const danger =
        step.danger === true ? step.id : step.danger ? interpolate(step.danger, vars) : undefined;
      const resolved: ResolvedStep = {
        key: `${prefix}${step.id}`,
        step,
        phase,
        applies: reason === undefined,
        ...(reason ? {reason} : {}),
        hosts,
        ...(branch ? {branch} : {}),
        ...(standby ? {standby} : {}),
        ...(step.pointOfNoReturn ? {pointOfNoReturn: true} : {}),
        ...(dueDate ? {due: dueDate} : {}),
        ...(danger ? {danger} : {}),
        hash: hashOf({
          ...step,
          ...('options' in step ? {options: step.options.map((o) => o.id)} : {}),
          hosts: hosts === 'local' ? 'local' : hosts.map((h) => h.name),
          text: interpolateStep(step, vars),
        }),
      };
      steps.push(resolved);
      level.push(resolved);
      if (step.kind === 'choice') {
        for (const option of step.options) {
          const inner = walk(
            option.steps,
            phase,
            reason,
            `${resolved.key}/${option.id}/`,
            {choice: resolved.key, option: option.id},
            standby,
          );
          (resolved.branches ??= {})[option.id] = inner;
        }
      }
      const failure = step.onFailure;
      if (failure && 'steps' in failure) {
        resolved.onFailureSteps = walk(
          failure.steps,
          phase,
          reason,
          `${resolved.key}/on-failure/`,
          branch,
          standby ?? {when: 'on-failure', of: resolved.key},
        );
      } else if (failure && 'rollback' in failure) resolved.onFailureRollback = failure.rollback;
    }
    return level;
  };

  const top: ResolvedStep[] = [];
  const phaseRollbacks: ResolvedRollback[] = [];
  const rollbackLevels: {rollback: ResolvedRollback; level: ResolvedStep[]}[] = [];
  for (const phase of site.phases) {
    const reason = applicability(phase, profile.flags);
    const level = walk(phase.steps, phase, reason, `${phase.id}/`, undefined);
    // The phase's first step that runs carries the phase's point of no return.
    const opening = level.find((s) => s.applies);
    if (phase.pointOfNoReturn && opening) opening.pointOfNoReturn = true;
    top.push(...level);
    if (phase.rollback?.length) {
      const steps = walk(phase.rollback, phase, reason, `${phase.id}/rollback/`, undefined, {
        when: 'rollback',
        of: phase.id,
      });
      const rollback = {id: phase.id, title: phase.title, steps};
      rollbackLevels.push({rollback, level: steps});
      if (steps.some((s) => s.applies)) phaseRollbacks.push(rollback);
    }
  }
  const namedRollbacks = new Map<string, ResolvedRollback>();
  const namedPhases: PlanPhase[] = [];
  for (const r of site.rollbacks ?? []) {
    const id = namedRollbackId(r.id);
    // A named rollback reads as a phase of its own (the checklist shows it apart).
    const asPhase: Phase = {id, title: r.title, steps: r.steps};
    const steps = walk(r.steps, asPhase, undefined, `${id}/`, undefined, {
      when: 'rollback',
      of: id,
    });
    const rollback = {id, title: r.title, steps};
    rollbackLevels.push({rollback, level: steps});
    namedRollbacks.set(r.id, rollback);
    namedPhases.push({id, title: interpolate(r.title, vars), applies: true});
  }

  const link = (level: ResolvedStep[], after: string | undefined): string | undefined => {
    let next = after;
    for (let i = level.length - 1; i >= 0; i--) {
      const s = level[i]!;
      if (!s.applies) continue;
      if (next !== undefined) s.next = next;
      for (const inner of Object.values(s.branches ?? {})) link(inner, s.next);
      if (s.onFailureSteps) link(s.onFailureSteps, s.next);
      next = s.key;
    }
    return next;
  };
  const first = link(top, undefined);
  // A rollback's last step has no next: the engine goes on to the next rollback, or ends.
  for (const {rollback, level} of rollbackLevels) {
    const start = link(level, undefined);
    if (start) rollback.first = start;
  }

  const byKey = new Map(steps.map((s) => [s.key, s]));
  const phases: PlanPhase[] = [
    ...site.phases.map((p) => {
      const reason = applicability(p, profile.flags);
      const due = p.due && profile.release ? resolveDue(p.due, profile.release) : undefined;
      return {
        id: p.id,
        title: p.title,
        applies: reason === undefined,
        ...(reason ? {reason} : {}),
        ...(due ? {due} : {}),
      };
    }),
    ...namedPhases,
  ];
  const outline: Plan = {
    phases,
    steps: steps.map((s): PlanStep => ({
      key: s.key,
      id: s.step.id,
      title: interpolate(s.step.title, vars),
      kind: s.step.kind,
      phase: s.phase.id,
      applies: s.applies,
      ...(s.reason ? {reason: s.reason} : {}),
      ...(s.danger ? {danger: s.danger} : {}),
      ...(s.due ? {due: s.due} : {}),
      ...(s.branch ? {branch: s.branch} : {}),
      ...(s.standby ? {standby: s.standby} : {}),
      ...(s.pointOfNoReturn ? {pointOfNoReturn: true} : {}),
      ...(s.hosts !== 'local' ? {hosts: s.hosts.map((h) => h.name)} : {}),
      ...(s.step.help ? {help: interpolate(s.step.help, vars)} : {}),
      ...(s.step.kind === 'manual' && s.step.links?.length
        ? {links: s.step.links.map((l) => interpolate(l, vars))}
        : {}),
      hash: s.hash,
    })),
  };
  return {
    site,
    profile,
    steps,
    byKey,
    ...(first ? {first} : {}),
    hash: hashOf(outline.steps.map((s) => [s.key, s.hash, s.applies])),
    outline,
    phaseRollbacks,
    namedRollbacks,
  };
}

/** The text fields of a step with profile variables filled in (for hashes and display). */
function interpolateStep(step: Step, vars: Record<string, string>): string {
  switch (step.kind) {
    case 'command':
      return interpolate(step.run, vars);
    case 'watch':
      return interpolate(step.probe, vars);
    case 'notify':
      return interpolate(step.text, vars);
    case 'check':
      return interpolate(JSON.stringify(step.probes), vars);
    default:
      return '';
  }
}
