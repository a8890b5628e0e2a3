/**
 * Sets up a simulated site for a session: a scratch home with the site's scripts, a bin
 * directory of shims on PATH, and the state directory. Hosts run their commands here
 * with CREWCHIEF_HOST telling the programs which host they are.
 */
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {packageRoot} from '../runbook/load.js';
import {shipped} from '../runbook/shipped.js';
import {shellQuote} from '../transport/shell.js';
import {simSites} from './programs.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** How a shim starts the simulated program: the built runner, or the source through tsx. */
function runnerCommand(): string {
  // The single-file build runs its simulated programs itself.
  if (shipped)
    return `${shellQuote(process.execPath)} ${shellQuote(fileURLToPath(import.meta.url))} __sim`;
  // Built (by tsc, or the split build in dist/cli/ beside it): dist/source/sim/run.js.
  const built = path.join(packageRoot(), 'dist', 'source', 'sim', 'run.js');
  if (!import.meta.url.endsWith('.ts'))
    return `${shellQuote(process.execPath)} ${shellQuote(built)}`;
  if (fs.existsSync(built)) return `${shellQuote(process.execPath)} ${shellQuote(built)}`;
  return `${shellQuote(process.execPath)} --import tsx ${shellQuote(path.join(here, 'run.ts'))}`;
}

export interface SimEnvironment {
  /** Environment for every command on a simulated host. */
  env: Record<string, string>;
  home: string;
  state: string;
}

export const knownSims = (): string[] => Object.keys(simSites);

/** Prepares `dir` for the simulated `site`. Safe to call again on the same dir (resume). */
export function prepareSim(
  site: string,
  dir: string,
  options: {speed?: number; pace?: Record<string, number>; faults?: string[]} = {},
): SimEnvironment {
  const sim = simSites[site];
  if (!sim) throw new Error(`no simulated site "${site}" (known: ${knownSims().join(', ')})`);
  const home = path.join(dir, 'home');
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  for (const d of [home, bin, path.join(state, 'hosts')]) fs.mkdirSync(d, {recursive: true});
  const runner = runnerCommand();
  const shim = (program: string): string => `#!/bin/sh\nexec ${runner} ${site} ${program} "$@"\n`;
  for (const program of Object.keys(sim.programs)) {
    fs.writeFileSync(path.join(bin, program), shim(program), {mode: 0o755});
  }
  for (const [name, content] of Object.entries(sim.files)) {
    const file = path.join(home, name);
    fs.mkdirSync(path.dirname(file), {recursive: true});
    if ('program' in content) fs.writeFileSync(file, shim(content.program), {mode: 0o755});
    else if (!fs.existsSync(file)) fs.writeFileSync(file, content.text, {mode: 0o600});
  }
  return {
    home,
    state,
    env: {
      HOME: home,
      PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      CREWCHIEF_SIM_STATE: state,
      CREWCHIEF_SIM_SPEED: String(options.speed ?? 1),
      // CREWCHIEF_SIM_PACE=off (the test helpers set it): every part at `speed`.
      ...(options.pace && process.env['CREWCHIEF_SIM_PACE'] !== 'off'
        ? {CREWCHIEF_SIM_PACE: JSON.stringify(options.pace)}
        : {}),
      ...(options.faults?.length ? {CREWCHIEF_SIM_FAULTS: options.faults.join(',')} : {}),
    },
  };
}
