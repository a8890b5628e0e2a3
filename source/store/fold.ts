/**
 * The session as the screen sees it: a pure fold over journal entries. Live run, resume,
 * watch and replay all feed entries through this, so a replay ends on the same state as
 * the live run did.
 */
import {escapeBytes} from '../journal/bytes.js';
import type {JournalEnd} from '../journal/scan.js';
import {formatDuration} from '../runbook/duration.js';
import type {
  JournalEntry,
  LeftReason,
  LinkState,
  Outcome,
  PlanPhase,
  PlanStep,
  PromptKind,
} from '../journal/events.js';

export type StepStatus =
  | 'pending'
  | 'running'
  | 'waiting'
  | 'not-applicable'
  | 'not-chosen'
  /** Runs only if something goes wrong (an on-failure or rollback step), and has not. */
  | 'standby'
  | Outcome;

export interface StepView extends PlanStep {
  status: StepStatus;
  attempt: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  exitCode?: number | null;
  reason?: string;
  runs?: readonly {host: string; command: string}[];
  hosts?: readonly string[];
  hostResults?: Readonly<
    Record<string, {exitCode: number | null; outcome: Outcome; error?: string}>
  >;
  /** For a choice: the option the driver chose (its id). */
  option?: string;
}

export interface OutputView {
  /** The last lines (bounded), escaped for display where the bytes were not text. */
  text: string;
  bytes: number;
  /** Bytes the journal left out (the command printed more than the cap). */
  omitted: number;
  /** The journaled head, once the output passed the cap (text then adds a live tail). */
  head?: string;
  /** The journaled head's bytes, once progress counts the total instead. */
  headBytes?: number;
}

/** The link to one host, from `link` events. */
export interface LinkView {
  state: LinkState;
  /** When it entered this state. */
  since: string;
  error?: string;
  attempt?: number;
}

export interface CountView {
  step: string;
  value: number | null;
  target: string;
  /** Recent samples, oldest first. */
  samples: readonly (number | null)[];
  lastChange: string;
  lastSample: string;
  stalled: boolean;
  raw?: string;
  /** What is counted (the step's unit). */
  unit?: string;
  /** When the watch gives up (ISO). */
  deadline?: string;
  /** The first readable value of this watch: where it started from. */
  baseline?: number;
  /** A per-host condition (`every`, `any`): each host's count and whether it holds there. */
  per?: 'every' | 'any';
  hosts?: readonly {host: string; value: number | null; holds: boolean}[];
}

export interface PromptView {
  step: string;
  prompt: PromptKind;
  text: string;
  expects?: string;
  options?: readonly string[];
  labels?: readonly string[];
  /** The step's title, filled (v2; absent in version 1 journals). */
  title?: string;
  /** The exact commands the step would run, per host, redacted (v2). */
  runs?: readonly {host: string; command: string}[];
  /** The hosts the step targets (v2). */
  hosts?: readonly string[];
  /** What to check first (v2). */
  checks?: readonly string[];
  /** What skipping the step gives up (v2). */
  guards?: string;
  /** At a watch's timeout: the last value and its target (v2). */
  count?: {value: number | null; target: string; unit?: string};
  /** The rollback offer: the steps it would run, in order (v2). */
  rollback?: readonly string[];
  seq: number;
  time: string;
}

export interface LogLine {
  seq: number;
  time: string;
  step?: string;
  level: 'info' | 'warn' | 'error';
  text: string;
}

export interface CommandLogEntry {
  seq: number;
  time: string;
  step: string;
  host: string;
  command: string;
  exitCode?: number | null;
  outcome?: Outcome;
}

export interface SessionState {
  session?: {
    id: string;
    site: string;
    siteTitle: string;
    profile: string;
    release?: string;
    driver: string;
    version: string;
    transport: string;
    dryRun: boolean;
    started: string;
    runbookHash: string;
    /** Values given at run time (`--var`, or asked), shown in the header. */
    runTimeVariables?: Readonly<Record<string, string>>;
  };
  phases: readonly (PlanPhase & {entered?: string})[];
  steps: readonly StepView[];
  /** Key of the step running or waiting for the driver. */
  current?: string;
  /**
   * The phase the session is in: the one entered last, or that of the step started or
   * asking last (so a replay that lands on a phase's start points at that phase).
   */
  phase?: string;
  prompt?: PromptView;
  /** Output tails by step, then host. */
  output: Readonly<Record<string, Readonly<Record<string, OutputView>>>>;
  counts: Readonly<Record<string, CountView>>;
  vars: Readonly<Record<string, string>>;
  log: readonly LogLine[];
  commands: readonly CommandLogEntry[];
  closed?: {outcome: string; reason?: string; time: string};
  /** Link state per host, from `link` events (absent: no change seen). */
  links: Readonly<Record<string, LinkView>>;
  /** Why the session was last left open. */
  left?: {reason: LeftReason; signal?: string; text: string; time: string};
  /** Where the point of no return was passed: from then on, no rollback is offered. */
  noReturn?: {step: string; time: string};
  /** A rollback under way (or done): why it began and the steps it runs. */
  rollback?: {
    step: string;
    trigger: 'abort' | 'failure';
    name?: string;
    phases?: readonly string[];
    steps: readonly string[];
    time: string;
  };
  lastSeq: number;
  lastTime?: string;
  events: number;
  /** How the journal read ended (replay: sealed, closed, open, damaged), from its reader. */
  journalEnd?: Omit<JournalEnd, 'type'>;
}

