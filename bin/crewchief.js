#!/usr/bin/env node
/**
 * The crewchief command. Runs the built CLI (dist/) when it is there and newer than the
 * sources; otherwise builds it first, saying so (not behind npm's spinner at install),
 * or, without TypeScript at hand, runs the sources through tsx.
 */
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
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

const fresh =
  fs.existsSync(built) &&
  (!fs.existsSync(sources) || fs.statSync(built).mtimeMs >= newest(sources));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!fresh && fs.existsSync(tsc)) {
  // Build once, saying so: the simulated sites' programs run from dist/, so running the
  // sources alone is not enough for the demo.
  process.stderr.write(
    `crewchief: building dist/ from source/ (${fs.existsSync(built) ? 'it is older than the sources' : 'first run on this clone'}; about half a minute, once)…\n`,
  );
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
}
if (fs.existsSync(built) && (fresh || fs.existsSync(tsc))) {
  await import(pathToFileURL(built).href);
} else {
  const {register} = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(sources, 'cli.tsx')).href);
}
