/**
 * Rebuilds where a session stands from its journal — never from an XState snapshot
 * (restoring one re-runs actors that were in flight, and `after` delays never fire).
 */
import type {JournalEntry, Plan} from '../journal/events.js';
import type {RollbackProgress, StartAt} from './machine.js';
import type {ResolvedPlan, ResolvedStep} from './plan.js';
import {isRepeatable, whenUnfinished} from './unfinished.js';

export interface ResumePoint {
  /** Where to start; undefined when the session has nothing left to run. */
  startAt?: StartAt;
  vars: Record<string, string>;
  /** The step that started and never finished, if any. */
  unknown?: string;
  /** A repeatable step that was in flight and restarts on its own. */
  restarted?: string;
  closed: boolean;
}

interface StepRecord {
  started: boolean;
  finished?: string;
  /** Why it finished as it did (for `unknown`: why its end is not known). */
  reason?: string;
  chosen?: string;
}

/** Says how the runbook changed since the session began, or nothing when it did not. */
export function describeChanges(before: Plan, after: Plan): string[] {
  const changes: string[] = [];
  const old = new Map(before.steps.map((s) => [s.key, s]));
  const now = new Map(after.steps.map((s) => [s.key, s]));
  for (const [key, s] of old) {
    const n = now.get(key);
    if (!n) changes.push(`step ${key} ("${s.title}") was removed`);
    else if (n.hash !== s.hash) changes.push(`step ${key} ("${s.title}") changed`);
    else if (n.applies !== s.applies)
      changes.push(`step ${key} now ${n.applies ? 'applies' : 'does not apply'}`);
  }
  for (const [key, s] of now)
    if (!old.has(key)) changes.push(`step ${key} ("${s.title}") was added`);
  const order = (p: Plan) => p.steps.map((s) => s.key).join('\n');
  if (!changes.length && order(before) !== order(after)) changes.push('steps were reordered');
  return changes;
}

const DONE = new Set(['ok', 'done', 'skipped']);

/**
 * Where the session stands on rollback, from its journal: the phases that ran (a step of
 * them started, or was answered), the point of no return, a rollback under way, and a
 * rollback offer the driver had not answered.
 */
export function rollbackProgress(
  plan: ResolvedPlan,
  entries: readonly JournalEntry[],
): RollbackProgress {
  const ran: string[] = [];
  const progress: RollbackProgress = {ran, rollingBack: []};
  const began = (key: string): void => {
    const step = plan.byKey.get(key);
    // A rollback step undoes; it is not something to undo.
    const phase = step?.standby?.when === 'rollback' ? undefined : step?.phase?.id;
    if (phase && !ran.includes(phase)) ran.push(phase);
  };
  let offer: string | undefined;
  for (const e of entries) {
    if (e.type === 'step-started') began(e.step);
    else if (e.type === 'step-finished' && (e.outcome === 'ok' || e.outcome === 'done'))
      began(e.step);
    else if (e.type === 'no-return-passed') progress.noReturn ??= e.step;
    else if (e.type === 'rollback-started') {
      progress.rollingBack = [...(e.phases ?? [])];
      if (e.rollback) progress.rollback = e.rollback;
    }
    if (e.type === 'prompt-shown' && e.prompt === 'rollback') offer = e.step;
    else if (e.type === 'decision' || e.type === 'rollback-started' || e.type === 'step-started')
      offer = undefined;
  }
  if (offer !== undefined) progress.abortedAt = offer;
  return progress;
}

/** The last rollback that began, if any: its steps are walked instead of the runbook. */
function lastRollback(entries: readonly JournalEntry[]) {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.type === 'rollback-started') return e;
  }
  return undefined;
}

/** Finds where to go on from. */
export function resumePoint(plan: ResolvedPlan, entries: readonly JournalEntry[]): ResumePoint {
  const records = new Map<string, StepRecord>();
  const vars: Record<string, string> = {};
  let closed = false;
  const record = (key: string): StepRecord => {
    let r = records.get(key);
    if (!r) records.set(key, (r = {started: false}));
    return r;
  };
  for (const e of entries) {
    switch (e.type) {
      case 'session-opened':
        Object.assign(vars, e.variables);
        break;
      case 'variable-captured':
        vars[e.name] = e.value;
        break;
      case 'step-started':
        Object.assign(record(e.step), {started: true, finished: undefined, reason: undefined});
        break;
      case 'step-finished':
        Object.assign(record(e.step), {started: false, finished: e.outcome, reason: e.reason});
        if (e.option) record(e.step).chosen = e.option;
        break;
      case 'step-skipped':
        Object.assign(record(e.step), {started: false, finished: 'skipped'});
        break;
      case 'decision':
        // v2 names the option in `option`; v1 put it in `value`.
        if (e.decision === 'choose' && (e.option ?? e.value))
          record(e.step).chosen = e.option ?? e.value;
        break;
      case 'session-closed':
        closed = true;
        break;
    }
  }

  const progress = rollbackProgress(plan, entries);
  if (progress.abortedAt !== undefined && !closed)
    return {startAt: {key: progress.abortedAt, substate: 'rollback-offer'}, vars, closed};
  // Rolling back: its steps, in the order it journaled, by the same rules as any step.
  const rollback = lastRollback(entries);
  const order = rollback ? [...rollback.steps] : undefined;
  let key = order ? order.shift() : plan.first;
  const after = (step: ResolvedStep): string | undefined => (order ? order.shift() : step.next);
  while (key) {
    const step = plan.byKey.get(key)!;
    const r = records.get(key);
    if (r?.finished && DONE.has(r.finished) && !r.started) {
      if (step.step.kind === 'choice' && r.chosen) {
        const branch = step.branches?.[r.chosen]?.find((b) => b.applies);
        key = branch ? branch.key : after(step);
      } else key = after(step);
      continue;
    }
    // It failed and says what runs then: that ran instead (the branch's own records say how far).
    if (r?.finished && !r.started && ['failed', 'timed-out'].includes(r.finished)) {
      const branch = step.onFailureSteps?.find((b) => b.applies);
      if (step.onFailureSteps) {
        key = branch ? branch.key : after(step);
        continue;
      }
    }
    const repeatable = isRepeatable(step);
    // Started and never finished (crash, kill), or finished with its end unknown (link
    // drop, keepalive, sshd killed): one rule for every cause.
    if (r?.started || r?.finished === 'unknown') {
      const verdict = whenUnfinished(
        step,
        r.started
          ? {kind: 'no-end'}
          : {kind: 'unknown-outcome', ...(r.reason ? {reason: r.reason} : {})},
      );
      if (verdict.action === 'run-again') return {startAt: {key}, vars, restarted: key, closed};
      return {startAt: {key, substate: 'unknown', why: verdict.why}, vars, unknown: key, closed};
    }
    if (r?.finished && ['failed', 'timed-out', 'canceled'].includes(r.finished) && !repeatable) {
      return {startAt: {key, substate: 'failed'}, vars, closed};
    }
    return {startAt: {key}, vars, closed};
  }
  return {vars, closed};
}
