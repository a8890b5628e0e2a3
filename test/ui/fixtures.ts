/** A small session, as journal entries, for the console's tests. */
import {EventEmitter} from 'node:events';
import {stripVTControlCharacters} from 'node:util';
import type {JournalEntry, JournalEvent, Plan} from '../../source/journal/events.js';
import {createSessionStore, type SessionStoreApi} from '../../source/store/store.js';

export const plan: Plan = {
  phases: [
    {id: 'prepare', title: '1. Prepare', applies: true, due: '2026-11-18'},
    {id: 'deploy', title: '2. Deploy', applies: true},
    {id: 'summit', title: '3. Summit only', applies: false, reason: 'only for summit'},
    {id: 'finish', title: '4. Finish', applies: true},
  ],
  steps: [
    {
      key: 'prepare/notice',
      id: 'notice',
      title: 'Send the maintenance notice',
      kind: 'manual',
      phase: 'prepare',
      applies: true,
      due: '2026-11-18',
      hash: 'a',
    },
    {
      key: 'prepare/heartbeats',
      id: 'heartbeats',
      title: 'Check heartbeats',
      kind: 'manual',
      phase: 'prepare',
      applies: false,
      reason: 'only for summit',
      hash: 'b',
    },
    {
      key: 'prepare/go-ahead',
      id: 'go-ahead',
      title: 'Daemons ready? Type go',
      kind: 'gate',
      phase: 'prepare',
      applies: true,
      hash: 'c',
    },
    {
      key: 'deploy/restart',
      id: 'restart',
      title: 'Restart the services',
      kind: 'command',
      phase: 'deploy',
      applies: true,
      danger: 'restart',
      hosts: ['alpha', 'beta'],
      hash: 'd',
    },
    {
      key: 'deploy/drain',
      id: 'drain',
      title: 'Wait until the queue drains',
      kind: 'watch',
      phase: 'deploy',
      applies: true,
      hosts: ['alpha'],
      hash: 'e',
    },
    {
      key: 'summit/extra',
      id: 'extra',
      title: 'Summit extra',
      kind: 'manual',
      phase: 'summit',
      applies: false,
      reason: 'only for summit',
      hash: 'f',
    },
    {
      key: 'finish/outcome',
      id: 'outcome',
      title: 'Did it go well?',
      kind: 'choice',
      phase: 'finish',
      applies: true,
      hash: 'g',
    },
    {
      key: 'finish/outcome/no/report',
      id: 'report',
      title: 'Report the trouble',
      kind: 'notify',
      phase: 'finish',
      applies: true,
      branch: {choice: 'finish/outcome', option: 'no'},
      hash: 'h',
    },
    {
      key: 'finish/enable',
      id: 'enable',
      title: 'Enable the CSCs',
      kind: 'manual',
      phase: 'finish',
      applies: true,
      hash: 'i',
    },
  ],
};

export const START = Date.parse('2026-11-20T10:00:00.000Z');

/** Journal entries from events, one second apart from START (or at `at` seconds). */
export class Journal {
  readonly entries: JournalEntry[] = [];
  private t = START;

  add(event: JournalEvent, afterSeconds = 1): JournalEntry {
    this.t += afterSeconds * 1000;
    const entry = {
      ...event,
      seq: this.entries.length + 1,
      time: new Date(this.t).toISOString(),
      mono: this.t - START,
    } as JournalEntry;
    this.entries.push(entry);
    return entry;
  }
}

export const opened: JournalEvent = {
  type: 'session-opened',
  session: 'demo-test-20261120T100000-abcd',
  site: 'demo',
  siteTitle: 'Demo site',
  siteFile: '/dev/null',
  profile: 'demo-test',
  profileFile: '/dev/null',
  release: '2026-11-25',
  runbookHash: 'x',
  driver: 'ana@bastion',
  version: 'test',
  transport: 'ssh',
  dryRun: false,
  plan,
  variables: {},
};

