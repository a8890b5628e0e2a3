/**
 * Plumbing the simulated sites share: state files updated under a lock (fan-out commands
 * run in parallel, each as its own process), the real program behind a shim, `sudo`, and
 * simple argument reading.
 */
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fail, readJson, stateDir, writeJson} from '../state.js';

/** A state file under CREWCHIEF_SIM_STATE. */
export const stateFile = (...parts: string[]): string => path.join(stateDir(), ...parts);

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/**
 * Reads, changes and writes a JSON state file while holding its lock (a directory next to
 * it), so parallel programs never lose each other's updates. A lock older than 10 s is
 * taken over (its holder died).
 */
export function update<T>(file: string, initial: () => T, change: (state: T) => void): T {
  const lock = `${file}.lock`;
  fs.mkdirSync(path.dirname(file), {recursive: true});
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 10_000) fs.rmSync(lock, {recursive: true});
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) fail(`simulated site: ${file} stays locked`);
      sleepSync(5);
    }
  }
  try {
    const state = fs.existsSync(file) ? readJson<T>(file, initial()) : initial();
    change(state);
    writeJson(file, state);
    return state;
  } finally {
    fs.rmSync(lock, {recursive: true, force: true});
  }
}

/** Reads a state file without changing it. */
export const read = <T>(file: string, initial: () => T): T =>
  fs.existsSync(file) ? readJson<T>(file, initial()) : initial();

/** The sim's own bin directory (next to the state directory), skipped when looking for real programs. */
const simBin = (): string => path.join(path.dirname(stateDir()), 'bin');

/** The real program a shim stands in front of, found on PATH after the sim's bin directory. */
export function realProgram(name: string): string | undefined {
  const skip = path.resolve(simBin());
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (!dir || path.resolve(dir) === skip) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a program (a sim shim or a real one, as PATH finds it) and exits with its status. */
export function runAndExit(program: string, args: string[], input?: string): never {
  const result = spawnSync(program, args, {
    stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
    ...(input === undefined ? {} : {input}),
  });
  if (result.error) fail(`${program}: ${result.error.message}`, 127);
  process.exit(result.status ?? 1);
}

/** Runs the real program behind a shim with the same arguments. */
export function delegate(name: string, args: string[]): never {
  const real = realProgram(name);
  if (!real) fail(`${name}: not found`, 127);
  return runAndExit(real, args);
}

/** `sudo [-n] [-E] [-u user] command …`: runs the command as is (the sim has no users). */
export function sudo(args: string[]): void {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    if (args[i] === '-u' || args[i] === '-g') i++;
    i++;
  }
  const [command, ...rest] = args.slice(i);
  if (!command) fail('usage: sudo command');
  runAndExit(command, rest);
}

/** The value after a flag (`-f x`, `--flag x` or `--flag=x`). */
export function option(args: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const name of names) {
      if (a === name) return args[i + 1];
      if (name.startsWith('--') && a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    }
  }
  return undefined;
}

/** Every value of a repeatable flag. */
export function options(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === name && args[i + 1] !== undefined) out.push(args[++i]!);
    else if (name.startsWith('--') && a.startsWith(`${name}=`)) out.push(a.slice(name.length + 1));
  }
  return out;
}

/** Arguments that are not flags, given which flags take a value. */
export function positionals(args: readonly string[], withValue: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      if (withValue.includes(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** A short hex id that stays the same for the same name. */
export function hexId(name: string, length = 7): string {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  let out = '';
  while (out.length < length) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

/** A fault named in CREWCHIEF_SIM_FAULTS, with its argument: `name` or `name:arg`. */
export function fault(name: string): {arg?: string} | undefined {
  for (const f of (process.env['CREWCHIEF_SIM_FAULTS'] ?? '').split(',')) {
    const [n, arg] = f.split(':');
    if (n === name) return arg ? {arg} : {};
  }
  return undefined;
}

/** Reads stdin to the end (for `crontab -`). */
export function readStdin(): string {
  try {
    return fs.readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Wraps a site's programs so a reader that stops early (`| awk '{…; exit}'`, `| head`,
 * `| grep -q`) ends the program quietly, as real commands end on SIGPIPE.
 */
export function quietOnClosedPipe<P extends (args: string[]) => void | Promise<void>>(
  programs: Record<string, P>,
): Record<string, P> {
  const wrap =
    (program: P) =>
    (args: string[]): void | Promise<void> => {
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') process.exit(0);
        throw error;
      });
      return program(args);
    };
  return Object.fromEntries(
    Object.entries(programs).map(([name, program]) => [name, wrap(program) as P]),
  );
}
