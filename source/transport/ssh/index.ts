/**
 * The SSH transport: one pooled ssh2 connection per host (a second when more than
 * `maxChannelsPerConnection` commands run at once), a channel per command, ProxyJump
 * through bastions, strict host keys from known_hosts, keepalive, reconnect with backoff.
 *
 * Hosts are resolved like OpenSSH does: the profile's ssh config file, then
 * ~/.ssh/config; the profile's HostSpec fields (address, user, port, jump) win over both.
 */
import {homedir} from 'node:os';
import {join} from 'node:path';
import {
  notStarted,
  type HostSpec,
  type OutputSink,
  type RunRequest,
  type RunningCommand,
  type Transport,
} from '../types.js';
import type {AskPassphrase} from './auth.js';
import {SshCommand} from './command.js';
import {remoteScript, wrapForGroupKill} from './command-line.js';
import {
  appendKnownHost,
  checkHostKey,
  describeRefusal,
  knownHostName,
  keyTypeOf,
  loadKnownHosts,
  preferredHostKeyAlgorithms,
} from './known-hosts.js';
import {openLink, type HostKeyVerifier, type Link} from './link.js';
import {HostPool, type ConnectionState} from './pool.js';
import {ProbeShell, runInShell} from './probe-shell.js';
import {createLinkReporter} from './link-events.js';
import {gapNotices, ssh2Gaps} from './reach.js';
import {
  emptySshConfig,
  hopKey,
  hopLabel,
  loadSshConfig,
  resolveRoute,
  type ResolvedHop,
  type ResolvedRoute,
  type SshConfigLookup,
} from './ssh-config.js';

export type {ConnectionState} from './pool.js';
export type {ResolvedHop, ResolvedRoute} from './ssh-config.js';
export {shellQuote, remoteScript, wrapForGroupKill} from './command-line.js';
export {fingerprint} from './known-hosts.js';

/** A host key accepted under `accept-new`: journal it. */
export interface HostKeyAcceptedEvent {
  /** Profile host name, or the jump host's alias. */
  host: string;
  hostName: string;
  port: number;
  keyType: string;
  /** `SHA256:…` */
  fingerprint: string;
  /** The known_hosts file it was added to. */
  file: string;
  /** False when that file could not be written: the key is trusted for this link only. */
  recorded: boolean;
}

/** A connection changed state: for the header and the journal. */
export interface ConnectionStateEvent {
  /** Profile host name, or the jump host's alias (with `jump: true`). */
  host: string;
  state: ConnectionState;
  /** Why it failed or dropped (never secrets). */
  error?: string;
  /** The reconnect attempt (state `reconnecting` after a drop), counting from 1. */
  attempt?: number;
  jump?: boolean;
}

export interface SshTransportOptions {
  /** The profile's ssh config file; read before ~/.ssh/config, so its values win. */
  configFile?: string;
  /** Also read ~/.ssh/config (default true). */
  userConfig?: boolean;
  /**
   * known_hosts files to check (and to add to under accept-new: the first). Default:
   * the config's UserKnownHostsFile, else ~/.ssh/known_hosts and known_hosts2; plus
   * /etc/ssh/ssh_known_hosts.
   */
  knownHostsFiles?: string | readonly string[];
  /** Key files offered after those the ssh config names. */
  identityFile?: string | readonly string[];
  /** ssh-agent socket (default SSH_AUTH_SOCK); `false` for no agent. */
  agentSocket?: string | false;
  /**
   * `yes` (default): refuse unknown and changed host keys. `accept-new`: add unknown
   * keys (reported through onHostKeyAccepted), still refuse changed ones.
   */
  strictHostKeys?: 'yes' | 'accept-new';
  /** Keepalive interval (default: ServerAliveInterval from the config, else 10 s). */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the link counts as dead (default: config, else 3). */
  keepaliveCountMax?: number;
  /** TCP + handshake + authentication (default: ConnectTimeout, else 15 s). */
  connectTimeoutMs?: number;
  /** Command channels per connection (default 8, below sshd's MaxSessions 10). */
  maxChannelsPerConnection?: number;
  /** Connections per host when more channels are needed (default 4). */
  maxConnectionsPerHost?: number;
  /** Grace between TERM and KILL when a command is stopped (default 2 s). */
  killGraceMs?: number;
  /**
   * Connect tries for a host never reached yet, and the backoff (with ±20 % jitter)
   * between tries; a host that was up and dropped is reconnected until it is back.
   */
  reconnect?: {attempts?: number; baseDelayMs?: number; maxDelayMs?: number};
  /**
   * How long a command or probe on a host whose link is down waits for it to come back
   * before failing with "the link to HOST is down" (default 30 s).
   */
  reconnectWaitMs?: number;
  /**
   * Run probes (`RunRequest.probe`) in one long-lived shell per host (default true);
   * false: a channel per probe, like any command.
   */
  probeShell?: boolean;
  /** Something the driver should know that is not an error (a fallback, an ignored option). */
  onNotice?(text: string): void;
  /** Profile host names that get agent forwarding (none by default). */
  forwardAgent?: readonly string[];
  onHostKeyAccepted?(event: HostKeyAcceptedEvent): void;
  onConnectionState?(event: ConnectionStateEvent): void;
  /** Asks the driver for a key file's passphrase; never logged. */
  askPassphrase?: AskPassphrase;
  /** Home directory for `~` (default os.homedir()). */
  home?: string;
}