/** What the fold takes: journal entries, and the reader's fact about the journal's end. */
export type FoldItem = JournalEntry | JournalEnd;

export const initialState = (): SessionState => ({
  phases: [],
  steps: [],
  output: {},
  counts: {},
  vars: {},
  log: [],
  commands: [],
  links: {},
  lastSeq: 0,
  events: 0,
});

const OUTPUT_TAIL_CHARS = 64 * 1024;
const LOG_LINES = 500;
const COMMAND_LOG = 2000;
const SAMPLES = 60;

const updateStep = (
  state: SessionState,
  key: string,
  change: (step: StepView) => Partial<StepView>,
): readonly StepView[] => state.steps.map((s) => (s.key === key ? {...s, ...change(s)} : s));

/** `{phase}` of a step, to spread into the state (nothing for a step not in the plan). */
const phaseOf = (state: SessionState, key: string): {phase?: string} => {
  const phase = state.steps.find((s) => s.key === key)?.phase;
  return phase ? {phase} : {};
};

/** Applies one journal entry (or the end fact). Never mutates its arguments. */
export function fold(state: SessionState, e: FoldItem): SessionState {
  if (e.type === 'journal-end') {
    const {type: _type, ...end} = e;
    return {...state, journalEnd: end};
  }
  const base = {...state, lastSeq: e.seq, lastTime: e.time, events: state.events + 1};
  switch (e.type) {
    case 'session-opened':
      return {
        ...base,
        session: {
          id: e.session,
          site: e.site,
          siteTitle: e.siteTitle,
          profile: e.profile,
          ...(e.release ? {release: e.release} : {}),
          driver: e.driver,
          version: e.version,
          transport: e.transport,
          dryRun: e.dryRun,
          started: e.time,
          runbookHash: e.runbookHash,
          ...(e.runTimeVariables ? {runTimeVariables: e.runTimeVariables} : {}),
        },
        phases: e.plan.phases,
        steps: e.plan.steps.map((s) => ({
          ...s,
          status: !s.applies ? 'not-applicable' : s.standby ? 'standby' : 'pending',
          attempt: 0,
        })),
        vars: e.variables,
      };
    case 'session-resumed':
      return {
        ...base,
        ...(base.session ? {session: {...base.session, driver: e.driver}} : {}),
        log: appendLog(state.log, e, undefined, 'info', `resumed by ${e.driver}`),
      };
    case 'phase-entered':
      return {
        ...base,
        phase: e.phase,
        phases: state.phases.map((p) => (p.id === e.phase ? {...p, entered: e.time} : p)),
      };
    case 'step-skipped':
      return {
        ...base,
        steps: updateStep(state, e.step, () => ({status: 'skipped', reason: e.reason})),
      };
    case 'step-started': {
      const {prompt: _prompt, ...rest} = base;
      return {
        ...(state.prompt?.step === e.step ? rest : base),
        current: e.step,
        ...phaseOf(state, e.step),
        steps: updateStep(state, e.step, () => ({
          status: 'running',
          attempt: e.attempt,
          startedAt: e.time,
          runs: e.runs,
          hostResults: {},
        })),
        commands: [
          ...state.commands,
          ...e.runs.map((r) => ({
            seq: e.seq,
            time: e.time,
            step: e.step,
            host: r.host,
            command: r.command,
          })),
        ].slice(-COMMAND_LOG),
      };
    }
    case 'output':
      return foldOutputRun(state, [e], 0, 1);
    case 'output-progress': {
      const byHost = state.output[e.step] ?? {};
      const prev = byHost[e.host] ?? {text: '', bytes: 0, omitted: 0};
      const head = prev.head ?? prev.text;
      return {
        ...base,
        output: {
          ...state.output,
          [e.step]: {
            ...byHost,
            [e.host]: {
              ...prev,
              head,
              headBytes: prev.headBytes ?? prev.bytes,
              bytes: e.totalBytes,
              text: `${head}\n… ${e.totalBytes} bytes so far; the journal keeps the head and the tail …\n${e.tail}`,
            },
          },
        },
      };
    }
    case 'output-truncated': {
      const byHost = state.output[e.step] ?? {};
      const prev = byHost[e.host] ?? {text: '', bytes: 0, omitted: 0};
      const {head, headBytes, ...rest} = prev;
      return {
        ...base,
        output: {
          ...state.output,
          [e.step]: {
            ...byHost,
            [e.host]: {
              ...rest,
              // the head and what was left out; the tail's output event adds the rest
              bytes: (headBytes ?? prev.bytes) + e.omittedBytes,
              omitted: e.omittedBytes,
              text: `${head ?? prev.text}\n… ${e.omittedBytes} bytes not kept (of ${e.totalBytes}, sha256 ${e.sha256.slice(0, 12)}) …\n`,
            },
          },
        },
      };
    }
    case 'host-finished':
      return {
        ...base,
        steps: updateStep(state, e.step, (s) => ({
          hostResults: {
            ...s.hostResults,
            [e.host]: {
              exitCode: e.exitCode,
              outcome: e.outcome,
              ...(e.error ? {error: e.error} : {}),
            },
          },
        })),
        commands: markCommand(state.commands, e.step, e.host, e.exitCode, e.outcome),
      };
    case 'count-sampled': {
      const prev = state.counts[e.step];
      const changed = !prev || prev.value !== e.value;
      return {
        ...base,
        counts: {
          ...state.counts,
          [e.step]: {
            step: e.step,
            value: e.value,
            target: e.target,
            samples: [...(prev?.samples ?? []), e.value].slice(-SAMPLES),
            lastChange: changed ? e.time : prev.lastChange,
            lastSample: e.time,
            stalled: changed ? false : prev.stalled,
            ...(e.raw ? {raw: e.raw} : {}),
            ...(e.unit ? {unit: e.unit} : {}),
            ...(e.deadline ? {deadline: e.deadline} : {}),
            ...(e.per && e.hosts ? {per: e.per, hosts: e.hosts} : {}),
            ...((prev?.baseline ?? e.value) !== null
              ? {baseline: prev?.baseline ?? (e.value as number)}
              : {}),
          },
        },
      };
    }
    case 'count-stalled': {
      const prev = state.counts[e.step];
      return {
        ...base,
        ...(prev ? {counts: {...state.counts, [e.step]: {...prev, stalled: true}}} : {}),
        log: appendLog(
          state.log,
          e,
          e.step,
          'warn',
          `the count has not moved from ${e.value ?? '?'} for ${Math.round(e.sinceMs / 1000)}s`,
        ),
      };
    }
    case 'prompt-shown':
      return {
        ...base,
        current: e.step,
        ...phaseOf(state, e.step),
        prompt: {
          step: e.step,
          prompt: e.prompt,
          text: e.text,
          ...(e.expects ? {expects: e.expects} : {}),
          ...(e.options ? {options: e.options} : {}),
          ...(e.labels ? {labels: e.labels} : {}),
          ...(e.title !== undefined ? {title: e.title} : {}),
          ...(e.runs ? {runs: e.runs} : {}),
          ...(e.hosts ? {hosts: e.hosts} : {}),
          ...(e.checks ? {checks: e.checks} : {}),
          ...(e.guards !== undefined ? {guards: e.guards} : {}),
          ...(e.count ? {count: e.count} : {}),
          ...(e.rollback ? {rollback: e.rollback} : {}),
          seq: e.seq,
          time: e.time,
        },
        // A failed or unknown step keeps saying so while it waits for the driver; the
        // rollback offer belongs to the step aborted at, which keeps its end.
        steps:
          e.prompt === 'rollback'
            ? state.steps
            : updateStep(state, e.step, () => ({
                status:
                  e.prompt === 'unknown'
                    ? 'unknown'
                    : e.prompt === 'watch-timeout'
                      ? 'timed-out'
                      : e.prompt === 'failed'
                        ? 'failed'
                        : 'waiting',
              })),
      };
    case 'decision': {
      const {prompt: _prompt, ...rest} = base;
      // The chosen option is a field: `option` (v2), `value` in version 1 journals.
      const option = e.decision === 'choose' ? (e.option ?? e.value) : undefined;
      return {
        ...(state.prompt?.step === e.step ? rest : base),
        ...(option ? {steps: updateStep(state, e.step, () => ({option}))} : {}),
        log: appendLog(
          state.log,
          e,
          e.step,
          'info',
          `${e.by}: ${e.decision}${e.value ? ` ${e.value}` : ''}${e.reason ? ` (${e.reason})` : ''}`,
        ),
      };
    }
    case 'variable-captured':
      return {...base, vars: {...state.vars, [e.name]: e.value}};
    case 'notice':
      return {...base, log: appendLog(state.log, e, e.step, e.level, e.text)};
    case 'attempt-ended':
      return {
        ...base,
        log: appendLog(state.log, e, e.step, e.ok ? 'info' : 'warn', describeAttempt(e)),
      };
    case 'step-finished': {
      const {prompt: _prompt, ...rest} = base;
      // v2 journals name the option on the step's end; version 1 only in the decision.
      const before = state.steps.find((s) => s.key === e.step);
      const chosen =
        e.option ?? (e.outcome === 'ok' && before?.kind === 'choice' ? before.option : undefined);
      let steps = updateStep(state, e.step, () => ({
        status: e.outcome,
        finishedAt: e.time,
        durationMs: e.durationMs,
        ...(e.exitCode !== undefined ? {exitCode: e.exitCode} : {}),
        ...(e.reason ? {reason: e.reason} : {}),
        ...(chosen ? {option: chosen} : {}),
      }));
      if (chosen) {
        steps = steps.map((s) =>
          s.branch?.choice === e.step && s.branch.option !== chosen && s.status === 'pending'
            ? {...s, status: 'not-chosen'}
            : s,
        );
      }
      // A failed step that says what runs then: its on-failure steps are coming.
      if (e.outcome === 'failed' || e.outcome === 'timed-out') {
        steps = steps.map((s) =>
          s.standby?.when === 'on-failure' && s.standby.of === e.step && s.status === 'standby'
            ? {...s, status: 'pending'}
            : s,
        );
      }
      return {...(state.prompt?.step === e.step ? rest : base), steps};
    }
    case 'link': {
      const before = state.links[e.host];
      const link: LinkView = {
        state: e.state,
        since: before?.state === e.state ? before.since : e.time,
        ...(e.error ? {error: e.error} : {}),
        ...(e.attempt ? {attempt: e.attempt} : {}),
      };
      return {...base, links: {...state.links, [e.host]: link}};
    }
    case 'no-return-passed':
      return {
        ...base,
        noReturn: {step: e.step, time: e.time},
        log: appendLog(
          state.log,
          e,
          e.step,
          'warn',
          'point of no return passed: rolling back is no longer offered',
        ),
      };
    case 'rollback-started': {
      const running = new Set(e.steps);
      return {
        ...base,
        rollback: {
          step: e.step,
          trigger: e.trigger,
          ...(e.rollback ? {name: e.rollback} : {}),
          ...(e.phases ? {phases: e.phases} : {}),
          steps: e.steps,
          time: e.time,
        },
        steps: state.steps.map((s) =>
          running.has(s.key) && s.status === 'standby' ? {...s, status: 'pending'} : s,
        ),
        log: appendLog(
          state.log,
          e,
          e.step,
          'warn',
          `rolling back (${e.trigger === 'abort' ? 'the driver aborted' : 'the step failed'}): ${e.steps.length} steps`,
        ),
      };
    }
    case 'session-left':
      return {
        ...base,
        left: {
          reason: e.reason,
          ...(e.signal ? {signal: e.signal} : {}),
          text: e.text,
          time: e.time,
        },
      };
    case 'session-closed': {
      const {prompt: _prompt, current: _current, phase: _phase, ...rest} = base;
      return {
        ...rest,
        closed: {outcome: e.outcome, ...(e.reason ? {reason: e.reason} : {}), time: e.time},
      };
    }
  }
}

