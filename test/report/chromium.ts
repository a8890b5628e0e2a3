/**
 * A small DevTools-protocol client for Debian's headless Chromium, over
 * --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON): no WebSocket, no
 * browser download. Loads a page, records console errors, exceptions and every
 * network request, evaluates expressions, takes a screenshot and prints to PDF.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {Readable, Writable} from 'node:stream';

export const chromiumPath = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: {message: string};
  sessionId?: string;
}

export interface PageProblems {
  consoleErrors: string[];
  exceptions: string[];
  /** Requests to anything but the page itself (file:) or inline data (data:). */
  requests: string[];
}

export class Chromium {
  private nextId = 1;
  private pending = new Map<number, {resolve: (m: Message) => void; reject: (e: Error) => void}>();
  private waiters: {method: string; resolve: (m: Message) => void}[] = [];
  private buffer = '';
  private sessionId: string | undefined;
  readonly problems: PageProblems = {consoleErrors: [], exceptions: [], requests: []};

  private constructor(
    private readonly child: ChildProcess,
    private readonly userDataDir: string,
  ) {
    const output = child.stdio[4] as Readable;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 1);
        this.onMessage(JSON.parse(text) as Message);
      }
    });
    child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('chromium exited'));
      this.pending.clear();
    });
  }

  static async launch(): Promise<Chromium> {
    if (!fs.existsSync(chromiumPath))
      throw new Error(
        `${chromiumPath} is missing: apt-get install -y chromium (.ci/run installs it)`,
      );
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-chromium-'));
    const child = spawn(
      chromiumPath,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-dev-shm-usage',
        `--user-data-dir=${userDataDir}`,
        '--remote-debugging-pipe',
        'about:blank',
      ],
      {stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe']},
    );
    const browser = new Chromium(child, userDataDir);
    const {targetId} = (await browser.send('Target.createTarget', {url: 'about:blank'})) as {
      targetId: string;
    };
    const {sessionId} = (await browser.send('Target.attachToTarget', {
      targetId,
      flatten: true,
    })) as {sessionId: string};
    browser.sessionId = sessionId;
    await Promise.all(
      ['Runtime.enable', 'Log.enable', 'Page.enable', 'Network.enable'].map((m) => browser.send(m)),
    );
    return browser;
  }

  private onMessage(m: Message): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m);
      return;
    }
    const params = m.params ?? {};
    if (m.method === 'Runtime.consoleAPICalled' && params['type'] === 'error')
      this.problems.consoleErrors.push(JSON.stringify(params['args']));
    if (m.method === 'Runtime.exceptionThrown')
      this.problems.exceptions.push(JSON.stringify(params['exceptionDetails']));
    if (m.method === 'Log.entryAdded') {
      const entry = params['entry'] as {level: string; text: string; url?: string};
      if (entry.level === 'error')
        this.problems.consoleErrors.push(`${entry.text} ${entry.url ?? ''}`);
    }
    if (m.method === 'Network.requestWillBeSent') {
      const url = (params['request'] as {url: string}).url;
      if (!/^(file|data|about):/.test(url)) this.problems.requests.push(url);
    }
    for (const w of this.waiters.filter((w) => w.method === m.method)) w.resolve(m);
    this.waiters = this.waiters.filter((w) => w.method !== m.method);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const message: Message = {
      id,
      method,
      params,
      ...(this.sessionId ? {sessionId: this.sessionId} : {}),
    };
    if (method.startsWith('Target.') || method.startsWith('Browser.')) delete message.sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve: (m) => resolve(m.result ?? {}), reject});
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(message)}\0`);
    });
  }

  private next(method: string): Promise<Message> {
    return new Promise((resolve) => this.waiters.push({method, resolve}));
  }

  /** Opens a page and waits for its load event. */
  async load(file: string): Promise<void> {
    const loaded = this.next('Page.loadEventFired');
    await this.send('Page.navigate', {url: `file://${path.resolve(file)}`});
    await loaded;
  }

  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.send('Runtime.evaluate', {expression, returnByValue: true})) as {
      result: {value: T};
      exceptionDetails?: unknown;
    };
    if (result.exceptionDetails) throw new Error(JSON.stringify(result.exceptionDetails));
    return result.result.value;
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Buffer> {
    const {data} = (await this.send('Page.captureScreenshot', {
      format: 'png',
      captureBeyondViewport: true,
    })) as {data: string};
    return Buffer.from(data, 'base64');
  }

  /** The page printed to PDF (A4), as a reader would print it. */
  async pdf(): Promise<Buffer> {
    const {data} = (await this.send('Page.printToPDF', {
      paperWidth: 8.27,
      paperHeight: 11.69,
      printBackground: true,
    })) as {data: string};
    return Buffer.from(data, 'base64');
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.send('Browser.close').catch(() => {});
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    fs.rmSync(this.userDataDir, {recursive: true, force: true});
  }
}
