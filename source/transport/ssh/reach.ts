/**
 * What the ssh config asks for that a client cannot do, said to the driver rather than
 * silently ignored: for the built-in ssh2 client, the options that need OpenSSH
 * (certificates, ProxyCommand, an IdentityAgent …) and the options it does not honour;
 * for the OpenSSH client, the options crewchief overrides (its own master, its own
 * command, the profile's host-key policy).
 */
import {readFileSync} from 'node:fs';
import type {ComputedConfig, SshConfigLookup} from './ssh-config.js';

/** Options only OpenSSH can do: their presence suggests `ssh.client: openssh`. */
const NEEDS_OPENSSH: Record<string, string> = {
  certificatefile: 'CertificateFile (user certificates)',
  proxycommand: 'ProxyCommand',
  identityagent: 'IdentityAgent',
  pkcs11provider: 'PKCS11Provider',
  securitykeyprovider: 'SecurityKeyProvider (FIDO keys)',
};

/** Options the ssh2 client reads but does not apply. */
const SSH2_IGNORES = [
  'StrictHostKeyChecking',
  'ForwardAgent',
  'GlobalKnownHostsFile',
  'Ciphers',
  'MACs',
  'KexAlgorithms',
  'HostKeyAlgorithms',
  'PubkeyAcceptedAlgorithms',
  'PubkeyAcceptedKeyTypes',
  'CASignatureAlgorithms',
  'Compression',
  'LocalForward',
  'RemoteForward',
  'DynamicForward',
  'RemoteCommand',
  'RequestTTY',
  'SendEnv',
  'SetEnv',
  'ControlMaster',
  'ControlPath',
  'ControlPersist',
  'LocalCommand',
  'AddKeysToAgent',
  'UpdateHostKeys',
  'VerifyHostKeyDNS',
  'CanonicalizeHostname',
  'BindAddress',
  'AddressFamily',
];

/** Options the OpenSSH client honours in general, but crewchief sets itself. */
const OPENSSH_OVERRIDES: Record<string, string> = {
  ControlMaster: 'crewchief runs its own master per host',
  ControlPath: 'the master socket is under the session state directory',
  ControlPersist: 'the master lives as long as the session',
  RemoteCommand: 'crewchief sends its own command',
  RequestTTY: 'a terminal only when a step asks for one',
  SessionType: 'crewchief sends its own command',
  StdinNull: 'crewchief writes to stdin',
  ForkAfterAuthentication: 'the master stays in the foreground',
  BatchMode: 'crewchief never lets ssh prompt (BatchMode yes)',
  StrictHostKeyChecking: 'the profile decides (ssh.strict_host_keys)',
  LocalCommand: 'no local commands',
  PermitLocalCommand: 'no local commands',
  LocalForward: 'no forwarding (ClearAllForwardings)',
  RemoteForward: 'no forwarding (ClearAllForwardings)',
  DynamicForward: 'no forwarding (ClearAllForwardings)',
  ForwardX11: 'no X11 forwarding',
  EscapeChar: 'no escape character',
};

const has = (c: ComputedConfig, key: string): boolean => {
  const v = c[key.toLowerCase()];
  if (v === undefined) return false;
  const first = Array.isArray(v) ? v[0] : v;
  return first !== undefined && first.toLowerCase() !== 'none';
};

/** `Match … exec …` lines in the files read: never evaluated by the ssh2 client. */
function matchExec(files: readonly string[]): boolean {
  for (const file of files) {
    try {
      if (/^\s*Match\b[^\n]*\bexec\b/im.test(readFileSync(file, 'utf8'))) return true;
    } catch {
      // unreadable: nothing to say about it
    }
  }
  return false;
}

/** known_hosts lines that only OpenSSH understands (`@cert-authority`). */
export function knownHostsNeedOpenSsh(files: readonly string[]): boolean {
  for (const file of files) {
    try {
      if (/^\s*@cert-authority\s/m.test(readFileSync(file, 'utf8'))) return true;
    } catch {
      // missing: nothing in it
    }
  }
  return false;
}

export interface ClientGaps {
  /** Features only OpenSSH has, as the config names them. */
  needsOpenSsh: string[];
  /** Options this client does not honour, with why when known. */
  ignored: string[];
}

/** What the ssh2 client cannot do or ignores for one alias. */
export function ssh2Gaps(
  config: SshConfigLookup,
  alias: string,
  knownHostsFiles: readonly string[] = [],
): ClientGaps {
  const c = config.compute(alias);
  const needsOpenSsh = Object.entries(NEEDS_OPENSSH)
    .filter(([key]) => has(c, key))
    .map(([, label]) => label);
  for (const file of (c['identityfile'] ? [c['identityfile']].flat() : []).filter(Boolean)) {
    if (/(^|[/_-])sk-|_sk(\.|$)|-cert(\.pub)?$/.test(file)) {
      needsOpenSsh.push(`IdentityFile ${file} (a certificate or FIDO key)`);
    }
  }
  if (knownHostsNeedOpenSsh(knownHostsFiles)) needsOpenSsh.push('@cert-authority in known_hosts');
  const ignored = SSH2_IGNORES.filter((key) => has(c, key));
  if (matchExec(config.files)) ignored.push('Match exec (never run)');
  return {needsOpenSsh, ignored};
}

/**
 * What crewchief overrides when OpenSSH is the client, for one alias. `forced` holds the
 * values crewchief sets: a config that says the same loses nothing and is not mentioned.
 */
export function openSshGaps(
  config: SshConfigLookup,
  alias: string,
  forced: Record<string, string> = {},
): ClientGaps {
  const c = config.compute(alias);
  const value = (key: string): string | undefined => {
    const v = c[key.toLowerCase()];
    return (Array.isArray(v) ? v[0] : v)?.toLowerCase();
  };
  return {
    needsOpenSsh: [],
    ignored: Object.entries(OPENSSH_OVERRIDES)
      .filter(([key]) => has(c, key) && value(key) !== forced[key]?.toLowerCase())
      .map(([key, why]) => `${key} (${why})`),
  };
}

/** The notices for a host, said once each. */
export function gapNotices(host: string, gaps: ClientGaps, client: 'ssh2' | 'openssh'): string[] {
  const out: string[] = [];
  if (gaps.needsOpenSsh.length) {
    out.push(
      `${host}: the ssh config asks for ${gaps.needsOpenSsh.join(', ')}, which the built-in ssh client cannot do: set ssh.client: openssh in the profile`,
    );
  }
  if (gaps.ignored.length) {
    out.push(
      `${host}: ssh config options not honoured by crewchief's ${client === 'ssh2' ? 'built-in' : 'OpenSSH'} client: ${gaps.ignored.join(', ')}`,
    );
  }
  return out;
}
