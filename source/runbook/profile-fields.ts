/**
 * The profile's fields as data: one table that the validator (profile.ts) takes its field
 * names and allowed values from, and that the JSON Schema for editors
 * (profiles/profile.schema.json, see profile-schema.ts) is generated from. Add a field
 * here and both know it.
 */

/** What a field holds. */
export type FieldSpec = {description: string} & (
  | {kind: 'string'}
  | {kind: 'date'}
  | {kind: 'boolean'}
  | {kind: 'enum'; values: readonly string[]}
  | {kind: 'duration'}
  | {kind: 'size'}
  | {kind: 'port'}
  | {kind: 'count'}
  | {kind: 'positive'}
  /** A name, or a list of names (of `values` when given). */
  | {kind: 'names'; values?: readonly string[]}
  /** A list of names, or one string of names separated by commas. */
  | {kind: 'names-or-csv'}
  /** Variable values: text, a number, true/false, or `~` (given at run time). */
  | {kind: 'variables'}
  | {kind: 'env'}
  | {kind: 'secret-ref'}
  | {kind: 'object'; fields: Readonly<Record<string, FieldSpec>>; shorthand?: FieldSpec}
  | {kind: 'map'; values: FieldSpec}
);

/** Names of hosts, groups, flags and steps. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

/** What a profile can subscribe the chat channel to (`team.notify.events`). */
export const TEAM_NOTIFY_EVENTS = [
  'phase-started',
  'step-failed',
  'waiting',
  'finished',
  'hand-over',
] as const;

export const TRANSPORTS = ['ssh', 'local'] as const;
export const STRICT_HOST_KEYS = ['yes', 'accept-new'] as const;
export const SSH_CLIENTS = ['ssh2', 'openssh'] as const;

const client: FieldSpec = {
  kind: 'enum',
  values: SSH_CLIENTS,
  description: 'ssh2 (built in) or openssh (the system ssh through a ControlMaster)',
};

export const HOST_FIELDS: Readonly<Record<string, FieldSpec>> = {
  address: {kind: 'string', description: 'address or ~/.ssh/config alias'},
  user: {kind: 'string', description: 'login user'},
  port: {kind: 'port', description: 'ssh port'},
  jump: {kind: 'names-or-csv', description: 'jump host(s) for this host, outermost first'},
  env: {kind: 'env', description: 'environment variables set for commands on this host'},
  prelude: {kind: 'string', description: 'shell text run before every command on this host'},
  client,
};

export const SSH_FIELDS: Readonly<Record<string, FieldSpec>> = {
  config: {kind: 'string', description: 'an ssh config file read before ~/.ssh/config'},
  known_hosts: {kind: 'string', description: 'known_hosts file'},
  identity: {kind: 'string', description: 'private key file (after ssh-agent)'},
  user: {kind: 'string', description: 'login user for every host'},
  jump: {kind: 'names-or-csv', description: 'jump host(s) for every host, outermost first'},
  strict_host_keys: {
    kind: 'enum',
    values: STRICT_HOST_KEYS,
    description: 'yes, or accept-new (a changed key is always refused)',
  },
  keepalive: {
    kind: 'object',
    description: 'ssh keepalive',
    fields: {
      interval: {kind: 'duration', description: 'between keepalives (default 10s)'},
      count: {kind: 'count', description: 'missed keepalives before the link is down (default 3)'},
    },
  },
  forward_agent: {kind: 'boolean', description: 'forward the ssh-agent to hosts'},
  reconnect_wait: {
    kind: 'duration',
    description: 'how long a command waits for a host whose link is down',
  },
  client,
};

export const OVERRIDE_FIELDS: Readonly<Record<string, FieldSpec>> = {
  every: {kind: 'duration', description: 'how often a watch polls'},
  patience: {kind: 'duration', description: 'warn when a count has not moved for this long'},
  timeout: {kind: 'duration', description: 'give up (or ask) after this long'},
  interval: {kind: 'duration', description: 'pause between tries of a check'},
};

