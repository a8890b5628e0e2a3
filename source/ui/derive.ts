/**
 * What the panes show, worked out from the folded session state alone. Pure functions:
 * the same state gives the same screen, live or in replay.
 */
import type {
  CountView,
  OutputView,
  PromptView,
  SessionState,
  StepStatus,
  StepView,
} from '../store/fold.js';
import {textWidth} from './text-width.js';
import {sanitize} from './sanitize.js';

/** Steps that are over, one way or another. */
export const FINISHED: ReadonlySet<StepStatus> = new Set([
  'ok',
  'done',
  'skipped',
  'not-applicable',
  'not-chosen',
  'standby',
  'failed',
  'timed-out',
  'canceled',
]);

// A skipped step is over but not done: the phase says how many were skipped.
const COUNTED_DONE: ReadonlySet<StepStatus> = new Set([
  'ok',
  'done',
  'not-applicable',
  'not-chosen',
]);

/** What every prompt says once the point of no return is passed. */
export const NO_RETURN_LINE =
  '⚑ past the point of no return: rolling back is no longer offered (abort ends the session as it stands)';

/** How a session ended, in the driver's words ("rolled back", not "rolled-back"). */
export const outcomeWords = (outcome: string): string =>
  outcome === 'rolled-back' ? 'rolled back' : outcome;

/**
 * Where the session stands on rollback, for the header: rolling back, rolled back, or
 * past the point of no return (no rollback offered); empty otherwise.
 */
export function rollbackMark(state: SessionState): string {
  if (state.closed?.outcome === 'rolled-back') return 'ROLLED BACK';
  if (state.rollback && !state.closed) return 'ROLLING BACK';
  if (state.noReturn && !state.closed) return 'PAST NO RETURN';
  return '';
}

/** `hh:mm:ss` of an ISO time (UTC, as the journal and the plain view write it). */
export const clock = (iso: string | undefined): string => (iso ? iso.slice(11, 19) : '--:--:--');

