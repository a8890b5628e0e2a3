/**
 * Profiles: one YAML file per site installation. Parsed with line numbers so every error
 * names the file, the line and the field, and says what was expected.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document} from 'yaml';
import type {HostSpec} from '../transport/types.js';
import {parseDuration} from './duration.js';
import {
  fieldNames,
  fieldsOf,
  HOST_FIELDS,
  NAME_PATTERN,
  NOTIFY_FIELDS,
  OVERRIDE_FIELDS,
  PROFILE_FIELDS,
  SSH_CLIENTS,
  SSH_FIELDS,
  STRICT_HOST_KEYS,
  TEAM_FIELDS,
  TEAM_NOTIFY_EVENTS,
  TRANSPORTS,
} from './profile-fields.js';

/** Where a secret comes from. Secrets are never written inline in a profile. */
export type SecretRef = {env: string} | {file: string};

export interface SshSettings {
  /** An ssh config file read after ~/.ssh/config. */
  config?: string;
  knownHosts?: string;
  identity?: string;
  user?: string;
  /** Jump host(s) for every host (ProxyJump), outermost first. */
  jump?: string[];
  strictHostKeys: 'yes' | 'accept-new';
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Forward the ssh-agent to hosts (only where asked). */
  forwardAgent: boolean;
  /** How long a command waits for a host whose link is down (`ssh.reconnect_wait`). */
  reconnectWaitMs?: number;
  /** `ssh2` (built in, default) or `openssh` (the system's ssh through a ControlMaster). */
  client?: 'ssh2' | 'openssh';
}

export {TEAM_NOTIFY_EVENTS};
export type TeamNotifyEvent = (typeof TEAM_NOTIFY_EVENTS)[number];

/** Team mode: the journal mirrored to PostgreSQL, strict mode, chat notifications. */
export interface TeamSettings {
  /** The journal database: a URL with no password in it, or `{env: VAR}` holding one. */
  journalDb?: string | {env: string};
  /** No new step starts while the mirror is behind. */
  strict: boolean;
  /** How long a step waits for the driver lock to come back after its connection dropped. */
  lockGraceMs: number;
  notify?: {
    /** A name under `secrets:` holding the incoming-webhook URL. */
    webhook: string;
    channel?: string;
    events: TeamNotifyEvent[];
    /** Post `waiting` after a prompt has waited this long for the driver. */
    waitingMs: number;
    /** Give up on a post after this long. */
    timeoutMs: number;
  };
}

export interface Profile {
  /** File name without .yaml: the name on the command line. */
  name: string;
  file: string;
  site: string;
  title?: string;
  /** Release date, YYYY-MM-DD. */
  release?: string;
  /** `ssh` for real hosts; `local` runs every host's commands here (simulated sites). */
  transport: 'ssh' | 'local';
  /** The simulated site that stands in for the hosts (with `transport: local`, or on the far side of ssh). */
  sim?: {
    site: string;
    speed: number;
    /**
     * Speeds for named parts of the simulated site, instead of `speed` (e.g. the Rubin
     * demo's `{leave: 2.5}` keeps daemons disconnecting at a pace a person can follow).
     */
    pace?: Record<string, number>;
  };
  ssh: SshSettings;
  hosts: Record<string, HostSpec>;
  groups: Record<string, string[]>;
  variables: Record<string, string>;
  /** Variables written `name: ~`: no value in the file, given at run time (`--var`, or asked). */
  runTimeVariables?: readonly string[];
  /** Values given at run time (`--var`, asked, or a resumed session's), already in `variables`. */
  runTime?: Readonly<Record<string, string>>;
  flags: string[];
  secrets: Record<string, SecretRef>;
  /** Per-step timing overrides: `{step id: {every, patience, timeout, interval}}`. */
  overrides: Record<string, Record<string, number>>;
  /** Journal settings. */
  outputCapBytes: number;
  team: TeamSettings;
  /** The line a field (dotted path, e.g. `overrides.step-id`) was written on; 1 when absent. */
  lineOf: (field: string) => number;
}

