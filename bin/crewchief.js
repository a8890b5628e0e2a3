#!/usr/bin/env node
/**
 * The crewchief command. Runs the built CLI (dist/) when it is there and newer than the
 * sources; otherwise the sources themselves through tsx, so a fresh clone reaches its
 * first frame at once instead of building for a minute behind npm's spinner
 * (`npm run build` makes later starts faster).
 */
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
if (fresh) {
  await import(pathToFileURL(built).href);
} else {
  if (fs.existsSync(built))
    process.stderr.write(
      'crewchief: dist/ is older than source/: running from source (npm run build to start faster)\n',
    );
  const {register} = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(sources, 'cli.tsx')).href);
}
