/**
 * Team mode for a driven session: one driver at a time (lock file + PostgreSQL advisory
 * lock), the journal mirrored to PostgreSQL, hand-over and take-over, and chat
 * notifications. `openTeam` runs before the journal is created or reopened, so a refused
 * driver changes nothing; `attach` wires the rest once the session exists.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {SessionExtension} from '../engine/extension.js';
import type {ResolvedPlan} from '../engine/plan.js';
import type {Session} from '../engine/session.js';
import type {StepServices} from '../engine/steps.js';
import type {JournalEntry} from '../journal/events.js';
import {readJournal, sessionsDir, type JournalWriter} from '../journal/file.js';
import {describeDb, pause} from '../journal/pg-connect.js';
import {journalOnDisk, PgMirror} from '../journal/pg-mirror.js';
import {mirroredLastSeq, MirrorReadError, restoreFromMirror} from '../journal/pg-read.js';
import {Redactor} from '../journal/redact.js';
import type {Profile} from '../runbook/profile.js';
import type {Transport} from '../transport/types.js';
import {GateClosed, guardFetch, guardTransport, type Gate} from './guard.js';
import {FileLock, LockRefused, LockUnavailable, PgDriverLock, type Holder} from './lock.js';
import {Notifier} from './notify.js';

/** What the command line says about team mode. */
export interface TeamOptions {
  /** `--journal-db URL`: overrides the profile's `team.journal_db`. */
  journalDb?: string;
  /** `--take-over REASON`: resume a session whose driver's process is gone. */
  takeOver?: string;
  /**
   * `--without-team REASON`: drive although the journal database named by the flag, the
   * profile or CREWCHIEF_JOURNAL_DB cannot be reached (journaled with who and why).
   * Without it, an unreachable journal database refuses the driver.
   */
  withoutTeam?: string;
  /** Where lock files go (default `$XDG_STATE_HOME/crewchief/locks`). */
  lockDir?: string;
  /** Test seams: lock heartbeat and how long close() waits for the mirror. */
  heartbeatMs?: number;
  mirrorCloseMs?: number;
}

/** Why a driver may not start; `code` is the exit status (the caller's LaunchError). */
export class TeamRefusal extends Error {
  constructor(
    message: string,
    readonly code: 'locked' | 'invalid' | 'journal',
  ) {
    super(message);
  }
}

/** The journal database to use: the flag, the profile's setting, or CREWCHIEF_JOURNAL_DB. */
export function journalDbUrl(
  flag: string | undefined,
  profile: Profile | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (flag) return flag;
  const db = profile?.team.journalDb;
  if (typeof db === 'string') return db;
  if (db) {
    const value = env[db.env];
    if (!value)
      throw new TeamRefusal(
        `${profile!.file}:${profile!.lineOf('team.journal_db')}: team.journal_db: environment variable ${db.env} is not set`,
        'invalid',
      );
    return value;
  }
  return env['CREWCHIEF_JOURNAL_DB'] || undefined;
}

/** Where the journal database came from, for messages. */
function namedBy(flag: string | undefined, profile: Profile, env: NodeJS.ProcessEnv): string {
  if (flag) return '--journal-db';
  const db = profile.team.journalDb;
  if (typeof db === 'string') return `${profile.file}: team.journal_db`;
  if (db) return `${profile.file}: team.journal_db (from $${db.env})`;
  return env['CREWCHIEF_JOURNAL_DB'] ? '$CREWCHIEF_JOURNAL_DB' : 'the settings';
}

export const lockDirOf = (env: NodeJS.ProcessEnv): string =>
  path.join(path.dirname(sessionsDir(env)), 'locks');

/**
 * The journal to resume: with a journal database, the mirror fills in what this machine
 * lacks — the whole file after a hand-over from another machine, or the events another
 * driver journaled elsewhere since this machine's copy was written.
 */
