/** Watch conditions: reading a number from a probe's output and testing it. */
import type {WatchStep, WatchUntil} from '../../runbook/vocabulary.js';
import {compareNumber, describeComparison} from '../../runbook/conditions.js';

/** A watch condition that is a plain comparison of the count (not `near`, not `xOfX`). */
const isComparison = (
  until: WatchUntil,
): until is Exclude<WatchUntil, {near: string} | {xOfX: string}> =>
  !('near' in until) && !('xOfX' in until);

/**
 * What a watch's condition says, for the screen: `= 0`, `≤ 3`, `< 1048576`, `≈ 120 ± 5%`,
 * `X of X`.
 */
export function describeUntil(until: WatchUntil, vars: Record<string, string>): string {
  if (isComparison(until)) return describeComparison(until);
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

/** Whether a count (and for `xOfX`, its total) satisfies a watch's condition. */
export function conditionHolds(
  until: WatchUntil,
  value: number,
  of: number | undefined,
  vars: Record<string, string>,
): boolean {
  if (isComparison(until)) return compareNumber(until, value);
  if ('xOfX' in until) return of !== undefined && of > 0 && value === of;
  const base = Number(vars[until.near]);
  if (!Number.isFinite(base)) return false;
  const tol =
    typeof until.tolerance === 'string' && until.tolerance.endsWith('%')
      ? (Math.abs(base) * Number(until.tolerance.slice(0, -1))) / 100
      : Number(until.tolerance);
  return Math.abs(value - base) <= tol;
}
