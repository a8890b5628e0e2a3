/**
 * Webhook posts against local servers on loopback: a server that says "later" (429/503
 * with Retry-After in seconds or as an HTTP date) gets the post again after the wait it
 * asked for, a bounded number of times; posts go through the proxy HTTPS_PROXY/HTTP_PROXY
 * names (an HTTP CONNECT tunnel for https) unless NO_PROXY lists the host. The waits are
 * injected, so nothing here waits real seconds.
 */
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {Notifier} from '../../source/team/notify.js';
import {postWebhook, proxyFor, retryAfterMs} from '../../source/transport/webhook.js';
import {tempDir} from '../helpers/fixtures.js';
import {runCleanups} from './helpers.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

interface Answer {
  status: number;
  headers?: Record<string, string>;
}

type Handler = http.RequestListener;

/** A webhook that answers each post with the next of `answers` (the last repeats). */
function answering(answers: Answer[], bodies: string[]): Handler {
  let n = 0;
  return (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      const a = answers[Math.min(n++, answers.length - 1)]!;
      res.writeHead(a.status, {'content-type': 'text/plain', ...a.headers}).end('x');
    });
  };
}

async function listen(server: http.Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A tiny forward proxy: CONNECT tunnels and absolute-form http requests; records both. */
async function proxy(): Promise<{url: string; seen: string[]}> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const upstream = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  const sockets = new Set<net.Socket>();
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(client).add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  const port = await listen(server);
  cleanup.push(() => sockets.forEach((s) => s.destroy()));
  return {url: `http://127.0.0.1:${port}`, seen};
}

/** A self-signed certificate for 127.0.0.1. */
function certificate(): {key: string; cert: string} {
  const dir = tempDir('cc-cert-');
  cleanup.push(() => fs.rmSync(dir, {recursive: true, force: true}));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    {stdio: 'ignore'},
  );
  return {key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8')};
}