export async function journalForResume(
  idOrPath: string | undefined,
  options: TeamOptions,
  env: NodeJS.ProcessEnv,
): Promise<{warnings: string[]}> {
  const url = options.journalDb || env['CREWCHIEF_JOURNAL_DB'];
  if (!url || !idOrPath) return {warnings: []};
  let file: string;
  let id: string;
  if (fs.existsSync(idOrPath)) {
    file = idOrPath;
    try {
      id = readJournal(file).header.session;
    } catch {
      return {warnings: []}; // resume says what is wrong with it
    }
  } else {
    id = path.basename(idOrPath).replace(/\.jsonl$/, '');
    file = path.join(sessionsDir(env), `${id}.jsonl`);
  }
  const existed = fs.existsSync(file);
  try {
    const restored = await restoreFromMirror(url, id, file);
    if (!restored || !restored.added) return {warnings: []};
    return {
      warnings: [
        existed
          ? `took ${restored.added} events of ${id} from ${describeDb(url)} that this machine's journal did not have`
          : `fetched session ${id} from ${describeDb(url)} into ${restored.file} (${restored.added} events); if the last driver's machine is still there, its own journal may hold events the mirror never got`,
      ],
    };
  } catch (error) {
    if (error instanceof MirrorReadError && existed)
      return {warnings: [`${error.message}; resuming from this machine's journal`]};
    throw new TeamRefusal((error as Error).message, 'journal');
  }
}

/** Who drove last, and whether they handed over (and to whom). */
export function lastDriver(history: readonly JournalEntry[]): {
  driver: string;
  handedOver?: {to?: string};
} {
  let driver = '';
  let handedOver: {to?: string} | undefined;
  for (const e of history) {
    if (e.type === 'session-opened' || e.type === 'session-resumed') {
      driver = e.driver;
      handedOver = undefined;
    } else if (e.type === 'decision' && e.decision === 'hand-over') {
      handedOver = e.value ? {to: e.value} : {};
    }
  }
  return {driver, ...(handedOver ? {handedOver} : {})};
}

export interface TeamInput {
  mode: 'new' | 'resume';
  session: string;
  site: string;
  profile: Profile;
  journalPath: string;
  driver: string;
  secrets: Readonly<Record<string, string>>;
  env: NodeJS.ProcessEnv;
  options: TeamOptions;
  /** The journal so far (resume). */
  history?: readonly JournalEntry[];
}

