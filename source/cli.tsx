#!/usr/bin/env node
/**
 * The command line: parses arguments, loads what the command needs, picks the event
 * source and the view. The work happens in the services it calls.
 */
import {parseArgs, type ParseArgsConfig} from 'node:util';
import {LaunchError, UsageError} from './services/exit.js';
import {installInterrupts} from './services/interrupt.js';

declare const CREWCHIEF_BUNDLED: boolean | undefined;
// The tsc build maps stack traces back to the TypeScript sources. The esbuild builds
// carry no source maps: enabling them there would only make Node scan every module it
// loads, and read the shipped machines' maps, before the console's first frame.
if (typeof CREWCHIEF_BUNDLED === 'undefined') process.setSourceMapsEnabled(true);
// React's development build costs start-up time and CPU on every frame.
process.env['NODE_ENV'] ??= 'production';

import {startReplayRead} from './commands/replay-start.js';
import {usageBlock} from './commands/table.js';
import {version} from './version.js';

const HELP = `crewchief ${version} — drive a production deployment from a runbook

Usage:
${usageBlock()}

Options for run, resume and demo:
  -p, --profile NAME     profile name (profiles/NAME.yaml) or path
      --var NAME=VALUE   a value for a variable the site declares (repeatable; also graph,
                         validate, diff); one the profile leaves out is asked on a terminal
      --dry-run          run nothing: record what would run
      --plain            line-oriented output (also when stdout is not a terminal)
      --journal PATH     where the journal goes (default $XDG_STATE_HOME/crewchief/sessions/)
      --yes              answer gates with their word and tick manual steps
      --confirm WORD     type WORD (a step id or its danger word) at a danger step; repeatable; "all" for every one
      --choose STEP=OPT  pick OPT at choice STEP (default with --yes: the first option); repeatable
      --on-failure ACT   at a failed step: abort (no rollback), skip, retry, or rollback
                         (run the rollback of what has run; never offered by --yes)
      --on-unknown ACT   at a step whose outcome is unknown after a crash: rerun, done or skip
      --on-timeout ACT   at a watch that timed out: abort, skip, keep-waiting, or rollback
      --auto             (demo) answer every prompt after a short pause, so you can watch
      --read-only        the console shows the session and offers nothing that changes it
                         (prompts are answered by the flags above, or the session stops)
      --auto-delay MS    wait MS before answering a prompt from flags (so others can follow)
      --journal-db URL   team mode: mirror the journal to PostgreSQL and take the driver lock
                         there (default: the profile's team.journal_db, or $CREWCHIEF_JOURNAL_DB)
      --take-over WHY    (resume) take over a session whose driver's crewchief is gone
      --without-team WHY drive although the journal database cannot be reached (refused
                         without it: nobody could tell whether someone else drives)
  -h, --help             this help
  -v, --version          the version

Exit status: 0 finished · 1 aborted or failed · 2 usage error · 3 invalid machine or profile ·
4 journal damaged or unusable · 5 a prompt needed the driver and there was no terminal ·
6 another driver holds the site and profile (or the session is theirs) ·
7 rolled back (the rollback ran to its end) ·
130 left before the end (resume later)`;

const options = {
  profile: {type: 'string', short: 'p', multiple: true},
  'dry-run': {type: 'boolean'},
  plain: {type: 'boolean'},
  journal: {type: 'string'},
  yes: {type: 'boolean'},
  confirm: {type: 'string', multiple: true},
  choose: {type: 'string', multiple: true},
  'on-failure': {type: 'string'},
  'on-unknown': {type: 'string'},
  'on-timeout': {type: 'string'},
  auto: {type: 'boolean'},
  'auto-delay': {type: 'string'},
  speed: {type: 'string'},
  follow: {type: 'boolean'},
  cast: {type: 'string'},
  size: {type: 'string'},
  'read-only': {type: 'boolean'},
  help: {type: 'boolean', short: 'h'},
  version: {type: 'boolean', short: 'v'},
  'sim-faults': {type: 'string'},
  'journal-db': {type: 'string'},
  'take-over': {type: 'string'},
  'without-team': {type: 'string'},
  dir: {type: 'string'},
  file: {type: 'string'},
  md: {type: 'string'},
  html: {type: 'string'},
  json: {type: 'boolean'},
  output: {type: 'string', short: 'o'},
  var: {type: 'string', multiple: true},
} satisfies ParseArgsConfig['options'];

/** `--var` flags as a record (loaded on demand: its module reads YAML, which `--help` does not need). */
const varFlags = async (values: string[] | undefined): Promise<Record<string, string>> =>
  (await import('./services/variables.js')).parseVarFlags(values);

