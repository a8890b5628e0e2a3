/**
 * Finds and loads sites (machines/*.ts, or a user's machine file anywhere) and profiles
 * (profiles/*.yaml, ./profiles, or a path).
 */
import fs from 'node:fs';
import Module, {register} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {loadProfile, tooLarge, type Profile} from './profile.js';
import {shipped} from './shipped.js';
import type {MachineModule, Site} from './vocabulary.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** True when running the TypeScript sources (tests, tsx); false from the built dist/. */
const fromSource = import.meta.url.endsWith('.ts');

/** The package's own root (where package.json, machines/ and profiles/ are). */
export const packageRoot = (): string => {
  if (shipped) return unpackShipped(shipped.id, shipped.files);
  let dir = here;
  while (dir !== path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'profiles')))
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the crewchief package root');
};

/**
 * The single-file build unpacks its profiles once per build into the cache directory, so
 * profiles stay files (a journal names its profile's file; resume reads it again).
 */
function unpackShipped(id: string, files: Readonly<Record<string, string>>): string {
  const cache = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  const root = path.join(cache, 'crewchief', id);
  if (fs.existsSync(path.join(root, '.complete'))) return root;
  const staging = `${root}.${process.pid}`;
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(staging, name);
    fs.mkdirSync(path.dirname(file), {recursive: true});
    fs.writeFileSync(file, text, {mode: 0o600});
  }
  fs.writeFileSync(path.join(staging, '.complete'), '');
  try {
    fs.renameSync(staging, root);
  } catch {
    // Another process unpacked it first.
    fs.rmSync(staging, {recursive: true, force: true});
  }
  return root;
}

/** The name a shipped machine carried by the single-file build goes by. */
const SHIPPED_PREFIX = 'crewchief:';

/**
 * Where the shipped machines are, as importable modules: machines/ or, built, dist/machines/
 * (from the package root: the split build's modules live in dist/cli/, tsc's in dist/source/).
 */
const machinesDir = (): string =>
  path.join(packageRoot(), ...(fromSource ? ['machines'] : ['dist', 'machines']));

export const profileDirs = (cwd = process.cwd()): string[] => {
  const dirs = [path.join(cwd, 'profiles'), path.join(packageRoot(), 'profiles')];
  return [...new Set(dirs)].filter((d) => fs.existsSync(d));
};

export class LoadError extends Error {}

/** Largest machine file crewchief loads (a runbook is code a person reads: kilobytes). */
export const MAX_MACHINE_BYTES = 4 << 20;

// A user machine anywhere that imports the bare specifier `crewchief` gets this package's
// own entry (the one already loaded): for CommonJS a patched resolver, for an ES module a
// resolve hook. The hook starts a loader thread (a second V8 heap, about 20 MB resident
// for the whole session), so it is registered only for a machine that loads as an ES
// module; the shipped machines import the vocabulary by path and need neither.
const resolveHook = `
let self;
export function initialize(data) { self = data.url; }
export async function resolve(specifier, context, next) {
  if (specifier === 'crewchief') return {url: self, shortCircuit: true};
  return next(specifier, context);
}`;
let hookedCjs = false;
let hookedEsm = false;
function resolveCrewchief(esm: boolean): void {
  // Under vitest, modules go through vite, which resolves `crewchief` by itself.
  if (shipped || (fromSource && process.env['VITEST'])) return;
  const index = path.join(
    packageRoot(),
    ...(fromSource ? ['source', 'index.ts'] : ['dist', 'source', 'index.js']),
  );
  if (esm && !hookedEsm) {
    hookedEsm = true;
    register('data:text/javascript,' + encodeURIComponent(resolveHook), {
      data: {url: pathToFileURL(index).href},
    });
  }
  if (hookedCjs) return;
  hookedCjs = true;
  const cjs = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
  };
  const original = cjs._resolveFilename;
  cjs._resolveFilename = function (this: unknown, request, ...rest) {
    return request === 'crewchief' ? index : original.call(this, request, ...rest);
  };
}

/** True when the file loads as an ES module (.mts/.mjs, or a package of type module). */
function isModule(file: string): boolean {
  if (/\.m[jt]s$/.test(file)) return true;
  if (/\.c[jt]s$/.test(file)) return false;
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (!fs.existsSync(pkg)) continue;
    try {
      return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as {type?: string}).type === 'module';
    } catch {
      return false;
    }
  }
  return false;
}

/** Whether Node loads the file as an ES module (Node 20.19 also detects `import` in a .js). */
const loadsAsEsm = (file: string): boolean =>
  isModule(file) ||
  (/\.js$/.test(file) && /^\s*(?:import|export)\b/m.test(fs.readFileSync(file, 'utf8')));

