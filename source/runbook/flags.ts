/** Site variants: which phases and steps apply on a profile, from its flags. */
import type {FlagCondition} from './vocabulary.js';

/** Does a flag condition hold on these flags? A list means any of. `!x` negates. */
export function flagsMatch(condition: FlagCondition, flags: readonly string[]): boolean {
  const list = typeof condition === 'string' ? [condition] : condition;
  return list.some((c) => (c.startsWith('!') ? !flags.includes(c.slice(1)) : flags.includes(c)));
}

/** Why an item does not apply on these flags, or undefined when it does. */
export function applicability(
  item: {only?: FlagCondition; unless?: FlagCondition},
  flags: readonly string[],
): string | undefined {
  if (item.only !== undefined && !flagsMatch(item.only, flags)) {
    return `only for ${[item.only].flat().join(' or ')}`;
  }
  if (item.unless !== undefined && flagsMatch(item.unless, flags)) {
    return `not for ${[item.unless].flat().join(' or ')}`;
  }
  return undefined;
}
