/**
 * Opening a session, the composition root: opens a session from names on the command line, or resumes one from its journal:
 * load and validate the site and profile, read secrets, pick transports, open the
 * journal. Everything here can fail with a clear message before anything runs.
 */
import {createHash, randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {JournalEntry} from '../journal/events.js';
import {
  describeDamage,
  JournalWriteError,
  JournalWriter,
  readJournal,
  sessionsDir,
} from '../journal/file.js';
import {JournalLock, JournalLockError} from '../journal/lock.js';
import {Redactor} from '../journal/redact.js';
import {findProfile, findSite, LoadError} from '../runbook/load.js';
import {loadProfile, ProfileError, type Profile, type ValidationError} from '../runbook/profile.js';
import {validateAgainstProfile, validateSite} from '../runbook/validate.js';
import type {Site} from '../runbook/vocabulary.js';
import {knownSims, prepareSim} from '../sim/index.js';
import {createDryRunTransport} from '../transport/dry-run.js';
import {createLocalTransport} from '../transport/local.js';
import type {SshTransport} from '../transport/ssh/index.js';
import type {Transport} from '../transport/types.js';
import type {Team, TeamOptions} from '../team/index.js';
import {resolvePlan, type ResolvedPlan} from '../engine/plan.js';
import {describeChanges, resumePoint, type ResumePoint} from '../engine/resume.js';
import {Session} from '../engine/session.js';
import type {StepServices} from '../engine/steps.js';
import type {SessionExtension} from '../engine/extension.js';
import {findJournal} from './catalogue.js';
import {EXIT, LaunchError} from './exit.js';
import {readSecrets, secretsNeeded} from './secrets.js';
import {
  resumedRunTimeValues,
  withRunTimeValues,
  type AskVariable,
  type RunTimeValues,
} from './variables.js';

export const driverIdentity = (env = process.env): string =>
  env['CREWCHIEF_DRIVER'] || `${os.userInfo().username}@${os.hostname()}`;

export interface LaunchOptions {
  dryRun?: boolean;
  journalPath?: string;
  driver?: string;
  version: string;
  env?: NodeJS.ProcessEnv;
  /** Faults for the simulated site (tests). */
  simFaults?: string[];
  services?: Partial<Pick<StepServices, 'sleep' | 'fetch'>>;
  /** Use these instead of the profile's (tests). */
  transports?: {transport: Transport; local: Transport};
  /** Team mode: the driver lock, the PostgreSQL mirror, hand-over, notifications. */
  team?: TeamOptions;
  /** Run-time values (`--var NAME=VALUE`) for variables the site declares. */
  vars?: Readonly<Record<string, string>>;
  /** Asks for a declared variable nothing gives (a terminal is present); else such a variable is refused. */
  ask?: AskVariable;
}

export interface Launched {
  session: Session;
  journal: JournalWriter;
  plan: ResolvedPlan;
  /** Entries already in the journal (resume), to fold before going on. */
  history: JournalEntry[];
  resume?: ResumePoint;
  warnings: string[];
  /** Team mode (drive calls its start, settle and close). */
  team?: Team;
}

const formatErrors = (errors: ValidationError[]): string =>
  errors
    .map(
      (e) => `${e.file}${e.line ? `:${e.line}` : ''}: ${e.field ? `${e.field}: ` : ''}${e.message}`,
    )
    .join('\n');

/**
 * Loads and checks a site and a profile together, with run-time values filled in first
 * (default: none given, declared variables without a value left unfilled). Throws
 * LaunchError (exit 3) on any problem.
 */
export async function loadChecked(
  siteName: string | undefined,
  profileName: string,
  runTime: RunTimeValues = {given: {}, missing: 'leave'},
): Promise<{site: Site; siteFile: string; profile: Profile}> {
  let profile: Profile;
  try {
    profile = findProfile(profileName);
  } catch (error) {
    if (error instanceof ProfileError) throw new LaunchError(error.message, EXIT.invalid);
    if (error instanceof LoadError) throw new LaunchError(error.message, EXIT.usage);
    throw error;
  }
  return checkedWith(siteName ?? profile.site, profile, runTime);
}

async function checkedWith(
  siteName: string,
  loaded: Profile,
  runTime: RunTimeValues,
): Promise<{site: Site; siteFile: string; profile: Profile}> {
  let found: {site: Site; file: string};
  try {
    found = await findSite(siteName);
  } catch (error) {
    if (error instanceof LoadError) throw new LaunchError(error.message, EXIT.usage);
    throw error;
  }
  if (loaded.site !== found.site.id) {
    throw new LaunchError(
      `${loaded.file}:${loaded.lineOf('site')}: site: profile ${loaded.name} is for site "${loaded.site}", not "${found.site.id}"`,
      EXIT.invalid,
    );
  }
  const profile = await withRunTimeValues(found.site, loaded, runTime);
  const errors = [
    ...validateSite(found.site, found.file),
    ...validateAgainstProfile(found.site, found.file, profile, knownSims()),
  ];
  if (errors.length) throw new LaunchError(formatErrors(errors), EXIT.invalid);
  return {site: found.site, siteFile: found.file, profile};
}

/** Hosts with the profile-wide ssh user and jump filled in. */
function withSshDefaults(profile: Profile): Profile {
  const hosts = Object.fromEntries(
    Object.entries(profile.hosts).map(([name, host]) => [
      name,
      {
        ...host,
        ...(!host.user && profile.ssh.user ? {user: profile.ssh.user} : {}),
        ...(!host.jump && profile.ssh.jump ? {jump: profile.ssh.jump} : {}),
      },
    ]),
  );
  return {...profile, hosts};
}

async function transportsFor(
  profile: Profile,
  journalPath: string,
  options: LaunchOptions,
  append: (text: string) => void,
): Promise<{transport: Transport; local: Transport}> {
  if (options.transports) return options.transports;
  if (options.dryRun) {
    // Over SSH, say which hops each command would go through (nothing connects).
    const ssh =
      profile.transport === 'ssh' && !profile.sim ? await sshTransport(profile, append) : undefined;
    const dry = createDryRunTransport(
      ssh && ((request) => `would connect: ${ssh.plan(request).path.join(' → ')}`),
    );
    return {transport: dry, local: dry};
  }
  if (profile.sim && profile.transport === 'local') {
    const sim = prepareSim(profile.sim.site, `${journalPath}.sim`, {
      speed: profile.sim.speed,
      ...(profile.sim.pace ? {pace: profile.sim.pace} : {}),
      ...(options.simFaults ? {faults: options.simFaults} : {}),
    });
    const local = createLocalTransport({env: sim.env});
    return {transport: local, local};
  }
  const local = createLocalTransport();
  if (profile.transport === 'local') return {transport: local, local};
  return {transport: await sshTransport(profile, append, journalPath), local};
}

async function sshTransport(
  profile: Profile,
  append: (text: string) => void,
  journalPath?: string,
): Promise<SshTransport> {
  const {createSshTransport} = await import('../transport/ssh/index.js');
  const common = {
    ...(profile.ssh.config ? {configFile: profile.ssh.config} : {}),
    ...(profile.ssh.knownHosts ? {knownHostsFiles: profile.ssh.knownHosts} : {}),
    ...(profile.ssh.identity ? {identityFile: profile.ssh.identity} : {}),
    strictHostKeys: profile.ssh.strictHostKeys,
    keepaliveIntervalMs: profile.ssh.keepaliveIntervalMs,
    keepaliveCountMax: profile.ssh.keepaliveCountMax,
    ...(profile.ssh.reconnectWaitMs !== undefined
      ? {reconnectWaitMs: profile.ssh.reconnectWaitMs}
      : {}),
    onNotice: append,
  };
  const client = (host: {client?: 'ssh2' | 'openssh'}): 'ssh2' | 'openssh' =>
    host.client ?? profile.ssh.client ?? 'ssh2';
  const useOpenSsh = Object.values(profile.hosts).filter((h) => client(h) === 'openssh');
  const builtin = createSshTransport({
    ...common,
    ...(profile.ssh.forwardAgent ? {forwardAgent: Object.keys(profile.hosts)} : {}),
    onHostKeyAccepted: (e) => append(`accepted the new host key of ${e.host}: ${e.fingerprint}`),
    ...(useOpenSsh.length === Object.keys(profile.hosts).length ? {onNotice: () => {}} : {}),
  });
  if (!useOpenSsh.length || !journalPath) return builtin;
  const {createOpenSshTransport} = await import('../transport/openssh/index.js');
  const {routeByHost} = await import('../transport/openssh/route.js');
  const openssh = createOpenSshTransport({
    ...common,
    // the master sockets live with the session's journal (a temp dir if that path is long)
    controlDir: path.join(
      path.dirname(journalPath),
      `.ssh-${createHash('sha256').update(journalPath).digest('hex').slice(0, 8)}`,
    ),
  });
  return routeByHost(builtin, [openssh], (host) =>
    client(host) === 'openssh' ? openssh : builtin,
  );
}

export function newSessionId(site: string, profile: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return `${site}-${profile}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Opens a new session (nothing runs until `session.start()`). */
export async function launch(
  siteName: string | undefined,
  profileName: string,
  options: LaunchOptions,
): Promise<Launched> {
  const env = options.env ?? process.env;
  const checked = await loadChecked(siteName, profileName, {
    given: options.vars ?? {},
    missing: options.ask ? {ask: options.ask} : 'refuse',
  });
  const profile = withSshDefaults(checked.profile);
  const plan = resolvePlan(checked.site, profile);
  const secrets = readSecrets(profile, secretsNeeded(plan), env);
  const id = newSessionId(checked.site.id, profile.name);
  const journalPath = path.resolve(
    options.journalPath ?? path.join(sessionsDir(env), `${id}.jsonl`),
  );
  const driver = options.driver ?? driverIdentity(env);
  // The driver lock comes first: a refused driver leaves no journal behind.
  const team =
    options.team &&
    (await teamStep((t) =>
      t.openTeam({
        options: options.team!,
        mode: 'new',
        session: id,
        site: checked.site.id,
        profile,
        journalPath,
        driver,
        secrets,
        env,
      }),
    ));
  let journal: JournalWriter;
  let lock: JournalLock | undefined;
  try {
    lock = lockJournal(journalPath, driver, options);
    journal = JournalWriter.create(journalPath, id);
    lock.holdUntilClosed(journal);
  } catch (error) {
    lock?.release();
    await team?.close();
    if (error instanceof LaunchError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new LaunchError(
      code === 'EEXIST'
        ? `${journalPath} already exists: a journal is never overwritten (use crewchief resume ${journalPath}, or another --journal)`
        : error instanceof JournalWriteError
          ? error.message
          : `cannot create the journal ${journalPath}: ${(error as Error).message}`,
      EXIT.journal,
    );
  }
  const launched = await assemble({
    id,
    plan,
    siteFile: checked.siteFile,
    journal,
    secrets,
    driver,
    team,
    options,
    dryRun: !!options.dryRun,
  });
  if (lock.notice) launched.warnings.unshift(lock.notice);
  return launched;
}

/** What launch and resume share: transports, the session, team mode attached. */
async function assemble(parts: {
  id: string;
  plan: ResolvedPlan;
  siteFile: string;
  journal: JournalWriter;
  secrets: Record<string, string>;
  driver: string;
  team: Team | undefined;
  options: LaunchOptions;
  dryRun: boolean;
  resume?: {point: ResumePoint; history: JournalEntry[]; warnings: string[]};
}): Promise<Launched> {
  const {plan, journal, team, options, resume} = parts;
  // One redactor for every string the journal takes (and so the store, screen, mirror).
  const redactor = new Redactor(Object.values(parts.secrets));
  journal.redactWith(redactor);
  const transports = await transportsFor(
    plan.profile,
    journal.path,
    {...options, dryRun: parts.dryRun},
    (text) => journal.append({type: 'notice', level: 'warn', text}),
  );
  const extension: SessionExtension | undefined = team;
  const {transport, local} = extension ? extension.guard(transports) : transports;
  const services = extension ? extension.services(options.services) : options.services;
  const point = resume?.point;
  const session = new Session({
    id: parts.id,
    plan,
    siteFile: parts.siteFile,
    journal,
    transport,
    local,
    redactor,
    secrets: parts.secrets,
    driver: parts.driver,
    version: options.version,
    ...(parts.dryRun ? {dryRun: true} : {}),
    ...(point && resume
      ? {
          resume: {
            ...(point.startAt ? {startAt: point.startAt} : {}),
            ...(point.restarted ? {restarted: point.restarted} : {}),
            vars: point.vars,
            from: resume.history.at(-1)?.seq ?? 0,
            history: resume.history,
          },
        }
      : {}),
    ...(services ? {services} : {}),
  });
  extension?.attach({journal, session, plan});
  return {
    session,
    journal,
    plan,
    history: resume?.history ?? [],
    ...(point ? {resume: point} : {}),
    warnings: [...(resume?.warnings ?? []), ...(extension?.warnings ?? [])],
    ...(team ? {team} : {}),
  };
}

/** Runs a team-mode step; its refusals end the command with the exit status they mean. */
async function teamStep<T>(
  step: (team: typeof import('../team/index.js')) => Promise<T>,
): Promise<T> {
  const team = await import('../team/index.js');
  try {
    return await step(team);
  } catch (error) {
    if (error instanceof team.TeamRefusal) throw new LaunchError(error.message, EXIT[error.code]);
    throw error;
  }
}

/**
 * Takes the lock of a journal (see journal/lock.ts): whatever the state directory, one
 * crewchief at a time writes it. Throws LaunchError (6: in use, 4: cannot lock).
 */
function lockJournal(file: string, driver: string, options: LaunchOptions): JournalLock {
  try {
    return JournalLock.acquire(file, {
      driver,
      ...(options.team?.takeOver ? {takeOver: options.team.takeOver} : {}),
    });
  } catch (error) {
    if (error instanceof JournalLockError) throw new LaunchError(error.message, EXIT[error.code]);
    throw error;
  }
}

/** Resumes a session from its journal, holding the journal's lock from before it is read. */
export async function resume(
  idOrPath: string | undefined,
  options: LaunchOptions,
): Promise<Launched> {
  const env = options.env ?? process.env;
  let file: string;
  try {
    file = findJournal(idOrPath, env);
  } catch (error) {
    // With a journal database, a session this machine has no journal of is fetched.
    const db = options.team?.journalDb || env['CREWCHIEF_JOURNAL_DB'];
    if (!idOrPath || !db || fs.existsSync(idOrPath)) throw error;
    file = path.join(sessionsDir(env), `${path.basename(idOrPath).replace(/\.jsonl$/, '')}.jsonl`);
  }
  const lock = lockJournal(file, options.driver ?? driverIdentity(env), options);
  try {
    const launched = await resumeLocked(fs.existsSync(file) ? file : idOrPath, options);
    lock.holdUntilClosed(launched.journal);
    if (lock.notice) launched.warnings.unshift(lock.notice);
    return launched;
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function resumeLocked(
  idOrPath: string | undefined,
  options: LaunchOptions,
): Promise<Launched> {
  const env = options.env ?? process.env;
  const fetched = options.team
    ? await teamStep(async (t) => (await t.journalForResume(idOrPath, options.team!, env)).warnings)
    : [];
  const file = findJournal(idOrPath, env);
  let read;
  try {
    read = readJournal(file);
  } catch (error) {
    throw new LaunchError((error as Error).message, EXIT.journal);
  }
  if (read.damage.length) {
    throw new LaunchError(
      `${describeDamage(file, read.damage)}\nthe journal is damaged before its end; crewchief will not guess what happened (replay shows what is readable)`,
      EXIT.journal,
    );
  }
  const opened = read.entries.find((e) => e.type === 'session-opened');
  if (!opened || opened.type !== 'session-opened')
    throw new LaunchError(`${file}: the journal has no session-opened event`, EXIT.journal);
  const closed = read.entries.find((e) => e.type === 'session-closed');
  if (closed && closed.type === 'session-closed') {
    throw new LaunchError(
      `session ${read.header.session} is already closed (${closed.outcome}); nothing to resume (crewchief replay ${file} shows it)`,
      EXIT.usage,
    );
  }
  let profile: Profile;
  try {
    profile = withSshDefaults(loadProfile(opened.profileFile));
  } catch (error) {
    throw new LaunchError((error as Error).message, EXIT.invalid);
  }
  // The session's run-time values are its journaled ones (--var may only repeat them).
  const runTime: RunTimeValues = {
    given: resumedRunTimeValues(
      read.header.session,
      opened.runTimeVariables ?? {},
      options.vars ?? {},
    ),
    missing: 'refuse',
  };
  const checked = await checkedWith(opened.siteFile, profile, runTime).catch(
    async (error: unknown) => {
      // A shipped site may have moved between source and dist, or share its machine file
      // with other sites (the file's first site is not this one): fall back to its id.
      if (
        error instanceof LaunchError &&
        (error.code === EXIT.usage || error.code === EXIT.invalid)
      )
        return checkedWith(opened.site, profile, runTime).catch(() => {
          throw error;
        });
      throw error;
    },
  );
  profile = checked.profile;
  const plan = resolvePlan(checked.site, profile);
  const changes = describeChanges(opened.plan, plan.outline);
  if (changes.length) {
    throw new LaunchError(
      `the runbook changed since session ${read.header.session} began; resuming could run the wrong thing:\n  ${changes.join('\n  ')}\nrestore the runbook and profile as they were, or start a new session`,
      EXIT.invalid,
    );
  }
  const point = resumePoint(plan, read.entries);
  const secrets = readSecrets(profile, secretsNeeded(plan), env);
  const lastSeq = read.entries.at(-1)?.seq ?? 0;
  const driver = options.driver ?? driverIdentity(env);
  const team =
    options.team &&
    (await teamStep((t) =>
      t.openTeam({
        options: options.team!,
        mode: 'resume',
        session: read.header.session,
        site: checked.site.id,
        profile,
        journalPath: file,
        driver,
        secrets,
        env,
        history: read.entries,
      }),
    ));
  let journal: JournalWriter;
  try {
    journal = JournalWriter.reopen(file, lastSeq, read.validBytes);
  } catch (error) {
    await team?.close();
    throw new LaunchError((error as Error).message, EXIT.journal);
  }
  return assemble({
    id: read.header.session,
    plan,
    siteFile: checked.siteFile,
    journal,
    secrets,
    driver,
    team,
    options,
    dryRun: opened.dryRun,
    resume: {point, history: read.entries, warnings: [...fetched, ...read.warnings]},
  });
}
