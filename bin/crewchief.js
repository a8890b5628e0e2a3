#!/usr/bin/env node
/**
 * The crewchief command. Runs the split build (dist/cli/crewchief.js: a small entry, and
 * the console's chunk — Ink, React, the panes — loaded only by the commands that draw
 * it) when it is there and newer than the sources. Otherwise the tsc build
 * (dist/source/cli.js) when that one is fresh; otherwise it builds both first, saying so
 * (not behind npm's spinner at install), or, without TypeScript at hand, runs the
 * sources through tsx.
 */
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const split = path.join(root, 'dist', 'cli', 'crewchief.js');
const built = path.join(root, 'dist', 'source', 'cli.js');
const sources = path.join(root, 'source');

const newest = (dir) => {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }
  return latest;
};

const mtime = (file) => fs.statSync(file, {throwIfNoEntry: false})?.mtimeMs;
// The newest source; machines/ too (tsc compiles them to dist/machines/, which both load).
// An installed package (npm, npx: under node_modules/) ships its builds: nobody edits its
// sources, so its start skips the walk over them.
const installed = root.split(path.sep).includes('node_modules');
const changed =
  !installed && fs.existsSync(sources)
    ? Math.max(newest(sources), newest(path.join(root, 'machines')))
    : 0;
const fresh = (file) => (mtime(file) ?? -1) >= changed;

/** The file to run: the split build, the tsc build, or none (run the sources). */
function entry() {
  // The split build runs the tsc build's simulated programs and machines: both fresh.
  if (fresh(split) && fresh(built)) return split;
  if (fresh(built)) return built;
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) return undefined;
  // Build once, saying so: the simulated sites' programs run from dist/, so running the
  // sources alone is not enough for the demo.
  process.stderr.write(
    `crewchief: building dist/ from source/ (${fs.existsSync(built) ? 'it is older than the sources' : 'first run on this clone'}; about half a minute, once)…\n`,
  );
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (fs.existsSync(path.join(root, 'node_modules', 'esbuild'))) {
    execFileSync(process.execPath, [path.join(root, 'source', 'bundle', 'build.js'), '--split'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (fresh(split)) return split;
  }
  return built;
}

const file = entry();
if (file) {
  await import(pathToFileURL(file).href);
} else {
  const {register} = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(sources, 'cli.tsx')).href);
}
