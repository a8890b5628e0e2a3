/**
 * Runs one simulated program: `SITE PROGRAM args…`. Every call is logged (host, program,
 * arguments) so tests can count what really ran. Entered through run.ts (the package) or
 * `crewchief.mjs __sim` (the single-file build).
 */
import fs from 'node:fs';
import path from 'node:path';
import {programs} from './programs.js';
import {fail, simHost} from './state.js';

export async function runSim(argv: readonly string[]): Promise<void> {
  const [site, program, ...args] = argv;
  const handler = programs[site ?? '']?.[program ?? ''];
  if (!handler) fail(`simulated site ${site}: no program ${program}`, 127);
  const state = process.env['CREWCHIEF_SIM_STATE'];
  if (state) {
    fs.appendFileSync(
      path.join(state, 'calls.log'),
      `${JSON.stringify({host: simHost(), program, args, pid: process.pid})}\n`,
    );
  }
  await handler(args);
}
