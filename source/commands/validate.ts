/** `crewchief validate [PATHS…]`: machines and profiles, each alone and together. */
import fs from 'node:fs';
import path from 'node:path';
import {listProfiles, loadMachineFile, LoadError, shippedSites} from '../runbook/load.js';
import {
  formatError,
  loadProfile,
  ProfileError,
  type Profile,
  type ValidationError,
} from '../runbook/profile.js';
import {rawUses, validateAgainstProfile, validateSite} from '../runbook/validate.js';
import {knownSims} from '../sim/index.js';
import {UsageError} from '../services/exit.js';
import {withRunTimeValues} from '../services/variables.js';
import type {Site} from '../runbook/vocabulary.js';

/** A problem as `--json` gives it: line and field are null when the problem has none. */
export interface Problem {
  file: string;
  line: number | null;
  field: string | null;
  message: string;
}

const problemOf = (e: ValidationError): Problem => ({
  file: e.file,
  line: e.line || null,
  field: e.field || null,
  message: e.message,
});

/** A load error's text is `file: message`. */
const loadProblem = (file: string, text: string): Problem => ({
  file,
  line: null,
  field: null,
  message: text.startsWith(`${file}: `) ? text.slice(file.length + 2) : text,
});

const formatProblem = (p: Problem): string =>
  p.line === null
    ? `${p.file}: ${p.field ? `${p.field}: ` : ''}${p.message}`
    : formatError({file: p.file, line: p.line, field: p.field ?? '', message: p.message});

export async function validate(
  paths: string[],
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  options: {json?: boolean; vars?: Readonly<Record<string, string>>} = {},
): Promise<number> {
  const errors: Problem[] = [];
  const sites = new Map<string, {site: Site; file: string}>();
  const profiles: Profile[] = [];
  const profileFiles: string[] = [];
  const expand = (p: string): string[] =>
    fs.existsSync(p) && fs.statSync(p).isDirectory()
      ? fs
          .readdirSync(p)
          .filter((f) => /\.(ya?ml|[cm]?[jt]s)$/.test(f))
          .map((f) => path.join(p, f))
      : [p];
  const inputs = paths.flatMap(expand);
  for (const file of inputs) {
    if (!fs.existsSync(file)) {
      errors.push(loadProblem(file, 'no such file'));
      continue;
    }
    if (/\.ya?ml$/.test(file)) profileFiles.push(file);
    else {
      try {
        for (const site of await loadMachineFile(file)) sites.set(site.id, {site, file});
      } catch (error) {
        errors.push(loadProblem(file, (error as Error).message));
      }
    }
  }
  if (!paths.length) {
    for (const [id, found] of await shippedSites()) sites.set(id, found);
    profileFiles.push(...listProfiles().map((p) => p.file));
  }
  for (const file of profileFiles) {
    try {
      profiles.push(loadProfile(file));
    } catch (error) {
      if (error instanceof ProfileError) errors.push(...error.errors.map(problemOf));
      else throw error;
    }
  }
  const collected: ValidationError[] = [];
  for (const {site, file} of sites.values()) collected.push(...validateSite(site, file));
  const vars = options.vars ?? {};
  const declaredBy = new Set<string>();
  for (const loaded of profiles) {
    let found = sites.get(loaded.site);
    if (!found) {
      try {
        found = (await shippedSites()).get(loaded.site);
      } catch (error) {
        if (!(error instanceof LoadError)) throw error;
      }
    }
    if (!found) {
      collected.push({
        file: loaded.file,
        line: loaded.lineOf('site'),
        field: 'site',
        message: `no site "${loaded.site}" (known: ${[...(await shippedSites()).keys()].join(', ')})`,
      });
      continue;
    }
    // --var values fill the variables each profile's site declares, as at run time.
    const declared = found.site.variables ?? {};
    const given = Object.fromEntries(Object.entries(vars).filter(([name]) => name in declared));
    for (const name of Object.keys(given)) declaredBy.add(name);
    const profile = await withRunTimeValues(found.site, loaded, {given, missing: 'leave'});
    collected.push(...validateAgainstProfile(found.site, found.file, profile, knownSims()));
  }
  const undeclared = Object.keys(vars).filter((name) => !declaredBy.has(name));
  if (undeclared.length)
    throw new UsageError(
      `--var ${undeclared.join(', ')}: no site of the profiles validated declares ${undeclared.length === 1 ? 'it' : 'them'} (declared: ${
        [
          ...new Set(profiles.flatMap((p) => Object.keys(sites.get(p.site)?.site.variables ?? {}))),
        ].join(', ') || 'none'
      })`,
    );
  errors.push(...collected.map(problemOf));
  // Raw `${raw:…}` uses are allowed, and each is said: a value pasted as shell text.
  // Sites that share a machine file share its raw uses: say each once.
  const notices = [
    ...new Map(
      [...sites.values()]
        .flatMap(({site, file}) => rawUses(site, file))
        .map((n) => [formatError(n), n] as const),
    ).values(),
  ];
  if (options.json) {
    write(
      JSON.stringify(
        {
          ok: !errors.length,
          sites: [...sites].map(([id, {file}]) => ({id, file})),
          profiles: profiles.map((p) => ({name: p.name, site: p.site, file: p.file})),
          problems: errors,
          notices: notices.map(problemOf),
        },
        null,
        2,
      ),
    );
    return errors.length ? 3 : 0;
  }
  for (const e of errors) write(formatProblem(e));
  for (const notice of notices) write(`notice: ${formatError(notice)}`);
  if (errors.length) {
    write(`${errors.length} problem${errors.length === 1 ? '' : 's'} found`);
    return 3;
  }
  write(
    `ok: ${sites.size} site${sites.size === 1 ? '' : 's'} (${[...sites.keys()].join(', ')}), ${profiles.length} profile${profiles.length === 1 ? '' : 's'}`,
  );
  return 0;
}
