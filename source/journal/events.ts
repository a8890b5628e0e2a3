/**
 * Journal events, version 2 (version 1 journals still replay and resume: every field
 * added in 2 is optional, and readers fall back to what version 1 wrote). The journal is the only source of truth: the store folds
 * these, resume rebuilds the engine from these, replay and watch read these.
 *
 * Every line of a journal file after the header is one {@link JournalEntry}.
 */

export const JOURNAL_VERSION = 2;

/** Journal versions this build reads. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** The first line of a journal file. */
export interface JournalHeader {
  crewchief: 'journal';
  version: number;
  session: string;
  created: string;
  /** v2: sha256 (hex) of the header's other fields in this order, so a flipped id is caught. */
  checksum?: string;
}

/** What a step is, as the journal records it at session start (replay needs no machine). */
export interface PlanStep {
  /** Unique key: `phase/step`, or `phase/choice/option/step` for a branch. */
  key: string;
  id: string;
  title: string;
  kind: string;
  phase: string;
  /** False when `only`/`unless` rule it out on this profile. */
  applies: boolean;
  /** Why it does not apply. */
  reason?: string;
  danger?: string;
  due?: string;
  /** For choice branches: the choice step's key and option id. */
  branch?: {choice: string; option: string};
  /** The step's guidance (profile values filled), shown with the step whatever its kind. */
  help?: string;
  /** A manual step's links (dashboards, tickets). */
  links?: readonly string[];
  /** Hosts it runs on, as names. */
  hosts?: readonly string[];
  /** Hash of the step's definition after interpolation of profile values. */
  hash: string;
  /**
   * v2: a step that runs only when something goes wrong: when step `of` fails
   * (`on-failure`), or while rolling back (`rollback`: `of` is the phase it undoes, or
   * `rollback:NAME` for a named rollback).
   */
  standby?: {when: 'on-failure' | 'rollback'; of: string};
  /** v2: once this step starts (or is answered), rolling back is no longer offered. */
  pointOfNoReturn?: boolean;
}

export interface PlanPhase {
  id: string;
  title: string;
  applies: boolean;
  reason?: string;
  due?: string;
}

export interface Plan {
  phases: readonly PlanPhase[];
  steps: readonly PlanStep[];
}

export type Outcome = 'ok' | 'failed' | 'skipped' | 'timed-out' | 'unknown' | 'canceled' | 'done';

/** Who did something: `user@host`. */
export type Actor = string;

export type DecisionKind =
  | 'go'
  | 'confirm'
  | 'skip'
  | 'retry'
  | 'mark-done'
  | 'abort'
  | 'choose'
  | 'keep-waiting'
  | 'investigate'
  | 'tick'
  | 'resume'
  | 'hand-over'
  | 'exclude'
  /** A new driver took over a session whose driver's process is gone (with a reason). */
  | 'take-over'
  /** The driver went on although the team's journal database was unreachable (with a reason). */
  | 'without-team'
  /** Run the rollback of what has run (at the offer after an abort, or at any prompt). */
  | 'rollback';

export type PromptKind =
  | 'gate'
  | 'confirm'
  | 'manual'
  | 'choice'
  | 'failed'
  | 'unknown'
  | 'watch-timeout'
  /** After an abort before the point of no return: run the rollback of what has run? */
  | 'rollback';

/** Who gave a decision: typed by a person, given by a command-line flag, or by autopilot. */
export type AnsweredVia = 'typed' | 'flag' | 'autopilot';

/** The state of the link to one host, as the transport sees it. */
export type LinkState = 'up' | 'down' | 'reconnecting';

/** Why a session was left open (not closed): the driver can resume it. */
export type LeftReason =
  | 'signal'
  | 'console-closed'
  | 'needs-driver'
  | 'lock-lost'
  | 'journal-error'
  | 'handed-over'
  | 'other';

/** How a session ended for good. */
export type ClosedOutcome = 'finished' | 'aborted' | 'failed' | 'rolled-back';

