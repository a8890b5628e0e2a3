/**
 * ssh config as OpenSSH reads it, for the parts the transport uses: Host and Match
 * sections (via the ssh-config package), Include (which that package leaves as a plain
 * directive: followed here, with globs, relative paths under ~/.ssh and the enclosing
 * section restored afterwards), `~` and `%` tokens, and ProxyJump chains.
 *
 * Files are read in order and the first value obtained wins, as in OpenSSH: the profile's
 * config file comes before ~/.ssh/config, so the profile can override the user's.
 */
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs';
import {homedir, userInfo} from 'node:os';
import {isAbsolute, join} from 'node:path';
import SSHConfig from 'ssh-config';

/** Computed values for one host, keys in lower case. */
export type ComputedConfig = Record<string, string | string[]>;

/** Anything that answers "what does the config say for this alias?". */
export interface SshConfigLookup {
  compute(alias: string): ComputedConfig;
  /** Every file that was read, includes included. */
  readonly files: readonly string[];
}

const MAX_INCLUDE_DEPTH = 16;

/** `~` and `~/…` expanded against the home directory. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Expands a glob with `*` and `?` in any path component; sorted like glob(3). */
export function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : (parts[0] ?? '')];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(part)) {
        const path = join(base, part);
        if (existsSync(path)) next.push(path);
        continue;
      }
      const re = new RegExp(
        `^${part
          .replace(/[.+^${}()|\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')}$`,
      );
      let names: string[] = [];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (re.test(name)) next.push(join(base, name));
      }
    }
    bases = next;
  }
  return bases.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

const DIRECTIVE = /^\s*([A-Za-z]+)(?:\s*=\s*|\s+)(.*?)\s*$/;

/** Splits a directive value into words, honouring double quotes. */
function words(value: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(value); m; m = re.exec(value)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

/**
 * Reads a config file and splices in what its Include directives name. Inside a Host or
 * Match section the included text is followed by that section's header again, so the
 * rest of the section applies as it would in OpenSSH.
 */
export function readConfigText(
  file: string,
  files: string[] = [],
  depth = 0,
  home = homedir(),
): string {
  if (depth > MAX_INCLUDE_DEPTH)
    throw new Error(`ssh config: Include nested too deeply at ${file}`);
  files.push(file);
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  let header: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = DIRECTIVE.exec(line);
    const keyword = m?.[1]?.toLowerCase();
    if (keyword === 'host' || keyword === 'match') header = line;
    if (keyword !== 'include' || !m?.[2]) {
      out.push(line);
      continue;
    }
    for (const word of words(m[2])) {
      const expanded = expandHome(word, home);
      const pattern = isAbsolute(expanded) ? expanded : join(home, '.ssh', expanded);
      for (const path of expandGlob(pattern)) {
        out.push(`# included from ${path}`);
        out.push(readConfigText(path, files, depth + 1, home));
      }
    }
    // Back to the section the Include sat in (or to every host, at the top level).
    out.push(header ?? 'Host *');
  }
  return out.join('\n');
}

/**
 * Loads config files in order of precedence (first value wins). Missing files are
 * skipped. `Match exec` is not evaluated: reading the config never runs a command.
 */
export function loadSshConfig(paths: readonly string[], home = homedir()): SshConfigLookup {
  const files: string[] = [];
  const texts: string[] = [];
  for (const path of paths) {
    const full = expandHome(path, home);
    if (!existsSync(full)) continue;
    // `Host *` ends the previous file's last section, so the next file's leading
    // directives apply to every host, as they do at the top of a file.
    texts.push(`${readConfigText(full, files, 0, home)}\nHost *\n`);
  }
  const parsed = SSHConfig.parse(texts.join('\n'));
  const sectionsFor = indexSections(parsed, texts.join('\n'));
  const computed = new Map<string, ComputedConfig>();
  return {
    files,
    compute(alias: string): ComputedConfig {
      let c = computed.get(alias);
      if (!c) {
        c = Object.freeze(sectionsFor(alias).compute(alias, {ignoreCase: true, matchExec: false}));
        computed.set(alias, c);
      }
      return c;
    },
  };
}

/** A Host pattern that can only match the name it spells (no `*`, `?`, `!`, list). */
const LITERAL = /^[^*?!,]+$/;

/**
 * The sections that can apply to an alias, in file order: a config naming N hosts one
 * section each is read in O(sections that can match) per host instead of O(N), which
 * made connecting to 200 hosts O(N²) (~0.5 ms per host at 200). Sections whose Host
 * patterns are all literal are indexed by name; every other line (wildcards, negations,
 * top-level directives) is kept for every alias. Where the name being matched can change
 * during the computation (`Match`, `CanonicalizeHostName`), nothing is filtered.
 */
