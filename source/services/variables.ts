/**
 * Run-time variables: values for the variables a site declares (`site.variables`) given
 * on the command line (`--var NAME=VALUE`), asked on the terminal, or taken back from a
 * resumed session's journal. They fill the profile's `variables` before the site and
 * profile are checked together, so a run-time value is checked, resolved and journaled
 * exactly as a value written in the profile.
 */
import {variableProblem, type Profile} from '../runbook/profile.js';
import type {Site} from '../runbook/vocabulary.js';
import {EXIT, LaunchError, UsageError} from './exit.js';

/** Asks the driver for one variable's value (a terminal is present). */
export type AskVariable = (name: string, description: string) => Promise<string>;

export interface RunTimeValues {
  /** Values given for this session (`--var`, or a resumed session's journaled ones). */
  given: Readonly<Record<string, string>>;
  /**
   * A declared variable with no value: `ask` asks for it (a terminal is present);
   * `refuse` stops with a message naming it and the `--var` form; `leave` keeps it
   * unfilled (graph, diff: nothing runs).
   */
  missing: 'refuse' | 'leave' | {ask: AskVariable};
}

/** `--var NAME=VALUE`, repeatable, as a record. Throws UsageError on a malformed one. */
export function parseVarFlags(values: readonly string[] | undefined): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of values ?? []) {
    const at = pair.indexOf('=');
    const name = at > 0 ? pair.slice(0, at) : '';
    if (!name) throw new UsageError(`--var expects NAME=VALUE, not "${pair}"`);
    const value = pair.slice(at + 1);
    if (name in vars && vars[name] !== value)
      throw new UsageError(`--var ${name} is given twice, with different values`);
    const problem = variableProblem(name, value);
    if (problem) throw new UsageError(`--var ${name}: ${problem}`);
    vars[name] = value;
  }
  return vars;
}

const declaredList = (site: Site): string =>
  Object.keys(site.variables ?? {}).join(', ') || 'it declares none';

/**
 * The profile with run-time values filled in (`runTime` says which they are). A name the
 * site does not declare is refused (exit 2), listing the ones it does.
 */
export async function withRunTimeValues(
  site: Site,
  profile: Profile,
  values: RunTimeValues,
): Promise<Profile> {
  const declared = site.variables ?? {};
  for (const name of Object.keys(values.given)) {
    if (!(name in declared))
      throw new UsageError(
        `--var ${name}: site ${site.id} declares no variable "${name}" (declared: ${declaredList(site)})`,
      );
  }
  const runTime: Record<string, string> = {...values.given};
  const missing = Object.keys(declared).filter(
    (name) => !(name in runTime) && !(name in profile.variables),
  );
  if (missing.length && values.missing === 'refuse')
    throw new LaunchError(
      `site ${site.id} needs ${missing.length === 1 ? 'a value' : 'values'} that profile ${profile.name} does not give: ${missing
        .map((name) => `${name} (${declared[name]})`)
        .join(', ')}; give ${missing.length === 1 ? 'it' : 'them'} with ${missing
        .map((name) => `--var ${name}=VALUE`)
        .join(' ')}, or run on a terminal to be asked`,
      EXIT.needsDriver,
    );
  if (missing.length && typeof values.missing === 'object') {
    for (const name of missing) runTime[name] = await values.missing.ask(name, declared[name]!);
  }
  if (!Object.keys(runTime).length) return profile;
  return {...profile, variables: {...profile.variables, ...runTime}, runTime};
}

/**
 * On resume, the session's run-time values are the journaled ones: `--var` may repeat
 * them, never change them (the plan was resolved with them; steps already ran with them).
 */
export function resumedRunTimeValues(
  session: string,
  journaled: Readonly<Record<string, string>>,
  given: Readonly<Record<string, string>>,
): Record<string, string> {
  const changed = Object.entries(given).filter(([name, value]) => journaled[name] !== value);
  if (changed.length) {
    const was = (name: string): string =>
      name in journaled ? `${name}=${journaled[name]}` : `no run-time ${name}`;
    throw new UsageError(
      `session ${session} was opened with ${changed.map(([name]) => was(name)).join(', ')}; a session keeps its run-time values: resume without --var, or start a new session with ${changed.map(([name, value]) => `--var ${name}=${value}`).join(' ')}`,
    );
  }
  return {...journaled};
}