export const NOTIFY_FIELDS: Readonly<Record<string, FieldSpec>> = {
  webhook: {kind: 'string', description: 'a name under secrets: holding the incoming-webhook URL'},
  channel: {kind: 'string', description: 'channel name shown in messages'},
  events: {
    kind: 'names',
    values: TEAM_NOTIFY_EVENTS,
    description: `what to post: ${TEAM_NOTIFY_EVENTS.join(', ')} (default: all)`,
  },
  waiting_minutes: {
    kind: 'positive',
    description: 'post "waiting" after a prompt waited this long',
  },
  timeout: {kind: 'duration', description: 'give up on a post after this long (default 10s)'},
};

export const TEAM_FIELDS: Readonly<Record<string, FieldSpec>> = {
  journal_db: {
    kind: 'object',
    description: 'the journal database: a postgres:// URL with no password, or {env: VARIABLE}',
    shorthand: {kind: 'string', description: 'a postgres:// URL with no password in it'},
    fields: {env: {kind: 'string', description: 'environment variable holding the URL'}},
  },
  strict: {kind: 'boolean', description: 'no new step starts while the mirror is behind'},
  lock_grace: {kind: 'duration', description: 'how long a step waits for a lost driver lock'},
  notify: {kind: 'object', description: 'chat notifications', fields: NOTIFY_FIELDS},
};

/** Every top-level field of a profile. */
export const PROFILE_FIELDS: Readonly<Record<string, FieldSpec>> = {
  site: {kind: 'string', description: 'the site id this profile is for (required)'},
  title: {kind: 'string', description: 'shown in the header'},
  release: {kind: 'date', description: 'release date, YYYY-MM-DD: due dates count back from it'},
  transport: {
    kind: 'enum',
    values: TRANSPORTS,
    description: "ssh (default), or local: run every host's commands here",
  },
  sim: {
    kind: 'object',
    description: 'the simulated site standing in for the hosts',
    shorthand: {kind: 'string', description: 'the simulated site'},
    fields: {
      site: {kind: 'string', description: 'the simulated site'},
      speed: {kind: 'positive', description: 'time compression (20: twenty times faster)'},
      pace: {
        kind: 'map',
        description: 'per part of the simulated site, a slower pace a person can follow',
        values: {kind: 'positive', description: 'how much slower'},
      },
    },
  },
  ssh: {kind: 'object', description: 'ssh settings for every host', fields: SSH_FIELDS},
  hosts: {
    kind: 'map',
    description: 'hosts by name',
    values: {
      kind: 'object',
      description: 'a host: an address, or a mapping',
      shorthand: {kind: 'string', description: 'address or ~/.ssh/config alias'},
      fields: HOST_FIELDS,
    },
  },
  groups: {
    kind: 'map',
    description: 'host groups: a name and its hosts',
    values: {kind: 'names', description: 'host names'},
  },
  variables: {kind: 'variables', description: 'values the runbook uses as ${name}'},
  flags: {kind: 'names', description: 'what only/unless test'},
  secrets: {
    kind: 'map',
    description: 'secrets by reference, never inline',
    values: {kind: 'secret-ref', description: '{env: VARIABLE} or {file: path}'},
  },
  overrides: {
    kind: 'map',
    description: 'per-step timings, by step id',
    values: {kind: 'object', description: 'timings of one step', fields: OVERRIDE_FIELDS},
  },
  journal: {
    kind: 'object',
    description: 'journal settings',
    fields: {
      output_cap: {kind: 'size', description: 'per step and host, e.g. 1MB (head and tail kept)'},
    },
  },
  team: {kind: 'object', description: 'team mode', fields: TEAM_FIELDS},
};

/** The field names of an object field of the table (what `known()` allows). */
export const fieldNames = (fields: Readonly<Record<string, FieldSpec>>): string[] =>
  Object.keys(fields);

/** The fields of an object spec (throws for another kind: a mistake in this table). */
export function fieldsOf(spec: FieldSpec | undefined): Readonly<Record<string, FieldSpec>> {
  if (spec?.kind !== 'object') throw new Error('not an object field');
  return spec.fields;
}
