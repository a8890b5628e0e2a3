/**
 * Conditions on values: the comparisons a watch waits for and a step's `when` tests, read
 * the same way everywhere (numbers compared as numbers, text as text).
 */
import type {Comparison, ValueCondition} from './vocabulary.js';

/** The comparison fields, in the order they are looked for. */
export const comparisonFields = [
  'equals',
  'notEquals',
  'below',
  'above',
  'atMost',
  'atLeast',
  'matches',
] as const;

export type ComparisonField = (typeof comparisonFields)[number];

/** Which comparison a condition makes (the first field present), or undefined. */
export function comparisonOf(
  condition: object,
): {field: ComparisonField; operand: number | string} | undefined {
  for (const field of comparisonFields) {
    if (field in condition) {
      const operand = (condition as Record<string, unknown>)[field];
      if (typeof operand === 'number' || typeof operand === 'string') return {field, operand};
    }
  }
  return undefined;
}

const symbols: Record<ComparisonField, string> = {
  equals: '=',
  notEquals: '≠',
  below: '<',
  above: '>',
  atMost: '≤',
  atLeast: '≥',
  matches: '~',
};

/** A comparison as the screen shows it: `< 100`, `= blue`, `~ /^v\d+$/`. */
export function describeComparison(condition: Comparison): string {
  const c = comparisonOf(condition);
  if (!c) return '?';
  return c.field === 'matches'
    ? `~ /${String(c.operand)}/`
    : `${symbols[c.field]} ${String(c.operand)}`;
}

/** Whether a number satisfies a numeric comparison (`matches` tests its decimal text). */
export function compareNumber(condition: Comparison, value: number): boolean {
  return compareValue(condition, String(value)).holds;
}

/**
 * Whether a value satisfies a comparison, and if not, why in plain words. An operand that
 * is a number compares the value as a number (a value that is not one does not hold).
 */
export function compareValue(
  condition: Comparison,
  value: string | undefined,
): {holds: boolean; why?: string} {
  const c = comparisonOf(condition);
  if (!c) return {holds: false, why: 'no comparison'};
  if (value === undefined) return {holds: false, why: 'it has no value'};
  if (c.field === 'matches') {
    return new RegExp(`^(?:${String(c.operand)})$`).test(value) ? {holds: true} : {holds: false};
  }
  if (typeof c.operand === 'string') {
    const equal = value === c.operand;
    return {holds: c.field === 'notEquals' ? !equal : c.field === 'equals' && equal};
  }
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) return {holds: false, why: `"${value.slice(0, 40)}" is not a number`};
  const k = c.operand;
  const holds = {
    equals: n === k,
    notEquals: n !== k,
    below: n < k,
    above: n > k,
    atMost: n <= k,
    atLeast: n >= k,
  }[c.field];
  return {holds};
}

/** A step's `when` as a list (one condition or several, all of which must hold). */
export const whenList = (
  when: ValueCondition | readonly ValueCondition[] | undefined,
): readonly ValueCondition[] =>
  when === undefined ? [] : Array.isArray(when) ? when : [when as ValueCondition];

/**
 * Tests a step's `when` against the variables: undefined when it holds (or there is none),
 * else the reason the step is not run, naming the condition and the value seen.
 */
export function whenFails(
  when: ValueCondition | readonly ValueCondition[] | undefined,
  vars: Readonly<Record<string, string>>,
): string | undefined {
  for (const condition of whenList(when)) {
    const value = vars[condition.var];
    const result = compareValue(condition, value);
    if (!result.holds) {
      const seen = value === undefined ? 'has no value' : `is ${JSON.stringify(value)}`;
      return `its condition ${condition.var} ${describeComparison(condition)} does not hold: ${condition.var} ${seen}${result.why && value !== undefined ? ` (${result.why})` : ''}`;
    }
  }
  return undefined;
}
