/**
 * The runbook vocabulary: a site is a list of phases, a phase a list of steps.
 *
 * Runbook authors write machines/*.ts with the helpers at the bottom of this file
 * (`site`, `phase`, `manual`, `command`, `watch`, `gate`, `check`, `notify`, `choice`,
 * `rollback`, `onFailure`), so an editor completes every field and shows these comments.
 *
 * What happens when things go wrong is part of the runbook too: a step's `onFailure`
 * (steps that run instead of asking, or a named rollback), a phase's `rollback` (the steps
 * that undo it), and `pointOfNoReturn` on a phase or step (after it, rolling back is no
 * longer offered).
 *
 * Strings in `run`, `probe`, `text`, `title` and check targets may use `${name}`:
 * profile variables, values captured by earlier steps, `${site}`, `${profile}`,
 * `${release}` and secrets (`${secret.NAME}`, redacted from the journal and screen).
 */

import {recordCaller} from './source-location.js';

/** A duration: milliseconds as a number, or a string such as `"30s"`, `"2m"`, `"1h30m"`. */
export type Duration = number | string;

/**
 * Applicability against the profile's flags. A flag name (`"tts"`), or a list meaning
 * "any of". Prefix with `!` to negate. `only: "summit"` runs the step on profiles with
 * flag `summit`; `unless: "k8s"` skips it where flag `k8s` is set.
 */
export type FlagCondition = string | readonly string[];

/** When a pre-release task is due, relative to the profile's `release` date. */
export type Due =
  /** Calendar days before the release, e.g. `"T-14d"`; or working days, `"T-2wd"`. */
  string;

/** Where a command, watch or check runs. */
export type Target =
  /** On the machine crewchief runs on (the bastion). */
  | 'local'
  /** A host name or host-group name from the profile, e.g. `"ospl"`, `"@canary"`. */
  | string;
/*
 * A target may also be one variable, `"${primary}"`: a profile variable or a value an
 * earlier step captured, read when the step runs. Its value must name a host or a group
 * of the profile; any other value fails the step, which then runs nowhere.
 */

/**
 * Tries again after a failure, waiting longer each time: `{attempts: 3, backoff: '5s'}`
 * waits 5 s after the first failure, 10 s after the second. Every attempt is journaled
 * with its number, its exit status and the wait before the next.
 */
export interface Retry {
  /** Tries in all, the first included (at least 1). */
  attempts: number;
  /** The wait after the first failure (default 5s). */
  backoff?: Duration;
  /** Each later wait is the previous one times this (default 2; 1 keeps it constant). */
  factor?: number;
  /** The longest wait (default 1m). */
  maxDelay?: Duration;
}

/**
 * A comparison with a number or a text. Numbers: `equals`, `below` (<), `above` (>),
 * `atMost` (≤), `atLeast` (≥). Text: `equals` with a string, `notEquals`, `matches` (a
 * regular expression the whole value must match).
 */
export type Comparison =
  | {equals: number | string}
  | {notEquals: number | string}
  | {below: number}
  | {above: number}
  | {atMost: number}
  | {atLeast: number}
  | {matches: string};

/**
 * A condition on a variable (a profile variable, or a value captured by an earlier step),
 * tested when the step is reached: `{var: 'lag', below: 100}`, `{var: 'mode', equals:
 * 'blue'}`. A variable with no value, or a number comparison on a value that is not a
 * number, does not hold.
 */
export type ValueCondition = {var: string} & Comparison;

