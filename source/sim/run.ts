#!/usr/bin/env node
/**
 * Entry of every simulated program: `run.js SITE PROGRAM args…`. The sim's bin/ shims
 * call this, so `docker`, `kubectl` … on a simulated host land here.
 */
import {programs} from './programs.js';
import {fail} from './state.js';

const [site, program, ...args] = process.argv.slice(2);
const handler = programs[site ?? '']?.[program ?? ''];
if (!handler) fail(`simulated site ${site}: no program ${program}`, 127);
await handler(args);