function indexSections(parsed: SSHConfig, text: string): (alias: string) => SSHConfig {
  const lines = [...parsed];
  const directive = (line: (typeof lines)[number]) =>
    line.type === SSHConfig.DIRECTIVE ? line : undefined;
  if (/^\s*(match|canonicalizehostname)\b/im.test(text)) return () => parsed;
  const byName = new Map<string, number[]>();
  const always: number[] = [];
  lines.forEach((line, i) => {
    const d = directive(line);
    if (!d) return;
    const patterns = /^host$/i.test(d.param)
      ? typeof d.value === 'string'
        ? [d.value]
        : d.value.map((v) => v.val)
      : [];
    if (patterns.length && patterns.every((p) => LITERAL.test(p))) {
      for (const p of new Set(patterns.map((x) => x.toLowerCase())))
        byName.set(p, [...(byName.get(p) ?? []), i]);
    } else always.push(i);
  });
  return (alias) => {
    const named = byName.get(alias.toLowerCase()) ?? [];
    const keep = [...named, ...always].sort((a, b) => a - b);
    const sections = new SSHConfig();
    for (const i of keep) sections.push(lines[i]!);
    return sections;
  };
}

export const emptySshConfig: SshConfigLookup = {files: [], compute: () => ({})};

/** One hop of a route, everything needed to connect to it. */
export interface ResolvedHop {
  /** The name it was asked by: config alias or `user@host:port` from a jump list. */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** Key files to offer, config-named first. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** From ServerAliveInterval / ServerAliveCountMax, when the config sets them. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** From ConnectTimeout. */
  connectTimeoutMs?: number;
  /** HostKeyAlias: the name to look up in known_hosts instead of the host name. */
  hostKeyAlias?: string;
  /** UserKnownHostsFile, expanded. */
  userKnownHostsFiles?: string[];
  hashKnownHosts: boolean;
}

/** How to reach a host: jump hops outermost first, then the target. */
export interface ResolvedRoute {
  jumps: ResolvedHop[];
  target: ResolvedHop;
}

const first = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v;

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, as in ProxyJump. */
export function parseJumpSpec(spec: string): {user?: string; host: string; port?: number} {
  let rest = spec.trim().replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket?.[1]) {
    rest = bracket[1];
    if (bracket[2]) port = Number(bracket[2]);
  } else {
    const colon = /^([^:]+):(\d+)$/.exec(rest);
    if (colon?.[1] && colon[2]) {
      rest = colon[1];
      port = Number(colon[2]);
    }
  }
  return {...(user ? {user} : {}), host: rest, ...(port ? {port} : {})};
}

/** Expands OpenSSH `%` tokens used in file names. */
function expandTokens(
  value: string,
  t: {home: string; localUser: string; host: string; port: number; user: string; alias: string},
): string {
  const withHome = expandHome(value, t.home);
  return withHome.replace(/%([%dhnpru])/g, (_, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return t.home;
      case 'h':
        return t.host;
      case 'n':
        return t.alias;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      default:
        return t.localUser;
    }
  });
}

const seconds = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
};

/** Resolves a single hop: config for `alias`, then explicit overrides. */
export function resolveHop(
  config: SshConfigLookup,
  alias: string,
  overrides: {user?: string; port?: number; hostName?: string} = {},
  home = homedir(),
): ResolvedHop & {proxyJump?: string; proxyCommand?: string} {
  const c = config.compute(alias);
  const localUser = userInfo().username;
  const hostName = overrides.hostName ?? first(c['hostname'])?.replace(/%h/g, alias) ?? alias;
  const port = overrides.port ?? (Number(first(c['port'])) || 22);
  const user = overrides.user ?? first(c['user']) ?? localUser;
  const tokens = {home, localUser, host: hostName, port, user, alias};
  const identityFiles = list(c['identityfile'])
    .filter((f) => f.toLowerCase() !== 'none')
    .map((f) => expandTokens(f, tokens));
  const known = list(c['userknownhostsfile'])
    .flatMap((v) => words(v))
    .filter((f) => f.toLowerCase() !== 'none')
    .map((f) => expandTokens(f, tokens));
  const interval = seconds(first(c['serveraliveinterval']));
  const countMax = Number(first(c['serveralivecountmax']));
  const connectTimeout = seconds(first(c['connecttimeout']));
  const hostKeyAlias = first(c['hostkeyalias']);
  const proxyJump = first(c['proxyjump']);
  const proxyCommand = first(c['proxycommand']);
  return {
    alias,
    hostName,
    port,
    user,
    identityFiles,
    identitiesOnly: first(c['identitiesonly'])?.toLowerCase() === 'yes',
    ...(interval !== undefined ? {keepaliveIntervalMs: interval} : {}),
    ...(Number.isInteger(countMax) && countMax > 0 ? {keepaliveCountMax: countMax} : {}),
    ...(connectTimeout !== undefined ? {connectTimeoutMs: connectTimeout} : {}),
    ...(hostKeyAlias ? {hostKeyAlias} : {}),
    ...(known.length ? {userKnownHostsFiles: known} : {}),
    hashKnownHosts: first(c['hashknownhosts'])?.toLowerCase() === 'yes',
    ...(proxyJump ? {proxyJump} : {}),
    ...(proxyCommand ? {proxyCommand} : {}),
  };
}

