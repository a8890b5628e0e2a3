#!/usr/bin/env node
/**
 * Entry of every simulated program: `run.js SITE PROGRAM args…`. The sim's bin/ shims
 * call this, so `docker`, `kubectl` … on a simulated host land here.
 */
import {runSim} from './runner.js';

await runSim(process.argv.slice(2));
