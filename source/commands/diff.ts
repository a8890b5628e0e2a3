/**
 * `crewchief diff SITE --profile A --profile B [--json]`: the site's plan resolved on two
 * profiles, side by side: the settings that differ, the phases and steps that run on one
 * side only, and the commands, hosts and timings that differ where a step runs on both.
 */
import {resolvePlan} from '../engine/plan.js';
import {UsageError} from '../services/exit.js';
import {loadChecked} from '../services/open.js';
import {diffPlans, type FieldDiff, type PlanDiff} from '../services/plan-diff.js';
import {sanitize} from '../ui/sanitize.js';
import {padToWidth, textWidth, wrapToWidth} from '../ui/text-width.js';

/** Lines at most `width` columns wide (words kept whole where they fit; never cut). */
const wrap = (text: string, width: number): string[] =>
  sanitize(text)
    .split('\n')
    .flatMap((line) => wrapToWidth(line, width));

/** The diff as two columns under a label column, fitted to `width`. */
export function renderDiff(diff: PlanDiff, width = 100): string {
  const label = 16;
  const column = Math.max(20, Math.floor((width - label - 5) / 2));
  const row = (name: string, a: string, b: string): string[] => {
    const left = wrap(a, column);
    const right = wrap(b, column);
    // A name wider than its column stands on a line of its own, above its values.
    const out = textWidth(name) > label ? [`  ${sanitize(name)}`] : [];
    const first = out.length ? '' : name;
    for (let i = 0; i < Math.max(left.length, right.length); i++)
      out.push(
        `  ${padToWidth(i ? '' : first, label)} ${padToWidth(left[i] ?? '', column)} │ ${right[i] ?? ''}`.trimEnd(),
      );
    return out;
  };
  const fields = (list: readonly FieldDiff[]): string[] =>
    list.flatMap((f) => row(f.field, f.a, f.b));
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  const lines = [
    `${diff.site}: ${diff.a.title} (${diff.a.profile}) vs ${diff.b.title} (${diff.b.profile})`,
    '',
    ...row('', diff.a.profile, diff.b.profile),
    `  ${'─'.repeat(label + column * 2 + 3)}`,
  ];
  if (diff.profile.length) lines.push('profile settings that differ', ...fields(diff.profile), '');
  const only = [
    ...diff.onlyA.map((o) => ({...o, a: `${o.kind} · ${o.title}`, b: `— not run (${o.reason})`})),
    ...diff.onlyB.map((o) => ({...o, a: `— not run (${o.reason})`, b: `${o.kind} · ${o.title}`})),
  ];
  if (only.length) {
    lines.push(
      `on one side only (${count(diff.onlyA.length, 'step')} on ${diff.a.profile}, ${diff.onlyB.length} on ${diff.b.profile}; phases included)`,
    );
    for (const o of only) lines.push(...row(o.key, o.a, o.b));
    lines.push('');
  }
  if (diff.differ.length) {
    lines.push(`on both sides, differing (${count(diff.differ.length, 'step')})`);
    for (const d of diff.differ) lines.push(`  ${d.key} · ${d.kind}`, ...fields(d.fields));
    lines.push('');
  }
  lines.push(`${count(diff.same, 'step')} run the same on both sides.`);
  return lines.map((l) => l.trimEnd()).join('\n');
}

export async function diff(
  siteName: string | undefined,
  profiles: readonly string[],
  options: {json?: boolean; vars?: Readonly<Record<string, string>>; width?: number} = {},
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
): Promise<number> {
  if (!siteName || profiles.length !== 2)
    throw new UsageError(
      'diff expects a SITE and two profiles: crewchief diff SITE --profile A --profile B',
    );
  const [a, b] = await Promise.all(
    profiles.map((name) =>
      loadChecked(siteName, name, {given: options.vars ?? {}, missing: 'leave'}),
    ),
  );
  const result = diffPlans(resolvePlan(a!.site, a!.profile), resolvePlan(b!.site, b!.profile));
  write(
    options.json
      ? JSON.stringify(result, null, 2)
      : renderDiff(result, options.width ?? process.stdout.columns ?? 100),
  );
  return 0;
}
