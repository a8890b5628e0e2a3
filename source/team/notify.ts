/**
 * Chat notifications a profile subscribes to: a phase started, a step failed, the session
 * waited for the driver too long, the session finished, the driver changed. Posted to a
 * Slack-compatible incoming webhook (`{text, channel}`), one at a time and in order. A
 * post that fails or hangs never holds the session: it is journaled and shown. A "later"
 * (429/503, Retry-After) is retried a few times; HTTPS_PROXY/NO_PROXY apply (transport/webhook).
 */
import type {JournalEntry} from '../journal/events.js';
import {formatDuration} from '../runbook/duration.js';
import type {TeamNotifyEvent as NotifyEvent} from '../runbook/profile.js';
import {postWebhook} from '../transport/webhook.js';

export interface NotifierOptions {
  /** The webhook URL (a secret's value: never journaled). */
  url: string;
  channel?: string;
  events: readonly NotifyEvent[];
  /** Post `waiting` after the driver has not answered a prompt for this long. */
  waitingMs: number;
  /** A post that takes longer is abandoned (and journaled as failed). */
  timeoutMs: number;
  /** Journals what happened to a post. */
  report: (level: 'info' | 'warn', text: string) => void;
  /** Masks secrets in error messages. */
  redact: (text: string) => string;
  fetch?: typeof fetch;
  /** Proxy settings (default process.env: HTTPS_PROXY, HTTP_PROXY, NO_PROXY). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Waits between retries (tests inject one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  /** Extra trusted certificates (tests with a self-signed webhook). */
  ca?: string;
}

export class Notifier {
  private titles = new Map<string, string>();
  private phases = new Map<string, string>();
  private name = '';
  private driver = '';
  private waiting: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly events: ReadonlySet<NotifyEvent>;
  private readonly inFlight = new Set<AbortController>();

  constructor(private readonly options: NotifierOptions) {
    this.events = new Set(options.events);
  }

  /** Learns titles and the driver from entries already journaled (resume), posting nothing. */
  prime(entries: readonly JournalEntry[]): void {
    for (const e of entries) this.learn(e);
  }

  /** Looks at each entry as it is journaled. */
  onEntry(e: JournalEntry): void {
    this.learn(e);
    switch (e.type) {
      case 'phase-entered':
        this.post('phase-started', `phase "${this.phases.get(e.phase) ?? e.phase}" started`);
        break;
      case 'step-finished':
        this.stopWaiting();
        if (e.outcome === 'failed' || e.outcome === 'timed-out' || e.outcome === 'unknown') {
          this.post(
            'step-failed',
            `step "${this.title(e.step)}" ${e.outcome === 'failed' ? 'failed' : e.outcome === 'timed-out' ? 'timed out' : 'ended with an unknown outcome'}${e.exitCode !== undefined && e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}${e.reason ? `: ${e.reason}` : ''}; waiting for ${this.driver}`,
          );
        }
        break;
      case 'prompt-shown':
        this.stopWaiting();
        if (this.events.has('waiting')) {
          const waited = formatDuration(this.options.waitingMs);
          this.waiting = setTimeout(
            () =>
              this.post(
                'waiting',
                `waiting for the driver (${this.driver}) for ${waited} at "${this.title(e.step)}"`,
              ),
            this.options.waitingMs,
          );
          this.waiting.unref();
        }
        break;
      case 'decision':
        this.stopWaiting();
        if (e.decision === 'hand-over')
          this.post(
            'hand-over',
            `${e.by} handed over${e.value ? ` to ${e.value}` : ''}${e.reason ? `: ${e.reason}` : ''}`,
          );
        else if (e.decision === 'take-over')
          this.post('hand-over', `${e.by} took over${e.reason ? `: ${e.reason}` : ''}`);
        break;
      case 'step-started':
        this.stopWaiting();
        break;
      case 'session-closed':
        this.stopWaiting();
        this.post(
          'finished',
          `session ${e.outcome}${e.reason ? `: ${e.reason}` : ''} (driver ${this.driver})`,
        );
        break;
      default:
        break;
    }
  }

  /** Waits for the posts under way (each bounded by its timeout); stops the waiting timer. */
  async settle(): Promise<void> {
    this.stopWaiting();
    await this.chain;
  }

  private learn(e: JournalEntry): void {
    if (e.type === 'session-opened') {
      this.name = `${e.siteTitle} · ${e.profile}`;
      this.driver = e.driver;
      for (const s of e.plan.steps) this.titles.set(s.key, s.title);
      for (const p of e.plan.phases) this.phases.set(p.id, p.title);
    } else if (e.type === 'session-resumed') this.driver = e.driver;
  }

  private title(key: string): string {
    return this.titles.get(key) ?? key;
  }

  private stopWaiting(): void {
    clearTimeout(this.waiting);
    this.waiting = undefined;
  }

  private post(kind: NotifyEvent, what: string): void {
    if (!this.events.has(kind)) return;
    // The journal's redaction again: a title or reason composed here passes it too.
    const text = this.options.redact(`[${this.name}] ${what}`);
    const where = this.options.channel ?? 'the webhook';
    this.chain = this.chain.then(async () => {
      const controller = new AbortController();
      this.inFlight.add(controller);
      try {
        const answer = await postWebhook(
          this.options.url,
          {text, ...(this.options.channel ? {channel: this.options.channel} : {})},
          {
            signal: controller.signal,
            timeoutMs: this.options.timeoutMs,
            ...(this.options.fetch ? {fetch: this.options.fetch} : {}),
            ...(this.options.env ? {env: this.options.env} : {}),
            ...(this.options.sleep ? {sleep: this.options.sleep} : {}),
            ...(this.options.ca ? {ca: this.options.ca} : {}),
          },
        );
        if (!answer.ok)
          throw new Error(
            `the webhook answered ${answer.status}${answer.attempts > 1 ? ` (${answer.attempts} attempts)` : ''}`,
          );
        this.options.report(
          'info',
          `notified ${where} (${kind}): ${what}${answer.attempts > 1 ? ` (after ${answer.attempts} attempts)` : ''}`,
        );
      } catch (error) {
        this.options.report(
          'warn',
          this.options.redact(
            `could not notify ${where} (${kind}: ${what}): ${(error as Error).message}; the session goes on`,
          ),
        );
      } finally {
        this.inFlight.delete(controller);
      }
    });
  }
}
