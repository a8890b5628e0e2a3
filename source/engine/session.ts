/**
 * A session: one run of a site's runbook on a profile. Wires the machine to the journal
 * and the transports; driver decisions come in through `decide`, are journaled (fsynced)
 * and only then reach the machine.
 */
import {createActor, type Actor as XActor} from 'xstate';
import {
  syncEvents,
  type AnsweredVia,
  type DecisionKind,
  type JournalEntry,
  type JournalEvent,
  type LeftReason,
} from '../journal/events.js';
import type {JournalWriteError, JournalWriter} from '../journal/file.js';
import type {Redactor} from '../journal/redact.js';
import type {Transport} from '../transport/types.js';
import {compileMachine, type DriverEvent, type EngineMachine, type StartAt} from './machine.js';
import {builtInVariables, type ResolvedPlan} from './plan.js';
import {rollbackProgress} from './resume.js';
import {describePrompts} from './prompt-facts.js';
import {localShell, SHELL_RULE} from '../transport/shell.js';
import {stepActors, type Background, type StepServices} from './steps.js';

export interface SessionOptions {
  id: string;
  plan: ResolvedPlan;
  siteFile: string;
  journal: JournalWriter;
  transport: Transport;
  local: Transport;
  redactor: Redactor;
  secrets: Readonly<Record<string, string>>;
  /** user@host of whoever drives. */
  driver: string;
  version: string;
  dryRun?: boolean;
  /** Going on from a journal: where, with which variables. */
  resume?: {
    startAt?: StartAt;
    vars: Record<string, string>;
    from: number;
    restarted?: string;
    /** The journal so far: hosts where a step succeeded are not run again. */
    history?: readonly JournalEntry[];
  };
  /** Test seams. */
  services?: Partial<Pick<StepServices, 'sleep' | 'fetch'>>;
}

/**
 * How a session ended here: `detached` means it can be resumed; `journal-error` that the
 * journal could not be written, so it stopped before any further effect (resume later).
 */
export type SessionEnd = 'finished' | 'aborted' | 'rolled-back' | 'detached' | 'journal-error';

/** Why a session is left open, journaled as a `session-left` event. */
export interface Leaving {
  reason: LeftReason;
  /** The signal, when `reason` is `signal`. */
  signal?: string;
  /** Said plainly, for the screen. */
  text: string;
}

const decisionOf: Record<DriverEvent['type'], DecisionKind> = {
  GO: 'go',
  CONFIRM: 'confirm',
  TICK: 'tick',
  SKIP: 'skip',
  RETRY: 'retry',
  EXCLUDE: 'exclude',
  MARK_DONE: 'mark-done',
  ABORT: 'abort',
  ROLLBACK: 'rollback',
  CHOOSE: 'choose',
  KEEP_WAITING: 'keep-waiting',
  INVESTIGATE: 'investigate',
  CANCEL: 'abort',
};

export class Session {
  readonly done: Promise<SessionEnd>;
  private actor: XActor<EngineMachine> | undefined;
  private resolveDone!: (end: SessionEnd) => void;
  private readonly backgrounds = new Map<string, Background>();
  /** Hosts the driver left out of a fan-out step, by step key (from the journal too). */
  private readonly excluded = new Map<string, Set<string>>();
  private closed = false;
  /** The last count each watch sampled (a timeout prompt shows it). */
  private readonly lastCounts = new Map<string, {value: number | null; target: string}>();
  private unsubscribeLinks: (() => void) | undefined;
  /** The journal could not be written: nothing more happens. */
  private journalFault: JournalWriteError | undefined;

  constructor(private readonly options: SessionOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    options.journal.onFault((error) => this.stopOnJournalFault(error));
  }

  /** Why the journal could not be written, when the session ended with `journal-error`. */
  get journalError(): JournalWriteError | undefined {
    return this.journalFault;
  }

  /** Journals the opening (or the resumption) and starts the machine. */
  start(): void {
    try {
      this.open();
    } catch (error) {
      if (this.journalFault) return; // stopped: `done` says journal-error
      throw error;
    }
  }

