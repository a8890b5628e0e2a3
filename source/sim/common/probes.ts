/**
 * The programs a `check` step runs on a host: `curl` (http probes), `timeout 5 bash -c
 * 'exec 3<>/dev/tcp/HOST/PORT'` (tcp probes) and `pgrep -f` (process probes). Every
 * simulated host is the same machine, so these answer from the simulated host's state
 * instead of the real network and process table; anything else goes to the real program.
 */
import {fail, out, simMs, sleep} from '../state.js';
import {delegate, option} from './host.js';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  data?: string;
}

/** What a simulated server answers: a status and a body, or nobody listening. */
export type HttpAnswer = {status: number; body: string} | 'refused';

const WITH_VALUE = new Set([
  '-m',
  '--max-time',
  '--connect-timeout',
  '-o',
  '--output',
  '-w',
  '--write-out',
  '--retry',
  '--retry-delay',
  '--retry-max-time',
  '-H',
  '--header',
  '-X',
  '--request',
  '-d',
  '--data',
  '--data-raw',
  '-u',
  '--user',
  '-A',
]);

const unescape = (text: string): string =>
  text.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\r/g, '\r');

/** Retried by `--retry`, as curl does: timeouts and 408, 429, 500, 502, 503, 504. */
const transient = (status: number): boolean => [408, 429, 500, 502, 503, 504].includes(status);

/** A `curl` whose requests a site's simulated servers answer. */
export function curlProgram(serve: (request: HttpRequest) => HttpAnswer | Promise<HttpAnswer>) {
  return async (args: string[]): Promise<void> => {
    let url: string | undefined;
    const flags = new Set<string>();
    const headers: Record<string, string> = {};
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (WITH_VALUE.has(a)) {
        if (a === '-H' || a === '--header') {
          const [k, ...v] = (args[i + 1] ?? '').split(':');
          if (k) headers[k.trim().toLowerCase()] = v.join(':').trim();
        }
        i++;
      } else if (/^-[a-zA-Z]+$/.test(a)) for (const c of a.slice(1)) flags.add(c);
      else if (a.startsWith('--')) flags.add(a);
      else url ??= a;
    }
    if (!url) fail('curl: no URL specified!', 2);
    const parsed = new URL(/^[a-z]+:\/\//.test(url) ? url : `http://${url}`);
    const data = option(args, '-d', '--data', '--data-raw');
    const method = option(args, '-X', '--request') ?? (data !== undefined ? 'POST' : 'GET');
    const retries = Number(option(args, '--retry') ?? 0);
    const delay = Number(option(args, '--retry-delay') ?? 1);
    const silent = flags.has('s') && !flags.has('S');
    let answer: HttpAnswer = 'refused';
    for (let attempt = 0; attempt <= retries; attempt++) {
      answer = await serve({method, url: parsed, headers, ...(data !== undefined ? {data} : {})});
      const again =
        answer === 'refused' ? flags.has('--retry-connrefused') : transient(answer.status);
      if (!again || attempt === retries) break;
      if (!silent)
        process.stderr.write(
          `Warning: Problem : ${answer === 'refused' ? 'connection refused' : `HTTP error ${answer.status}`}. Will retry in ${delay} seconds. ${retries - attempt} retries left.\n`,
        );
      await sleep(simMs(delay));
    }
    const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
    if (answer === 'refused') {
      if (!silent)
        process.stderr.write(
          `curl: (7) Failed to connect to ${parsed.hostname} port ${port}: Connection refused\n`,
        );
      process.exit(7);
    }
    if (flags.has('f') && answer.status >= 400) {
      if (!silent)
        process.stderr.write(`curl: (22) The requested URL returned error: ${answer.status}\n`);
      process.exit(22);
    }
    const output = option(args, '-o', '--output');
    if (output === undefined || output === '-') process.stdout.write(answer.body);
    const format = option(args, '-w', '--write-out');
    if (format)
      process.stdout.write(unescape(format.replace(/%\{http_code\}/g, String(answer.status))));
  };
}

/**
 * `timeout DURATION bash -c 'exec 3<>/dev/tcp/HOST/PORT'` asks `listening(host, port)`;
 * any other use runs the real timeout.
 */
export function timeoutProgram(listening: (host: string, port: number) => boolean) {
  return (args: string[]): void => {
    let i = 0;
    while (i < args.length && args[i]!.startsWith('-'))
      i += args[i] === '-s' || args[i] === '-k' ? 2 : 1;
    const [, command, flag, script] = args.slice(i);
    const tcp = /^exec 3<>\/dev\/tcp\/([^/]+)\/(\d+)$/.exec(script ?? '');
    if (command !== 'bash' || flag !== '-c' || !tcp) return delegate('timeout', args);
    if (listening(tcp[1]!, Number(tcp[2]))) process.exit(0);
    process.stderr.write(
      `bash: connect: Connection refused\nbash: line 1: /dev/tcp/${tcp[1]}/${tcp[2]}: Connection refused\n`,
    );
    process.exit(1);
  };
}

/** `pgrep [-f] [-l] [--] PATTERN` against the simulated host's processes. */
export function pgrepProgram(processes: () => readonly {pid: number; command: string}[]) {
  return (args: string[]): void => {
    const pattern = args.filter((a) => !a.startsWith('-')).at(-1);
    if (!pattern)
      fail("pgrep: no matching criteria specified\nTry `pgrep --help' for more information.", 2);
    const full = args.includes('-f') || args.some((a) => /^-[a-z]*f/.test(a));
    const re = new RegExp(pattern);
    const found = processes().filter((p) =>
      re.test(full ? p.command : (p.command.split(' ')[0] ?? '')),
    );
    for (const p of found) out(args.includes('-l') ? `${p.pid} ${p.command}` : String(p.pid));
    process.exit(found.length ? 0 : 1);
  };
}