/** What a dry run shows for a host: how it would be reached and what it would run. */
export interface SshPlan {
  host: string;
  /** Hops outermost first, the target last, as `alias (user@host:port)`. */
  path: string[];
  /** The shell text run on the host: env exports, prelude, `cd`, the command. */
  script: string;
  /** The exact text sent as the exec request (the script, wrapped for group kill). */
  execText: string;
}

export interface SshTransport extends Transport {
  /** Resolves a request without connecting (for dry runs). */
  plan(request: RunRequest): SshPlan;
}

const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

const asList = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : [...v];

export function createSshTransport(options: SshTransportOptions = {}): SshTransport {
  const home = options.home ?? homedir();
  const configPaths = [
    ...(options.configFile ? [options.configFile] : []),
    ...(options.userConfig === false ? [] : [join(home, '.ssh', 'config')]),
  ];
  let config: SshConfigLookup | undefined;
  const sshConfig = (): SshConfigLookup => {
    config ??= configPaths.length ? loadSshConfig(configPaths, home) : emptySshConfig;
    return config;
  };
  const agentSocket =
    options.agentSocket === false
      ? undefined
      : (options.agentSocket ?? process.env['SSH_AUTH_SOCK']);
  const strict = options.strictHostKeys ?? 'yes';
  const maxChannels = options.maxChannelsPerConnection ?? 8;
  const killGraceMs = options.killGraceMs ?? 2000;
  const states = new Map<string, string>();
  const pools = new Map<string, {pool: HostPool; route: ResolvedRoute}>();
  const jumps = new Map<string, Promise<Link>>();
  const running = new Set<SshCommand>();
  const probeShells = new Map<HostPool, ProbeShell<Link>>();
  /** A second shell per host for commands (`noInput`), so they never wait behind probes. */
  const commandShells = new Map<HostPool, ProbeShell<Link>>();
  let closed = false;

  const links = createLinkReporter();
  const report = (event: ConnectionStateEvent): void => {
    states.set(event.jump ? `jump:${event.host}` : event.host, event.state);
    options.onConnectionState?.(event);
    if (!event.jump && !closed) links.report(event);
  };

  const knownHostsFor = (hop: ResolvedHop): {files: string[]; writeTo: string} => {
    const explicit = asList(options.knownHostsFiles);
    if (explicit.length) return {files: explicit, writeTo: explicit[0] ?? ''};
    const user = hop.userKnownHostsFiles ?? [
      join(home, '.ssh', 'known_hosts'),
      join(home, '.ssh', 'known_hosts2'),
    ];
    return {
      files: [...user, '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      writeTo: user[0] ?? join(home, '.ssh', 'known_hosts'),
    };
  };

  const hostKeyName = (hop: ResolvedHop): string =>
    hop.hostKeyAlias ?? knownHostName(hop.hostName, hop.port);

  /** The verifier for one hop, named as the journal names it. */
  const verifierFor =
    (host: string): HostKeyVerifier =>
    (hop, key) => {
      const {files, writeTo} = knownHostsFor(hop);
      const name = hostKeyName(hop);
      const verdict = checkHostKey(loadKnownHosts(files), name, key);
      if (verdict.status === 'trusted') return undefined;
      if (verdict.status === 'unknown' && strict === 'accept-new' && !verdict.note) {
        let recorded = true;
        try {
          appendKnownHost(writeTo, name, key, hop.hashKnownHosts);
        } catch {
          // As OpenSSH: accepted for this connection, asked again next time.
          recorded = false;
        }
        options.onHostKeyAccepted?.({
          host,
          hostName: hop.hostName,
          port: hop.port,
          keyType: keyTypeOf(key),
          fingerprint: verdict.fingerprint,
          file: writeTo,
          recorded,
        });
        return undefined;
      }
      return describeRefusal(verdict, `${host} (${hopLabel(hop)})`, files);
    };

  const open = (hop: ResolvedHop, host: string, via: Link | undefined): Promise<Link> => {
    const {files} = knownHostsFor(hop);
    const forward = options.forwardAgent?.includes(host) ?? false;
    return openLink(
      {
        hop,
        name: host,
        ...(via ? {via} : {}),
        verifier: verifierFor(host),
        hostKeyAlgorithms: preferredHostKeyAlgorithms(
          loadKnownHosts(files),
          hostKeyName(hop),
          HOST_KEY_ALGORITHMS,
        ),
        agentSocket,
        ...(options.askPassphrase ? {askPassphrase: options.askPassphrase} : {}),
        keepaliveIntervalMs: options.keepaliveIntervalMs ?? hop.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: options.keepaliveCountMax ?? hop.keepaliveCountMax ?? 3,
        connectTimeoutMs: options.connectTimeoutMs ?? hop.connectTimeoutMs ?? 15_000,
        forwardAgent: forward,
      },
      maxChannels,
    );
  };

  /** A jump connection, shared by every host behind the same chain. */
  const jumpLink = (chain: readonly ResolvedHop[]): Promise<Link> => {
    const key = hopKey(chain);
    const cached = jumps.get(key);
    const hop = chain[chain.length - 1];
    if (!hop) return Promise.reject(new Error('empty jump chain'));
    const fresh = (): Promise<Link> => {
      const promise = (async () => {
        const parent = chain.length > 1 ? await jumpLink(chain.slice(0, -1)) : undefined;
        report({host: hop.alias, state: 'connecting', jump: true});
        return open(hop, hop.alias, parent);
      })();
      jumps.set(key, promise);
      promise.then(
        (link) => {
          report({host: hop.alias, state: 'up', jump: true});
          link.onClose((reason) => {
            if (jumps.get(key) === promise) jumps.delete(key);
            if (!closed) report({host: hop.alias, state: 'down', error: reason ?? '', jump: true});
          });
        },
        (error: unknown) => {
          if (jumps.get(key) === promise) jumps.delete(key);
          report({
            host: hop.alias,
            state: 'failed',
            error: error instanceof Error ? error.message : String(error),
            jump: true,
          });
        },
      );
      return promise;
    };
    if (!cached) return fresh();
    return cached.then(
      (link) => (link.up ? link : jumps.get(key) === cached ? fresh() : jumpLink(chain)),
      () => (jumps.get(key) === cached || !jumps.has(key) ? fresh() : jumpLink(chain)),
    );
  };

  const extraIdentities = asList(options.identityFile);
  const defaultIdentities = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f));
  /** Config-named key files first, then the profile's; OpenSSH's defaults if neither. */
  const withIdentities = (hop: ResolvedHop): ResolvedHop => {
    const files = [...hop.identityFiles, ...extraIdentities];
    return {...hop, identityFiles: files.length ? [...new Set(files)] : defaultIdentities};
  };

  /**
   * Routes by the host fields that decide them. The config is read once, so a route never
   * changes within a transport: resolving it per command cost ~50 µs of a 2 ms poll
   * (glob matching every Host pattern, os.userInfo()).
   */
  const routes = new Map<string, ResolvedRoute>();
  const noticed = new Set<string>();
  /** Says once per host what the config asks for that this client cannot do or ignores. */
  const noticeGaps = (host: HostSpec, address: string): void => {
    if (!options.onNotice || noticed.has(host.name)) return;
    noticed.add(host.name);
    try {
      const files = asList(options.knownHostsFiles);
      const gaps = ssh2Gaps(
        sshConfig(),
        address,
        files.length ? files : [join(home, '.ssh', 'known_hosts')],
      );
      for (const text of gapNotices(host.name, gaps, 'ssh2')) options.onNotice(text);
    } catch {
      // the route's own error says what is wrong with the config
    }
  };
  const routeFor = (host: HostSpec): ResolvedRoute => {
    const address = host.address ?? host.name;
    const key = JSON.stringify([address, host.user, host.port, host.jump]);
    const known = routes.get(key);
    if (known) return known;
    noticeGaps(host, address);
    const route = resolveRoute(
      sshConfig(),
      {
        address,
        ...(host.user ? {user: host.user} : {}),
        ...(host.port ? {port: host.port} : {}),
        ...(host.jump ? {jump: host.jump} : {}),
      },
      home,
    );
    const resolved = {
      jumps: route.jumps.map(withIdentities),
      target: withIdentities(route.target),
    };
    routes.set(key, resolved);
    return resolved;
  };

  const poolFor = (host: HostSpec): HostPool => {
    const route = routeFor(host);
    const key = `${host.name}\0${hopKey([...route.jumps, route.target])}`;
    const existing = pools.get(key);
    if (existing) return existing.pool;
    const pool = new HostPool({
      maxChannels,
      maxConnections: options.maxConnectionsPerHost ?? 4,
      connectAttempts: options.reconnect?.attempts ?? 3,
      backoffBaseMs: options.reconnect?.baseDelayMs ?? 250,
      backoffMaxMs: options.reconnect?.maxDelayMs ?? 5_000,
      reconnectWaitMs: options.reconnectWaitMs ?? 30_000,
      name: host.name,
      open: async () => {
        const via = route.jumps.length ? await jumpLink(route.jumps) : undefined;
        return open(route.target, host.name, via);
      },
      onState: (state, {error, attempt}) =>
        report({
          host: host.name,
          state,
          ...(error !== undefined ? {error} : {}),
          ...(attempt !== undefined ? {attempt} : {}),
        }),
    });
    pools.set(key, {pool, route});
    return pool;
  };

  const checkHost = (request: RunRequest): HostSpec => {
    if (request.host === 'local') {
      throw new Error(
        'the ssh transport does not run local commands: route host "local" to the local transport',
      );
    }
    return request.host;
  };

  return {
    kind: 'ssh',
    start(request: RunRequest, sink: OutputSink): RunningCommand {
      const host = checkHost(request);
      const started = performance.now();
      const failed = (error: string): RunningCommand => notStarted(error, started);
      if (closed) return failed('the ssh transport is closed');
      let pool: HostPool;
      let script: string;
      try {
        pool = poolFor(host);
        script = remoteScript(request, host);
      } catch (error) {
        return failed(error instanceof Error ? error.message : String(error));
      }
      const channelCommand = (
        execText: string,
        extra: {timeoutMs?: number; signal?: AbortSignal},
        to: OutputSink,
      ): RunningCommand => {
        const command: SshCommand = new SshCommand(
          {
            pool,
            execText,
            pty: request.pty ?? false,
            ...(extra.timeoutMs !== undefined ? {timeoutMs: extra.timeoutMs} : {}),
            ...(extra.signal ? {signal: extra.signal} : {}),
            killGraceMs,
            onSettled: () => running.delete(command),
          },
          to,
        );
        running.add(command);
        return command;
      };
      const shellFor = (shells: Map<HostPool, ProbeShell<Link>>, probes: boolean) => {
        let shell = shells.get(pool);
        if (!shell) {
          shell = new ProbeShell({
            pool,
            name: host.name,
            killGraceMs,
            openShell: (link, execText, wiring) =>
              link.exec(execText, {}, (channel) => {
                channel.on('data', wiring.stdout);
                channel.stderr.on('data', wiring.stderr);
                channel.on('error', () => {});
                channel.on('close', wiring.closed);
              }),
            control: (link, command) => void link.runControl(command),
            fallback: (probe, to) => channelCommand(wrapForGroupKill(probe.script), probe, to),
            // Commands on a channel each is how they always ran: nothing to say.
            ...(probes ? {onFallback: (text: string) => options.onNotice?.(text)} : {}),
          });
          shells.set(pool, shell);
        }
        return shell;
      };
      const inShell =
        options.probeShell === false
          ? undefined
          : runInShell(request, script, sink, (kind) =>
              kind === 'probe' ? shellFor(probeShells, true) : shellFor(commandShells, false),
            );
      if (inShell) return inShell;
      return channelCommand(wrapForGroupKill(script), request, sink);
    },
    plan(request: RunRequest): SshPlan {
      const host = checkHost(request);
      const route = routeFor(host);
      const script = remoteScript(request, host);
      return {
        host: host.name,
        path: [...route.jumps, route.target].map((hop) => `${hop.alias} (${hopLabel(hop)})`),
        script,
        execText: wrapForGroupKill(script),
      };
    },
    connections() {
      return Object.fromEntries(states);
    },
    onLink: (listener) => links.onLink(listener),
    async close() {
      if (closed) return;
      closed = true;
      const stopping = [...running];
      for (const command of stopping) command.stop('canceled');
      const bound = new Promise((resolve) => setTimeout(resolve, killGraceMs * 2 + 1000).unref());
      const shells = [...probeShells.values(), ...commandShells.values()].map((s) => s.close());
      probeShells.clear();
      commandShells.clear();
      await Promise.race([Promise.all([...stopping.map((c) => c.done), ...shells]), bound]);
      for (const {pool} of pools.values()) pool.close();
      pools.clear();
      const jumpLinks = [...jumps.values()];
      jumps.clear();
      for (const promise of jumpLinks) {
        promise.then(
          (link) => link.end(),
          () => {},
        );
      }
    },
  };
}
