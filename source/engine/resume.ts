/**
 * Rebuilds where a session stands from its journal — never from an XState snapshot
 * (restoring one re-runs actors that were in flight, and `after` delays never fire).
 */
import type {JournalEntry, Plan} from '../journal/events.js';
import type {StartAt} from './machine.js';
import type {ResolvedPlan} from './plan.js';

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
        Object.assign(record(e.step), {started: true, finished: undefined});
        break;
      case 'step-finished':
        Object.assign(record(e.step), {started: false, finished: e.outcome});
        break;
      case 'step-skipped':
        Object.assign(record(e.step), {started: false, finished: 'skipped'});
        break;
      case 'decision':
        if (e.decision === 'choose' && e.value) record(e.step).chosen = e.value;
        break;
      case 'session-closed':
        closed = true;
        break;
    }
  }

  let key = plan.first;
  while (key) {
    const step = plan.byKey.get(key)!;
    const r = records.get(key);
    if (r?.finished && DONE.has(r.finished) && !r.started) {
      if (step.step.kind === 'choice' && r.chosen) {
        const branch = step.branches?.[r.chosen]?.find((b) => b.applies);
        key = branch ? branch.key : step.next;
      } else key = step.next;
      continue;
    }
    const repeatable =
      step.step.repeatable ??
      (step.step.kind !== 'command' && !(step.step.kind === 'notify' && step.step.webhook));
    if (r?.started) {
      if (repeatable) return {startAt: {key}, vars, restarted: key, closed};
      return {startAt: {key, substate: 'unknown'}, vars, unknown: key, closed};
    }
    if (r?.finished && ['failed', 'timed-out', 'canceled'].includes(r.finished) && !repeatable) {
      return {startAt: {key, substate: 'failed'}, vars, closed};
    }
    return {startAt: {key}, vars, closed};
  }
  return {vars, closed};
}