/**
 * One attempt of a retried command or check, said plainly: `command on db1: attempt 1 of
 * 3 failed (exit 2): … ; next in 5s`.
 */
export function describeAttempt(e: Extract<JournalEntry, {type: 'attempt-ended'}>): string {
  const what = `${e.what}${e.host ? ` on ${e.host}` : ''}`;
  const exit =
    e.exitCode !== undefined && e.exitCode !== null && !e.ok ? ` (exit ${e.exitCode})` : '';
  const next =
    e.nextInMs !== undefined
      ? `; next in ${formatDuration(e.nextInMs)}`
      : e.ok
        ? ''
        : '; no more attempts';
  // A bare `exit N` says nothing the exit status has not said already.
  const error = e.error && e.error !== `exit ${e.exitCode}` ? `: ${e.error}` : '';
  return `${what}: attempt ${e.attempt} of ${e.of} ${e.ok ? 'passed' : 'failed'}${exit}${error}${next}`;
}

function appendLog(
  log: readonly LogLine[],
  e: JournalEntry,
  step: string | undefined,
  level: LogLine['level'],
  text: string,
): readonly LogLine[] {
  return [...log, {seq: e.seq, time: e.time, ...(step ? {step} : {}), level, text}].slice(
    -LOG_LINES,
  );
}

