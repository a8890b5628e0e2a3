#!/usr/bin/env node
/**
 * Entry of every simulated program: `run.js SITE PROGRAM args…`. The sim's bin/ shims
 * call this, so `docker`, `kubectl` … on a simulated host land here. Every call is
 * logged (host, program, arguments) so tests can count what really ran.
 */
import fs from 'node:fs';
import path from 'node:path';
import {programs} from './programs.js';
import {fail, simHost} from './state.js';

const [site, program, ...args] = process.argv.slice(2);
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
