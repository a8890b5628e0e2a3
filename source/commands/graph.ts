/** `crewchief graph SITE`: the machine as a Mermaid state diagram, for runbook authors. */
import {resolvePlan, type ResolvedPlan} from '../engine/plan.js';
import {findProfile, findSite, listProfiles} from '../runbook/load.js';

const node = (key: string): string => key.replace(/[^A-Za-z0-9_]/g, '_');

export function mermaid(plan: ResolvedPlan): string {
  const lines = ['stateDiagram-v2'];
  const label = (text: string): string => text.replace(/[:"]/g, ' ');
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
): Promise<number> {
  const {site} = await findSite(siteName);
  const name = profileName ?? listProfiles().find((p) => p.site === site.id)?.name;
  if (!name) {
    process.stderr.write(
      `crewchief: no profile for site ${site.id} to resolve the graph with (give --profile)\n`,
    );
    return 2;
  }
  write(mermaid(resolvePlan(site, findProfile(name))));
  return 0;
}