export interface ValidationError {
  file: string;
  line: number;
  field: string;
  message: string;
}

export const formatError = (e: ValidationError): string =>
  `${e.file}:${e.line}: ${e.field ? `${e.field}: ` : ''}${e.message}`;

export class ProfileError extends Error {
  constructor(readonly errors: ValidationError[]) {
    super(errors.map(formatError).join('\n'));
  }
}

// The field names come from the one table (profile-fields.ts) the JSON Schema is made from.
const TOP_LEVEL = fieldNames(PROFILE_FIELDS);
const HOST_FIELD_NAMES = fieldNames(HOST_FIELDS);
const SSH_FIELD_NAMES = fieldNames(SSH_FIELDS);
const OVERRIDE_FIELD_NAMES = fieldNames(OVERRIDE_FIELDS);
const TEAM_FIELD_NAMES = fieldNames(TEAM_FIELDS);
const NOTIFY_FIELD_NAMES = fieldNames(NOTIFY_FIELDS);
const SIM_FIELD_NAMES = fieldNames(fieldsOf(PROFILE_FIELDS['sim']));
const JOURNAL_FIELD_NAMES = fieldNames(fieldsOf(PROFILE_FIELDS['journal']));
const KEEPALIVE_FIELD_NAMES = fieldNames(fieldsOf(SSH_FIELDS['keepalive']));
const JOURNAL_DB_FIELD_NAMES = fieldNames(fieldsOf(TEAM_FIELDS['journal_db']));
const oneOf = (values: readonly string[]): string => values.map((v) => `"${v}"`).join(' or ');
const NAME = new RegExp(NAME_PATTERN);

/**
 * What is wrong with a variable's name or value, or undefined: one rule for values
 * written in a profile and values given at run time (`--var NAME=VALUE`, or asked).
 */
export function variableProblem(name: string, value: string): string | undefined {
  if (!NAME.test(name))
    return `"${name}" is not a variable name (letters, digits, . _ -, starting with a letter or digit)`;
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(value))
    return 'the value holds a control character (an escape, a carriage return …): type it as plain text';
  return undefined;
}

const expandHome = (p: string): string =>
  p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;

/** Largest profile crewchief reads (hosts, groups, variables: well under this). */
export const MAX_PROFILE_BYTES = 4 << 20;

const sizeText = (n: number): string =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;

/** The message for a file over its limit: which file, how big, the limit. */
export const tooLarge = (file: string, kind: string, size: number, limit: number): string =>
  `${file}: ${sizeText(size)} (${size} bytes) is larger than a ${kind} may be (${sizeText(limit)}, ${limit} bytes); is this the right file?`;

/** Parses and validates a profile file. Throws ProfileError with every problem found. */
export function loadProfile(file: string): Profile {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_PROFILE_BYTES)
      throw new ProfileError([
        {file, line: 0, field: '', message: tooLarge(file, 'profile', size, MAX_PROFILE_BYTES)},
      ]);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ProfileError) throw error;
    throw new ProfileError([
      {file, line: 0, field: '', message: `cannot read profile: ${(error as Error).message}`},
    ]);
  }
  return parseProfile(text, file);
}

