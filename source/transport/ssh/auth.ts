/**
 * Public-key authentication in OpenSSH's order: the agent first, with the keys the config
 * names (IdentityFile) offered before its other keys, so a full agent does not exhaust
 * sshd's MaxAuthTries ("Too many authentication failures"); then the key files, asking
 * for a passphrase through the console when a file is encrypted and the agent does not
 * hold it. Passphrases and key material never leave this module.
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import ssh2 from 'ssh2';
import type {AnyAuthMethod, AuthHandlerMiddleware, ParsedKey} from 'ssh2';

const {utils, OpenSSHAgent, BaseAgent} = ssh2;

/** Asks the driver for a key's passphrase. Rejects or resolves '' to skip the key. */
export type AskPassphrase = (keyPath: string) => Promise<string>;

export interface AuthPlan {
  user: string;
  /** Key files in the order to offer them (config-named first). */
  identityFiles: readonly string[];
  /** IdentitiesOnly: offer only agent keys that match the identity files. */
  identitiesOnly: boolean;
  /** The agent's socket, or undefined for no agent. */
  agentSocket: string | undefined;
  askPassphrase?: AskPassphrase;
  /** Called while a passphrase prompt is open, so connect timeouts can pause. */
  onPrompt?: (open: boolean) => void;
}

/** What was tried, for the error message when nothing worked (no secrets). */
export interface AuthReport {
  tried: string[];
}

const isSocket = (path: string): boolean => {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
};

/** The public half of an identity file: from `FILE.pub`, or from the key if unencrypted. */
function publicBlobOf(file: string): Buffer | undefined {
  for (const candidate of [`${file}.pub`, file]) {
    if (!existsSync(candidate)) continue;
    try {
      const parsed = utils.parseKey(readFileSync(candidate));
      if (!(parsed instanceof Error)) return parsed.getPublicSSH();
    } catch {
      // unreadable: skip
    }
  }
  return undefined;
}

/** Wraps the agent so the preferred keys come first (and only them with IdentitiesOnly). */
class OrderedAgent extends BaseAgent<ParsedKey> {
  readonly offered: Buffer[] = [];
  constructor(
    private readonly inner: InstanceType<typeof OpenSSHAgent>,
    private readonly preferred: readonly Buffer[],
    private readonly only: boolean,
  ) {
    super();
  }
  getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    this.inner.getIdentities((err, entries) => {
      if (err || !entries) {
        cb(err ?? new Error('agent returned no keys'));
        return;
      }
      const keys = entries.filter((k): k is ParsedKey => 'getPublicSSH' in k);
      const rank = (k: ParsedKey): number => {
        const blob = k.getPublicSSH();
        const i = this.preferred.findIndex((p) => p.equals(blob));
        return i < 0 ? this.preferred.length : i;
      };
      let ordered = [...keys].sort((a, b) => rank(a) - rank(b));
      if (this.only) ordered = ordered.filter((k) => rank(k) < this.preferred.length);
      this.offered.push(...ordered.map((k) => k.getPublicSSH()));
      cb(undefined, ordered);
    });
  }
  sign(
    pubKey: ParsedKey,
    data: Buffer,
    options: unknown,
    cb?: (err: Error | undefined, signature?: Buffer) => void,
  ): void {
    const callback = typeof options === 'function' ? options : cb;
    const opts = typeof options === 'object' && options !== null ? options : {};
    this.inner.sign(pubKey, data, opts, callback as never);
  }
  getStream(cb: Parameters<InstanceType<typeof OpenSSHAgent>['getStream']>[0]): void {
    this.inner.getStream(cb);
  }
}

const looksEncrypted = (error: Error): boolean => /passphrase|encrypt|decrypt/i.test(error.message);

/** Reads a key file, asking for its passphrase when it is encrypted (three tries). */
async function loadKey(
  file: string,
  plan: AuthPlan,
  report: AuthReport,
): Promise<ParsedKey | undefined> {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined;
  }
  const parsed = utils.parseKey(data);
  if (!(parsed instanceof Error)) return parsed.isPrivateKey() ? parsed : undefined;
  if (!looksEncrypted(parsed)) {
    report.tried.push(`${file} (unreadable key)`);
    return undefined;
  }
  if (!plan.askPassphrase) {
    report.tried.push(`${file} (encrypted, no passphrase prompt)`);
    return undefined;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    let passphrase: string;
    plan.onPrompt?.(true);
    try {
      passphrase = await plan.askPassphrase(file);
    } catch {
      report.tried.push(`${file} (passphrase not given)`);
      return undefined;
    } finally {
      plan.onPrompt?.(false);
    }
    if (!passphrase) {
      report.tried.push(`${file} (passphrase not given)`);
      return undefined;
    }
    const key = utils.parseKey(data, passphrase);
    if (!(key instanceof Error)) return key;
  }
  report.tried.push(`${file} (wrong passphrase)`);
  return undefined;
}

/** Builds ssh2's authHandler for the plan; `report` collects what was offered. */
export function makeAuthHandler(plan: AuthPlan, report: AuthReport): AuthHandlerMiddleware {
  const preferred = plan.identityFiles
    .map(publicBlobOf)
    .filter((b): b is Buffer => b !== undefined);
  let agent: OrderedAgent | undefined;
  const steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
  if (plan.agentSocket && isSocket(plan.agentSocket)) {
    const socket = plan.agentSocket;
    steps.push(async () => {
      agent = new OrderedAgent(new OpenSSHAgent(socket), preferred, plan.identitiesOnly);
      report.tried.push('ssh-agent');
      return {type: 'agent', username: plan.user, agent};
    });
  }
  for (const file of plan.identityFiles) {
    steps.push(async () => {
      if (!existsSync(file)) return undefined;
      // The agent already offered this key: no point asking for its passphrase.
      const blob = publicBlobOf(file);
      if (blob && agent?.offered.some((k) => k.equals(blob))) return undefined;
      const key = await loadKey(file, plan, report);
      if (!key) return undefined;
      report.tried.push(file);
      return {type: 'publickey', username: plan.user, key};
    });
  }
  let index = 0;
  return (authsLeft, _partial, next) => {
    // authsLeft is null on the first call; after that, what the server still accepts.
    const left = authsLeft as readonly string[] | null;
    const canPublicKey = left === null || left.includes('publickey');
    const advance = async (): Promise<AnyAuthMethod | undefined> => {
      while (canPublicKey && index < steps.length) {
        const step = steps[index++];
        const method = step ? await step() : undefined;
        if (method) return method;
      }
      return undefined;
    };
    advance().then(
      (method) => next((method ?? false) as AnyAuthMethod),
      () => next(false as unknown as AnyAuthMethod),
    );
  };
}