/** Fields every step has. */
export interface StepBase {
  /** Stable identifier, unique within the site. Journal and resume use it: never rename a step mid-release. */
  id: string;
  /** What the driver reads in the checklist. */
  title: string;
  /** Longer guidance shown with the step: what to look at, who to ask, what can go wrong. */
  help?: string;
  /** Only on profiles with this flag (see {@link FlagCondition}). */
  only?: FlagCondition;
  /** Not on profiles with this flag. */
  unless?: FlagCondition;
  /** Due date relative to the release, e.g. `"T-14d"` or `"T-2wd"` (working days). */
  due?: Due;
  /**
   * The step can destroy something. The driver must type a word before it runs:
   * `true` asks for the step id, a string asks for that word (e.g. `"${site}"`).
   */
  danger?: boolean | string;
  /**
   * Safe to run again after a crash without asking (probes, reads). Watches, checks,
   * gates and manual steps are safe to repeat by default; commands are not.
   */
  repeatable?: boolean;
  /**
   * Run only when this holds (a list: when all hold), tested when the step is reached, so
   * values captured by earlier steps count: `when: {var: 'lag', below: 100}`. A step whose
   * condition does not hold is journaled as skipped, with the condition and the value.
   */
  when?: ValueCondition | readonly ValueCondition[];
  /**
   * What runs when this step fails, instead of asking the driver (commands, checks,
   * notifications, and watches that time out): steps, after which the runbook goes on
   * after this step, or a named rollback (see {@link Site.rollbacks}), which ends the
   * session as rolled back. An unknown end (a dropped link) is never a failure: the
   * driver is asked as always. Write it with {@link onFailure}.
   */
  onFailure?: OnFailure;
  /**
   * Once this step starts (or, for a manual step, a gate or a choice, once the driver
   * answers it), rolling back is no longer offered: an abort after it ends the session
   * without running any phase's rollback. Mark the step that changes what the
   * rollback could undo (the database migration, the DNS switch, going live).
   */
  pointOfNoReturn?: boolean;
}

/** What runs when a step fails (see {@link StepBase.onFailure}). */
export type OnFailure =
  /** These steps run; then the runbook goes on after the failed step. */
  | {steps: readonly Step[]}
  /** The rollback of this name (from the site's `rollbacks`) runs; the session ends as rolled back. */
  | {rollback: string};

/**
 * A named rollback: steps that undo the release, run when a step's `onFailure` names it.
 * When they all complete, the session ends with outcome "rolled back".
 */
export interface Rollback {
  /** The name a step's `onFailure: {rollback: …}` uses. */
  id: string;
  /** What the driver reads while it runs, e.g. "Back to the committed images". */
  title: string;
  steps: readonly Step[];
}

/** A checklist item a person does outside the console; ticked, with an optional note. */
export interface ManualStep extends StepBase {
  kind: 'manual';
  /** Links or references the driver needs (dashboards, tickets). */
  links?: readonly string[];
}

/** How a fan-out command walks its hosts. */
export interface FanOut {
  /** Run on at most this many hosts at once (default: all at once). */
  parallel?: number;
  /** Rolling: hosts in batches of this size, each batch must succeed before the next. */
  batch?: number;
  /** Rolling: wait this long between batches (let a batch settle before the next). */
  pause?: Duration;
  /**
   * Checks run on each host after the command there succeeds (rolling restarts): up to
   * 5 tries 2 s apart (see `verifyRetry`); a host whose checks fail counts as failed,
   * which stops a rolling update at its batch.
   */
  verify?: readonly CheckProbe[];
  /** How often `verify` tries on each host (default `{attempts: 5, backoff: '2s', factor: 1}`). */
  verifyRetry?: Retry;
}

/** Captures a value from a command's output into a variable for later steps. */
export interface Capture {
  /** Variable name, used later as `${name}`. */
  as: string;
  /** A regular expression; the first group (or whole match) of the last matching line is kept. */
  pattern: string;
  /**
   * A regular expression the WHOLE captured value must match (anchored: `[a-z0-9-]+` means
   * `^[a-z0-9-]+$`), or the step fails saying so: say what a pod name, a revision or a
   * number looks like, so odd output never becomes a value. Whatever the pattern, a value
   * with a control character (a newline, an escape) fails the step, and a value always
   * reaches a later shell command as one quoted word.
   */
  value?: string;
}

