/**
 * What a post-deploy report says, built from the journal: the final state comes from the
 * same fold the screen uses (store/fold.ts); the history the screen does not keep
 * (every decision, every count sample, every hand-over) is read from the same entries.
 * Pure: no I/O, so Markdown, HTML and JSON say the same thing.
 */
import type {
  AnsweredVia,
  JournalEntry,
  JournalHeader,
  Outcome,
  PromptKind,
} from '../journal/events.js';
import {foldAll, type StepStatus} from '../store/fold.js';

/** How a session ended, in the reviewer's words. */
export type ReportOutcome = 'finished' | 'aborted' | 'failed' | 'rolled-back' | 'left open';

export interface DriverSpan {
  driver: string;
  /** When this driver started driving. */
  from: string;
  how: 'opened' | 'resumed' | 'hand-over' | 'take-over';
  reason?: string;
}

export interface Interruption {
  /** When the previous process stopped writing (its last event). */
  at: string;
  /** When the session went on. */
  resumed: string;
  resumedBy: string;
  /** Why it stopped: the `session-left` text, or a crash when there was none. */
  cause: string;
  crashed: boolean;
}

export interface StepRow {
  key: string;
  title: string;
  kind: string;
  phase: string;
  status: StepStatus;
  /** When the last attempt started (or the prompt was first shown). */
  start?: string;
  end?: string;
  durationMs?: number;
  attempts: number;
  /** Every outcome the journal gave it, in order (a failure, then the skip after it). */
  outcomes: readonly Outcome[];
  exitCode?: number | null;
  reason?: string;
  option?: string;
  runs: readonly {host: string; command: string}[];
  hosts: readonly {host: string; outcome: Outcome; exitCode: number | null; error?: string}[];
  branch?: {choice: string; option: string};
}

export interface PhaseRow {
  id: string;
  title: string;
  applies: boolean;
  reason?: string;
  start?: string;
  end?: string;
  durationMs?: number;
  steps: readonly StepRow[];
}

export interface DecisionRow {
  seq: number;
  time: string;
  step: string;
  stepTitle: string;
  decision: string;
  by: string;
  /** typed, flag or autopilot; undefined when the journal did not record it (version 1). */
  via?: AnsweredVia;
  /** The prompt it answered. */
  prompt?: PromptKind;
  value?: string;
  reason?: string;
}

export interface UnknownRow {
  step: string;
  stepTitle: string;
  time: string;
  /** The decision that resolved it, or none yet. */
  resolution?: {decision: string; by: string; time: string; via?: AnsweredVia; reason?: string};
  /** What the step did after the decision. */
  finally: StepStatus;
}

export interface WatchChart {
  step: string;
  title: string;
  target: string;
  /** The band the count had to reach, parsed from the target (none for unparsed targets). */
  band?: {low: number; high: number};
  samples: readonly {time: string; value: number | null}[];
  stalls: readonly {time: string; value: number | null; sinceMs: number}[];
  status: StepStatus;
}

export interface OutputExcerpt {
  step: string;
  stepTitle: string;
  host: string;
  /** The last lines, as the journal kept them (redacted before they were written). */
  text: string;
  lines: number;
  shownLines: number;
  bytes: number;
  omittedBytes: number;
}

export interface Report {
  session: string;
  site: string;
  siteTitle: string;
  profile: string;
  release?: string;
  version: string;
  transport: string;
  dryRun: boolean;
  drivers: readonly DriverSpan[];
  start: string;
  end: string;
  durationMs: number;
  outcome: ReportOutcome;
  outcomeText: string;
  integrity: {closed: boolean; sealed?: boolean; text: string; damage: readonly string[]};
  journalVersion: number;
  events: number;
  interruptions: readonly Interruption[];
  phases: readonly PhaseRow[];
  steps: readonly StepRow[];
  decisions: readonly DecisionRow[];
  skips: readonly {step: string; title: string; reason: string}[];
  notApplicable: readonly {step: string; title: string; reason: string}[];
  unknowns: readonly UnknownRow[];
  fanOuts: readonly StepRow[];
  watches: readonly WatchChart[];
  excerpts: readonly OutputExcerpt[];
  notices: readonly {time: string; step?: string; level: string; text: string}[];
  links: readonly {time: string; host: string; state: string; error?: string}[];
  variables: Readonly<Record<string, string>>;
}

export interface ReportInput {
  header: JournalHeader;
  entries: readonly JournalEntry[];
  /** Damage the reader found (the entries stop before it). */
  damage?: readonly string[];
  /** The journal's own verdict on its seal, when this build can check it. */
  verify?: {sealed: boolean; text: string};
  /** Lines of output kept per step and host (default 15). */
  excerptLines?: number;
}