async function main(argv: string[]): Promise<number> {
  // The single-file build's simulated programs (the package runs sim/run.js instead).
  if (argv[0] === '__sim') {
    await (await import('./sim/runner.js')).runSim(argv.slice(1));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  }
  let parsed;
  try {
    parsed = parseArgs({args: argv, options, allowPositionals: true, strict: true});
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const {values, positionals} = parsed;
  // --profile twice is for diff only; every other command takes one.
  const profiles = values.profile ?? [];
  if (profiles.length > 1 && positionals[0] !== 'diff')
    throw new UsageError(
      `--profile is given ${profiles.length} times; only diff takes two (crewchief diff SITE --profile A --profile B)`,
    );
  const flags = {...values, profile: profiles[0]};
  if (flags.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const [command, ...args] = positionals;
  if (flags.help || !command) {
    process.stdout.write(`${HELP}\n`);
    return command || flags.help ? 0 : 2;
  }
  switch (command) {
    case 'run':
    case 'demo':
    case 'resume':
      return (await import('./commands/run.js')).run(command, args, flags, version);
    case 'replay': {
      const plain = !!flags.plain || !!flags.json || !process.stdout.isTTY;
      // The console's journal starts being read on its own thread now, while the replay
      // command and the console load here (commands/replay-start.ts).
      if (
        !plain &&
        args.length === 1 &&
        process.stdin.isTTY &&
        flags.cast === undefined &&
        !flags['journal-db'] &&
        !(flags.speed && !(Number(flags.speed) >= 0))
      )
        startReplayRead(args[0]!);
      return (await import('./commands/replay.js')).replay(args, {
        plain,
        ...(flags.json ? {json: true} : {}),
        ...(flags.speed ? {speed: Number(flags.speed)} : {}),
        ...(flags.follow ? {follow: true} : {}),
        ...(flags['journal-db'] ? {journalDb: flags['journal-db']} : {}),
        ...(flags.cast !== undefined ? {cast: flags.cast} : {}),
        ...(flags.size !== undefined ? {size: flags.size} : {}),
      });
    }
    case 'watch':
      return (await import('./commands/watch.js')).watch(args, {
        plain: !!flags.plain || !!flags.json || !process.stdout.isTTY,
        ...(flags.json ? {json: true} : {}),
        ...(flags['journal-db'] ? {journalDb: flags['journal-db']} : {}),
        ...(flags.file ? {file: flags.file} : {}),
      });
    case 'sessions':
      return (await import('./commands/sessions.js')).sessions({
        ...(flags['journal-db'] ? {journalDb: flags['journal-db']} : {}),
        ...(flags.json ? {json: true} : {}),
      });
    case 'mirror':
      return (await import('./commands/mirror.js')).mirror(
        args,
        flags['journal-db'] ? {journalDb: flags['journal-db']} : {},
      );
    case 'validate':
      // file:line of a finding in a shipped machine is in its TypeScript source.
      process.setSourceMapsEnabled(true);
      return (await import('./commands/validate.js')).validate(args, undefined, {
        json: !!flags.json,
        vars: await varFlags(flags.var),
      });
    case 'report':
      return (await import('./commands/report.js')).report(args, {
        ...(flags.md ? {md: flags.md} : {}),
        ...(flags.html ? {html: flags.html} : {}),
        ...(flags.json ? {json: true} : {}),
        ...(flags['journal-db'] ? {journalDb: flags['journal-db']} : {}),
      });
    case 'import':
      return (await import('./commands/import.js')).importCommand(
        args,
        flags.output !== undefined ? {output: flags.output} : {},
      );
    case 'completion':
      return (await import('./commands/completion.js')).completion(args);
    case '__complete':
      return (await import('./commands/completion.js')).completion(['__complete', ...args]);
    case 'lab':
      return (await import('./commands/lab.js')).lab(args, {
        ...(flags.dir !== undefined ? {dir: flags.dir} : {}),
        ...(flags.profile !== undefined ? {profile: flags.profile} : {}),
        ...(flags.speed !== undefined ? {speed: flags.speed} : {}),
      });
    case 'list':
      return (await import('./commands/list.js')).list(undefined, {json: !!flags.json});
    case 'diff':
      return (await import('./commands/diff.js')).diff(args[0], profiles, {
        json: !!flags.json,
        vars: await varFlags(flags.var),
      });
    case 'graph': {
      if (!args[0]) throw new UsageError('graph expects a SITE: crewchief graph rubin');
      return (await import('./commands/graph.js')).graph(
        args[0],
        flags.profile,
        undefined,
        await varFlags(flags.var),
      );
    }
    default:
      throw new UsageError(
        `unknown command "${command}" (expected run, resume, replay, report, validate, import, demo, lab, graph, diff, list or completion; team mode: watch, sessions, mirror; crewchief --help)`,
      );
  }
}

/**
 * Every way out exits: once the command is over, anything still holding the process (a
 * database socket on a frozen link, a stray timer) gets a grace period, then the process
 * exits anyway, saying what was left open. The timer is unref'd: it never delays an exit.
 */
function exitEvenIfHeld(): void {
  const timer = setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(
      `crewchief: still held open 10s after the end (${open.join(', ') || 'unknown'}); exiting\n`,
    );
    process.exit();
  }, 10_000);
  timer.unref();
}

installInterrupts();
main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // Bad input is said in one line; only a bug in crewchief shows a stack trace.
      if (error instanceof LaunchError) {
        process.stderr.write(`crewchief: ${error.message}\n`);
        process.exitCode = error.code;
        return;
      }
      process.stderr.write(`crewchief: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  )
  .finally(exitEvenIfHeld);