/** Imports a module, TypeScript included (user machines outside the package). */
async function importModule(file: string): Promise<unknown> {
  if (shipped && /\.[cm]?tsx?$/.test(file))
    throw new Error(
      'the single-file crewchief loads machines written as .js: compile this one (or use the npm package)',
    );
  shipped?.beforeUserMachine();
  if (!file.startsWith(machinesDir() + path.sep)) resolveCrewchief(loadsAsEsm(file));
  if (!fromSource && /\.[cm]?tsx?$/.test(file)) {
    // A CommonJS-format .ts goes through tsx's require, whose stack traces name the file
    // and its real lines (its ES module path for such a file does not), for `validate`.
    if (!isModule(file)) {
      const tsx = await import('tsx/cjs/api');
      return tsx.require(file, import.meta.url) as unknown;
    }
    const {tsImport} = await import('tsx/esm/api');
    return tsImport(pathToFileURL(file).href, import.meta.url);
  }
  return import(pathToFileURL(file).href);
}

/** The sites a machine module exports. */
export function sitesOf(module: unknown, file: string): Site[] {
  let m = module as MachineModule;
  // A .ts file outside an ESM package loads as CommonJS: its exports sit under default.
  const inner = m.default as unknown as MachineModule | undefined;
  if (inner && !('phases' in inner) && (inner.default || inner.sites)) m = inner;
  const sites = [...(m.sites ?? []), ...(m.default ? [m.default] : [])];
  if (!sites.length) {
    throw new LoadError(
      `${file}: exports no site (expected \`export default site({...})\` or \`export const sites = [...]\`)`,
    );
  }
  return sites;
}

export async function loadMachineFile(file: string): Promise<Site[]> {
  let module: unknown;
  const carried = shipped?.machines[file.slice(SHIPPED_PREFIX.length)];
  if (!(carried && file.startsWith(SHIPPED_PREFIX))) {
    const size = fileSize(file);
    if (size !== undefined && size > MAX_MACHINE_BYTES)
      throw new LoadError(tooLarge(file, 'machine file', size, MAX_MACHINE_BYTES));
  }
  try {
    module =
      carried && file.startsWith(SHIPPED_PREFIX)
        ? await carried()
        : await importModule(path.resolve(file));
  } catch (error) {
    throw new LoadError(`${file}: cannot load: ${(error as Error).message.split('\n')[0]}`);
  }
  return sitesOf(module, file);
}

function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined; // the import says what is wrong
  }
}

/** Every shipped site, by id. */
export async function shippedSites(): Promise<Map<string, {site: Site; file: string}>> {
  if (shipped) {
    const carried = new Map<string, {site: Site; file: string}>();
    for (const name of Object.keys(shipped.machines).sort()) {
      const file = `${SHIPPED_PREFIX}${name}`;
      for (const site of await loadMachineFile(file)) carried.set(site.id, {site, file});
    }
    return carried;
  }
  const dir = machinesDir();
  const ext = fromSource ? '.ts' : '.js';
  const found = new Map<string, {site: Site; file: string}>();
  for (const name of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()) {
    const file = path.join(dir, name);
    for (const site of await loadMachineFile(file)) found.set(site.id, {site, file});
  }
  return found;
}

/** A site by id (shipped) or by the path of a machine file (first site in it). */
export async function findSite(nameOrPath: string): Promise<{site: Site; file: string}> {
  if (/[/\\]|\.[cm]?[jt]sx?$/.test(nameOrPath)) {
    const [site] = await loadMachineFile(nameOrPath);
    return {site: site!, file: nameOrPath};
  }
  // The machine file named after the site first: `demo rubin` loads one machine, not all.
  const named = path.join(machinesDir(), `${nameOrPath}${fromSource ? '.ts' : '.js'}`);
  if (!shipped && fs.existsSync(named)) {
    const site = (await loadMachineFile(named)).find((s) => s.id === nameOrPath);
    if (site) return {site, file: named};
  }
  const sites = await shippedSites();
  const found = sites.get(nameOrPath);
  if (!found) {
    throw new LoadError(
      `no site "${nameOrPath}" (known: ${[...sites.keys()].join(', ')}; or give the path of a machine file)`,
    );
  }
  return found;
}

/** The file of a profile given by name or path. */
export function profilePath(nameOrPath: string, cwd = process.cwd()): string {
  if (/[/\\]|\.ya?ml$/.test(nameOrPath)) return path.resolve(cwd, nameOrPath);
  for (const dir of profileDirs(cwd)) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, nameOrPath + ext);
      if (fs.existsSync(file)) return file;
    }
  }
  const known = listProfiles(cwd).map((p) => p.name);
  throw new LoadError(
    `no profile "${nameOrPath}" (known: ${known.join(', ') || 'none'}; or give a path to a .yaml file)`,
  );
}

export const findProfile = (nameOrPath: string, cwd = process.cwd()): Profile =>
  loadProfile(profilePath(nameOrPath, cwd));

/** Profiles on disk, by name, with the site each names (read without full validation). */
export function listProfiles(cwd = process.cwd()): {name: string; file: string; site: string}[] {
  const seen = new Map<string, {name: string; file: string; site: string}>();
  for (const dir of profileDirs(cwd)) {
    for (const f of fs
      .readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()) {
      const name = f.replace(/\.ya?ml$/, '');
      if (seen.has(name)) continue;
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      const site = /^site:\s*(\S+)/m.exec(text)?.[1] ?? '?';
      seen.set(name, {name, file: path.join(dir, f), site});
    }
  }
  return [...seen.values()];
}