export function parseProfile(text: string, file: string): Profile {
  const lineCounter = new LineCounter();
  // yaml's own uniqueKeys check compares each key with every key before it (quadratic: a
  // 7 MB profile took minutes); duplicates are found below with a set per mapping.
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: false});
  const errors: ValidationError[] = [];
  for (const error of doc.errors) {
    const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
    errors.push({file, line, field: '', message: `YAML syntax: ${error.message.split('\n')[0]}`});
  }
  if (!errors.length) {
    visit(doc, {
      Map(_, map) {
        const seen = new Set<unknown>();
        for (const pair of map.items) {
          const key = isScalar(pair.key) ? pair.key.value : pair.key;
          if (!seen.has(key)) {
            seen.add(key);
            continue;
          }
          const at = (pair.key as {range?: [number, number, number]} | null)?.range?.[0] ?? 0;
          errors.push({
            file,
            line: lineCounter.linePos(at).line,
            field: '',
            message: `YAML syntax: Map keys must be unique (${JSON.stringify(key)} again)`,
          });
        }
      },
    });
  }
  if (errors.length) throw new ProfileError(errors);
  const v = new Validator(file, doc, lineCounter);
  const profile = v.profile(path.basename(file).replace(/\.ya?ml$/, ''));
  if (v.errors.length) throw new ProfileError(v.errors);
  return profile;
}

type Path = (string | number)[];

class Validator {
  readonly errors: ValidationError[] = [];

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** The line of a field: its key's line in a mapping, its item's line in a list. */
  lineOf(p: Path): number {
    type Ranged = {range?: [number, number, number] | null};
    const line = (node: unknown): number | undefined => {
      const range = (node as Ranged | null)?.range;
      return range ? this.lineCounter.linePos(range[0]).line : undefined;
    };
    for (let n = p.length; n > 0; n--) {
      const parent = this.doc.getIn(p.slice(0, n - 1), true);
      const last = p[n - 1];
      if (isMap(parent)) {
        const pair = parent.items.find(
          (item) => (item.key as {value?: unknown} | null)?.value === last,
        );
        const found = line(pair?.key) ?? line(pair?.value);
        if (found) return found;
      } else if (isSeq(parent) && typeof last === 'number') {
        const found = line(parent.items[last]);
        if (found) return found;
      }
    }
    return line(this.doc.contents) ?? 1;
  }

  fail(p: Path, message: string): void {
    this.errors.push({file: this.file, line: this.lineOf(p), field: p.join('.'), message});
  }

  get(p: Path): unknown {
    const value = this.doc.getIn(p) as unknown;
    return value && typeof value === 'object' && 'toJSON' in value
      ? (value as {toJSON(): unknown}).toJSON()
      : value;
  }