export type JournalEvent =
  | {
      type: 'session-opened';
      session: string;
      site: string;
      siteTitle: string;
      /** The machine file the site came from (resume loads it again). */
      siteFile: string;
      profile: string;
      profileFile: string;
      release?: string;
      runbookHash: string;
      driver: Actor;
      version: string;
      transport: string;
      /** v2: the shell commands run under, e.g. "bash -c where bash is installed, else sh -c (here: bash)". */
      shell?: string;
      dryRun: boolean;
      plan: Plan;
      variables: Record<string, string>;
      /** v2, issue 13: the values given at run time (`--var`, or asked), also in `variables`; resume uses them again. */
      runTimeVariables?: Record<string, string>;
    }
  | {type: 'session-resumed'; driver: Actor; version: string; from: number}
  | {type: 'phase-entered'; phase: string}
  | {type: 'step-skipped'; step: string; reason: string; by?: Actor}
  | {
      type: 'step-started';
      step: string;
      /** One entry per host: the exact command, redacted. */
      runs: readonly {host: string; command: string}[];
      attempt: number;
    }
  | {
      type: 'output';
      step: string;
      host: string;
      stream: 'stdout' | 'stderr';
      /** UTF-8 text, when the bytes are valid UTF-8. */
      text?: string;
      /** Base64 of the bytes otherwise. */
      b64?: string;
    }
  | {
      /** Past the cap: at most once a second, how much so far and the latest lines (not kept). */
      type: 'output-progress';
      step: string;
      host: string;
      totalBytes: number;
      tail: string;
    }
  | {
      type: 'output-truncated';
      step: string;
      host: string;
      /** Bytes the command printed in all. */
      totalBytes: number;
      /** Bytes left out between head and tail. */
      omittedBytes: number;
      sha256: string;
    }
  | {
      type: 'host-finished';
      step: string;
      host: string;
      exitCode: number | null;
      outcome: Outcome;
      error?: string;
      /** v2: attempts made on this host (`retry`), when more than one. */
      attempts?: number;
    }
  | {
      type: 'count-sampled';
      step: string;
      value: number | null;
      target: string;
      raw?: string;
      /** What is counted, from the step's `unit` (e.g. "connected daemons"). */
      unit?: string;
      /** When this watch gives up (ISO), so the console can show the time left. */
      deadline?: string;
      /**
       * v2: a watch whose condition is per host (`hosts: 'every'` or `'any'`): each host's
       * count and whether the condition holds there; `value` is then the count of the host
       * holding it up (`every`: the first where it does not hold; `any`: the first where
       * it does, else the first host).
       */
      per?: 'every' | 'any';
      hosts?: readonly {host: string; value: number | null; holds: boolean}[];
    }
  | {type: 'count-stalled'; step: string; value: number | null; sinceMs: number}
  | {
      /**
       * v2: one attempt of a step that tries again (`retry` on a command or a check, the
       * per-host checks after a command): its number, how it ended, the wait before the next.
       */
      type: 'attempt-ended';
      step: string;
      /** The host, for a command's attempts on one host and its per-host checks. */
      host?: string;
      /** What was tried: the command, or the checks. */
      what: 'command' | 'checks';
      attempt: number;
      /** The most attempts there will be. */
      of: number;
      ok: boolean;
      exitCode?: number | null;
      /** Why it failed, said plainly (redacted). */
      error?: string;
      /** The wait before the next attempt; absent when none follows. */
      nextInMs?: number;
    }
  | {
      type: 'prompt-shown';
      step: string;
      prompt: PromptKind;
      text: string;
      expects?: string;
      options?: readonly string[];
      /** What each option says, in the order of `options`. */
      labels?: readonly string[];
      /** v2: the step's title with every `${…}` that has a value filled in. */
      title?: string;
      /** v2: the exact commands the step would run, per host, filled, quoted and redacted. */
      runs?: readonly {host: string; command: string}[];
      /** v2: the hosts the step targets. */
      hosts?: readonly string[];
      /** v2: what to check first (gates, checks), filled. */
      checks?: readonly string[];
      /** v2: what the step guards, shown when the driver would skip it. */
      guards?: string;
      /** v2: a watch's timeout prompt: the last value seen and its target. */
      count?: {value: number | null; target: string; unit?: string};
      /** v2: the rollback prompt: the step keys that would run, in order. */
      rollback?: readonly string[];
    }
  | {
      type: 'decision';
      step: string;
      decision: DecisionKind;
      by: Actor;
      reason?: string;
      value?: string;
      /** v2: for `choose`, the chosen option's id (version 1 put it in `value`). */
      option?: string;
      /** v2: how the answer was given (absent in v1: typed or flag, unknown). */
      via?: AnsweredVia;
    }
  | {type: 'variable-captured'; step: string; name: string; value: string}
  | {type: 'notice'; step?: string; level: 'info' | 'warn' | 'error'; text: string}
  | {
      type: 'step-finished';
      step: string;
      outcome: Outcome;
      exitCode?: number | null;
      durationMs: number;
      reason?: string;
      /** v2: for `choose`, the chosen option's id (v1 wrote `reason: "chose X"`). */
      option?: string;
      /** v2: attempts made, when more than one. */
      attempts?: number;
    }
  | {
      /** v2: the link to a host changed (SSH): down, reconnecting (with the attempt), up. */
      type: 'link';
      host: string;
      state: LinkState;
      error?: string;
      attempt?: number;
    }
  | {
      /**
       * v2: the point of no return was passed at this step: from here on, an abort no
       * longer offers to roll back.
       */
      type: 'no-return-passed';
      step: string;
    }
  | {
      /**
       * v2: rolling back began: after an abort (the driver said `rollback`), or because a
       * step failed whose `onFailure` names a rollback. `steps` run in this order.
       */
      type: 'rollback-started';
      /** The step where it began (aborted or failed). */
      step: string;
      trigger: 'abort' | 'failure';
      /** A named rollback's id; absent when it is the rollback of the phases that ran. */
      rollback?: string;
      /** The phases rolled back, the latest first (absent for a named rollback). */
      phases?: readonly string[];
      steps: readonly string[];
    }
  | {
      /** v2: the session was left open; `resume` goes on from here. */
      type: 'session-left';
      reason: LeftReason;
      /** The signal, when `reason` is `signal`. */
      signal?: string;
      /** Said plainly, for the screen. */
      text: string;
    }
  | {
      type: 'session-closed';
      outcome: ClosedOutcome;
      reason?: string;
      /** v2: events before this one and a running sha256 over their lines: "closed and complete". */
      seal?: {events: number; sha256: string};
    };

export type JournalEventType = JournalEvent['type'];

/** A journaled event: the event plus its place and time. */
export type JournalEntry = JournalEvent & {
  seq: number;
  /** Wall time, ISO 8601. */
  time: string;
  /** Monotonic milliseconds since the session's process started this segment. */
  mono: number;
};

/** Events that must be on disk before their effect happens. */
export const syncEvents: ReadonlySet<JournalEventType> = new Set([
  'session-opened',
  'session-resumed',
  'step-started',
  'decision',
  'step-finished',
  'session-closed',
  'variable-captured',
  'step-skipped',
  'session-left',
  'no-return-passed',
  'rollback-started',
]);