/** Parses a watch target as the engine writes it: `= 0`, `≤ 3`, `≥ 5`, `≈ 18 ± 2` or `± 5%`. */
export function targetBand(target: string): {low: number; high: number} | undefined {
  const m = /^\s*(=|≤|≥|≈)\s*(-?\d+(?:\.\d+)?)(?:\s*±\s*(\d+(?:\.\d+)?)(%)?)?\s*$/.exec(target);
  if (!m) return undefined;
  const n = Number(m[2]);
  if (m[1] === '=') return {low: n, high: n};
  if (m[1] === '≤') return {low: Number.NEGATIVE_INFINITY, high: n};
  if (m[1] === '≥') return {low: n, high: Number.POSITIVE_INFINITY};
  const tolerance = m[3] ? Number(m[3]) : 0;
  const spread = m[4] ? (Math.abs(n) * tolerance) / 100 : tolerance;
  return {low: n - spread, high: n + spread};
}

const ms = (a: string, b: string): number => Math.max(0, Date.parse(b) - Date.parse(a));

/** Builds the report. The entries must be whole (read up to the first damage). */
export function buildReport(input: ReportInput): Report {
  const {entries} = input;
  const state = foldAll(entries);
  const opened = entries.find((e) => e.type === 'session-opened');
  if (!opened || opened.type !== 'session-opened' || !state.session)
    throw new Error('the journal has no session-opened event: nothing to report');
  const titleOf = new Map(state.steps.map((s) => [s.key, s.title]));
  const title = (key: string): string => titleOf.get(key) ?? key;

  // Drivers, hand-overs and interruptions, in order.
  const drivers: DriverSpan[] = [{driver: opened.driver, from: opened.time, how: 'opened'}];
  const interruptions: Interruption[] = [];
  const decisions: DecisionRow[] = [];
  const prompts = new Map<string, PromptKind>();
  const unknowns: UnknownRow[] = [];
  const samples = new Map<string, {time: string; value: number | null}[]>();
  const stalls = new Map<string, {time: string; value: number | null; sinceMs: number}[]>();
  const targets = new Map<string, string>();
  const firstShown = new Map<string, string>();
  const finishedOption = new Map<string, string>();
  const attempts = new Map<string, number>();
  const outcomes = new Map<string, Outcome[]>();
  const notices: Report['notices'][number][] = [];
  const links: Report['links'][number][] = [];
  let previous: JournalEntry | undefined;
  let left: {text: string} | undefined;
  for (const e of entries) {
    switch (e.type) {
      case 'session-resumed': {
        const crashed = !left && previous?.type !== 'session-closed';
        interruptions.push({
          at: previous?.time ?? e.time,
          resumed: e.time,
          resumedBy: e.driver,
          cause: left
            ? left.text
            : 'the process stopped without journaling why (killed, crashed, the machine went down, or a crewchief that did not record session-left)',
          crashed,
        });
        if (drivers.at(-1)?.driver !== e.driver)
          drivers.push({driver: e.driver, from: e.time, how: 'resumed'});
        left = undefined;
        break;
      }
      case 'session-left':
        left = {text: e.text};
        break;
      case 'prompt-shown':
        prompts.set(e.step, e.prompt);
        if (!firstShown.has(e.step)) firstShown.set(e.step, e.time);
        if (e.prompt === 'unknown')
          unknowns.push({step: e.step, stepTitle: title(e.step), time: e.time, finally: 'unknown'});
        break;
      case 'decision': {
        const via = e.via;
        decisions.push({
          seq: e.seq,
          time: e.time,
          step: e.step,
          stepTitle: title(e.step),
          decision: e.decision,
          by: e.by,
          ...(via ? {via} : {}),
          ...(prompts.has(e.step) ? {prompt: prompts.get(e.step)!} : {}),
          ...((e.option ?? e.value) ? {value: (e.option ?? e.value)!} : {}),
          ...(e.reason ? {reason: e.reason} : {}),
        });
        const open = unknowns.find((u) => u.step === e.step && !u.resolution);
        if (open && prompts.get(e.step) === 'unknown')
          open.resolution = {
            decision: e.decision,
            by: e.by,
            time: e.time,
            ...(via ? {via} : {}),
            ...(e.reason ? {reason: e.reason} : {}),
          };
        if (e.decision === 'hand-over' || e.decision === 'take-over') {
          const to = e.value ?? e.by;
          drivers.push({
            driver: to,
            from: e.time,
            how: e.decision,
            ...(e.reason ? {reason: e.reason} : {}),
          });
        }
        prompts.delete(e.step);
        break;
      }
      case 'step-started':
        attempts.set(e.step, Math.max(attempts.get(e.step) ?? 0, e.attempt));
        break;
      case 'step-finished':
        outcomes.set(e.step, [...(outcomes.get(e.step) ?? []), e.outcome]);
        if (e.option) finishedOption.set(e.step, e.option);
        if (e.attempts) attempts.set(e.step, Math.max(attempts.get(e.step) ?? 0, e.attempts));
        break;
      case 'count-sampled':
        targets.set(e.step, e.target);
        samples.set(e.step, [...(samples.get(e.step) ?? []), {time: e.time, value: e.value}]);
        break;
      case 'count-stalled':
        stalls.set(e.step, [
          ...(stalls.get(e.step) ?? []),
          {time: e.time, value: e.value, sinceMs: e.sinceMs},
        ]);
        break;
      case 'notice':
        if (e.level !== 'info' || !e.step)
          notices.push({
            time: e.time,
            ...(e.step ? {step: e.step} : {}),
            level: e.level,
            text: e.text,
          });
        break;
      case 'link':
        links.push({
          time: e.time,
          host: e.host,
          state: e.state,
          ...(e.error ? {error: e.error} : {}),
        });
        break;
      default:
        break;
    }
    previous = e;
  }

  const start = opened.time;
  const end = entries.at(-1)?.time ?? start;
  const steps: StepRow[] = state.steps.map((s) => {
    const finishedStart =
      s.finishedAt && s.durationMs !== undefined
        ? new Date(Date.parse(s.finishedAt) - s.durationMs).toISOString()
        : undefined;
    const stepStart = s.startedAt ?? finishedStart ?? firstShown.get(s.key);
    const open =
      !s.finishedAt &&
      stepStart &&
      ['running', 'waiting', 'unknown', 'failed', 'timed-out'].includes(s.status);
    const stepEnd = s.finishedAt ?? (open ? end : undefined);
    const chosen = finishedOption.get(s.key) ?? /^chose (.+)$/.exec(s.reason ?? '')?.[1];
    return {
      key: s.key,
      title: s.title,
      kind: s.kind,
      phase: s.phase,
      status: s.status,
      ...(stepStart ? {start: stepStart} : {}),
      ...(stepEnd ? {end: stepEnd} : {}),
      ...(s.durationMs !== undefined
        ? {durationMs: s.durationMs}
        : stepStart && stepEnd
          ? {durationMs: ms(stepStart, stepEnd)}
          : {}),
      attempts: attempts.get(s.key) ?? s.attempt,
      outcomes: outcomes.get(s.key) ?? [],
      ...(s.exitCode !== undefined ? {exitCode: s.exitCode} : {}),
      ...(s.reason ? {reason: s.reason} : {}),
      ...(chosen ? {option: chosen} : {}),
      runs: s.runs ?? [],
      hosts: Object.entries(s.hostResults ?? {}).map(([host, r]) => ({host, ...r})),
      ...(s.branch ? {branch: s.branch} : {}),
    };
  });
  for (const u of unknowns) u.finally = steps.find((s) => s.key === u.step)?.status ?? 'unknown';

  const phases: PhaseRow[] = state.phases.map((p) => {
    const own = steps.filter((s) => s.phase === p.id);
    const starts = [p.entered, ...own.map((s) => s.start)].filter((t): t is string => !!t);
    const ends = own.map((s) => s.end).filter((t): t is string => !!t);
    const pStart = starts.sort()[0];
    const pEnd = ends.sort().at(-1);
    return {
      id: p.id,
      title: p.title,
      applies: p.applies,
      ...(p.reason ? {reason: p.reason} : {}),
      ...(pStart ? {start: pStart} : {}),
      ...(pEnd ? {end: pEnd} : {}),
      ...(pStart && pEnd ? {durationMs: ms(pStart, pEnd)} : {}),
      steps: own,
    };
  });

  const closed = state.closed;
  const outcome: ReportOutcome = closed ? (closed.outcome as ReportOutcome) : 'left open';
  // Said as a reader says it: "rolled back", and what began the rollback.
  const rolledBack = state.rollback
    ? ` (${state.rollback.trigger === 'abort' ? 'the driver aborted at' : 'on the failure of'} "${
        state.steps.find((x) => x.key === state.rollback!.step)?.title ?? state.rollback.step
      }"; ${state.rollback.steps.length} rollback steps)`
    : '';
  const outcomeText = closed
    ? closed.outcome === 'rolled-back'
      ? `rolled back${rolledBack}${closed.reason ? `: ${closed.reason}` : ''}`
      : `${closed.outcome}${closed.reason ? `: ${closed.reason}` : ''}`
    : `left open${state.left ? `: ${state.left.text}` : ' (no close in the journal)'}; crewchief resume ${state.session.id} goes on`;
  const closeEntry = entries.find((e) => e.type === 'session-closed');
  const damage = input.damage ?? [];
  const integrity = input.verify
    ? {closed: !!closed, sealed: input.verify.sealed, text: input.verify.text, damage}
    : {
        closed: !!closed,
        text: damage.length
          ? `damaged: ${damage.length} bad line(s); the report stops before the first`
          : closeEntry
            ? 'closed'
            : 'ended without a close',
        damage,
      };

  const excerptLines = input.excerptLines ?? 15;
  const excerpts: OutputExcerpt[] = [];
  for (const s of state.steps) {
    for (const [host, out] of Object.entries(state.output[s.key] ?? {})) {
      const lines = plainText(out.text).replace(/\n$/, '').split('\n');
      const shown = lines.slice(-excerptLines);
      excerpts.push({
        step: s.key,
        stepTitle: s.title,
        host,
        text: shown.join('\n'),
        lines: lines.length,
        shownLines: shown.length,
        bytes: out.bytes,
        omittedBytes: out.omitted,
      });
    }
  }

  const watches: WatchChart[] = [...samples.entries()].map(([step, list]) => {
    const target = targets.get(step) ?? '';
    const band = targetBand(target);
    return {
      step,
      title: title(step),
      target,
      ...(band ? {band} : {}),
      samples: list,
      stalls: stalls.get(step) ?? [],
      status: state.steps.find((s) => s.key === step)?.status ?? 'pending',
    };
  });

  return {
    session: state.session.id,
    site: state.session.site,
    siteTitle: state.session.siteTitle,
    profile: state.session.profile,
    ...(state.session.release ? {release: state.session.release} : {}),
    version: state.session.version,
    transport: state.session.transport,
    dryRun: state.session.dryRun,
    drivers,
    start,
    end,
    durationMs: ms(start, end),
    outcome,
    outcomeText,
    integrity,
    journalVersion: input.header.version,
    events: entries.length,
    interruptions,
    phases,
    steps,
    decisions,
    skips: steps
      .filter((s) => s.status === 'skipped')
      .map((s) => ({step: s.key, title: s.title, reason: s.reason ?? '(no reason recorded)'})),
    notApplicable: steps
      .filter((s) => s.status === 'not-applicable')
      .map((s) => ({
        step: s.key,
        title: s.title,
        reason: state.steps.find((x) => x.key === s.key)?.reason ?? 'does not apply',
      })),
    unknowns,
    fanOuts: steps.filter((s) => s.hosts.length > 1 || s.runs.length > 1),
    watches,
    excerpts,
    notices,
    links,
    variables: state.vars,
  };
}

