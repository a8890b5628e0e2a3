#!/usr/bin/env node
/**
 * `npm run bundle [-- OUT]`: dist/crewchief.mjs (or OUT), one file that runs on Node ≥ 20 with nothing
 * else — the CLI, its dependencies, the shipped machines (a generated registry instead
 * of scanning machines/), the shipped profiles (unpacked to the cache on first use), the
 * simulated sites (`crewchief.mjs __sim …`) and the version, inlined.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {build} from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where it goes: dist/crewchief.mjs, or the path given. */
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'crewchief.mjs'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Every file under dir, relative to root, sorted. */
function filesUnder(dir) {
  const found = [];
  for (const entry of fs.readdirSync(path.join(root, dir), {withFileTypes: true})) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(rel));
    else found.push(rel);
  }
  return found.sort();
}

const machines = filesUnder('machines').filter((f) => /\.ts$/.test(f));
const profileFiles = filesUnder('profiles');
const carried = Object.fromEntries(
  profileFiles.map((f) => [f, fs.readFileSync(path.join(root, f), 'utf8')]),
);
const hash = createHash('sha256');
for (const f of [...machines, ...profileFiles])
  hash.update(f).update(fs.readFileSync(path.join(root, f)));
const id = `${pkg.version}-${hash.digest('hex').slice(0, 12)}`;

// A user machine (plain .js) that imports the bare specifier `crewchief` gets this very
// file, already loaded: a resolve hook maps the name. Registered only when a user machine
// is loaded (a hook starts a loader thread: no cost to every other command).
const hook = `
let self;
export function initialize(data) { self = data.url; }
export async function resolve(specifier, context, next) {
  if (specifier === 'crewchief') return {url: self, shortCircuit: true};
  return next(specifier, context);
}`;

const registry = `import {register} from 'node:module';
let hooked = false;
export const shipped = {
  id: ${JSON.stringify(id)},
  beforeUserMachine() {
    if (hooked) return;
    hooked = true;
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), {data: {url: import.meta.url}});
  },
  machines: {
${machines.map((m) => `    ${JSON.stringify(m)}: () => import(${JSON.stringify(path.join(root, m))}),`).join('\n')}
  },
  files: ${JSON.stringify(carried)},
};
`;

/** Replaces source/runbook/shipped.ts with the generated registry. */
const shippedPlugin = {
  name: 'crewchief-shipped',
  setup(b) {
    // Ink imports its React devtools bridge statically; it only connects when DEV is set.
    b.onResolve({filter: /^react-devtools-core$/}, () => ({path: 'devtools', namespace: 'stub'}));
    b.onLoad({filter: /.*/, namespace: 'stub'}, () => ({
      contents: 'export default {initialize() {}, connectToDevTools() {}};',
      loader: 'js',
    }));
    b.onLoad({filter: /[/\\]source[/\\]runbook[/\\]shipped\.ts$/}, () => ({
      contents: registry,
      loader: 'js',
      resolveDir: path.join(root, 'source', 'runbook'),
    }));
  },
};

const result = await build({
  entryPoints: [path.join(root, 'source', 'bundle', 'entry.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  metafile: true,
  define: {
    CREWCHIEF_VERSION: JSON.stringify(pkg.version),
    'process.env.NODE_ENV': '"production"',
  },
  // Optional native add-ons the dependencies fall back from; TypeScript machines need tsx,
  // which the single file does not carry (write user machines as .js).
  external: ['cpu-features', '*.node', 'pg-native', 'tsx/esm/api'],
  banner: {
    js: `#!/usr/bin/env node
import {createRequire as __ccRequire} from 'node:module';
const require = __ccRequire(import.meta.url);`,
  },
  plugins: [shippedPlugin],
  logLevel: 'warning',
  // cli.tsx sets NODE_ENV at run time for the package; the single file is production always.
  logOverride: {'assign-to-define': 'silent'},
});
fs.chmodSync(out, 0o755);
const bytes = fs.statSync(out).size;
process.stdout.write(
  `${path.relative(process.cwd(), out)}: ${(bytes / 1024 / 1024).toFixed(2)} MiB, ${machines.length} machines, ${profileFiles.length} profile files, ${Object.keys(result.metafile.inputs).length} modules\n`,
);
