/**
 * Shared plumbing for the simulated sites: per-host state files, a compressed clock,
 * deterministic delays. Each program runs as its own process (like the real commands),
 * so state lives in files under CREWCHIEF_SIM_STATE.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const simHost = (): string => process.env['CREWCHIEF_HOST'] ?? 'local';
export const simSpeed = (): number => Number(process.env['CREWCHIEF_SIM_SPEED'] ?? '1') || 1;
export const simFaults = (): string[] =>
  (process.env['CREWCHIEF_SIM_FAULTS'] ?? '').split(',').filter(Boolean);

export function stateDir(): string {
  const dir = process.env['CREWCHIEF_SIM_STATE'];
  if (!dir) {
    process.stderr.write('simulated site: CREWCHIEF_SIM_STATE is not set\n');
    process.exit(2);
  }
  return dir;
}

/** The speed of a named part of the site (the profile's `sim.pace`), else the site's. */
export function simPace(part: string): number {
  try {
    const pace = JSON.parse(process.env['CREWCHIEF_SIM_PACE'] ?? '{}') as Record<string, unknown>;
    const value = pace[part];
    return typeof value === 'number' && value > 0 ? value : simSpeed();
  } catch {
    return simSpeed();
  }
}

/** Simulated seconds → real milliseconds (at the pace of `part`, when given). */
export const simMs = (seconds: number, part?: string): number =>
  (seconds * 1000) / (part ? simPace(part) : simSpeed());

/** A deterministic number in [min, max] for a name (so a demo behaves the same each time). */
export function spread(name: string, min: number, max: number): number {
  const n = createHash('sha1').update(name).digest().readUInt32BE(0) / 0xffffffff;
  return min + (max - min) * n;
}

export function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 1));
  fs.renameSync(tmp, file);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function fail(text: string, code = 1): never {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  process.exit(code);
}
