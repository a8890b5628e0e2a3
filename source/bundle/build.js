#!/usr/bin/env node
/**
 * Two builds of the CLI with esbuild:
 *
 * `npm run bundle [-- OUT]`: dist/crewchief.mjs (or OUT), one file that runs on Node ≥ 20 with nothing
 * else — the CLI, its dependencies, the shipped machines (a generated registry instead
 * of scanning machines/), the shipped profiles (unpacked to the cache on first use), the
 * simulated sites (`crewchief.mjs __sim …`) and the version, inlined.
 *
 * `node source/bundle/build.js --split [DIR]` (the end of `npm run build`): dist/cli/ (or
 * DIR), what bin/crewchief.js runs: a small entry (`--help` loads nothing else) and
 * chunks loaded on demand, one per command and one for the console (Ink, React, the
 * panes). It runs inside the package: machines, profiles and the simulated programs
 * are the package's files (dist/machines, profiles/, dist/source/sim/run.js, built by
 * tsc before it). Node parses a few bundled files instead of resolving, reading and
 * linking some 800 modules: the demo's first frame came ~2× sooner.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {build} from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const split = process.argv[2] === '--split';
const given = process.argv[split ? 3 : 2];
/** Where it goes: dist/crewchief.mjs or dist/cli/, or the path given. */
const out = path.resolve(given ?? path.join(root, 'dist', split ? 'cli' : 'crewchief.mjs'));
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

/** What Ink brings that a terminal console never uses, left out of both builds. */
const inkTrims = (b) => {
  // Ink imports its React devtools bridge statically; it only connects when DEV is set.
  b.onResolve({filter: /^react-devtools-core$/}, () => ({path: 'devtools', namespace: 'stub'}));
  b.onLoad({filter: /.*/, namespace: 'stub'}, () => ({
    contents: 'export default {initialize() {}, connectToDevTools() {}};',
    loader: 'js',
  }));
  // Yoga's Emscripten loader asks `typeof fetch` before it decodes its inlined wasm (and
  // would fetch the data: URL). On Node that first touch of `fetch` loads undici, ~15 ms
  // of the console's start-up: decode the inlined bytes directly.
  b.onLoad({filter: /[/\\]yoga-layout[/\\]dist[/\\]binaries[/\\][^/\\]+\.js$/}, (args) => {
    const text = fs.readFileSync(args.path, 'utf8');
    const probe = '"function"!=typeof fetch';
    if (!text.includes(probe)) return undefined; // another yoga: built as it is
    return {contents: text.replace(probe, '!0'), loader: 'js'};
  });
};

/**
 * ssh2 loads its native crypto binding by a path relative to its own file
 * (`./crypto/build/Release/sshcrypto.node`); from a bundle that path does not exist, and
 * ssh2 quietly fell back to Node's ciphers, a new one per packet: a 200 MB flood's
 * decryption took ~200 ms of the main thread instead of ~45. The require names the
 * package instead, found in node_modules at run time (where there is none, the single
 * file, ssh2 falls back as before).
 */
const sshBinding = {
  name: 'crewchief-ssh2-binding',
  setup(b) {
    b.onResolve({filter: /[/\\]sshcrypto\.node$/}, () => ({
      path: 'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node',
      external: true,
    }));
  },
};

/** Replaces source/runbook/shipped.ts with the generated registry. */
const shippedPlugin = {
  name: 'crewchief-shipped',
  setup(b) {
    inkTrims(b);
    b.onLoad({filter: /[/\\]source[/\\]runbook[/\\]shipped\.ts$/}, () => ({
      contents: registry,
      loader: 'js',
      resolveDir: path.join(root, 'source', 'runbook'),
    }));
  },
};

/** What both builds share. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  metafile: true,
  define: {
    CREWCHIEF_VERSION: JSON.stringify(pkg.version),
    CREWCHIEF_BUNDLED: 'true',
    'process.env.NODE_ENV': '"production"',
    // CommonJS dependencies that name their own file (ssh2's Emscripten poly1305 module
    // reads __dirname at load): the output file's, under names nothing else declares.
    __dirname: '__ccDirname',
    __filename: '__ccFilename',
  },
  // CommonJS dependencies require Node's built-ins: give every output file a `require`.
  banner: {
    js: `import {createRequire as __ccRequire} from 'node:module';
import {dirname as __ccDir} from 'node:path';
import {fileURLToPath as __ccPath} from 'node:url';
const require = __ccRequire(import.meta.url);
const __ccFilename = __ccPath(import.meta.url), __ccDirname = __ccDir(__ccFilename);`,
  },
  logLevel: 'warning',
  // cli.tsx sets NODE_ENV at run time for the package; both builds are production always.
  logOverride: {'assign-to-define': 'silent'},
};

if (split) {
  // A fresh directory: chunks are named by their hash, so old ones would pile up.
  fs.rmSync(out, {recursive: true, force: true});
  const result = await build({
    ...common,
    entryPoints: {crewchief: path.join(root, 'source', 'cli.tsx')},
    outdir: out,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    // Whitespace and syntax only: a crewchief bug's stack trace keeps the real names.
    minifyWhitespace: true,
    minifySyntax: true,
    // TypeScript machines and the `crewchief` resolve hook use the package's tsx; the
    // optional native add-ons stay optional.
    external: ['cpu-features', '*.node', 'pg-native', 'tsx', 'tsx/*'],
    // (cli.tsx's own #! line starts the entry)
    plugins: [{name: 'crewchief-ink-trims', setup: inkTrims}, sshBinding],
  });
  fs.chmodSync(path.join(out, 'crewchief.js'), 0o755);
  // The replay console's reading thread, one file (commands/replay-start.ts finds it next
  // to the entry): a thread started on the tsc build resolved, read and linked its dozen
  // modules (and zustand's) before reading the journal.
  const worker = await build({
    ...common,
    entryPoints: {'replay-worker': path.join(root, 'source', 'commands', 'replay-worker.ts')},
    outdir: out,
    minifyWhitespace: true,
    minifySyntax: true,
  });
  const files = [...Object.keys(result.metafile.outputs), ...Object.keys(worker.metafile.outputs)];
  const bytes = files.reduce((n, f) => n + fs.statSync(path.resolve(root, f)).size, 0);
  const entry = fs.statSync(path.join(out, 'crewchief.js')).size;
  process.stdout.write(
    `${path.relative(process.cwd(), out)}/: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(2)} MiB (entry ${(entry / 1024).toFixed(0)} KiB), ${Object.keys(result.metafile.inputs).length} modules\n`,
  );
} else {
  const result = await build({
    ...common,
    entryPoints: [path.join(root, 'source', 'bundle', 'entry.ts')],
    outfile: out,
    minify: true,
    // Optional native add-ons the dependencies fall back from; TypeScript machines need tsx,
    // which the single file does not carry (write user machines as .js).
    external: ['cpu-features', '*.node', 'pg-native', 'tsx/esm/api'],
    banner: {js: `#!/usr/bin/env node\n${common.banner.js}`},
    plugins: [shippedPlugin, sshBinding],
  });
  fs.chmodSync(out, 0o755);
  const bytes = fs.statSync(out).size;
  process.stdout.write(
    `${path.relative(process.cwd(), out)}: ${(bytes / 1024 / 1024).toFixed(2)} MiB, ${machines.length} machines, ${profileFiles.length} profile files, ${Object.keys(result.metafile.inputs).length} modules\n`,
  );
}