/** Takes the driver lock and checks the driver's right to go on. Throws TeamRefusal. */
export async function openTeam(input: TeamInput): Promise<Team> {
  const {profile, options, env} = input;
  const url = journalDbUrl(options.journalDb, profile, env);
  const holder: Holder = {
    driver: input.driver,
    host: os.hostname(),
    pid: process.pid,
    session: input.session,
    since: new Date().toISOString(),
    site: input.site,
    profile: profile.name,
    journal: input.journalPath,
  };
  const warnings: string[] = [];
  let fileLock: FileLock;
  try {
    fileLock = FileLock.acquire(options.lockDir ?? lockDirOf(env), holder);
  } catch (error) {
    if (error instanceof LockRefused) throw new TeamRefusal(error.message, 'locked');
    throw error;
  }
  let pgLock: PgDriverLock | undefined;
  let withoutTeam: {db: string; reason: string} | undefined;
  try {
    if (url) {
      const lockOptions = {
        url,
        holder,
        ...(options.heartbeatMs ? {heartbeatMs: options.heartbeatMs} : {}),
      };
      try {
        pgLock = await PgDriverLock.acquire(lockOptions);
      } catch (error) {
        if (!(error instanceof LockUnavailable)) throw error;
        if (profile.team.strict)
          throw new TeamRefusal(
            `${error.message}\nthe profile asks for strict mode (team.strict), which needs the journal database: nothing was started`,
            'locked',
          );
        // Without the database, this machine cannot know whether someone elsewhere drives:
        // going on is the driver's call, said out loud and journaled, never a fallback.
        if (!options.withoutTeam?.trim())
          throw new TeamRefusal(
            `${error.message}\nthe journal database is named by ${namedBy(options.journalDb, profile, env)}; without it crewchief cannot tell whether someone else is driving ${input.site} on ${profile.name}, so nothing was started.\nWhen PostgreSQL answers again, run the same command again. If you are sure nobody else drives, go on without it and say why (journaled):\n  ${input.mode === 'resume' ? `crewchief resume ${input.session} --without-team "REASON"` : 'the same command with --without-team "REASON"'}`,
            'locked',
          );
        warnings.push(
          `${error.message}; going on without it, as ${input.driver} chose (--without-team: ${options.withoutTeam.trim()}) — with this machine's locks only; the session takes the lock in PostgreSQL as soon as it answers, and the mirror catches up then`,
        );
        withoutTeam = {db: describeDb(url), reason: options.withoutTeam.trim()};
        pgLock = PgDriverLock.later(lockOptions);
      }
    }
    let takeOver: {from: string; reason: string} | undefined;
    const lastSeq = input.history?.at(-1)?.seq ?? 0;
    if (input.mode === 'resume' && url && pgLock?.held) {
      // Never go on from an older copy while the mirror has what came after it.
      const mirrored = await mirroredLastSeq(url, input.session);
      if (mirrored !== undefined && mirrored > lastSeq)
        throw new TeamRefusal(
          `${describeDb(url)} has ${mirrored} events of session ${input.session}, ${input.journalPath} only ${lastSeq}: the session went on elsewhere. Resume it by id, which fetches the rest:\n  crewchief resume ${input.session} --journal-db ${describeDb(url)}`,
          'journal',
        );
    }
    if (input.mode === 'resume') {
      const last = lastDriver(input.history ?? []);
      if (options.takeOver) takeOver = {from: last.driver, reason: options.takeOver};
      else if (
        last.driver !== input.driver &&
        !(last.handedOver && (!last.handedOver.to || last.handedOver.to === input.driver))
      ) {
        throw new TeamRefusal(
          `session ${input.session} was last driven by ${last.driver}${last.handedOver?.to ? `, who handed it over to ${last.handedOver.to}` : ', who did not hand it over'}.\nIf ${last.driver}'s crewchief is gone (a crash, a lost bastion) — the driver lock is free now — take it over and say why:\n  crewchief resume ${input.session} --take-over "REASON"`,
          'locked',
        );
      }
    }
    return new Team({
      input,
      url,
      fileLock,
      warnings,
      ...(pgLock ? {pgLock} : {}),
      ...(takeOver ? {takeOver} : {}),
      ...(withoutTeam ? {withoutTeam} : {}),
    });
  } catch (error) {
    await pgLock?.release();
    fileLock.release();
    if (error instanceof LockRefused) throw new TeamRefusal(error.message, 'locked');
    throw error;
  }
}

interface TeamParts {
  input: TeamInput;
  url: string | undefined;
  fileLock: FileLock;
  pgLock?: PgDriverLock;
  warnings: string[];
  takeOver?: {from: string; reason: string};
  /** The driver chose to go on without the unreachable journal database. */
  withoutTeam?: {db: string; reason: string};
}

type Level = 'info' | 'warn' | 'error';

export class Team implements SessionExtension {
  /** Said once the session has started (journaled as notices) and on the driver's terminal. */
  readonly warnings: readonly string[];
  private journal: JournalWriter | undefined;
  private session: Session | undefined;
  private plan: ResolvedPlan | undefined;
  private mirror: PgMirror | undefined;
  private notifier: Notifier | undefined;
  private readonly running = new Set<string>();
  private started = false;
  private open = true;
  private queued: {level: Level; text: string}[] = [];
  private stopReason: string | undefined;
  private handedOver: {to?: string} | undefined;
  private closing: Promise<string[]> | undefined;

