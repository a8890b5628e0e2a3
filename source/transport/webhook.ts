/**
 * One webhook post, the way a bastion needs it: through the proxy the environment names
 * (`HTTPS_PROXY`/`HTTP_PROXY`, skipped for hosts in `NO_PROXY`; https goes through an HTTP
 * CONNECT tunnel) and retried with backoff when the server says "later" (429, 502, 503,
 * 504, honouring `Retry-After` in seconds or as an HTTP date) or the connection fails.
 * Bounded: a few attempts, and never a wait longer than `maxWaitMs`.
 */
import type {ClientRequest} from 'node:http';

export interface WebhookAnswer {
  status: number;
  ok: boolean;
  /** How many attempts it took. */
  attempts: number;
}

export interface PostOptions {
  /** Aborts the post (all attempts). */
  signal?: AbortSignal;
  /** Each attempt is abandoned after this long (not retried: a hung server stays hung). */
  timeoutMs?: number;
  /** At most this many attempts (default 4). */
  attempts?: number;
  /** Backoff before the second attempt when the server gives no Retry-After (doubles). */
  backoffMs?: number;
  /** A Retry-After longer than this gives up instead of holding the posts behind it. */
  maxWaitMs?: number;
  /** Where the proxy settings come from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Waits between attempts (tests inject one that does not wait). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A fetch to use instead of node:http (tests; proxies are then not applied). */
  fetch?: typeof fetch;
  /** Extra trusted certificates for https (tests with a self-signed server). */
  ca?: string;
  /** Called before each retry, with the reason and the wait. */
  onRetry?: (attempt: number, reason: string, waitMs: number) => void;
}

/** 500ms, 10s, 2m30s: as the rest of the console writes durations. */
const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/** The wait a `Retry-After` header asks for, in ms, or undefined when absent or unreadable. */
export function retryAfterMs(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const when = Date.parse(text);
  return Number.isNaN(when) ? undefined : Math.max(0, when - now);
}

/** The proxy URL for `target` per HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case), if any. */
export function proxyFor(
  target: URL,
  env: Readonly<Record<string, string | undefined>> = process.env,
): URL | undefined {
  const get = (name: string): string | undefined =>
    env[name] ?? env[name.toLowerCase()] ?? undefined;
  const raw =
    target.protocol === 'https:' ? (get('HTTPS_PROXY') ?? get('HTTP_PROXY')) : get('HTTP_PROXY');
  if (!raw) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const entry of (get('NO_PROXY') ?? '').split(/[\s,]+/)) {
    const item = entry.trim().toLowerCase();
    if (!item) continue;
    if (item === '*') return undefined;
    const [name = '', onlyPort] = item.startsWith('[')
      ? [item.slice(1, item.indexOf(']')), item.split(']:')[1]]
      : item.split(':');
    if (onlyPort && onlyPort !== port) continue;
    const bare = name.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return undefined;
  }
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new Error(`the proxy setting "${raw}" is not a URL`);
  }
}

const sleeping = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      {once: true},
    );
  });

class Abandoned extends Error {}

/** Posts `body` (JSON) to `url`, with proxy and retries; throws when it could not. */
export async function postWebhook(
  url: string,
  body: unknown,
  options: PostOptions = {},
): Promise<WebhookAnswer> {
  const attempts = Math.max(1, options.attempts ?? 4);
  const maxWait = options.maxWaitMs ?? 60_000;
  let backoff = options.backoffMs ?? 1000;
  const sleep = options.sleep ?? sleeping;
  const payload = JSON.stringify(body);
  for (let attempt = 1; ; attempt++) {
    let reason: string;
    let wait = backoff;
    try {
      const answer = await once(url, payload, options);
      if (answer.ok || !RETRY_STATUS.has(answer.status) || attempt >= attempts)
        return {status: answer.status, ok: answer.ok, attempts: attempt};
      reason = `the webhook answered ${answer.status}`;
      const asked = retryAfterMs(answer.retryAfter);
      if (asked !== undefined) {
        if (asked > maxWait) return {status: answer.status, ok: false, attempts: attempt};
        wait = asked;
      }
    } catch (error) {
      if (error instanceof Abandoned || options.signal?.aborted || attempt >= attempts) throw error;
      reason = (error as Error).message;
    }
    options.onRetry?.(attempt, reason, wait);
    await sleep(wait, options.signal);
    backoff = Math.min(backoff * 2, maxWait);
  }
}

