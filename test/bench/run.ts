/**
 * crewchief side by side with OpenSSH, parallel-ssh and Ansible on the same machine, in
 * the same run: `npm run bench` (after `npm run bench:setup`).
 *
 *   npm run bench                    every case, 5 rounds (4–6 minutes)
 *   npm run bench -- --quick         2 rounds, a 10 s idle window (about 1½ minutes)
 *   npm run bench -- --smoke         one round, small sizes: does every case still run?
 *   npm run bench -- --only poll,fleet,output,startup,replay,idle
 *   npm run bench -- --rounds 3 --json FILE
 *
 * Prints a table of medians, min–max and crewchief/peer ratios with PASS/FAIL against
 * the targets of issue 7, and writes it as JSON to .bench/results-<date>.json. Loopback
 * only; installs nothing; a missing peer tool is skipped and said so in the table.
 * Exit status: 0 every target met, 1 some target missed, 2 the bench itself failed.
 */
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {parseArgs} from 'node:util';
import {fleetCases} from './cases/fleet.js';
import {idleCase, replayCases, startupCases} from './cases/console.js';
import {outputCases} from './cases/output.js';
import {pollCase} from './cases/poll.js';
import {builtCli, repoRoot, startBed, type Bed} from './lib/bed.js';
import {have, versionOf} from './lib/proc.js';
import {judge, newCase, renderTable, toJson, type CaseResult} from './lib/stats.js';
import {settingsFor, type Settings} from './settings.js';

const ALL = ['startup', 'poll', 'fleet', 'output', 'replay', 'idle'] as const;
type CaseId = (typeof ALL)[number];
const SSH_CASES: readonly CaseId[] = ['poll', 'fleet', 'output'];

function parse(): {settings: Settings; only: CaseId[]; json?: string} {
  const {values} = parseArgs({
    options: {
      quick: {type: 'boolean'},
      smoke: {type: 'boolean'},
      only: {type: 'string'},
      rounds: {type: 'string'},
      json: {type: 'string'},
      help: {type: 'boolean', short: 'h'},
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench [-- --quick | --smoke] [--only CASES] [--rounds N] [--json FILE]\n' +
        `cases: ${ALL.join(', ')}\n`,
    );
    process.exit(0);
  }
  const settings = settingsFor(values.smoke ? 'smoke' : values.quick ? 'quick' : 'full');
  if (values.rounds) {
    const r = Number(values.rounds);
    if (!Number.isInteger(r) || r < 1 || r > 50) throw new Error('--rounds expects 1…50');
    settings.rounds = r;
  }
  const only = values.only ? (values.only.split(',').map((s) => s.trim()) as CaseId[]) : [...ALL];
  const unknown = only.filter((o) => !ALL.includes(o));
  if (unknown.length) throw new Error(`unknown case ${unknown.join(', ')} (${ALL.join(', ')})`);
  return {settings, only, ...(values.json ? {json: values.json} : {})};
}

function machine(): Record<string, unknown> {
  const cpu = os.cpus();
  const release = fs.existsSync('/etc/os-release')
    ? /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1]
    : undefined;
  const git = (args: string[]): string | undefined => {
    try {
      return execFileSync('git', args, {cwd: repoRoot, encoding: 'utf8'}).trim();
    } catch {
      return undefined;
    }
  };
  const dirty = git(['status', '--porcelain', '--', 'source']);
  return {
    cpu: cpu[0]?.model,
    cores: cpu.length,
    memoryGB: Math.round(os.totalmem() / 1e9),
    os: release ?? `${os.type()} ${os.release()}`,
    kernel: os.release(),
    node: process.version,
    openssh: versionOf('ssh', ['-V']),
    parallelSsh: have('parallel-ssh') ? versionOf('parallel-ssh', ['--version']) : undefined,
    ansible: have('ansible') ? versionOf('ansible', ['--version']) : undefined,
    tmux: have('tmux') ? versionOf('tmux', ['-V']) : undefined,
    crewchief: `${git(['rev-parse', '--short', 'HEAD']) ?? '?'}${dirty ? ' (source/ has uncommitted changes)' : ''}`,
  };
}

