/**
 * The commands as data: `--help` prints its usage block from this table, and
 * `crewchief completion bash|zsh` generates the shell completion from it, so the two
 * never disagree.
 */

/** What a positional argument is, for completion. */
export type ArgKind = 'site' | 'profile' | 'session' | 'file' | 'shell' | 'none';

export interface CommandSpec {
  name: string;
  /** The usage line after `crewchief `. */
  usage: string;
  /** What it does, one line a row. */
  summary: readonly string[];
  /** What its positional arguments are. */
  args: ArgKind;
  /** The long options it takes (without --). */
  flags: readonly string[];
}

const RUN_FLAGS = [
  'profile',
  'var',
  'dry-run',
  'plain',
  'journal',
  'yes',
  'confirm',
  'choose',
  'on-failure',
  'on-unknown',
  'on-timeout',
  'read-only',
  'auto-delay',
  'journal-db',
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    usage: 'run SITE --profile NAME [options]',
    summary: ["run a site's runbook on a profile"],
    args: 'site',
    flags: RUN_FLAGS,
  },
  {
    name: 'resume',
    usage: 'resume [SESSION|FILE] [options]',
    summary: ['go on with a session from its journal'],
    args: 'session',
    flags: [...RUN_FLAGS, 'take-over'],
  },
  {
    name: 'replay',
    usage:
      'replay FILE [--speed N] [--follow] [--plain] [--json] [--cast OUT.cast [--size COLSxROWS]]',
    summary: [
      '--cast OUT.cast: the console as an asciicast v2 recording;',
      'play a journal back, read-only; --follow',
      'keeps reading a journal still being written;',
      "--json: the journal's events as NDJSON;",
      '--journal-db URL SESSION: from PostgreSQL',
    ],
    args: 'session',
    flags: ['speed', 'follow', 'plain', 'json', 'journal-db', 'cast', 'size'],
  },
  {
    name: 'validate',
    usage: 'validate [PATHS...] [--var NAME=VALUE] [--json]',
    summary: ['check machines and profiles (all when none given)'],
    args: 'file',
    flags: ['json', 'var'],
  },
  {
    name: 'import',
    usage: 'import FILE.md [-o machines/NAME.ts]',
    summary: ['a Markdown or wiki-text runbook as a machine file'],
    args: 'file',
    flags: ['output'],
  },
  {
    name: 'demo',
    usage: 'demo [SITE] [--auto] [--plain]',
    summary: ['the runbook against its simulated site (default: rubin)'],
    args: 'site',
    flags: ['auto', ...RUN_FLAGS],
  },
  {
    name: 'lab',
    usage: 'lab SITE [--dir DIR] [--profile DEMO] [--speed N]',
    summary: [
      'the simulated site behind real sshd: a bastion and a',
      'target on loopback; prints the `run` to use; Ctrl-C stops',
    ],
    args: 'site',
    flags: ['dir', 'profile', 'speed'],
  },
  {
    name: 'graph',
    usage: 'graph SITE [--profile NAME] [--var NAME=VALUE]',
    summary: ['the machine as a Mermaid state diagram'],
    args: 'site',
    flags: ['profile', 'var'],
  },
  {
    name: 'diff',
    usage: 'diff SITE --profile A --profile B [--var NAME=VALUE] [--json]',
    summary: [
      'the plan on two profiles side by side: steps on',
      'one side only; commands, hosts, timings that differ',
    ],
    args: 'site',
    flags: ['profile', 'var', 'json'],
  },
  {
    name: 'list',
    usage: 'list [--json]',
    summary: ['sites, profiles and sessions'],
    args: 'none',
    flags: ['json'],
  },
  {
    name: 'watch',
    usage: 'watch [SESSION] [--journal-db URL | --file PATH] [--plain] [--json]',
    summary: ['follow a live session read-only (the crew chief)'],
    args: 'session',
    flags: ['journal-db', 'file', 'plain', 'json'],
  },
  {
    name: 'sessions',
    usage: 'sessions [--journal-db URL] [--json]',
    summary: ['sessions: site, profile, driver, state, last event'],
    args: 'none',
    flags: ['journal-db', 'json'],
  },
  {
    name: 'mirror',
    usage: 'mirror [SESSION...] --journal-db URL',
    summary: ['send local journals the mirror lacks to PostgreSQL'],
    args: 'session',
    flags: ['journal-db'],
  },
  {
    name: 'report',
    usage: 'report SESSION|FILE [--md OUT] [--html OUT] [--json] [--journal-db URL]',
    summary: [
      'what ran, who decided what, how long each phase',
      'took: Markdown (stdout by default), one HTML page',
    ],
    args: 'session',
    flags: ['md', 'html', 'json', 'journal-db'],
  },
  {
    name: 'completion',
    usage: 'completion bash|zsh',
    summary: ['shell completion: eval "$(crewchief completion bash)"'],
    args: 'shell',
    flags: [],
  },
];

/** The usage block of `--help`. */
export function usageBlock(): string {
  const lines: string[] = [];
  const column = 48;
  for (const c of COMMANDS) {
    const usage = `  crewchief ${c.usage}`;
    const [first, ...rest] = c.summary;
    if (usage.length < column - 1) lines.push(`${usage.padEnd(column)}${first ?? ''}`);
    else lines.push(usage, `${' '.repeat(column)}${first ?? ''}`);
    for (const more of rest) lines.push(`${' '.repeat(column)}${more}`);
  }
  return lines.join('\n');
}