interface Raw {
  status: number;
  ok: boolean;
  retryAfter: string | undefined;
}

async function once(url: string, payload: string, options: PostOptions): Promise<Raw> {
  const controller = new AbortController();
  const signals = [controller.signal, ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    if (options.fetch) {
      const response = await options.fetch(url, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: payload,
        signal,
      });
      await response.body?.cancel().catch(() => {});
      return {
        status: response.status,
        ok: response.ok,
        retryAfter: response.headers.get('retry-after') ?? undefined,
      };
    }
    return await viaNode(new URL(url), payload, signal, options);
  } catch (error) {
    if (controller.signal.aborted && options.timeoutMs !== undefined)
      throw new Abandoned(`no answer within ${formatDuration(options.timeoutMs)}`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function viaNode(
  target: URL,
  payload: string,
  signal: AbortSignal,
  options: PostOptions,
): Promise<Raw> {
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new Error(`the webhook URL must be http or https, not ${target.protocol}`);
  // Loaded at the first post: they are a few ms of every console's start-up otherwise.
  const [{default: http}, {default: https}, {default: tls}] = await Promise.all([
    import('node:http'),
    import('node:https'),
    import('node:tls'),
  ]);
  const proxy = proxyFor(target, options.env ?? process.env);
  const secure = target.protocol === 'https:';
  const port = Number(target.port || (secure ? 443 : 80));
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    host: target.host,
  };
  return new Promise<Raw>((resolve, reject) => {
    const fail = (error: Error): void => reject(error);
    if (signal.aborted) return fail(new Error('aborted'));
    const send = (request: ClientRequest): void => {
      const abort = (): void => void request.destroy(new Error('aborted'));
      signal.addEventListener('abort', abort, {once: true});
      request.on('error', fail);
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => signal.removeEventListener('abort', abort));
        const status = response.statusCode ?? 0;
        const after = response.headers['retry-after'];
        resolve({status, ok: status >= 200 && status < 300, retryAfter: after});
      });
      request.end(payload);
    };
    const path = `${target.pathname}${target.search}`;
    if (!proxy) {
      const lib = secure ? https : http;
      send(
        lib.request({
          method: 'POST',
          hostname: target.hostname,
          port,
          path,
          headers,
          agent: false,
          ...(options.ca ? {ca: options.ca} : {}),
        }),
      );
      return;
    }
    const auth = proxy.username
      ? {
          'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`,
        }
      : {};
    const proxyPort = Number(proxy.port || 80);
    if (!secure) {
      // Plain http through the proxy: the absolute URL as the request target.
      send(
        http.request({
          method: 'POST',
          hostname: proxy.hostname,
          port: proxyPort,
          path: target.href,
          headers: {...headers, ...auth},
          agent: false,
        }),
      );
      return;
    }
    const connect = http.request({
      method: 'CONNECT',
      hostname: proxy.hostname,
      port: proxyPort,
      path: `${target.hostname}:${port}`,
      headers: {host: `${target.hostname}:${port}`, ...auth},
      agent: false,
    });
    const abortConnect = (): void => void connect.destroy(new Error('aborted'));
    signal.addEventListener('abort', abortConnect, {once: true});
    connect.on('error', (error) => fail(new Error(`the proxy ${proxy.host}: ${error.message}`)));
    connect.on('connect', (response, socket) => {
      signal.removeEventListener('abort', abortConnect);
      if (response.statusCode !== 200) {
        socket.destroy();
        return fail(
          new Error(`the proxy ${proxy.host} refused the tunnel (${response.statusCode})`),
        );
      }
      // TLS inside the tunnel, then the request over it.
      const secured = tls.connect({
        socket,
        host: target.hostname,
        ...(/^[\d.:]+$/.test(target.hostname) ? {} : {servername: target.hostname}),
        ...(options.ca ? {ca: options.ca} : {}),
      });
      secured.on('error', fail);
      send(
        http.request({
          method: 'POST',
          path,
          headers,
          createConnection: () => secured,
        }),
      );
    });
    connect.end();
  });
}