const MAX_JUMPS = 8;

function stripProxy(hop: ResolvedHop & {proxyJump?: string; proxyCommand?: string}): ResolvedHop {
  const {proxyJump: _j, proxyCommand: _c, ...rest} = hop;
  return rest;
}

function jumpHop(config: SshConfigLookup, spec: string, home: string) {
  const parsed = parseJumpSpec(spec);
  return resolveHop(
    config,
    parsed.host,
    {...(parsed.user ? {user: parsed.user} : {}), ...(parsed.port ? {port: parsed.port} : {})},
    home,
  );
}

/**
 * The jump hops for a ProxyJump list, outermost first. As with `ssh -J a,b`: the
 * outermost hop's own ProxyJump is followed, the inner hops' are not.
 */
export function resolveJumpChain(
  config: SshConfigLookup,
  specs: readonly string[],
  home = homedir(),
  depth = 0,
): ResolvedHop[] {
  if (!specs.length) return [];
  if (depth > MAX_JUMPS)
    throw new Error(`ssh config: ProxyJump chain longer than ${MAX_JUMPS} (a loop?)`);
  const hops = specs.map((spec) => jumpHop(config, spec, home));
  const outer = hops[0];
  let prefix: ResolvedHop[] = [];
  if (outer?.proxyJump && outer.proxyJump.toLowerCase() !== 'none') {
    prefix = resolveJumpChain(config, splitJumps(outer.proxyJump), home, depth + 1);
  } else if (outer?.proxyCommand && outer.proxyCommand.toLowerCase() !== 'none') {
    throw new Error(
      `ssh config: ProxyCommand (for ${outer.alias}) is not supported by the built-in ssh client: set ssh.client: openssh in the profile, or use ProxyJump`,
    );
  }
  return [...prefix, ...hops.map(stripProxy)];
}

export const splitJumps = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** What a profile host says, over the config. */
export interface HostOverrides {
  /** Alias or address to look up (default: the host's name). */
  address: string;
  user?: string;
  port?: number;
  /** Jump hosts outermost first; an empty list means none, whatever the config says. */
  jump?: readonly string[];
}

/** The whole route to a host: config lookups, ProxyJump chain, profile overrides. */
export function resolveRoute(
  config: SshConfigLookup,
  host: HostOverrides,
  home = homedir(),
): ResolvedRoute {
  const target = resolveHop(
    config,
    host.address,
    {...(host.user ? {user: host.user} : {}), ...(host.port ? {port: host.port} : {})},
    home,
  );
  let jumps: ResolvedHop[] = [];
  if (host.jump) {
    jumps = resolveJumpChain(config, host.jump, home);
  } else if (target.proxyJump && target.proxyJump.toLowerCase() !== 'none') {
    jumps = resolveJumpChain(config, splitJumps(target.proxyJump), home);
  } else if (target.proxyCommand && target.proxyCommand.toLowerCase() !== 'none') {
    throw new Error(
      `ssh config: ProxyCommand (for ${host.address}) is not supported by the built-in ssh client: set ssh.client: openssh in the profile, or use ProxyJump`,
    );
  }
  return {jumps, target: stripProxy(target)};
}

/** `user@host:port`, for messages and dry runs. */
export const hopLabel = (hop: ResolvedHop): string =>
  `${hop.user}@${hop.hostName}${hop.port === 22 ? '' : `:${hop.port}`}`;

/** A stable key for a hop chain (pooling jump connections). */
export const hopKey = (hops: readonly ResolvedHop[]): string =>
  hops.map((h) => `${h.user}@${h.hostName}:${h.port}`).join(' > ');