  string(p: Path, required = false): string | undefined {
    const value = this.get(p);
    if (value === undefined || value === null) {
      if (required) this.fail(p, 'is required (expected a string)');
      return undefined;
    }
    if (typeof value === 'number') return String(value);
    if (typeof value !== 'string') {
      this.fail(p, `expected a string, found ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  map(p: Path): Record<string, unknown> {
    const node = this.doc.getIn(p, true);
    if (node === undefined || node === null) return {};
    if (!isMap(node)) {
      this.fail(p, `expected a mapping (key: value lines), found ${describe(this.doc.getIn(p))}`);
      return {};
    }
    return (this.doc.getIn(p) as {toJSON(): Record<string, unknown>}).toJSON();
  }

  known(p: Path, allowed: readonly string[]): void {
    for (const key of Object.keys(this.map(p))) {
      if (!allowed.includes(key)) {
        this.fail([...p, key], `unknown field (expected one of: ${allowed.join(', ')})`);
      }
    }
  }

  duration(p: Path): number | undefined {
    const value = this.get(p);
    if (value === undefined || value === null) return undefined;
    const ms = parseDuration(value as string | number);
    if (ms === null) {
      this.fail(p, `expected a duration such as 10s, 2m or 1h30m, found ${describe(value)}`);
      return undefined;
    }
    return ms;
  }

  stringList(p: Path): string[] {
    const value = this.get(p);
    if (value === undefined || value === null) return [];
    if (typeof value === 'string') return [value];
    if (!isSeq(this.doc.getIn(p, true)) || !Array.isArray(value)) {
      this.fail(p, `expected a list of names, found ${describe(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item !== 'string' || !NAME.test(item)) {
        this.fail([...p, i], `expected a name (letters, digits, . _ -), found ${describe(item)}`);
      } else out.push(item);
    });
    return out;
  }

  profile(name: string): Profile {
    const root = this.doc.contents;
    if (!isMap(root)) {
      this.errors.push({
        file: this.file,
        line: 1,
        field: '',
        message: 'a profile is a YAML mapping with at least `site:`',
      });
      return emptyProfile(name, this.file);
    }
    this.known([], TOP_LEVEL);
    const site = this.string(['site'], true) ?? '';
    const release = this.string(['release']);
    if (release !== undefined && !validDate(release)) {
      this.fail(['release'], `expected a date as YYYY-MM-DD, found "${release}"`);
    }
    const transport = this.string(['transport']) ?? 'ssh';
    if (!(TRANSPORTS as readonly string[]).includes(transport)) {
      this.fail(['transport'], `expected ${oneOf(TRANSPORTS)}, found "${transport}"`);
    }
    let sim: Profile['sim'];
    const simValue = this.get(['sim']);
    if (typeof simValue === 'string') sim = {site: simValue, speed: 1};
    else if (simValue !== undefined && simValue !== null) {
      this.known(['sim'], SIM_FIELD_NAMES);
      const simSite = this.string(['sim', 'site'], true) ?? '';
      const speed = this.get(['sim', 'speed']) ?? 1;
      if (typeof speed !== 'number' || speed <= 0) {
        this.fail(['sim', 'speed'], `expected a positive number, found ${describe(speed)}`);
      }
      const pace: Record<string, number> = {};
      for (const [part, value] of Object.entries(this.map(['sim', 'pace']))) {
        if (typeof value === 'number' && value > 0) pace[part] = value;
        else
          this.fail(['sim', 'pace', part], `expected a positive number, found ${describe(value)}`);
      }
      sim = {
        site: simSite,
        speed: typeof speed === 'number' && speed > 0 ? speed : 1,
        ...(Object.keys(pace).length ? {pace} : {}),
      };
    }
    const ssh = this.ssh();
    const hosts = this.hosts();
    const groups = this.groups(hosts);
    const variables: Record<string, string> = {};
    const runTimeVariables: string[] = [];
    for (const [key, value] of Object.entries(this.map(['variables']))) {
      if (value === null) {
        // `name: ~`: no value here on purpose, given at run time (--var, or asked).
        if (!NAME.test(key))
          this.fail(['variables', key], variableProblem(key, '') ?? 'expected a variable name');
        else runTimeVariables.push(key);
      } else if (
        typeof value === 'string' ||
        typeof value === 'number' ||
        typeof value === 'boolean'
      ) {
        const problem = variableProblem(key, String(value));
        if (problem) this.fail(['variables', key], problem);
        else variables[key] = String(value);
      } else {
        this.fail(
          ['variables', key],
          `expected a string or number (or ~: given at run time), found ${describe(value)}`,
        );
      }
    }
    const flags = this.stringList(['flags']);
    const secrets = this.secrets();
    const overrides: Profile['overrides'] = {};
    for (const [step, fields] of Object.entries(this.map(['overrides']))) {
      this.known(['overrides', step], OVERRIDE_FIELD_NAMES);
      overrides[step] = {};
      for (const field of Object.keys(fields && typeof fields === 'object' ? fields : {})) {
        const ms = this.duration(['overrides', step, field]);
        if (ms !== undefined && OVERRIDE_FIELD_NAMES.includes(field)) overrides[step]![field] = ms;
      }
    }
    this.known(['journal'], JOURNAL_FIELD_NAMES);
    let outputCapBytes = 1 << 20;
    const cap = this.get(['journal', 'output_cap']);
    if (cap !== undefined && cap !== null) {
      const bytes = parseBytes(cap);
      if (bytes === null)
        this.fail(
          ['journal', 'output_cap'],
          `expected a size such as 512KB or 4MB, found ${describe(cap)}`,
        );
      else outputCapBytes = bytes;
    }
    const team = this.team(secrets);
    return {
      name,
      file: this.file,
      site,
      ...(this.string(['title']) ? {title: this.string(['title'])!} : {}),
      ...(release ? {release} : {}),
      transport: transport === 'local' ? 'local' : 'ssh',
      ...(sim ? {sim} : {}),
      ssh,
      hosts,
      groups,
      variables,
      ...(runTimeVariables.length ? {runTimeVariables} : {}),
      flags,
      secrets,
      overrides,
      outputCapBytes,
      team,
      lineOf: (field) => this.lineOf(field.split('.')),
    };
  }

  ssh(): SshSettings {
    this.known(['ssh'], SSH_FIELD_NAMES);
    const strict = this.string(['ssh', 'strict_host_keys']) ?? 'yes';
    if (!(STRICT_HOST_KEYS as readonly string[]).includes(strict)) {
      this.fail(
        ['ssh', 'strict_host_keys'],
        `expected ${oneOf(STRICT_HOST_KEYS)} (crewchief never accepts a changed key), found "${strict}"`,
      );
    }
    this.known(['ssh', 'keepalive'], KEEPALIVE_FIELD_NAMES);
    const interval = this.duration(['ssh', 'keepalive', 'interval']) ?? 10_000;
    const count = this.get(['ssh', 'keepalive', 'count']) ?? 3;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      this.fail(
        ['ssh', 'keepalive', 'count'],
        `expected a whole number of at least 1, found ${describe(count)}`,
      );
    }
    const forward = this.get(['ssh', 'forward_agent']) ?? false;
    if (typeof forward !== 'boolean') {
      this.fail(['ssh', 'forward_agent'], `expected true or false, found ${describe(forward)}`);
    }
    const config = this.string(['ssh', 'config']);
    const knownHosts = this.string(['ssh', 'known_hosts']);
    const identity = this.string(['ssh', 'identity']);
    const user = this.string(['ssh', 'user']);
    const jump = this.stringListOrCsv(['ssh', 'jump']);
    const reconnectWait = this.duration(['ssh', 'reconnect_wait']);
    const client = this.string(['ssh', 'client']);
    if (client !== undefined && !(SSH_CLIENTS as readonly string[]).includes(client)) {
      this.fail(['ssh', 'client'], `expected ${oneOf(SSH_CLIENTS)}, found "${client}"`);
    }
    const rel = (p: string): string => path.resolve(path.dirname(this.file), expandHome(p));
    return {
      ...(config ? {config: rel(config)} : {}),
      ...(knownHosts ? {knownHosts: rel(knownHosts)} : {}),
      ...(identity ? {identity: rel(identity)} : {}),
      ...(user ? {user} : {}),
      ...(jump.length ? {jump} : {}),
      strictHostKeys: strict === 'accept-new' ? 'accept-new' : 'yes',
      keepaliveIntervalMs: interval,
      keepaliveCountMax: typeof count === 'number' ? count : 3,
      forwardAgent: forward === true,
      ...(reconnectWait !== undefined ? {reconnectWaitMs: reconnectWait} : {}),
      ...(client === 'openssh' || client === 'ssh2' ? {client} : {}),
    };
  }

