/**
 * `crewchief import FILE.md [-o machines/NAME.ts]`: a runbook written as Markdown, or
 * exported from a wiki as plain text, as a machine file that validates and dry-runs at
 * once. With `-o`, a draft profile is written too (its one host never resolves).
 */
import fs from 'node:fs';
import path from 'node:path';
import {emitDraftProfile, importRunbook, PLACEHOLDER_HOST, plural} from '../import/index.js';
import {UsageError} from '../services/exit.js';

export interface ImportOptions {
  /** Where the machine goes; without it the machine is written to stdout. */
  output?: string;
}

/** Beside the machine, or in ../profiles when the machine goes into a project's machines/. */
function draftProfilePath(machine: string, name: string): string {
  const dir = path.dirname(machine);
  const profiles = path.join(dir, '..', 'profiles');
  const inProject =
    path.basename(path.resolve(dir)) === 'machines' &&
    fs.existsSync(profiles) &&
    fs.statSync(profiles).isDirectory();
  return path.join(inProject ? profiles : dir, `${name}-draft.yaml`);
}

export async function importCommand(
  args: string[],
  options: ImportOptions,
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  say: (s: string) => void = (s) => void process.stderr.write(`${s}\n`),
): Promise<number> {
  const [file, ...extra] = args;
  if (!file || extra.length)
    throw new UsageError('import expects one FILE: crewchief import FILE.md [-o machines/NAME.ts]');
  if (!fs.existsSync(file) || !fs.statSync(file).isFile())
    throw new UsageError(`import: no such file: ${file}`);
  const output = options.output;
  if (output !== undefined && !/\.[cm]?ts$/.test(output))
    throw new UsageError(`import: -o expects a .ts file (a machine), not "${output}"`);
  const name = path.basename(output ?? file).replace(/\.[^.]*$/, '');
  const siteId =
    name
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^[-_]+|-+$/g, '') || 'imported';
  const {machine, counts} = importRunbook(fs.readFileSync(file, 'utf8'), {
    siteId,
    source: path.basename(file),
  });
  const kinds = Object.entries(counts.byKind)
    .filter(([, n]) => n)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  const summary =
    `${plural(counts.phases, 'phase')}, ${plural(counts.steps, 'step')} (${kinds}), ` +
    `${counts.danger} marked danger, ${plural(counts.todos, 'TODO')}; ` +
    `the source has ${plural(counts.numberedInSource, 'numbered item')}`;
  if (output === undefined) {
    write(machine.trimEnd());
    say(`crewchief import: ${summary}`);
    return 0;
  }
  const profile = draftProfilePath(output, name);
  // Never over a file someone may have edited: importing again is a new name, or a deletion first.
  for (const target of [output, profile]) {
    if (fs.existsSync(target))
      throw new UsageError(`import: ${target} exists; remove it or give another -o`);
  }
  fs.mkdirSync(path.dirname(output), {recursive: true});
  fs.writeFileSync(output, machine);
  fs.writeFileSync(profile, emitDraftProfile(siteId, output));
  write(`wrote ${output}: ${summary}`);
  write(`wrote ${profile}: a draft profile ("${PLACEHOLDER_HOST}" never resolves: dry runs only)`);
  write(
    `next: grep -n TODO ${output}; crewchief validate ${output} ${profile}; ` +
      `crewchief run ${output} --profile ${profile} --dry-run --yes --confirm all`,
  );
  return 0;
}