/** Runs a command on a host, a host group or locally. */
export interface CommandStep extends StepBase {
  kind: 'command';
  /**
   * The shell command. `${var}` and `${secret.NAME}` are filled in as ONE quoted shell word
   * each (whatever the value holds: `$(…)`, `;`, quotes, spaces); `${raw:var}` pastes the
   * value as shell text (validate lists each raw use); `$${VAR}` is the shell's own
   * `${VAR}`. Secrets are redacted from the journal, which records the command as run.
   */
  run: string;
  /** Where it runs (default `local`). A group runs on each of its hosts. */
  on?: Target;
  /** How a group is walked. */
  fanOut?: FanOut;
  /** Give up after this long (default 10m). The process group is killed. */
  timeout?: Duration;
  /** Exit statuses counted as success (default `[0]`). */
  okExit?: readonly number[];
  /** The output must match this regular expression for success. */
  expect?: string;
  /** Keep a value from the output. */
  capture?: Capture;
  /** The working directory on the target. */
  cwd?: string;
  /** Allocate a pseudo-terminal (merges stderr into stdout). */
  pty?: boolean;
  /**
   * Keep the process running after the step: the step succeeds once the output matches
   * `readyWhen`, and later gates talk to the process by `name` (a script that pauses for
   * "type go"). The process is stopped when the session ends.
   */
  background?: {name: string; readyWhen: string};
  /** A file the command must leave non-empty on the target before the next step may start. */
  produces?: string;
  /**
   * Run again on a host where it failed (a known failure: an exit status not in `okExit`,
   * output not matching `expect`, a timeout), waiting between attempts. A run whose end is
   * unknown (the link dropped) is never retried: the driver decides. Default: one attempt.
   */
  retry?: Retry;
}

/** The condition a watch waits for. */
export type WatchUntil =
  /** The count equals this number. */
  | {equals: number}
  /** The count is at most this number. */
  | {atMost: number}
  /** The count is at least this number. */
  | {atLeast: number}
  /** The count is strictly below this number. */
  | {below: number}
  /** The count is strictly above this number. */
  | {above: number}
  /** Within `tolerance` (absolute, or `"5%"`) of a captured variable's value. */
  | {near: string; tolerance: number | string}
  /** A pattern with two groups, "(\d+) of (\d+)", holds when both numbers are equal. */
  | {xOfX: string};

/** Polls a probe, parses a number, waits until a condition holds. */
export interface WatchStep extends StepBase {
  kind: 'watch';
  /** The command that prints the count. */
  probe: string;
  on?: Target;
  /** How often to poll (default 5s). */
  every?: Duration;
  /**
   * How to read the number: a regular expression whose first group is the number,
   * applied to the last matching line; or `"lines"` to count output lines. Default: the
   * last integer in the output.
   */
  parse?: string;
  until: WatchUntil;
  /**
   * On a group: `"sum"` (default) tests the sum of the hosts' counts; `"every"` holds when
   * the condition holds on each host ("each replica's lag below 1 MB"), `"any"` when it
   * holds on at least one. Per host, the screen and the journal show each host's count.
   */
  hosts?: 'sum' | 'every' | 'any';
  /** Warn the driver when the count has not changed for this long (default 2m). */
  patience?: Duration;
  /** Ask the driver what to do after this long (default 30m). */
  timeout?: Duration;
  /** What the count means, e.g. "connected daemons". */
  unit?: string;
}

/** Pauses until the driver types a word (default `go`), showing what to check first. */
export interface GateStep extends StepBase {
  kind: 'gate';
  /** What to check before going on. */
  checks?: readonly string[];
  /** The word to type (default `go`). */
  word?: string;
  /**
   * After the driver says the word, type it into a background process started by an
   * earlier command step, and wait until its output matches `until` (or it exits).
   */
  send?: {to: string; text?: string; until?: string; timeout?: Duration};
}

/** One health assertion. */
export type CheckProbe =
  | {http: string; status?: number; contains?: string}
  | {tcp: string}
  | {process: string}
  | {command: string; expect?: string}
  | {sql: string; expect: string; database?: string};

/** A health assertion with retries. */
export interface CheckStep extends StepBase {
  kind: 'check';
  on?: Target;
  /** Every probe must pass. */
  probes: readonly CheckProbe[];
  /** Tries and the waits between them (default `{attempts: 3, backoff: '5s', factor: 1}`). */
  retry?: Retry;
  /** Older form of `retry.attempts` (tries before failing), still read. */
  retries?: number;
  /** Older form of `retry.backoff` with `factor: 1` (pause between tries), still read. */
  interval?: Duration;
}

/** Posts to a chat webhook, or shows text to copy. */
export interface NotifyStep extends StepBase {
  kind: 'notify';
  /** The message; `${var}` interpolated. */
  text: string;
  /** Channel name shown to the driver (e.g. "#summit-ops"). */
  channel?: string;
  /** Secret name holding a Slack-compatible incoming-webhook URL. Without it the text is shown to copy. */
  webhook?: string;
}