  constructor(private readonly parts: TeamParts) {
    this.warnings = parts.warnings;
    parts.pgLock?.on('change', (state, reason) => this.lockChanged(state, reason));
  }

  get journalDb(): string | undefined {
    return this.parts.url;
  }

  /**
   * The gate every effect passes (see guard.ts). It is shut at each step-started: the
   * step's first effect waits for the driver lock (and, in strict mode, for the mirror to
   * have everything journaled so far); the step's other effects (more hosts, a watch's
   * polls) share that one check. A running step is never held up: only new steps are.
   */
  readonly gate: Gate = {
    open: () => this.stepGate === 'open',
    wait: async (what, signal) => {
      if (this.stepGate === 'pending') {
        const check = this.checkStep(what);
        this.stepGate = check;
        check.then(
          () => {
            if (this.stepGate === check) this.stepGate = 'open';
          },
          () => {},
        );
      }
      if (this.stepGate === 'open') return;
      const check = this.stepGate;
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => resolve();
        signal?.addEventListener('abort', onAbort, {once: true});
        check.then(resolve, reject).finally(() => signal?.removeEventListener('abort', onAbort));
      });
    },
  };

  private stepGate: 'open' | 'pending' | Promise<void> = 'open';
  private readonly closed = new AbortController();

  /** May a new step start? Waits for the lock and (strict) the mirror; throws GateClosed. */
  private async checkStep(what: string): Promise<void> {
    const signal = this.closed.signal;
    if (this.stopReason) throw new GateClosed(this.stopReason);
    const lock = this.parts.pgLock;
    if (lock && this.lockLetsGo() === 'wait') {
      const grace = this.parts.input.profile.team.lockGraceMs;
      this.say(
        'warn',
        `waiting up to ${Math.round(grace / 1000)}s for the driver lock before running: ${what}`,
      );
      await lock.waitHeld(grace, signal);
    }
    if (this.lockLetsGo() !== 'yes') {
      this.stop(
        `the driver lock was lost (${lock?.state === 'taken' ? `taken by ${lock.takenBy?.driver ?? 'someone else'}` : 'PostgreSQL did not give it back in time'})`,
      );
      throw new GateClosed(this.stopReason!);
    }
    const mirror = this.mirror;
    if (!this.strict || !mirror || !this.journal) return;
    // Whatever runs is in the mirror first: wait for the events up to this one.
    const target = this.journal.lastSeq;
    if (mirror.hasUpTo(target)) return;
    if (mirror.status().state !== 'behind')
      await Promise.race([mirror.caughtUp(target, signal), pause(1_000, signal)]);
    if (mirror.hasUpTo(target) || signal.aborted) return;
    this.say(
      'warn',
      `strict mode: the journal mirror is behind; waiting for it to catch up before running: ${what}`,
    );
    await mirror.caughtUp(target, signal);
    if (mirror.hasUpTo(target))
      this.say('info', 'strict mode: the journal mirror has caught up; going on');
  }

  private get strict(): boolean {
    return this.parts.input.profile.team.strict;
  }

  private lockLetsGo(): 'yes' | 'wait' | 'no' {
    const lock = this.parts.pgLock;
    if (!lock) return 'yes';
    switch (lock.state) {
      case 'held':
      case 'waiting': // never had it: PostgreSQL was down at the start (said so then)
        return 'yes';
      case 'regaining':
        return 'wait';
      default:
        return 'no';
    }
  }

  /** The session's transports, behind the gate. */
  guard(transports: {transport: Transport; local: Transport}): {
    transport: Transport;
    local: Transport;
  } {
    const transport = guardTransport(transports.transport, this.gate);
    return {
      transport,
      local:
        transports.local === transports.transport
          ? transport
          : guardTransport(transports.local, this.gate),
    };
  }

  /** Step services with webhook posts behind the gate. */
  services<S extends Partial<Pick<StepServices, 'sleep' | 'fetch'>>>(services?: S): S {
    return {...services, fetch: guardFetch(services?.fetch ?? fetch, this.gate)} as S;
  }

  /** Wires the mirror, the notifications and the step tracking to a new session's journal. */
  attach(parts: {journal: JournalWriter; session: Session; plan: ResolvedPlan}): void {
    const {journal} = parts;
    this.journal = journal;
    this.session = parts.session;
    this.plan = parts.plan;
    const {url, input} = this.parts;
    if (url) {
      const disk = journalOnDisk(journal);
      const mirror = new PgMirror({
        url,
        session: input.session,
        journalPath: journal.path,
        lastSeq: journal.lastSeq,
        durableSeq: disk.seq,
        flush: () => journal.flush(),
        report: (level, text) => this.say(level, text),
      });
      this.mirror = mirror;
      journal.onEntry((e) => {
        disk.saw(e);
        mirror.push(e);
      });
      mirror.start();
    }
    const notify = input.profile.team.notify;
    const webhook = notify ? input.secrets[notify.webhook] : undefined;
    if (notify && webhook) {
      const redactor = new Redactor(Object.values(input.secrets));
      this.notifier = new Notifier({
        url: webhook,
        ...(notify.channel ? {channel: notify.channel} : {}),
        events: notify.events,
        waitingMs: notify.waitingMs,
        timeoutMs: notify.timeoutMs,
        report: (level, text) => this.say(level, text),
        redact: (text) => redactor.text(text),
      });
      this.notifier.prime(input.history ?? []);
      const notifier = this.notifier;
      journal.onEntry((e) => notifier.onEntry(e));
    }
    journal.onEntry((e) => {
      if (e.type === 'step-started') {
        this.running.add(e.step);
        this.stepGate = 'pending';
      } else if (e.type === 'step-finished' || e.type === 'prompt-shown')
        this.running.delete(e.step);
    });
  }

  /**
   * Call right before `session.start()`: journals a take-over (before the resumption it
   * explains), then, once the session has begun, what the driver should know.
   */
  start(): void {
    const takeOver = this.parts.takeOver;
    const without = this.parts.withoutTeam;
    const withoutDecision = (): void => {
      this.journal?.append({
        type: 'decision',
        step: '',
        decision: 'without-team',
        by: this.parts.input.driver,
        value: without!.db,
        reason: without!.reason,
      });
    };
    // On resume, before the resumption it explains; a new session, right after it opens.
    if (without && this.parts.input.mode === 'resume') withoutDecision();
    if (takeOver && this.journal) {
      this.journal.append({
        type: 'decision',
        step: '',
        decision: 'take-over',
        by: this.parts.input.driver,
        value: takeOver.from,
        reason: takeOver.reason,
      });
    }
    queueMicrotask(() => {
      if (without && this.parts.input.mode === 'new') withoutDecision();
      this.started = true;
      for (const w of this.warnings) this.say('warn', w);
      for (const {level, text} of this.queued.splice(0)) this.say(level, text);
    });
  }

  /**
   * The driver hands the session over (from the console): journaled, then the session is
   * left so the next driver can resume it. Refused while a step that must not run twice
   * is running.
   */
  async handOver(
    request: {to?: string; note?: string} = {},
  ): Promise<{ok: boolean; message: string}> {
    const {journal, session, plan} = this;
    if (!journal || !session || !plan || !this.open)
      return {ok: false, message: 'there is no session to hand over'};
    const busy = [...this.running].filter((key) => {
      const step = plan.byKey.get(key)?.step;
      const repeatable =
        step?.repeatable ??
        (step?.kind !== 'command' && !(step?.kind === 'notify' && step.webhook));
      return !repeatable;
    });
    if (busy.length) {
      const title = plan.byKey.get(busy[0]!)?.step.title ?? busy[0];
      return {
        ok: false,
        message: `"${title}" is running: hand over when it has finished, or at a prompt`,
      };
    }
    journal.append({
      type: 'decision',
      step: session.currentStep() ?? '',
      decision: 'hand-over',
      by: this.parts.input.driver,
      ...(request.to ? {value: request.to} : {}),
      ...(request.note ? {reason: request.note} : {}),
    });
    this.handedOver = request.to ? {to: request.to} : {};
    await session.detach({
      reason: 'handed-over',
      text: `handed over${request.to ? ` to ${request.to}` : ''}`,
    });
    return {ok: true, message: this.nextDriverCommand()};
  }

  private nextDriverCommand(): string {
    const {input, url} = this.parts;
    return `the next driver resumes with: crewchief resume ${input.session}${url ? ` --journal-db ${describeDb(url)}` : ''}`;
  }

  /** Call before the journal closes: lets notification posts finish and journal their outcome. */
  async settle(): Promise<void> {
    await this.notifier?.settle();
  }

  /**
   * Call after the journal has closed: sends the mirror what it lacks (bounded wait),
   * then gives the locks back. Resolves with what the driver must be told.
   */
  close(): Promise<string[]> {
    this.closing ??= (async () => {
      this.open = false;
      this.closed.abort();
      await this.notifier?.settle();
      const status = await this.mirror?.close(this.parts.input.options.mirrorCloseMs ?? 15_000);
      await this.parts.pgLock?.release();
      this.parts.fileLock.release();
      const {input, url} = this.parts;
      const notes: string[] = [];
      if (status && status.mirrored < status.journaled) {
        notes.push(
          `the journal mirror is behind: PostgreSQL has ${status.mirrored} of ${status.journaled} events${status.error ? ` (${status.error})` : ''}; every event is in ${this.journal?.path ?? 'the journal file'}. Send the rest when PostgreSQL is back:\n  crewchief mirror ${input.session}${url ? ` --journal-db ${describeDb(url)}` : ''}`,
        );
      }
      if (this.handedOver) {
        notes.push(
          `handed over${this.handedOver.to ? ` to ${this.handedOver.to}` : ''}; ${this.nextDriverCommand()}`,
        );
      }
      if (this.stopReason) {
        notes.push(
          `stopped: ${this.stopReason}; nothing more ran. When the lock is free: crewchief resume ${input.session}`,
        );
      }
      return notes;
    })();
    return this.closing;
  }

  /** The mirror's state (for the console and measurements). */
  mirrorStatus() {
    return this.mirror?.status();
  }

  private lockChanged(state: string, reason: string): void {
    if (!this.open) return;
    if (state === 'regaining') {
      this.say(
        'warn',
        `driver lock: ${reason}; taking it again — no step starts without it (a step waits up to ${Math.round(this.parts.input.profile.team.lockGraceMs / 1000)}s)`,
      );
    } else if (state === 'held') {
      this.say(
        'info',
        reason === 'regained'
          ? 'driver lock held again in PostgreSQL; the session goes on'
          : 'driver lock now held in PostgreSQL too',
      );
    } else if (state === 'taken') {
      this.say(
        'error',
        `driver lock taken by someone else: ${reason.split('\n')[0]}; no further step starts here`,
      );
      if (!this.running.size) this.stop('the driver lock was taken by another driver');
    }
  }

  /** Stops the session before its next step (the lock is gone). */
  private stop(reason: string): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.say(
      'error',
      `${reason}: no further step starts; the session stops here and can be resumed`,
    );
    void this.session?.detach({reason: 'lock-lost', text: reason});
  }

  /** Journals a notice (only while the session is open; queued until it has started). */
  private say(level: Level, text: string): void {
    if (!this.open || !this.journal) return;
    if (!this.started) {
      this.queued.push({level, text});
      return;
    }
    try {
      this.journal.append({type: 'notice', level, text});
    } catch {
      // The journal closed meanwhile: the session is over.
    }
  }
}