/** Events of the whole session, step by step (prefix slices make earlier moments). */
export function wholeSession(): JournalEvent[] {
  return [
    opened,
    {type: 'phase-entered', phase: 'prepare'},
    {
      type: 'prompt-shown',
      step: 'prepare/notice',
      prompt: 'manual',
      text: 'Post the notice on #ops',
    },
    {type: 'decision', step: 'prepare/notice', decision: 'tick', by: 'ana@bastion'},
    {type: 'step-finished', step: 'prepare/notice', outcome: 'done', durationMs: 3000},
    {
      type: 'prompt-shown',
      step: 'prepare/go-ahead',
      prompt: 'gate',
      text: 'The daemons say ready\nArgo CD is green',
      expects: 'go',
    },
    {type: 'decision', step: 'prepare/go-ahead', decision: 'go', by: 'ana@bastion', value: 'go'},
    {type: 'step-finished', step: 'prepare/go-ahead', outcome: 'ok', durationMs: 2000},
    {type: 'phase-entered', phase: 'deploy'},
    {
      type: 'prompt-shown',
      step: 'deploy/restart',
      prompt: 'confirm',
      text: 'DANGER: type "restart" to run "Restart the services"',
      expects: 'restart',
    },
    {
      type: 'decision',
      step: 'deploy/restart',
      decision: 'confirm',
      by: 'ana@bastion',
      value: 'restart',
    },
    {
      type: 'step-started',
      step: 'deploy/restart',
      attempt: 1,
      runs: [
        {host: 'alpha', command: 'systemctl restart app'},
        {host: 'beta', command: 'systemctl restart app'},
      ],
    },
    {
      type: 'output',
      step: 'deploy/restart',
      host: 'alpha',
      stream: 'stdout',
      text: 'stopping app\nstarting app\n',
    },
    {
      type: 'output',
      step: 'deploy/restart',
      host: 'beta',
      stream: 'stderr',
      text: 'unit app.service not found\n',
    },
    {type: 'host-finished', step: 'deploy/restart', host: 'alpha', exitCode: 0, outcome: 'ok'},
    {type: 'host-finished', step: 'deploy/restart', host: 'beta', exitCode: 5, outcome: 'failed'},
    {
      type: 'step-finished',
      step: 'deploy/restart',
      outcome: 'failed',
      exitCode: 5,
      durationMs: 1500,
    },
    {
      type: 'prompt-shown',
      step: 'deploy/restart',
      prompt: 'failed',
      text: '"Restart the services" failed. Retry, skip with a reason, mark it done, or abort.',
    },
    {
      type: 'decision',
      step: 'deploy/restart',
      decision: 'mark-done',
      by: 'ana@bastion',
      reason: 'beta has no app',
    },
    {
      type: 'step-finished',
      step: 'deploy/restart',
      outcome: 'done',
      durationMs: 9000,
      reason: 'beta has no app',
    },
    {
      type: 'step-started',
      step: 'deploy/drain',
      attempt: 1,
      runs: [{host: 'alpha', command: 'queue-length'}],
    },
    {type: 'count-sampled', step: 'deploy/drain', value: 12, target: '= 0'},
    {type: 'count-sampled', step: 'deploy/drain', value: 9, target: '= 0'},
    {type: 'count-sampled', step: 'deploy/drain', value: 9, target: '= 0'},
    {type: 'count-stalled', step: 'deploy/drain', value: 9, sinceMs: 120_000},
    {type: 'count-sampled', step: 'deploy/drain', value: 4, target: '= 0'},
    {type: 'count-sampled', step: 'deploy/drain', value: 0, target: '= 0'},
    {type: 'step-finished', step: 'deploy/drain', outcome: 'ok', durationMs: 6000, reason: '0 = 0'},
    {type: 'phase-entered', phase: 'finish'},
    {
      type: 'prompt-shown',
      step: 'finish/outcome',
      prompt: 'choice',
      text: 'Did it go well?',
      options: ['yes', 'no'],
    },
    {type: 'decision', step: 'finish/outcome', decision: 'choose', by: 'ana@bastion', value: 'yes'},
    {
      type: 'step-finished',
      step: 'finish/outcome',
      outcome: 'ok',
      durationMs: 1000,
      reason: 'chose yes',
    },
    {type: 'prompt-shown', step: 'finish/enable', prompt: 'manual', text: 'Enable the CSCs'},
    {type: 'decision', step: 'finish/enable', decision: 'tick', by: 'ana@bastion'},
    {type: 'step-finished', step: 'finish/enable', outcome: 'done', durationMs: 1000},
    {type: 'session-closed', outcome: 'finished'},
  ];
}

/** The index just after the first event matching, in `wholeSession()`. */
export function upTo(predicate: (e: JournalEvent) => boolean): number {
  const i = wholeSession().findIndex(predicate);
  if (i < 0) throw new Error('no such event');
  return i + 1;
}

/** A store holding the first `n` events of the whole session. */
export function storeAt(n: number): {store: SessionStoreApi; journal: Journal} {
  const journal = new Journal();
  for (const e of wholeSession().slice(0, n)) journal.add(e);
  const store = createSessionStore();
  store.getState().applyMany(journal.entries);
  return {store, journal};
}

/** Plain text of a frame: no escape sequences. */
export const plain = (frame: string | undefined): string => stripVTControlCharacters(frame ?? '');

interface Rendered {
  stdout: EventEmitter & {write: (frame: string) => void; lastFrame: () => string | undefined};
  lastFrame: () => string | undefined;
}

/**
 * Waits until the last frame (escapes stripped) satisfies `test`, checking at every
 * frame Ink writes: no sleeping. Fails on timeout with the last frame, and on an empty one.
 */
export function frame(
  r: Rendered,
  test: (text: string) => boolean = () => true,
  timeoutMs = 3000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const original = r.stdout.write;
    let done = false;
    const finish = (error?: Error, text?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      r.stdout.write = original;
      if (error) reject(error);
      else resolve(text!);
    };
    const check = (): void => {
      const text = plain(r.lastFrame());
      if (text.trim() && test(text)) finish(undefined, text);
    };
    const timer = setTimeout(() => {
      const text = plain(r.lastFrame());
      finish(
        new Error(
          text.trim()
            ? `no frame matched in ${timeoutMs} ms; the last was:\n${text}`
            : 'the console drew nothing (empty frame)',
        ),
      );
    }, timeoutMs);
    r.stdout.write = (f: string) => {
      original(f);
      check();
    };
    check();
  });
}

/** Lines of a frame. */
export const linesOf = (text: string): string[] => text.replace(/\n$/, '').split('\n');

/** Ink subscribes to keys in an effect after the frame is drawn: let that run first. */
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Types into the console once its input handlers are listening. */
export async function press(
  r: {stdin: {write: (s: string) => void}},
  ...data: string[]
): Promise<void> {
  for (const d of data) {
    await tick();
    r.stdin.write(d);
  }
}
