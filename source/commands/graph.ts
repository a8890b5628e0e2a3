/** `crewchief graph SITE`: the machine as a Mermaid state diagram, for runbook authors. */
import {
  builtInVariables,
  interpolate,
  resolvePlan,
  type ResolvedPlan,
  type ResolvedStep,
} from '../engine/plan.js';
import {describeComparison, whenList} from '../runbook/conditions.js';
import {findSite, listProfiles, LoadError} from '../runbook/load.js';
import {UsageError} from '../services/exit.js';
import {loadChecked} from '../services/open.js';

const node = (key: string): string => key.replace(/[^A-Za-z0-9_]/g, '_');

export function mermaid(plan: ResolvedPlan): string {
  const lines = ['stateDiagram-v2'];
  // Titles as the console shows them: the profile's variables filled (captured ones stay
  // \${name}: they have no value before the run).
  const vars = builtInVariables(plan.profile);
  const label = (text: string): string => interpolate(text, vars).replace(/[:"]/g, ' ');
  const when = (s: ResolvedStep): string => {
    const conditions = whenList(s.step.when);
    return conditions.length
      ? ` (when ${conditions.map((c) => `${c.var} ${describeComparison(c)}`).join(' and ')})`
      : '';
  };
  const stepLine = (s: ResolvedStep, indent: string): string =>
    `${indent}${node(s.key)} : ${label(`${s.step.kind} · ${s.step.title}${when(s)}`)}${s.danger ? ' ⚠' : ''}${s.pointOfNoReturn ? ' ⛔ point of no return' : ''}`;
  const composite = (id: string, title: string, steps: readonly ResolvedStep[]): void => {
    lines.push(`  state "${label(title)}" as ${node(id)} {`);
    for (const s of steps) lines.push(stepLine(s, '    '));
    lines.push('  }');
  };
  const inFlow = (s: ResolvedStep): boolean => s.applies && !s.standby;
  for (const phase of plan.site.phases) {
    const steps = plan.steps.filter((s) => s.phase.id === phase.id && inFlow(s));
    if (steps.length) composite(phase.id, phase.title, steps);
  }
  if (plan.first) lines.push(`  [*] --> ${node(plan.first)}`);
  const edges = (s: ResolvedStep): void => {
    if (s.step.kind === 'choice') {
      for (const option of s.step.options) {
        const first = s.branches?.[option.id]?.find((b) => b.applies);
        lines.push(
          `  ${node(s.key)} --> ${first ? node(first.key) : s.next ? node(s.next) : '[*]'} : ${label(option.id)}`,
        );
      }
    } else lines.push(`  ${node(s.key)} --> ${s.next ? node(s.next) : '[*]'}`);
    // What runs instead of asking when the step fails.
    const onFailure = s.onFailureSteps?.filter((x) => x.applies) ?? [];
    if (onFailure.length) {
      lines.push(`  ${node(s.key)} --> ${node(onFailure[0]!.key)} : on failure`);
      for (const x of onFailure) edges(x);
    }
    const named = s.onFailureRollback && plan.namedRollbacks.get(s.onFailureRollback);
    if (named && named.first)
      lines.push(
        `  ${node(s.key)} --> ${node(named.first)} : on failure, rollback ${label(s.onFailureRollback!)}`,
      );
  };
  for (const s of plan.steps.filter(inFlow)) edges(s);
  // On-failure steps, each set beside the step it stands in for.
  for (const s of plan.steps.filter(inFlow)) {
    const onFailure = s.onFailureSteps?.filter((x) => x.applies) ?? [];
    if (onFailure.length) composite(`${s.key}/on-failure`, `If ${s.step.title} fails`, onFailure);
  }
  // Rollbacks: the chain an abort before the point of no return offers (the phases that
  // ran, the latest first), and each named rollback; both end the session rolled back.
  const chain = (steps: readonly ResolvedStep[]): void => {
    for (let i = 0; i < steps.length; i++)
      lines.push(
        `  ${node(steps[i]!.key)} --> ${i + 1 < steps.length ? node(steps[i + 1]!.key) : '[*]'}${i + 1 < steps.length ? '' : ' : rolled back'}`,
      );
  };
  const phased = [...plan.phaseRollbacks].reverse().map((r) => ({
    ...r,
    steps: r.steps.filter((x) => x.applies),
  }));
  for (const r of phased)
    if (r.steps.length) composite(`rollback-phase/${r.id}`, `Roll back ${r.title}`, r.steps);
  const offered = phased.flatMap((r) => r.steps);
  if (offered.length) {
    lines.push(
      '  state "abort before the point of no return offers the rollback" as rollback_offer',
    );
    lines.push(`  rollback_offer --> ${node(offered[0]!.key)} : rollback`);
    chain(offered);
  }
  for (const [name, r] of plan.namedRollbacks) {
    const steps = r.steps.filter((x) => x.applies);
    if (!steps.length) continue;
    composite(`rollback-named/${name}`, `Rollback ${r.title}`, steps);
    chain(steps);
  }
  return lines.join('\n');
}

export async function graph(
  siteName: string,
  profileName?: string,
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  /** Run-time values (`--var`) for variables the site declares. */
  vars: Readonly<Record<string, string>> = {},
): Promise<number> {
  // The same checks as run: an unknown site is a usage error, a profile for another site
  // is refused (a LaunchError, said in one line by the command line).
  let site: string;
  try {
    site = (await findSite(siteName)).site.id;
  } catch (error) {
    if (error instanceof LoadError) throw new UsageError(error.message);
    throw error;
  }
  const name = profileName ?? listProfiles().find((p) => p.site === site)?.name;
  if (!name)
    throw new UsageError(`no profile for site ${site} to resolve the graph with (give --profile)`);
  const checked = await loadChecked(siteName, name, {given: vars, missing: 'leave'});
  write(mermaid(resolvePlan(checked.site, checked.profile)));
  return 0;
}