async function main(): Promise<number> {
  const {settings, only, json} = parse();
  if (!fs.existsSync(builtCli))
    throw new Error(`${builtCli} is missing: npm run build (npm run bench does)`);
  const sshd = process.env['CREWCHIEF_SSHD'] ?? '/usr/sbin/sshd';
  const sshMissing = ['ssh', 'ssh-keygen'].filter((t) => !have(t));
  if (!fs.existsSync(sshd)) sshMissing.push(sshd);
  const wantsSsh = only.some((o) => SSH_CASES.includes(o));
  const ssh = wantsSsh && !sshMissing.length;
  const info = machine();
  process.stderr.write(
    `crewchief bench (${settings.mode}, ${settings.rounds} rounds) on ${String(info['cpu'])} ×${String(info['cores'])}, ${String(info['os'])}\n`,
  );
  for (const tool of ['parallel-ssh', 'ansible', 'tmux']) {
    if (!have(tool))
      process.stderr.write(`  ${tool} is missing: its rows are skipped (npm run bench:setup)\n`);
  }

  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  const built = fs.statSync(builtCli).mtimeMs;
  let bed: Bed | undefined;
  const cleanup = (): void => {
    void bed?.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', cleanup);
  process.once('SIGTERM', cleanup);
  const cases: CaseResult[] = [];
  try {
    bed = await startBed({
      ssh,
      hosts: settings.hosts,
      bigBytes: only.includes('output') && ssh ? settings.bigBytes : 0,
    });
    for (const id of only) {
      const t = Date.now();
      process.stderr.write(`${id} …\n`);
      if (SSH_CASES.includes(id) && !ssh) {
        const c = newCase(id, id, '', 'lower');
        c.skipped = `needs OpenSSH (missing: ${sshMissing.join(', ')}; npm run bench:setup)`;
        cases.push(c);
        continue;
      }
      switch (id) {
        case 'startup':
          cases.push(...(await startupCases(bed, settings)));
          break;
        case 'poll':
          cases.push(await pollCase(bed, settings));
          break;
        case 'fleet':
          cases.push(...(await fleetCases(bed, settings)));
          break;
        case 'output':
          cases.push(...(await outputCases(bed, settings)));
          break;
        case 'replay':
          cases.push(...(await replayCases(bed, settings)));
          break;
        case 'idle':
          cases.push(await idleCase(bed, settings));
          break;
      }
      process.stderr.write(`${id}: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
    }
  } finally {
    await bed?.close();
    process.removeListener('SIGINT', cleanup);
    process.removeListener('SIGTERM', cleanup);
  }
  for (const c of cases) judge(c);
  // Others' work on the machine shows in the load: say how busy it was.
  const load = {before: loadBefore, after: os.loadavg()[0]!};
  const date = new Date();
  const heading = `crewchief bench · ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${settings.mode}, ${settings.rounds} rounds · ${String(info['cpu'])} ×${String(info['cores'])} · ${String(info['os'])} · ${String(info['openssh'])} · node ${process.version} · crewchief ${String(info['crewchief'])} · load ${load.before.toFixed(1)} → ${load.after.toFixed(1)}`;
  process.stdout.write(`\n${heading}\n\n${renderTable(cases)}\n`);
  if (fs.statSync(builtCli).mtimeMs !== built) {
    process.stdout.write(
      '\nwarning: dist/ was rebuilt while the bench ran (another build in this checkout): results may be disturbed\n',
    );
  }
  const verdicts = cases.flatMap((c) => c.verdicts);
  const failed = verdicts.filter((v) => v.pass === false).length;
  const passed = verdicts.filter((v) => v.pass).length;
  const unknown = verdicts.filter((v) => v.unknown).length;
  process.stdout.write(
    `\n${passed} targets met, ${failed} missed${unknown ? `, ${unknown} not measured` : ''} · ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  const file =
    json ??
    path.join(
      repoRoot,
      '.bench',
      `results-${date.toISOString().replace(/[:]/g, '').slice(0, 17)}.json`,
    );
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(
    file,
    `${JSON.stringify(toJson(cases, {date: date.toISOString(), settings, machine: info, loadAverage1m: load, durationS: Math.round((Date.now() - started) / 1000)}), null, 2)}\n`,
  );
  process.stdout.write(`results: ${path.relative(process.cwd(), file) || file}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