/** Output without terminal escapes or control characters (colours mean nothing on a page). */
export const plainText = (text: string): string =>
  text
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/\r\n/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');

/** `1h 02m`, `3m 05s`, `4.2s`, `12ms`. */
export function formatDuration(msValue: number | undefined): string {
  if (msValue === undefined) return '—';
  if (msValue < 1000) return `${Math.round(msValue)}ms`;
  const s = msValue / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** `2026-12-02 02:13:58Z` */
export const formatTime = (iso: string | undefined): string =>
  iso ? `${iso.slice(0, 19).replace('T', ' ')}Z` : '—';

/** How a decision was given, for people. */
export const describeVia = (via: AnsweredVia | undefined): string =>
  via === 'typed'
    ? 'typed'
    : via === 'flag'
      ? 'by flag'
      : via === 'autopilot'
        ? 'autopilot'
        : 'not recorded';

/** What the timeline says beside a step: earlier outcomes, the option, attempts, exit, why. */
export const stepNotes = (s: StepRow): string =>
  [
    s.outcomes.length > 1 ? s.outcomes.join(' → ') : '',
    s.option ? `chose ${s.option}` : '',
    s.attempts > 1 ? `${s.attempts} attempts` : '',
    s.exitCode !== undefined && s.exitCode !== null && s.exitCode !== 0 ? `exit ${s.exitCode}` : '',
    s.reason && !s.reason.startsWith('chose ') ? s.reason : '',
  ]
    .filter(Boolean)
    .join('; ');
