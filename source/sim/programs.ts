/** The simulated sites and their programs. */
import {atmosphere} from './atmosphere/index.js';
import {powo} from './powo/index.js';
import {resin, resinEtcd} from './resin/index.js';
import {rubin} from './rubin/index.js';
import {wikimedia} from './wikimedia/index.js';

export type Program = (args: string[]) => void | Promise<void>;

export interface SimSite {
  /** Programs on PATH, by name. */
  programs: Record<string, Program>;
  /** Files in the simulated home: executables that run a program, or plain text. */
  files: Record<string, {program: string} | {text: string}>;
}

export const simSites: Record<string, SimSite> = {
  rubin,
  atmosphere,
  powo,
  wikimedia,
  resin,
  'resin-etcd': resinEtcd,
};

export const programs: Record<string, Record<string, Program>> = Object.fromEntries(
  Object.entries(simSites).map(([name, site]) => [name, site.programs]),
);