function markCommand(
  commands: readonly CommandLogEntry[],
  step: string,
  host: string,
  exitCode: number | null,
  outcome: Outcome,
): readonly CommandLogEntry[] {
  for (let i = commands.length - 1; i >= 0; i--) {
    const c = commands[i]!;
    if (c.step === step && c.host === host) {
      const copy = commands.slice();
      copy[i] = {...c, exitCode, outcome};
      return copy;
    }
  }
  return commands;
}

/** Where flattening reads a character to (a side effect the compiler keeps). */
let _flattened = 0;

/** One host's output within a run: its view before, and the pieces added since. */
interface HostRun {
  byHost: Record<string, OutputView>;
  host: string;
  prev: OutputView;
  /** The tail so far without `parts`. */
  text: string;
  parts: string[];
  length: number;
  bytes: number;
}

const cut = (text: string): string =>
  text.length > OUTPUT_TAIL_CHARS ? text.slice(-OUTPUT_TAIL_CHARS) : text;

/**
 * Folds `entries[from..to)`, all `output`, at once: the maps are copied once per run, not
 * once per chunk, each host's pieces are joined and its tail cut once (the same text as
 * chunk by chunk: the tail of a tail and more is the tail of the whole), and a host's view
 * is made once per run.
 */
function foldOutputRun(
  state: SessionState,
  entries: readonly FoldItem[],
  from: number,
  to: number,
): SessionState {
  const output = {...state.output};
  const copied = new Set<string>();
  const runs = new Map<Record<string, OutputView>, Map<string, HostRun>>();
  let last: HostRun | undefined;
  for (let i = from; i < to; i++) {
    const e = entries[i]!;
    if (e.type !== 'output') continue;
    let run = last;
    if (!run || run.host !== e.host || output[e.step] !== run.byHost) {
      let byHost = output[e.step] as Record<string, OutputView> | undefined;
      if (!byHost || !copied.has(e.step)) {
        byHost = {...byHost};
        output[e.step] = byHost;
        copied.add(e.step);
      }
      let hosts = runs.get(byHost);
      if (!hosts) runs.set(byHost, (hosts = new Map()));
      run = hosts.get(e.host);
      if (!run) {
        const prev = byHost[e.host] ?? {text: '', bytes: 0, omitted: 0};
        run = {byHost, host: e.host, prev, text: prev.text, parts: [], length: 0, bytes: 0};
        hosts.set(e.host, run);
      }
      last = run;
    }
    const bytes = e.text === undefined ? Buffer.from(e.b64 ?? '', 'base64') : undefined;
    const piece = e.text ?? escapeBytes(bytes!);
    run.parts.push(piece);
    run.length += piece.length;
    run.bytes += bytes ? bytes.length : Buffer.byteLength(e.text!);
    // A long run (a flood of output) is cut as it goes: never more than twice the tail.
    if (run.length > 2 * OUTPUT_TAIL_CHARS) {
      run.text = cut(run.text + run.parts.join(''));
      run.parts = [];
      run.length = 0;
    }
  }
  for (const hosts of runs.values())
    for (const run of hosts.values()) {
      const text = cut(run.parts.length ? run.text + run.parts.join('') : run.text);
      // One string, not a rope of runs (a node and a header each, over a long replay).
      if (to - from > 1) _flattened ^= text.charCodeAt(0) | 0;
      run.byHost[run.host] = {...run.prev, text, bytes: run.prev.bytes + run.bytes};
    }
  const lastEntry = entries[to - 1] as JournalEntry;
  return {
    ...state,
    lastSeq: lastEntry.seq,
    lastTime: lastEntry.time,
    events: state.events + (to - from),
    output,
  };
}

/** Folds a whole list of entries (runs of output at once: the same state, sooner). */
export function foldAll(entries: readonly FoldItem[], from = initialState()): SessionState {
  let state = from;
  for (let i = 0; i < entries.length;) {
    if (entries[i]!.type !== 'output') {
      state = fold(state, entries[i]!);
      i++;
      continue;
    }
    let end = i + 1;
    while (end < entries.length && entries[end]!.type === 'output') end++;
    state = foldOutputRun(state, entries, i, end);
    i = end;
  }
  return state;
}