  team(secrets: Record<string, SecretRef>): TeamSettings {
    this.known(['team'], TEAM_FIELD_NAMES);
    const team: TeamSettings = {strict: false, lockGraceMs: 30_000};
    const db = this.get(['team', 'journal_db']);
    if (typeof db === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(db) || /[?&]password=/i.test(db))
        this.fail(
          ['team', 'journal_db'],
          'has a password in it: secrets are never written inline; use {env: VARIABLE}, PGPASSWORD or ~/.pgpass',
        );
      else team.journalDb = db;
    } else if (db && typeof db === 'object' && !Array.isArray(db)) {
      this.known(['team', 'journal_db'], JOURNAL_DB_FIELD_NAMES);
      const env = this.string(['team', 'journal_db', 'env'], true);
      if (env) team.journalDb = {env};
    } else if (db !== undefined && db !== null) {
      this.fail(
        ['team', 'journal_db'],
        `expected a postgres:// URL or {env: VARIABLE}, found ${describe(db)}`,
      );
    }
    const strict = this.get(['team', 'strict']) ?? false;
    if (typeof strict !== 'boolean')
      this.fail(['team', 'strict'], `expected true or false, found ${describe(strict)}`);
    else team.strict = strict;
    if (team.strict && !team.journalDb)
      this.fail(['team', 'strict'], 'strict mode needs team.journal_db (the mirror it waits for)');
    team.lockGraceMs = this.duration(['team', 'lock_grace']) ?? team.lockGraceMs;
    if (this.get(['team', 'notify']) === undefined) return team;
    const p = ['team', 'notify'];
    this.known(p, NOTIFY_FIELD_NAMES);
    const webhook = this.string([...p, 'webhook'], true);
    if (webhook && !secrets[webhook])
      this.fail(
        [...p, 'webhook'],
        `names secret "${webhook}", which is not under secrets: (expected one of: ${Object.keys(secrets).join(', ') || 'none declared'})`,
      );
    const events = this.stringList([...p, 'events']);
    events.forEach((event, i) => {
      if (!(TEAM_NOTIFY_EVENTS as readonly string[]).includes(event))
        this.fail([...p, 'events', i], `expected one of: ${TEAM_NOTIFY_EVENTS.join(', ')}`);
    });
    const minutes = this.get([...p, 'waiting_minutes']) ?? 10;
    if (typeof minutes !== 'number' || minutes <= 0)
      this.fail(
        [...p, 'waiting_minutes'],
        `expected a number of minutes, found ${describe(minutes)}`,
      );
    const channel = this.string([...p, 'channel']);
    team.notify = {
      webhook: webhook ?? '',
      ...(channel ? {channel} : {}),
      events: (events.length ? events : [...TEAM_NOTIFY_EVENTS]) as TeamNotifyEvent[],
      waitingMs: (typeof minutes === 'number' && minutes > 0 ? minutes : 10) * 60_000,
      timeoutMs: this.duration([...p, 'timeout']) ?? 10_000,
    };
    return team;
  }

  stringListOrCsv(p: Path): string[] {
    const value = this.get(p);
    if (typeof value === 'string')
      return value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    return this.stringList(p);
  }

  hosts(): Record<string, HostSpec> {
    const hosts: Record<string, HostSpec> = {};
    for (const [name, value] of Object.entries(this.map(['hosts']))) {
      const p = ['hosts', name];
      if (!NAME.test(name)) {
        this.fail(p, 'expected a host name (letters, digits, . _ -)');
        continue;
      }
      if (value === null || value === undefined) {
        hosts[name] = {name};
        continue;
      }
      if (typeof value === 'string') {
        hosts[name] = {name, address: value};
        continue;
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        this.fail(
          p,
          `expected an address string or a mapping with address/user/port, found ${describe(value)}`,
        );
        continue;
      }
      this.known(p, HOST_FIELD_NAMES);
      const host: HostSpec = {name};
      const address = this.string([...p, 'address']);
      if (address) host.address = address;
      const user = this.string([...p, 'user']);
      if (user) host.user = user;
      const port = this.get([...p, 'port']);
      if (port !== undefined && port !== null) {
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
          this.fail([...p, 'port'], `expected a port number 1-65535, found ${describe(port)}`);
        } else host.port = port;
      }
      const jump = this.stringListOrCsv([...p, 'jump']);
      if (jump.length) host.jump = jump;
      const env = this.map([...p, 'env']);
      if (Object.keys(env).length) {
        const hostEnv: Record<string, string> = {};
        for (const [k, v] of Object.entries(env)) {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
            this.fail([...p, 'env', k], 'expected an environment variable name');
          else hostEnv[k] = String(v);
        }
        host.env = hostEnv;
      }
      const prelude = this.string([...p, 'prelude']);
      if (prelude) host.prelude = prelude;
      const client = this.string([...p, 'client']);
      if (client !== undefined) {
        if (client === 'ssh2' || client === 'openssh') host.client = client;
        else this.fail([...p, 'client'], `expected ${oneOf(SSH_CLIENTS)}, found "${client}"`);
      }
      hosts[name] = host;
    }
    return hosts;
  }

  groups(hosts: Record<string, HostSpec>): Record<string, string[]> {
    const groups: Record<string, string[]> = {};
    for (const name of Object.keys(this.map(['groups']))) {
      const p = ['groups', name];
      if (hosts[name]) this.fail(p, `a group cannot have the name of a host ("${name}")`);
      const members = this.stringList(p);
      if (!members.length) this.fail(p, 'expected a non-empty list of host names');
      members.forEach((member, i) => {
        if (!hosts[member]) {
          this.fail(
            [...p, i],
            `names host "${member}", which is not under hosts: (expected one of: ${Object.keys(hosts).join(', ') || 'none declared'})`,
          );
        }
      });
      groups[name] = members;
    }
    return groups;
  }

  secrets(): Record<string, SecretRef> {
    const secrets: Record<string, SecretRef> = {};
    for (const [name, value] of Object.entries(this.map(['secrets']))) {
      const p = ['secrets', name];
      if (typeof value === 'string' || typeof value === 'number') {
        this.fail(
          p,
          'secrets are never written inline: expected {env: VARIABLE} or {file: path} naming where the value is',
        );
        continue;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        this.fail(p, 'expected {env: VARIABLE} or {file: path}');
        continue;
      }
      const keys = Object.keys(value);
      if (keys.length !== 1 || (keys[0] !== 'env' && keys[0] !== 'file')) {
        this.fail(
          p,
          `expected exactly one of env: or file:, found ${keys.join(', ') || 'nothing'}`,
        );
        continue;
      }
      const ref = this.string([...p, keys[0]!], true);
      if (!ref) continue;
      secrets[name] =
        keys[0] === 'env'
          ? {env: ref}
          : {file: path.resolve(path.dirname(this.file), expandHome(ref))};
    }
    return secrets;
  }
}

