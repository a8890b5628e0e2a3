/**
 * known_hosts as OpenSSH reads it: plain and hashed (`|1|salt|hmac`) names, `[host]:port`
 * for ports other than 22, comma-separated patterns with `*`, `?` and `!` negation, and
 * the `@revoked` and `@cert-authority` markers.
 *
 * The verdict is computed before any authentication (ssh2 calls the host verifier during
 * key exchange), and every refusal names the SHA256 fingerprints involved.
 */
import {createHash, createHmac, randomBytes} from 'node:crypto';
import {appendFileSync, existsSync, mkdirSync, readFileSync} from 'node:fs';
import {dirname} from 'node:path';

/** One line of a known_hosts file. */
export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** Plain patterns, or the salt and HMAC-SHA1 of a hashed name. */
  names: {patterns: string[]} | {salt: Buffer; hash: Buffer};
  keyType: string;
  key: Buffer;
  file: string;
  line: number;
}

/** What known_hosts says about the key a host presented. */
export type HostKeyVerdict =
  | {status: 'trusted'; fingerprint: string; keyType: string; where: string}
  | {status: 'unknown'; fingerprint: string; keyType: string; note?: string}
  | {
      status: 'changed';
      fingerprint: string;
      keyType: string;
      known: {keyType: string; fingerprint: string; where: string}[];
    }
  | {status: 'revoked'; fingerprint: string; keyType: string; where: string};

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type from the wire-format blob (its first string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

/** The name known_hosts stores for a host: `host`, or `[host]:port` off port 22. */
export function knownHostName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** Parses one known_hosts file's text. Lines it cannot read are skipped, as ssh does. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64) return;
    const key = Buffer.from(keyB64, 'base64');
    if (!key.length || keyTypeOf(key) !== keyType) return;
    let names: KnownHostEntry['names'];
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (!salt || !hash) return;
      names = {salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64')};
    } else {
      names = {patterns: hosts.split(',').filter(Boolean)};
    }
    entries.push({...(marker ? {marker} : {}), names, keyType, key, file, line: index + 1});
  });
  return entries;
}

/** Reads known_hosts files; missing files count as empty. */
export function loadKnownHosts(files: readonly string[]): KnownHostEntry[] {
  return files.flatMap((file) =>
    existsSync(file) ? parseKnownHosts(readFileSync(file, 'utf8'), file) : [],
  );
}

/** OpenSSH's match_pattern: `*` and `?` wildcards, case-insensitive. */
function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .toLowerCase()
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(text.toLowerCase());
}

/** Does the entry name this host? A negated pattern that matches wins over the rest. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if ('salt' in entry.names) {
    const digest = createHmac('sha1', entry.names.salt).update(name).digest();
    return digest.equals(entry.names.hash);
  }
  let matched = false;
  for (const pattern of entry.names.patterns) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

const where = (e: KnownHostEntry): string => `${e.file}:${e.line}`;

/** Judges the key `name` presented against the entries. */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  name: string,
  key: Buffer,
): HostKeyVerdict {
  const fp = fingerprint(key);
  const keyType = keyTypeOf(key);
  const forHost = entries.filter((e) => entryMatches(e, name));
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return {status: 'revoked', fingerprint: fp, keyType, where: where(revoked)};
  const plain = forHost.filter((e) => !e.marker);
  const same = plain.find((e) => e.key.equals(key));
  if (same) return {status: 'trusted', fingerprint: fp, keyType, where: where(same)};
  if (plain.length) {
    return {
      status: 'changed',
      fingerprint: fp,
      keyType,
      known: plain.map((e) => ({
        keyType: e.keyType,
        fingerprint: fingerprint(e.key),
        where: where(e),
      })),
    };
  }
  const ca = forHost.find((e) => e.marker === 'cert-authority');
  return {
    status: 'unknown',
    fingerprint: fp,
    keyType,
    ...(ca
      ? {
          note: `only a @cert-authority entry (${where(ca)}) names this host, and host certificates are not supported here: add the host key itself`,
        }
      : {}),
  };
}

/** Host key algorithms in the order ssh2 should ask for: types known for the host first. */
export function preferredHostKeyAlgorithms(
  entries: readonly KnownHostEntry[],
  name: string,
  supported: readonly string[],
): string[] {
  const known = new Set<string>();
  for (const e of entries) {
    if (e.marker || !entryMatches(e, name)) continue;
    if (e.keyType === 'ssh-rsa')
      ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].forEach((a) => known.add(a));
    else known.add(e.keyType);
  }
  const first = supported.filter((a) => known.has(a));
  return [...first, ...supported.filter((a) => !known.has(a))];
}

/** Appends an accepted key (accept-new), hashed when the ssh config says HashKnownHosts. */
export function appendKnownHost(file: string, name: string, key: Buffer, hashed: boolean): void {
  let hostField = name;
  if (hashed) {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(name).digest();
    hostField = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
  }
  mkdirSync(dirname(file), {recursive: true, mode: 0o700});
  appendFileSync(file, `${hostField} ${keyTypeOf(key)} ${key.toString('base64')}\n`, {
    mode: 0o600,
  });
}

/** A refusal, said plainly, with the fingerprints to compare out of band. */
export function describeRefusal(
  verdict: Exclude<HostKeyVerdict, {status: 'trusted'}>,
  label: string,
  files: readonly string[],
): string {
  switch (verdict.status) {
    case 'unknown':
      return (
        `Host key of ${label} is not known: the server offered ${verdict.keyType} ${verdict.fingerprint}. ` +
        `Refusing to connect (strict host key checking). Check that fingerprint out of band, then add the ` +
        `key to ${files[0] ?? 'known_hosts'}, or let the profile say strictHostKeys: accept-new` +
        (verdict.note ? `. Note: ${verdict.note}` : '') +
        '.'
      );
    case 'changed':
      return (
        `HOST KEY CHANGED for ${label}: the server offered ${verdict.keyType} ${verdict.fingerprint}, ` +
        `known_hosts has ${verdict.known
          .map((k) => `${k.keyType} ${k.fingerprint} (${k.where})`)
          .join(', ')}. Refusing to connect: someone may be intercepting the connection, or the ` +
        `host was reinstalled. Confirm the new fingerprint out of band before replacing the entry.`
      );
    case 'revoked':
      return `Host key of ${label} is REVOKED (${verdict.where}): ${verdict.keyType} ${verdict.fingerprint}. Refusing to connect.`;
  }
}
