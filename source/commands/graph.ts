/** `crewchief graph SITE`: the machine as a Mermaid state diagram, for runbook authors. */
import {builtInVariables, interpolate, resolvePlan, type ResolvedPlan} from '../engine/plan.js';
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
  for (const phase of plan.site.phases) {
    const steps = plan.steps.filter((s) => s.phase.id === phase.id && s.applies);
    if (!steps.length) continue;
    lines.push(`  state "${label(phase.title)}" as ${node(phase.id)} {`);
    for (const s of steps)
      lines.push(
        `    ${node(s.key)} : ${label(`${s.step.kind} · ${s.step.title}`)}${s.danger ? ' ⚠' : ''}`,
      );
    lines.push('  }');
  }
  if (plan.first) lines.push(`  [*] --> ${node(plan.first)}`);
  for (const s of plan.steps.filter((x) => x.applies)) {
    if (s.step.kind === 'choice') {
      for (const option of s.step.options) {
        const first = s.branches?.[option.id]?.find((b) => b.applies);
        lines.push(
          `  ${node(s.key)} --> ${first ? node(first.key) : s.next ? node(s.next) : '[*]'} : ${label(option.id)}`,
        );
      }
    } else lines.push(`  ${node(s.key)} --> ${s.next ? node(s.next) : '[*]'}`);
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