const noProxy = {};

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-12-02T04:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs('Wed, 02 Dec 2026 04:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 02 Dec 2026 03:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('webhook retries', () => {
  it('posts again after the wait a 429 and a 503 ask for, then succeeds', async () => {
    const bodies: string[] = [];
    const later = new Date(Date.now() + 20_000).toUTCString();
    const port = await listen(
      http.createServer(
        answering(
          [
            {status: 429, headers: {'retry-after': '7'}},
            {status: 503, headers: {'retry-after': later}},
            {status: 200},
          ],
          bodies,
        ),
      ),
    );
    const waits: number[] = [];
    const answer = await postWebhook(
      `http://127.0.0.1:${port}/hook`,
      {text: 'hello'},
      {env: noProxy, sleep: async (ms) => void waits.push(ms)},
    );
    expect(answer).toEqual({status: 200, ok: true, attempts: 3});
    expect(bodies).toEqual(Array(3).fill('{"text":"hello"}'));
    expect(waits[0]).toBe(7000);
    // The HTTP date, less the little time the first attempts took.
    expect(waits[1]).toBeGreaterThan(15_000);
    expect(waits[1]).toBeLessThanOrEqual(20_000);
  });

  it('gives up after four attempts, backing off when no Retry-After is given', async () => {
    const bodies: string[] = [];
    const port = await listen(http.createServer(answering([{status: 503}], bodies)));
    const waits: number[] = [];
    const answer = await postWebhook(
      `http://127.0.0.1:${port}/hook`,
      {text: 'x'},
      {env: noProxy, sleep: async (ms) => void waits.push(ms)},
    );
    expect(answer).toEqual({status: 503, ok: false, attempts: 4});
    expect(bodies).toHaveLength(4);
    expect(waits).toEqual([1000, 2000, 4000]);
  });

  it('does not retry a 500, nor hold the posts behind a Retry-After of an hour', async () => {
    const bodies: string[] = [];
    const port = await listen(
      http.createServer(
        answering([{status: 500}, {status: 429, headers: {'retry-after': '3600'}}], bodies),
      ),
    );
    const sleep = async (): Promise<void> => {
      throw new Error('should not wait');
    };
    const url = `http://127.0.0.1:${port}/hook`;
    expect(await postWebhook(url, {}, {env: noProxy, sleep})).toMatchObject({
      status: 500,
      attempts: 1,
    });
    expect(await postWebhook(url, {}, {env: noProxy, sleep})).toMatchObject({
      status: 429,
      attempts: 1,
    });
  });

  it('retries a refused connection, then says why it failed', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const waits: number[] = [];
    await expect(
      postWebhook(
        `http://127.0.0.1:${port}/hook`,
        {},
        {env: noProxy, attempts: 2, sleep: async (ms) => void waits.push(ms)},
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(waits).toEqual([1000]);
  });

  it('the notifier journals a post that needed retries, in order with the next', async () => {
    const bodies: string[] = [];
    const port = await listen(
      http.createServer(
        answering([{status: 429, headers: {'retry-after': '2'}}, {status: 200}], bodies),
      ),
    );
    const reports: string[] = [];
    const waits: number[] = [];
    const notifier = new Notifier({
      url: `http://127.0.0.1:${port}/hook`,
      channel: '#ops',
      events: ['finished'],
      waitingMs: 60_000,
      timeoutMs: 5_000,
      report: (level, text) => reports.push(`${level}: ${text}`),
      redact: (t) => t,
      env: noProxy,
      sleep: async (ms) => void waits.push(ms),
    });
    notifier.onEntry({
      type: 'session-closed',
      outcome: 'finished',
    } as unknown as JournalEntry);
    await notifier.settle();
    expect(waits).toEqual([2000]);
    expect(bodies).toHaveLength(2);
    expect(JSON.parse(bodies[1]!)).toMatchObject({channel: '#ops'});
    expect(reports).toEqual([expect.stringMatching(/^info: notified #ops .*after 2 attempts/)]);
  });
});

describe('webhook proxies', () => {
  it('tunnels https through the CONNECT proxy HTTPS_PROXY names', async () => {
    const {key, cert} = certificate();
    const bodies: string[] = [];
    const target = https.createServer({key, cert}, answering([{status: 200}], bodies));
    const port = await listen(target);
    const {url, seen} = await proxy();
    const answer = await postWebhook(
      `https://127.0.0.1:${port}/hooks/secret`,
      {text: 'via proxy'},
      {env: {HTTPS_PROXY: url}, ca: cert},
    );
    expect(answer.ok).toBe(true);
    expect(seen).toEqual([`CONNECT 127.0.0.1:${port}`]);
    expect(bodies).toEqual(['{"text":"via proxy"}']);
  });

  it('sends plain http through HTTP_PROXY, and NO_PROXY bypasses it', async () => {
    const bodies: string[] = [];
    const port = await listen(http.createServer(answering([{status: 200}], bodies)));
    const {url, seen} = await proxy();
    const hook = `http://127.0.0.1:${port}/hook`;
    expect((await postWebhook(hook, {n: 1}, {env: {http_proxy: url}})).ok).toBe(true);
    expect(seen).toEqual([`POST ${hook}`]);
    expect(
      (await postWebhook(hook, {n: 2}, {env: {HTTP_PROXY: url, NO_PROXY: 'localhost,127.0.0.1'}}))
        .ok,
    ).toBe(true);
    expect(seen).toHaveLength(1);
    expect(bodies).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('matches NO_PROXY by domain suffix, port and *', () => {
    const env = {HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '.internal, hooks.example.com:8443'};
    expect(proxyFor(new URL('https://hooks.slack.com/x'), env)?.href).toBe(
      'http://proxy.corp:3128/',
    );
    expect(proxyFor(new URL('https://chat.internal/x'), env)).toBeUndefined();
    expect(proxyFor(new URL('https://hooks.example.com:8443/x'), env)).toBeUndefined();
    expect(proxyFor(new URL('https://hooks.example.com/x'), env)).toBeDefined();
    expect(proxyFor(new URL('https://a.b/x'), {...env, NO_PROXY: '*'})).toBeUndefined();
    expect(proxyFor(new URL('http://a.b/x'), {HTTPS_PROXY: 'p:1'})).toBeUndefined();
  });
});
