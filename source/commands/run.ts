/**
 * `crewchief run`, `demo` and `resume`: turns the command line into a launched session
 * (services/open.ts) and drives it with the view asked for (services/drive.ts).
 */
import {listProfiles} from '../runbook/load.js';
import type {SessionStoreApi} from '../store/store.js';
import {drive} from '../services/drive.js';
import {UsageError} from '../services/exit.js';
import {driverIdentity, launch, resume, type Launched} from '../services/open.js';
import {askOnTerminal} from '../services/ask-variable.js';
import {parseVarFlags} from '../services/variables.js';

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new UsageError(`--${name} expects one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

export async function run(
  command: 'run' | 'demo' | 'resume',
  args: string[],
  flags: Record<string, unknown>,
  version: string,
): Promise<number> {
  const choose: Record<string, string> = {};
  for (const c of (flags['choose'] as string[] | undefined) ?? []) {
    const [step, option] = c.split('=');
    if (!step || !option) throw new UsageError(`--choose expects STEP=OPTION, not "${c}"`);
    choose[step] = option;
  }
  const confirm = (flags['confirm'] as string[] | undefined) ?? [];
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const vars = parseVarFlags(flags['var'] as string[] | undefined);
  const demoAuto = command === 'demo' && (!!flags['auto'] || !interactive);
  const onFailure = oneOf(
    'on-failure',
    flags['on-failure'] as string | undefined,
    ['abort', 'skip', 'retry', 'rollback'] as const,
  );
  const onUnknown = oneOf(
    'on-unknown',
    flags['on-unknown'] as string | undefined,
    ['rerun', 'done', 'skip'] as const,
  );
  const onTimeout = oneOf(
    'on-timeout',
    flags['on-timeout'] as string | undefined,
    ['abort', 'skip', 'keep-waiting', 'rollback'] as const,
  );
  const autopilot = {
    yes: !!flags['yes'] || demoAuto,
    confirm: demoAuto || confirm.includes('all') ? ('all' as const) : confirm,
    choose,
    ...(onFailure ? {onFailure} : demoAuto ? {onFailure: 'abort' as const} : {}),
    ...(onUnknown ? {onUnknown} : {}),
    ...(onTimeout ? {onTimeout} : demoAuto ? {onTimeout: 'abort' as const} : {}),
    // The demo's answers come from its autopilot, not from flags the driver gave.
    ...(demoAuto && !flags['yes'] ? {via: 'autopilot' as const} : {}),
  };
  const launchOptions = {
    version,
    vars,
    // A declared variable nothing gives is asked on a terminal (never in a read-only console).
    ...(interactive && !flags['read-only'] ? {ask: askOnTerminal()} : {}),
    ...(flags['dry-run'] ? {dryRun: true} : {}),
    ...(flags['journal'] ? {journalPath: flags['journal'] as string} : {}),
    ...(flags['sim-faults'] ? {simFaults: String(flags['sim-faults']).split(',')} : {}),
    team: {
      ...(flags['journal-db'] ? {journalDb: flags['journal-db'] as string} : {}),
      ...(flags['take-over'] ? {takeOver: flags['take-over'] as string} : {}),
      ...(flags['without-team'] ? {withoutTeam: flags['without-team'] as string} : {}),
    },
  };
  let launched: Launched;
  {
    if (command === 'resume') {
      if (args.length > 1)
        throw new UsageError('resume expects at most one SESSION (an id or a journal file)');
      launched = await resume(args[0], launchOptions);
    } else if (command === 'run') {
      const site = args[0];
      if (!site || args.length > 1)
        throw new UsageError('run expects one SITE: crewchief run SITE --profile NAME');
      if (!flags['profile'])
        throw new UsageError(
          `run expects --profile NAME (profiles for ${site}: ${
            listProfiles()
              .filter((p) => p.site === site)
              .map((p) => p.name)
              .join(', ') || 'none found'
          })`,
        );
      launched = await launch(site, flags['profile'] as string, launchOptions);
    } else {
      const site = args[0] ?? 'rubin';
      const profile =
        (flags['profile'] as string | undefined) ??
        listProfiles().find((p) => p.site === site && p.name.endsWith('-demo'))?.name;
      if (!profile)
        throw new UsageError(
          `no demo profile for site "${site}" (a profile named *-demo with site: ${site})`,
        );
      launched = await launch(site, profile, launchOptions);
    }
  }
  const plain = !!flags['plain'] || !process.stdout.isTTY;
  const driver = driverIdentity();
  if (!plain && !interactive) {
    throw new UsageError('the console needs a terminal on stdin; use --plain');
  }
  const readOnly = !!flags['read-only'];
  const render = plain ? undefined : (await import('../ui/render.js')).renderConsole;
  const consoleView = render
    ? (store: SessionStoreApi, launched: Launched) =>
        render(
          store,
          {
            decide: (event, via) => launched.session.decide(event, undefined, via),
            ...(launched.team ? {handOver: (r) => launched.team!.handOver(r)} : {}),
            journalPath: launched.journal.path,
          },
          {readOnly},
        )
    : undefined;
  if (command === 'demo' && plain) {
    process.stdout.write(
      `crewchief demo: ${launched.plan.site.title} on ${launched.plan.profile.name} (simulated site, nothing leaves this machine)${demoAuto ? '; prompts are answered automatically' : ''}\n`,
    );
  }
  return drive(launched, {
    plain,
    interactive: interactive && !readOnly,
    ...(readOnly ? {readOnly} : {}),
    autopilot,
    ...(flags['auto-delay'] !== undefined
      ? {autoDelayMs: Number(flags['auto-delay'])}
      : command === 'demo' && !plain
        ? {autoDelayMs: 1500}
        : {}),
    driver,
    ...(consoleView ? {console: consoleView} : {}),
  });
}
