/**
 * The process exit statuses, in one place: the command line's help lists them, the
 * services end with them, and scripts that wrap crewchief rely on them.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  invalid: 3,
  journal: 4,
  needsDriver: 5,
  /** Another driver holds the site and profile, or the driver may not take this session over. */
  locked: 6,
  /** The session ended rolled back: the release did not happen, what ran was undone. */
  rolledBack: 7,
  detached: 130,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/** Why a command could not go on; `code` is the process exit status. */
export class LaunchError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** A mistake on the command line: said in one line, exit status 2, never a stack trace. */
export class UsageError extends LaunchError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** How a session's end maps to an exit status. */
export function exitForEnd(end: 'finished' | 'aborted' | string): number {
  if (end === 'finished') return EXIT.ok;
  if (end === 'aborted') return EXIT.failed;
  if (end === 'rolled-back') return EXIT.rolledBack;
  return EXIT.detached;
}
