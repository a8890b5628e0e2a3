/**
 * Reading a profile's secrets for a session: every secret a step that applies on this
 * profile uses must be readable (or nothing starts); a secret used only by steps that
 * do not apply (`only`/`unless`) is read when it can be, for the redactor, and otherwise
 * left alone.
 */
import type {ResolvedPlan} from '../engine/plan.js';
import {resolveSecret, type Profile} from '../runbook/profile.js';
import {templateUses} from '../runbook/template.js';
import type {Step} from '../runbook/vocabulary.js';
import {EXIT, LaunchError} from './exit.js';

/**
 * The secrets a step names: `${secret.NAME}` in any of its strings, and a notify
 * webhook. A choice's options are left out (its branch steps are steps of the plan);
 * any other nested steps count with the step that holds them.
 */
function secretsOf(step: Step): string[] {
  const own = step.kind === 'choice' ? {...step, options: []} : step;
  const names = templateUses(JSON.stringify(own))
    .map((u) => u.name)
    .filter((name) => name.startsWith('secret.'))
    .map((name) => name.slice('secret.'.length));
  if (step.kind === 'notify' && step.webhook) names.push(step.webhook);
  return names;
}

/** The secrets this session needs: those of applicable steps, and team mode's webhook. */
export function secretsNeeded(plan: ResolvedPlan): Set<string> {
  const needed = new Set<string>();
  for (const s of plan.steps) if (s.applies) for (const name of secretsOf(s.step)) needed.add(name);
  if (plan.profile.team.notify?.webhook) needed.add(plan.profile.team.notify.webhook);
  return needed;
}

/**
 * Reads the profile's secrets. One the session needs and cannot read stops it here
 * (exit 3) with the reason; one it does not need is read when it can be (so its value is
 * still redacted wherever it shows up) and skipped when it cannot.
 */
export function readSecrets(
  profile: Profile,
  needed: ReadonlySet<string>,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const [name, ref] of Object.entries(profile.secrets)) {
    try {
      secrets[name] = resolveSecret(name, ref, env);
    } catch (error) {
      if (!needed.has(name)) continue;
      throw new LaunchError(`${profile.file}: ${(error as Error).message}`, EXIT.invalid);
    }
  }
  return secrets;
}