/** A span for people, to the second: `42s`, `3m05s`, `1h02m`. */
export function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A span to the minute (the header's elapsed time, which ticks once a minute at rest). */
export function spanMinutes(ms: number): string {
  const m = Math.max(0, Math.floor(ms / 60_000));
  return m < 60 ? `${m}m` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One line of untrusted text, made inert (no colour). */
export const safe = (text: string): string => sanitize(text).replace(/\n/g, ' ');

/**
 * The step the output pane shows: the one picked; else the current one when it runs
 * commands; else the last that ran (at a gate or a choice, what just ran is what the
 * driver judges by).
 */
export function viewedStep(state: SessionState, selected?: string): StepView | undefined {
  const find = (key: string | undefined) =>
    key ? state.steps.find((s) => s.key === key) : undefined;
  if (selected) return find(selected);
  const current = find(state.current);
  if (current && (current.runs || state.output[current.key] || current.hosts?.length))
    return current;
  return find(lastStarted(state)) ?? current;
}

function lastStarted(state: SessionState): string | undefined {
  let best: StepView | undefined;
  for (const s of state.steps) {
    if (s.startedAt && (!best || s.startedAt >= (best.startedAt ?? ''))) best = s;
  }
  return best?.key;
}

export interface HostTab {
  host: string;
  /** Running, or how it ended. */
  state: 'running' | 'ok' | 'failed' | 'unknown' | 'waiting';
  exitCode?: number | null;
  error?: string;
  output?: OutputView;
}

/** One tab per host the step ran (or will run) on, with its exit code when it is over. */
export function hostTabs(state: SessionState, step: StepView | undefined): HostTab[] {
  if (!step) return [];
  const byHost = state.output[step.key] ?? {};
  const names = [
    ...(step.runs ?? []).map((r) => r.host),
    ...Object.keys(byHost),
    ...(step.runs ? [] : (step.hosts ?? [])),
  ];
  const tabs: HostTab[] = [];
  for (const host of [...new Set(names)]) {
    const result = step.hostResults?.[host];
    const output = byHost[host];
    tabs.push({
      host,
      state: result ? tabState(result.outcome) : runState(step),
      ...(result ? {exitCode: result.exitCode} : {}),
      ...(result?.error ? {error: result.error} : {}),
      ...(output ? {output} : {}),
    });
  }
  return tabs;
}

function tabState(outcome: string): HostTab['state'] {
  if (outcome === 'ok') return 'ok';
  return outcome === 'unknown' ? 'unknown' : 'failed';
}

/** A host with no result of its own (not started yet, or a probe) takes the step's state. */
function runState(step: StepView): HostTab['state'] {
  if (!step.runs) return 'waiting';
  if (!FINISHED.has(step.status)) return 'running';
  return COUNTED_DONE.has(step.status) ? 'ok' : 'failed';
}

/** The tab to show first: a failed host if any, else the first. */
export const defaultTab = (tabs: readonly HostTab[]): number =>
  Math.max(
    0,
    tabs.findIndex((t) => t.state === 'failed' || t.state === 'unknown'),
  );

/** Output as display lines: inert escapes, colours kept only when asked. */
export function outputLines(output: OutputView | undefined, keepColour: boolean): string[] {
  if (!output || !output.text) return [];
  const lines = sanitize(output.text, keepColour).replace(/\n$/, '').split('\n');
  // A colour left open on one line must not bleed into the next or into the panes.
  return lines.map((l) => ownCopy(keepColour && l.includes('\u001b[') ? `${l}\u001b[0m` : l));
}

/**
 * The line as a string of its own. A piece cut from the whole output keeps all of it
 * alive, and Ink keeps every drawn text as a key of its measure cache for the life of the
 * process: during a flood each frame's output would stay in memory. Short strings are
 * copied by V8 anyway.
 */
const ownCopy = (line: string): string =>
  line.length < 13 ? line : Buffer.from(line, 'utf8').toString('utf8');

/** Counts still being watched, in runbook order; else the viewed step's last count. */
export function visibleCounts(state: SessionState, viewed?: StepView): CountView[] {
  const live = state.steps
    .filter((s) => state.counts[s.key] && !FINISHED.has(s.status) && s.status !== 'pending')
    .map((s) => state.counts[s.key]!);
  if (live.length) return live;
  const own = viewed ? state.counts[viewed.key] : undefined;
  return own ? [own] : [];
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * The last `width` samples as bars on a fixed floor: 0 is always the lowest bar and the
 * top is the highest of the samples and `top` (the target), so a count of 10 never reads
 * as empty. Gaps for unreadable samples.
 */
export function sparkline(samples: readonly (number | null)[], width: number, top = 0): string {
  const recent = samples.slice(-Math.max(0, width));
  return recent.map((v) => (v === null ? ' ' : bar(v, scaleTop(samples, top)))).join('');
}

/** The top of a sparkline's scale: the highest sample seen or the target, at least 1. */
export const scaleTop = (samples: readonly (number | null)[], top = 0): number =>
  Math.max(1, top, ...samples.filter((v): v is number => v !== null));

/** One bar for `value` on a scale from 0 to `top`. */
export const bar = (value: number, top: number): string =>
  BARS[Math.max(0, Math.min(BARS.length - 1, Math.round((value / top) * (BARS.length - 1))))]!;

/** The number a target names (`= 0` → 0, `≤ 3` → 3), if any. */
export function targetNumber(target: string): number | undefined {
  const m = /-?\d+(?:\.\d+)?/.exec(target);
  return m ? Number(m[0]) : undefined;
}

export interface HostLink {
  host: string;
  /** `up`: the last command there came back; `lost`: the link dropped; `error`: it could not run. */
  state: 'up' | 'lost' | 'error' | 'idle';
  error?: string;
}

/**
 * What the session knows of each host's link, from the commands that ran there: the
 * last one that came back says up, one whose outcome is unknown says the link dropped.
 */
export function hostLinks(state: SessionState): HostLink[] {
  // The header asks on every frame (the clock ticks, output comes): one answer while
  // the steps and the commands stay the same.
  const known = linksOf.get(state.commands);
  if (known?.steps === state.steps) return known.links;
  const links = computeHostLinks(state);
  linksOf.set(state.commands, {steps: state.steps, links});
  return links;
}

const linksOf = new WeakMap<object, {steps: object; links: HostLink[]}>();

function computeHostLinks(state: SessionState): HostLink[] {
  const hosts = new Set<string>();
  const steps = new Map(state.steps.map((s) => [s.key, s]));
  for (const s of state.steps) for (const h of s.hosts ?? []) hosts.add(h);
  const last = new Map<string, HostLink>();
  for (const c of state.commands) {
    if (c.host === 'local') continue;
    hosts.add(c.host);
    if (c.outcome === undefined) continue;
    const error = steps.get(c.step)?.hostResults?.[c.host]?.error;
    last.set(c.host, {
      host: c.host,
      state:
        c.outcome === 'unknown'
          ? 'lost'
          : c.exitCode === null || c.exitCode === undefined
            ? 'error'
            : 'up',
      ...(error ? {error} : {}),
    });
  }
  return [...hosts].map((host) => last.get(host) ?? {host, state: 'idle'});
}

export type ChecklistRow =
  | {
      kind: 'phase';
      key: string;
      title: string;
      applies: boolean;
      reason?: string;
      done: number;
      /** Steps skipped by the driver (over, not done). */
      skipped: number;
      total: number;
      active: boolean;
      expanded: boolean;
      due?: string;
      overdue: boolean;
    }
  | {kind: 'step'; key: string; step: StepView; depth: number; overdue: boolean};

/** YYYY-MM-DD of a time. */
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The checklist as rows: every phase, with the steps of the expanded ones. The active
 * phase and the one holding the picked step are always expanded; then, while the rows
 * stay within `budget`, the phases nearest to them (the next ones first).
 */
export function checklistRows(
  state: SessionState,
  now: number,
  options: {selected?: string; budget?: number},
): ChecklistRow[] {
  // Asked twice a frame (the layout's need, then the rows drawn), and again on every
  // tick of the clock: the rows depend on the state, the day, the pick and the budget.
  // The rows read only the steps, the phases, the current step and phase: output coming in
  // (a new state on every frame of a flood) leaves them as they were.
  const today = day(now);
  const key = `${today}\u0000${options.selected ?? ''}\u0000${options.budget ?? 0}\u0000${state.current ?? ''}\u0000${state.phase ?? ''}`;
  let known = rowsOf.get(state.steps);
  if (known?.phases !== state.phases)
    rowsOf.set(state.steps, (known = {phases: state.phases, rows: new Map()}));
  const hit = known.rows.get(key);
  if (hit) return hit;
  const rows = computeChecklistRows(state, today, options);
  known.rows.set(key, rows);
  return rows;
}

const rowsOf = new WeakMap<object, {phases: object; rows: Map<string, ChecklistRow[]>}>();

function computeChecklistRows(
  state: SessionState,
  today: string,
  options: {selected?: string; budget?: number},
): ChecklistRow[] {
  const focus = state.steps.find((s) => s.key === (options.selected ?? state.current));
  const active = state.phase ?? state.steps.find((s) => s.key === state.current)?.phase;
  const open = new Set<string>([active, focus?.phase].filter((p): p is string => !!p));
  const sizeOf = (id: string): number =>
    state.phases.find((p) => p.id === id)?.applies === false
      ? 0
      : state.steps.filter((s) => s.phase === id).length;
  let total = state.phases.length + [...open].reduce((n, id) => n + sizeOf(id), 0);
  const anchor = Math.max(
    0,
    state.phases.findIndex((p) => p.id === (focus?.phase ?? active)),
  );
  const order = state.phases
    .map((p, i) => ({id: p.id, distance: i >= anchor ? (i - anchor) * 2 : (anchor - i) * 2 + 1}))
    .sort((a, b) => a.distance - b.distance);
  for (const {id} of order) {
    if (open.has(id)) continue;
    if (total + sizeOf(id) > (options.budget ?? 0)) break;
    open.add(id);
    total += sizeOf(id);
  }
  const rows: ChecklistRow[] = [];
  for (const phase of state.phases) {
    const steps = state.steps.filter((s) => s.phase === phase.id);
    // Steps in a branch, on failure or in a rollback run only if needed: not counted.
    const top = steps.filter((s) => !s.branch && !s.standby && s.applies);
    const done = top.filter((s) => COUNTED_DONE.has(s.status)).length;
    const expanded = open.has(phase.id) || steps.length === 0;
    rows.push({
      kind: 'phase',
      key: `phase:${phase.id}`,
      title: phase.title,
      applies: phase.applies,
      ...(phase.reason ? {reason: phase.reason} : {}),
      done,
      skipped: top.filter((s) => s.status === 'skipped').length,
      total: top.length,
      active: phase.id === active,
      expanded,
      ...(phase.due ? {due: phase.due} : {}),
      overdue:
        !!phase.due &&
        phase.due < today &&
        done + top.filter((s) => s.status === 'skipped').length < top.length,
    });
    if (!expanded || !phase.applies) continue;
    for (const step of steps) {
      rows.push({
        kind: 'step',
        key: step.key,
        step,
        depth: step.branch || step.standby ? 1 : 0,
        overdue: !!step.due && step.due < today && !FINISHED.has(step.status),
      });
    }
  }
  return rows;
}

/** Every step the driver can pick in the checklist, in order (applicable ones). */
export const pickableSteps = (state: SessionState): StepView[] =>
  state.steps.filter((s) => s.applies);

/** The hosts a prompt's step will run on: the plan's hosts, or `local`. */
export function promptHosts(state: SessionState, prompt: PromptView): string[] {
  // Version 2 journals say it in the prompt; version 1 only in the plan.
  if (prompt.hosts?.length) return [...prompt.hosts];
  if (prompt.runs?.length) return [...new Set(prompt.runs.map((r) => r.host))];
  const step = state.steps.find((s) => s.key === prompt.step);
  return step?.hosts?.length ? [...step.hosts] : ['local'];
}

/**
 * The exact commands a prompt's step will run: from the prompt's `runs` (v2), one line
 * when every host runs the same, else one per host; version 1 journals only had them in
 * the text (`$ …` lines).
 */
export function promptCommands(prompt: PromptView): string[] {
  if (!prompt.runs?.length) return splitPromptText(prompt.text).commands;
  const distinct = [...new Set(prompt.runs.map((r) => r.command))];
  if (distinct.length === 1) return distinct.map(safe);
  return prompt.runs.map((r) => `[${safe(r.host)}] ${safe(r.command)}`);
}

/** Lines of a prompt's text that name a command (`$ …`), and the rest. */
export function splitPromptText(text: string): {lines: string[]; commands: string[]} {
  const lines: string[] = [];
  const commands: string[] = [];
  for (const raw of text.split('\n')) {
    const line = safe(raw);
    if (/^\s*\$ /.test(line)) commands.push(line.replace(/^\s*\$ /, ''));
    else lines.push(line);
  }
  return {lines, commands};
}

/** Wraps plain text to a width (in terminal columns), for lists the driver must see whole. */
export function wrapWords(words: readonly string[], width: number, sep = ', '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [i, word] of words.entries()) {
    const piece = word + (i < words.length - 1 ? sep.trimEnd() : '');
    const next = line ? `${line} ${piece}` : piece;
    if (textWidth(next) > width && line) {
      lines.push(line);
      line = piece;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** Wraps a line at spaces to a width (over-long words are cut): text the driver must read whole. */
export function wrapLine(text: string, width: number): string[] {
  if (width < 1 || textWidth(text) <= width) return [text];
  const indent = (/^ */.exec(text)?.[0] ?? '').slice(0, Math.floor(width / 2));
  const room = width - indent.length;
  const out: string[] = [];
  let line = indent;
  for (let word of text.slice(indent.length).split(/ +/)) {
    while (word.length > room) {
      if (line.trim()) out.push(line);
      line = indent;
      out.push(indent + word.slice(0, room));
      word = word.slice(room);
    }
    if (!word) continue;
    const sep = line.trim() ? ' ' : '';
    if (textWidth(line + sep + word) > width) {
      out.push(line);
      line = indent + word;
    } else line += sep + word;
  }
  if (line.trim()) out.push(line);
  return out;
}

const NAME = /\$\{([A-Za-z_][\w.-]*)\}/g;

/**
 * Fills every `${name}` that has a value (profile or captured); a name still without one
 * is shown as missing (`⟨name?⟩`), never as the runbook typed it.
 */
export function fill(text: string, vars: Readonly<Record<string, string>>): string {
  if (!text.includes('${')) return text;
  return text.replace(NAME, (_whole, name: string) => vars[name] ?? `⟨${name}?⟩`);
}

/** The state with every text a driver reads filled from `state.vars` (titles, prompt, log). */
export function filledState(state: SessionState): SessionState {
  const vars = state.vars;
  const f = (text: string): string => fill(text, vars);
  const fo = <T extends string | undefined>(text: T): T =>
    (text === undefined ? text : f(text)) as T;
  const prompt = state.prompt;
  return {
    ...state,
    ...(state.session ? {session: {...state.session, siteTitle: f(state.session.siteTitle)}} : {}),
    phases: filledOnce(state.phases, vars, () =>
      state.phases.map((p) => ({...p, title: f(p.title)})),
    ),
    steps: filledOnce(state.steps, vars, () =>
      state.steps.map((s) => ({
        ...s,
        title: f(s.title),
        ...(s.reason !== undefined ? {reason: f(s.reason)} : {}),
        ...(s.help !== undefined ? {help: f(s.help)} : {}),
        ...(s.links ? {links: s.links.map(f)} : {}),
      })),
    ),
    ...(prompt
      ? {
          prompt: {
            ...prompt,
            text: f(prompt.text),
            ...(prompt.title !== undefined ? {title: f(prompt.title)} : {}),
            ...(prompt.expects !== undefined ? {expects: fo(prompt.expects)} : {}),
            ...(prompt.labels ? {labels: prompt.labels.map(f)} : {}),
            ...(prompt.checks ? {checks: prompt.checks.map(f)} : {}),
            ...(prompt.guards !== undefined ? {guards: f(prompt.guards)} : {}),
          },
        }
      : {}),
    log: filledOnce(state.log, vars, () =>
      state.log.map((l) => (l.text.includes('${') ? {...l, text: f(l.text)} : l)),
    ),
  };
}

/**
 * The filled copy of a list, made once while the list and the values stay the same: a
 * frame during a flood (only the output changed) keeps the same steps and phases, so
 * what is derived from them (the checklist, the header's links) is not worked out again.
 */
function filledOnce<T extends object>(list: T, vars: object | undefined, fill: () => T): T {
  const known = filled.get(list);
  if (known && known.vars === vars) return known.value as T;
  const value = fill();
  filled.set(list, {vars, value});
  return value;
}

const filled = new WeakMap<object, {vars: object | undefined; value: object}>();
