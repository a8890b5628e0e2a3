/**
 * A small site for two-driver races through the built CLI: its step "hold" appends a line
 * to a marker file (one line per run of the step) and then waits for a release file, so
 * both drivers of a race are surely alive at the same time when the test looks.
 */
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {cli} from '../helpers/cli.js';
import {repoRoot, writeFile} from '../helpers/fixtures.js';
import {eventually} from './pg.js';

export interface RaceSite {
  dir: string;
  machine: string;
  /** A profile of its own per race: the driver locks are per site and profile. */
  profile(name: string, extra?: string): string;
  marker(name: string): string;
  release(name: string): string;
}

export function raceSite(dir: string): RaceSite {
  const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
  // The step's marker and release file are named by $CC_RACE (one pair per race).
  // Plain JavaScript on the built vocabulary: the CLI loads it without compiling anything.
  const machine = writeFile(
    dir,
    'race.mjs',
    `import {site, phase, command, gate} from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'dist', 'source', 'runbook', 'vocabulary.js')).href)};
    export default site({id: 'race', title: 'Race', phases: [phase({id: 'p', title: 'P', steps: [
      command({id: 'first', title: 'First', run: 'echo first'}),
      gate({id: 'go', title: 'Go?'}),
      command({id: 'hold', title: 'Hold', run: ${JSON.stringify(
        `echo "$PPID" >> ${q(dir)}/"$CC_RACE".marker; while [ ! -f ${q(dir)}/"$CC_RACE".release ]; do sleep 0.05; done`,
      )}}),
      command({id: 'last', title: 'Last', run: 'echo last'}),
    ]})]});`,
  );
  return {
    dir,
    machine,
    profile: (name, extra = '') => {
      const file = path.join(dir, `${name}.yaml`);
      if (!fs.existsSync(file))
        writeFile(dir, `${name}.yaml`, `site: race\ntransport: local\n${extra}`);
      return file;
    },
    marker: (name) => path.join(dir, `${name}.marker`),
    release: (name) => path.join(dir, `${name}.release`),
  };
}

/** How many times the step ran (lines in the marker). */
export const runsOf = (marker: string): number =>
  fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0;

type Run = ReturnType<typeof cli>;

export interface RaceOutcome {
  runs: number;
  results: Awaited<Run>[];
}

/**
 * Lets two drivers race: waits until one has given up and the other runs the step, or
 * both run it, or both gave up; then releases the step and waits for both to exit.
 */
export async function race(
  site: RaceSite,
  name: string,
  drivers: [Run, Run],
): Promise<RaceOutcome> {
  let exited = 0;
  for (const d of drivers) void d.then(() => exited++);
  const marker = site.marker(name);
  await eventually(
    () => (exited >= 1 && runsOf(marker) >= 1) || runsOf(marker) >= 2 || exited === 2,
    `race ${name}: one driver to run the step`,
    90_000,
  );
  fs.writeFileSync(site.release(name), '');
  const results = await Promise.all(drivers);
  return {runs: runsOf(marker), results};
}