function emptyProfile(name: string, file: string): Profile {
  return {
    name,
    file,
    site: '',
    transport: 'ssh',
    ssh: {
      strictHostKeys: 'yes',
      keepaliveIntervalMs: 10_000,
      keepaliveCountMax: 3,
      forwardAgent: false,
    },
    hosts: {},
    groups: {},
    variables: {},
    flags: [],
    secrets: {},
    overrides: {},
    outputCapBytes: 1 << 20,
    team: {strict: false, lockGraceMs: 30_000},
    lineOf: () => 1,
  };
}

const validDate = (s: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) &&
  !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) &&
  new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);

function parseBytes(value: unknown): number | null {
  if (typeof value === 'number') return value > 0 ? value : null;
  const match = /^(\d+)\s*(B|KB|MB|GB)?$/i.exec(String(value).trim());
  if (!match) return null;
  const unit = {B: 1, KB: 1024, MB: 1 << 20, GB: 1 << 30}[(match[2] ?? 'B').toUpperCase() as 'B'];
  return Number(match[1]) * unit;
}

function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}

/** Reads a secret's value: from the environment or a file. Throws a clear error when missing. */
export function resolveSecret(name: string, ref: SecretRef, env = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new Error(`secret "${name}": environment variable ${ref.env} is not set`);
    }
    return value;
  }
  try {
    return fs.readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new Error(
      `secret "${name}": cannot read ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
