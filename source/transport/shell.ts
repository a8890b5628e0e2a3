/**
 * The shell text every transport runs for a request: the host's env as exports, its
 * prelude, `cd` to the working directory (a missing one stops the command, exit 125,
 * rather than running it elsewhere), then the command.
 */
import type {HostSpec, RunRequest} from './types.js';

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