  private open(): void {
    const {plan, redactor} = this.options;
    if (this.options.resume) {
      this.append({
        type: 'session-resumed',
        driver: this.options.driver,
        version: this.options.version,
        from: this.options.resume.from,
      });
      const restarted = this.options.resume.restarted;
      if (restarted) {
        this.append({
          type: 'notice',
          step: restarted,
          level: 'info',
          text: 'was running when the last session stopped; safe to repeat, so it starts again',
        });
      }
    } else {
      const variables = Object.fromEntries(
        Object.entries(builtInVariables(plan.profile)).map(([k, v]) => [k, redactor.text(v)]),
      );
      this.append({
        type: 'session-opened',
        session: this.options.id,
        site: plan.site.id,
        siteTitle: plan.site.title,
        siteFile: this.options.siteFile,
        profile: plan.profile.name,
        profileFile: plan.profile.file,
        ...(plan.profile.release ? {release: plan.profile.release} : {}),
        runbookHash: plan.hash,
        driver: this.options.driver,
        version: this.options.version,
        transport: this.options.dryRun ? 'dry-run' : this.options.transport.kind,
        // The one shell commands run under (../transport/shell.ts), and what it is here.
        shell: `${SHELL_RULE} (here: ${localShell()})`,
        dryRun: !!this.options.dryRun,
        plan: plan.outline,
        variables,
        ...(plan.profile.runTime
          ? {
              runTimeVariables: Object.fromEntries(
                Object.keys(plan.profile.runTime).map((k) => [k, variables[k] ?? '']),
              ),
            }
          : {}),
      });
    }
    for (const e of this.options.resume?.history ?? []) {
      if (e.type === 'decision' && e.decision === 'exclude' && e.value)
        excludeHost(this.excluded, e.step, e.value);
    }
    const services: StepServices = {
      plan,
      transport: this.options.transport,
      local: this.options.local,
      redactor,
      secrets: this.options.secrets,
      append: (event) => this.append(event),
      dryRun: !!this.options.dryRun,
      backgrounds: this.backgrounds,
      succeededHosts: succeededHosts(this.options.resume?.history ?? []),
      succeededAt: succeededTimes(this.options.resume?.history ?? []),
      excludedHosts: this.excluded,
      ...this.options.services,
    };
    for (const e of this.options.resume?.history ?? [])
      if (e.type === 'count-sampled')
        this.lastCounts.set(e.step, {value: e.value, target: e.target});
    const describe = describePrompts(plan, {
      secrets: this.options.secrets,
      redactor,
      lastCount: (step) => this.lastCounts.get(step),
      skipHosts: (step) =>
        new Set([...(services.succeededHosts.get(step) ?? []), ...(this.excluded.get(step) ?? [])]),
    });
    const machine = compileMachine(plan, this.options.resume?.startAt, describe).provide({
      actors: stepActors(services),
    });
    // Every change of a link is a fact in the journal (the header reads it from there).
    this.unsubscribeLinks = this.options.transport.onLink?.((change) =>
      this.append({
        type: 'link',
        host: change.host,
        state: change.state,
        ...(change.error ? {error: redactor.text(change.error)} : {}),
        ...(change.attempt !== undefined ? {attempt: change.attempt} : {}),
      }),
    );
    const vars = this.options.resume?.vars ?? builtInVariables(plan.profile);
    const progress = rollbackProgress(plan, this.options.resume?.history ?? []);
    const actor = createActor(machine, {input: {vars, progress}});
    this.actor = actor;
    actor.on('*', (event) => {
      try {
        this.append(event as JournalEvent);
      } catch (error) {
        // A journal fault stopped the machine: nothing after this happens.
        if (!this.journalFault) throw error;
      }
    });
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status === 'done')
          this.finish(
            snapshot.value === 'aborted'
              ? 'aborted'
              : snapshot.value === 'rolled-back'
                ? 'rolled-back'
                : 'finished',
          );
      },
      error: (error) => {
        this.append({
          type: 'notice',
          level: 'error',
          text: `engine error: ${(error as Error).message}`,
        });
        this.finish('aborted', (error as Error).message);
      },
    });
    if (this.options.resume && !this.options.resume.startAt) {
      // Nothing left to run: a rollback that ran to its end closes as rolled back.
      this.finish(progress.rollingBack.length || progress.rollback ? 'rolled-back' : 'finished');
      return;
    }
    actor.start();
    actor.send({type: 'BEGIN'});
  }

  /**
   * Appends to the journal; a closed session drops stragglers (late output after the end).
   * After a journal fault an effect-bearing event throws, so its effect never happens.
   */
  private append(event: JournalEvent): void {
    if (this.journalFault) {
      if (syncEvents.has(event.type)) throw this.journalFault;
      return;
    }
    if (this.closed) return;
    if (event.type === 'count-sampled')
      this.lastCounts.set(event.step, {value: event.value, target: event.target});
    this.options.journal.append(event);
  }

  /** The journal cannot be written: stop everything now, as a detach would, and say so. */
  private stopOnJournalFault(error: JournalWriteError): void {
    if (this.journalFault) return;
    this.journalFault = error;
    const wasClosed = this.closed;
    this.closed = true;
    this.unsubscribeLinks?.();
    for (const background of this.backgrounds.values()) background.stop?.();
    try {
      this.actor?.stop();
    } catch {
      // Stopping from inside the actor's own step: it is stopped all the same.
    }
    if (!wasClosed) void this.closeTransports().then(() => this.resolveDone('journal-error'));
  }

  /**
   * A driver decision: journaled (fsynced) first, then handed to the machine. Returns
   * false, journaling nothing, when the machine would not take it now (a wrong word,
   * a key typed where no prompt is). `via` says how the answer came: typed at a prompt,
   * given by a command-line flag, or by autopilot.
   */
  decide(event: DriverEvent, by = this.options.driver, via?: AnsweredVia): boolean {
    const actor = this.actor;
    if (!actor || this.closed) return false;
    const snapshot = actor.getSnapshot();
    if (!snapshot.can(event)) return false;
    const step = this.currentStep() ?? '';
    if (event.type === 'EXCLUDE') {
      const hosts = this.options.plan.byKey.get(step)?.hosts;
      if (hosts === 'local' || !hosts?.some((h) => h.name === event.host) || !event.reason)
        return false;
    }
    const value =
      event.type === 'GO' || event.type === 'CONFIRM'
        ? event.value
        : event.type === 'CHOOSE'
          ? event.option
          : event.type === 'EXCLUDE'
            ? event.host
            : undefined;
    const reason =
      event.type === 'SKIP'
        ? event.reason
        : event.type === 'MARK_DONE' ||
            event.type === 'ABORT' ||
            event.type === 'EXCLUDE' ||
            event.type === 'ROLLBACK'
          ? event.reason
          : event.type === 'TICK'
            ? event.note
            : event.type === 'CANCEL'
              ? 'canceled the running command'
              : undefined;
    try {
      this.append({
        type: 'decision',
        step,
        decision: decisionOf[event.type],
        by,
        ...(value !== undefined ? {value: this.options.redactor.text(value)} : {}),
        ...(reason ? {reason: this.options.redactor.text(reason)} : {}),
        ...(event.type === 'CHOOSE' ? {option: event.option} : {}),
        ...(via ? {via} : {}),
      });
    } catch (error) {
      if (this.journalFault) return false; // not journaled, so not done
      throw error;
    }
    if (event.type === 'EXCLUDE') excludeHost(this.excluded, step, event.host);
    actor.send(event);
    return true;
  }

  /** Whether the machine takes this event now. */
  can(event: DriverEvent): boolean {
    return !!this.actor && !this.closed && this.actor.getSnapshot().can(event);
  }

  /** The step the machine is in (at the rollback offer: the step aborted at). */
  currentStep(): string | undefined {
    const snapshot = this.actor?.getSnapshot();
    if (snapshot?.value === 'offer-rollback') return snapshot.context.abortedAt;
    const value = snapshot?.value;
    const name = typeof value === 'string' ? value : value ? Object.keys(value)[0] : undefined;
    const index = name?.startsWith('step-') ? Number(name.slice(5)) : -1;
    return this.options.plan.steps[index]?.key;
  }

  /**
   * Leaves the session without closing it (the driver quit, a signal): running commands
   * are stopped, and `resume` will put any step that was running to the driver. The
   * reason is journaled as a `session-left` event (a bare string counts as `other`).
   */
  async detach(leaving: Leaving | string): Promise<void> {
    if (this.closed) return;
    const left: Leaving = typeof leaving === 'string' ? {reason: 'other', text: leaving} : leaving;
    const text = this.options.redactor.text(left.text);
    try {
      this.append({type: 'notice', level: 'warn', text: `session left: ${text}`});
      this.append({
        type: 'session-left',
        reason: left.reason,
        ...(left.signal ? {signal: left.signal} : {}),
        text,
      });
    } catch (error) {
      if (this.journalFault) return; // stopped: `done` says journal-error
      throw error;
    }
    this.closed = true;
    this.unsubscribeLinks?.();
    for (const background of this.backgrounds.values()) background.stop?.();
    this.actor?.stop();
    this.options.journal.flush();
    await this.closeTransports();
    this.resolveDone('detached');
  }

  private finish(end: 'finished' | 'aborted' | 'rolled-back', reason?: string): void {
    if (this.closed) return;
    for (const background of this.backgrounds.values()) background.stop?.();
    try {
      this.append({
        type: 'session-closed',
        outcome: end,
        ...(reason ? {reason} : {}),
      });
    } catch (error) {
      if (this.journalFault) return; // stopped: `done` says journal-error
      throw error;
    }
    this.closed = true;
    this.unsubscribeLinks?.();
    this.actor?.stop();
    this.options.journal.flush();
    // Pooled connections would keep the process alive: close them, then say it is over.
    void this.closeTransports().then(() => this.resolveDone(end));
  }

  /** Closes every connection; gives up waiting after a few seconds (a dead link). */
  private async closeTransports(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)));
    await Promise.race([
      Promise.all([this.options.transport.close(), this.options.local.close()]).catch(() => {}),
      limit,
    ]);
    clearTimeout(timer);
  }
}

function excludeHost(excluded: Map<string, Set<string>>, step: string, host: string): void {
  let hosts = excluded.get(step);
  if (!hosts) excluded.set(step, (hosts = new Set()));
  hosts.add(host);
}

/** Hosts where each step succeeded, from journal history. */
function succeededHosts(history: readonly JournalEntry[]): Map<string, Set<string>> {
  const done = new Map<string, Set<string>>();
  for (const e of history) {
    if (e.type === 'host-finished' && e.outcome === 'ok') {
      let hosts = done.get(e.step);
      if (!hosts) done.set(e.step, (hosts = new Set()));
      hosts.add(e.host);
    }
  }
  return done;
}

/** When a host last succeeded in each step, from journal history (a resumed rolling update pauses from there). */
function succeededTimes(history: readonly JournalEntry[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const e of history)
    if (e.type === 'host-finished' && e.outcome === 'ok') times.set(e.step, Date.parse(e.time));
  return times;
}