/** One branch of a choice. */
export interface ChoiceOption {
  id: string;
  label: string;
  /** Steps run when the driver picks this branch; then the runbook goes on after the choice. */
  steps: readonly Step[];
}

/** The driver picks a branch. */
export interface ChoiceStep extends StepBase {
  kind: 'choice';
  /** The question. */
  question: string;
  options: readonly ChoiceOption[];
}

export type Step =
  ManualStep | CommandStep | WatchStep | GateStep | CheckStep | NotifyStep | ChoiceStep;

export type StepKind = Step['kind'];

export const stepKinds: readonly StepKind[] = [
  'manual',
  'command',
  'watch',
  'gate',
  'check',
  'notify',
  'choice',
];

/** A phase: a titled group of steps. */
export interface Phase {
  id: string;
  title: string;
  help?: string;
  only?: FlagCondition;
  unless?: FlagCondition;
  due?: Due;
  steps: readonly Step[];
  /**
   * The steps that undo this phase. When the driver aborts before the point of no return,
   * crewchief offers to roll back: the rollback of every phase that ran (a step of it
   * started or was done), the latest phase first. Completed, it ends the session as
   * rolled back. Step ids here are unique across the site like any other.
   */
  rollback?: readonly Step[];
  /**
   * Once this phase's first step starts, rolling back is no longer offered (as
   * {@link StepBase.pointOfNoReturn} on that step).
   */
  pointOfNoReturn?: boolean;
}

/** A site: a runbook. */
export interface Site {
  /** The name used on the command line (`crewchief run rubin`). */
  id: string;
  title: string;
  description?: string;
  /** Variables the runbook expects from the profile, with a short description each. */
  variables?: Readonly<Record<string, string>>;
  /** Secrets the runbook expects from the profile. */
  secrets?: Readonly<Record<string, string>>;
  /** Host groups the runbook targets (validated against the profile). */
  phases: readonly Phase[];
  /** Named rollbacks a step's `onFailure: {rollback: 'name'}` runs (see {@link rollback}). */
  rollbacks?: readonly Rollback[];
}

/** A module in machines/ exports a site (default export) or several (`sites`). */
export interface MachineModule {
  default?: Site;
  sites?: readonly Site[];
}

type Fields<T> = Omit<T, 'kind'>;

/** Declares a site. */
export const site = (s: Site): Site => recordCaller({...s});
/** Declares a phase. */
export const phase = (p: Phase): Phase => recordCaller({...p});
/** A checklist item done outside the console. */
export const manual = (s: Fields<ManualStep>): ManualStep => recordCaller({kind: 'manual', ...s});
/** A command on a host, a group or locally. */
export const command = (s: Fields<CommandStep>): CommandStep =>
  recordCaller({kind: 'command', ...s});
/** A count polled until a condition holds. */
export const watch = (s: Fields<WatchStep>): WatchStep => recordCaller({kind: 'watch', ...s});
/** A pause until the driver types go. */
export const gate = (s: Fields<GateStep>): GateStep => recordCaller({kind: 'gate', ...s});
/** A health assertion. */
export const check = (s: Fields<CheckStep>): CheckStep => recordCaller({kind: 'check', ...s});
/** A chat message, posted or shown to copy. */
export const notify = (s: Fields<NotifyStep>): NotifyStep => recordCaller({kind: 'notify', ...s});
/** A branch the driver picks. */
export const choice = (s: Fields<ChoiceStep>): ChoiceStep => recordCaller({kind: 'choice', ...s});
/**
 * A named rollback for the site's `rollbacks`, run by a step's
 * `onFailure: onFailure.rollback('images')`.
 */
export const rollback = (r: Rollback): Rollback => recordCaller({...r});
/**
 * A step's `onFailure`, read aloud: `onFailure.steps([...])` runs those steps and goes on,
 * `onFailure.rollback('name')` runs the named rollback and ends the session as rolled back.
 */
export const onFailure = {
  /** Run these steps when the step fails, then go on after it. */
  steps: (steps: readonly Step[]): OnFailure => ({steps}),
  /** Run the site's rollback of this name when the step fails; the session ends rolled back. */
  rollback: (name: string): OnFailure => ({rollback: name}),
} as const;
