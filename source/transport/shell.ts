/**
 * The shell text every transport runs for a request: the host's env as exports, its
 * prelude, `cd` to the working directory (a missing one stops the command, exit 125,
 * rather than running it elsewhere), then the command.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {HostSpec, RunRequest} from './types.js';

/**
 * The one shell every command runs under, here and on targets: `bash -c` when the machine
 * has bash, else `sh -c` (POSIX). Said in the README and in the journal's session-opened.
 */
export const SHELL_RULE = 'bash -c where bash is installed, else sh -c';

/**
 * POSIX shell text that sets `CREWCHIEF_SH` to `bash` when the host has it, else `sh`: the
 * same choice on a target as `localShell()` makes here. The exec wrapper and the probe
 * shell run it before their `"$CREWCHIEF_SH" -c SCRIPT`.
 */
export const PICK_SHELL = 'CREWCHIEF_SH=sh; command -v bash >/dev/null 2>&1 && CREWCHIEF_SH=bash; ';

let chosen: 'bash' | 'sh' | undefined;

/** `bash` when it is on this machine's PATH, else `sh`; decided once per process. */
export function localShell(): 'bash' | 'sh' {
  if (chosen) return chosen;
  const dirs = (process.env['PATH'] ?? '/usr/bin:/bin').split(path.delimiter).filter(Boolean);
  const hasBash = dirs.some((dir) => {
    try {
      fs.accessSync(path.join(dir, 'bash'), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  chosen = hasBash ? 'bash' : 'sh';
  return chosen;
}

/** Quotes a string for a POSIX shell: `'it'\''s'`. */
export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** Quotes a path, keeping a leading `~/` for the shell to expand. */
export const shellPath = (value: string): string =>
  value === '~'
    ? '~'
    : value.startsWith('~/')
      ? `~/${shellQuote(value.slice(2))}`
      : shellQuote(value);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The script for a request on a host (or here, with no host). Env is exported, not sent: sshd ignores env requests. */
export function commandScript(request: RunRequest, host?: HostSpec): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(host?.env ?? {})) {
    if (!ENV_NAME.test(key)) throw new Error(`not a valid environment variable name: ${key}`);
    parts.push(`export ${key}=${shellQuote(value)}`);
  }
  if (host?.prelude) parts.push(host.prelude);
  if (request.cwd) parts.push(`cd ${shellPath(request.cwd)} || exit 125`);
  parts.push(request.command);
  return parts.join('\n');
}
