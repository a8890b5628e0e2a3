import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it, vi} from 'vitest';
import type {DriverEvent} from '../../source/engine/machine.js';
import type {JournalEvent} from '../../source/journal/events.js';
import {App, type AppProps} from '../../source/ui/app.js';
import {helpLines} from '../../source/ui/components/help.js';
import {bindings, type KeyContext} from '../../source/ui/keys.js';
import {frame, linesOf, press, storeAt, upTo, wholeSession} from './fixtures.js';

afterEach(() => cleanup());

/** The index just after the first event of `type` (for `step`). */
const after = (type: JournalEvent['type'], where?: string): number =>
  upTo(
    (e) =>
      e.type === type &&
      (!where || ('step' in e && e.step === where) || ('phase' in e && e.phase === where)),
  );

const SMALL = {rows: 24, columns: 80};
const LARGE = {rows: 50, columns: 200};

function show(n: number, props: Partial<AppProps> = {}) {
  const {store, journal} = storeAt(n);
  const decisions: DriverEvent[] = [];
  const r = render(
    <App
      store={store}
      mode="live"
      size={SMALL}
      cadenceMs={0}
      guardMs={0}
      pasteGapMs={0}
      theme={{colour: false}}
      onDecision={(e) => {
        decisions.push(e);
        return true;
      }}
      {...props}
    />,
  );
  return {r, store, journal, decisions};
}

const ESC = '\u001b';
const keys = {
  enter: '\r',
  esc: ESC,
  tab: '\t',
  up: `${ESC}[A`,
  down: `${ESC}[B`,
  right: `${ESC}[C`,
  pageUp: `${ESC}[5~`,
  ctrlL: '\u000c',
  ctrlX: '\u0018',
};

describe('the layout', () => {
  it('is never as tall as the terminal, at any moment of a session, at 80×24 and 200×50', async () => {
    for (const size of [SMALL, LARGE]) {
      for (let n = 1; n <= wholeSession().length; n++) {
        const {r} = show(n, {size});
        const text = await frame(r);
        expect(
          linesOf(text).length,
          `after ${n} events at ${size.columns}×${size.rows}`,
        ).toBeLessThan(size.rows);
        expect(linesOf(text).every((l) => l.length <= size.columns)).toBe(true);
        r.unmount();
      }
    }
  });

  it('says the terminal is too small rather than drawing a broken screen', async () => {
    const {r} = show(3, {size: {rows: 8, columns: 30}});
    expect(await frame(r)).toContain('terminal too small (30×8)');
  });
});

describe('the checklist', () => {
  it('shows status, durations, why steps do not apply, and overdue dates', async () => {
    const {r} = show(after('prompt-shown', 'deploy/restart'));
    const text = await frame(r, (t) => t.includes('DANGER'));
    expect(text).toMatch(/✓ Send the maintenance notice \[due 2026-11-18\] +3s/);
    expect(text).toMatch(/– Check heartbeats +only for summit/);
    expect(text).toMatch(/– 3\. Summit only +only for summit/);
    expect(text).toMatch(/◆ Restart the services ⚠ +waiting for you/);
    expect(text).toMatch(/· Wait until the queue drains/);
  });

  it('marks a pending step past its due date as overdue', async () => {
    const {r} = show(after('phase-entered', 'prepare'));
    // The notice is due 2026-11-18; the console's clock is today (after that).
    expect(await frame(r, (t) => t.includes('OVERDUE'))).toMatch(
      /· Send the maintenance notice \[due 2026-11-18 OVERDUE\]/,
    );
  });
});

describe('the output pane', () => {
  it('has a tab per host with exit codes; Tab shows the other host', async () => {
    const {r} = show(after('prompt-shown', 'deploy/restart') + 8, {size: LARGE}); // the failed prompt
    let text = await frame(r, (t) => t.includes('FAILED'));
    expect(text).toMatch(/alpha ✓0 +beta ✖5/);
    // A failed host is shown first.
    expect(text).toContain('unit app.service not found');
    await press(r, keys.tab);
    text = await frame(r, (t) => t.includes('starting app'));
    expect(text).not.toContain('unit app.service not found');
  });

  it('shows hostile escape sequences inert; colours pass only when colour is on', async () => {
    const {store, journal} = storeAt(after('step-started', 'deploy/restart'));
    const hostile = `${ESC}]0;PWNED\u0007${ESC}]52;c;ZXZpbA==\u0007${ESC}[2J${ESC}[10;10Hmoved${ESC}[31mred${ESC}[0m\n`;
    store.getState().apply(
      journal.add({
        type: 'output',
        step: 'deploy/restart',
        host: 'alpha',
        stream: 'stdout',
        text: hostile,
      }),
    );
    const bare = render(
      <App store={store} mode="read-only" size={SMALL} cadenceMs={0} theme={{colour: false}} />,
    );
    const text = await frame(bare, (t) => t.includes('moved'));
    expect(text).toContain('␛]0;PWNED^G␛]52;c;ZXZpbA==^G␛[2J␛[10;10Hmoved␛[31mred␛[0m');
    const coloured = render(
      <App store={store} mode="read-only" size={SMALL} cadenceMs={0} theme={{colour: true}} />,
    );
    await frame(coloured, (t) => t.includes('moved'));
    const raw = coloured.lastFrame() ?? '';
    expect(raw).toContain(`${ESC}[31mred`);
    expect(raw).not.toContain(`${ESC}]0;PWNED`);
    expect(raw).not.toContain(`${ESC}[2J`);
  });

  it('scrolls back with PgUp and says how many lines are hidden', async () => {
    const {store, journal} = storeAt(after('step-started', 'deploy/restart'));
    const text = Array.from({length: 200}, (_, i) => `line ${i + 1}`).join('\n');
    store.getState().apply(
      journal.add({
        type: 'output',
        step: 'deploy/restart',
        host: 'alpha',
        stream: 'stdout',
        text,
      }),
    );
    const r = render(<App store={store} mode="read-only" size={SMALL} cadenceMs={0} />);
    const before = await frame(r, (t) => t.includes('line 200'));
    expect(before).toMatch(/… 19\d earlier lines \(PgUp\)/);
    await press(r, keys.pageUp);
    const scrolled = await frame(r, (t) => !t.includes('line 200'));
    expect(scrolled).toMatch(/… \d+ later lines \(PgDn, Esc follows\)/);
  });
});

describe('untrusted bytes and links', () => {
  it('shows output that is not UTF-8 escaped, and a dropped link in the header', async () => {
    const {store, journal} = storeAt(after('step-started', 'deploy/restart'));
    const bytes = Buffer.from([0x6f, 0x6b, 0xff, 0xfe, 0x00, 0x0a]);
    store.getState().apply(
      journal.add({
        type: 'output',
        step: 'deploy/restart',
        host: 'alpha',
        stream: 'stdout',
        b64: bytes.toString('base64'),
      }),
    );
    store.getState().apply(
      journal.add({
        type: 'host-finished',
        step: 'deploy/restart',
        host: 'beta',
        exitCode: null,
        outcome: 'unknown',
        error: 'the link dropped',
      }),
    );
    const r = render(<App store={store} mode="read-only" size={SMALL} cadenceMs={0} />);
    // The host whose link dropped is shown first; its neighbour's output is one Tab away.
    expect(await frame(r, (t) => t.includes('beta: the link dropped'))).toMatch(/alpha ▶ +beta \?/);
    await press(r, keys.tab);
    const text = await frame(r, (t) => t.includes('ok\\xff'));
    expect(text).toContain('ok\\xff\\xfe\\x00');
    expect(text).toMatch(/hosts alpha ○ beta ✖/);
  });
});

describe('the counts pane', () => {
  it('shows value, target, sparkline, time since the last change and the patience warning', async () => {
    const {r} = show(after('count-stalled'), {mode: 'replay'});
    const text = await frame(r, (t) => t.includes('◷'));
    expect(text).toMatch(/◷ 9 → = 0 · from 12 +█▆▆ ┊▁ target +\(0–12\)/);
    expect(text).toMatch(/changed 2s ago · Wait until the queue drains/);
    expect(text).toMatch(/⚠ not moving: still 9 since 10:00, past this watch's patience/);
  });

  it('says when the count reached its target', async () => {
    const {r} = show(after('step-finished', 'deploy/drain'), {mode: 'replay'});
    expect(await frame(r, (t) => t.includes('reached'))).toMatch(
      /◷ 0 → = 0 · from 12 +█▆▆▃▁ ┊▁ target[^\n]*\n *reached at 10:00 · Wait until the queue drains/,
    );
  });
});

describe('prompts', () => {
  it('a danger step names every host and the command, and takes only its word', async () => {
    const {store, journal} = storeAt(after('phase-entered', 'deploy'));
    store.getState().apply(
      journal.add({
        type: 'prompt-shown',
        step: 'deploy/restart',
        prompt: 'confirm',
        text: 'DANGER: type "restart" to run "Restart the services"\n$ systemctl restart app',
        expects: 'restart',
      }),
    );
    const decisions: DriverEvent[] = [];
    const r = render(
      <App
        store={store}
        mode="live"
        size={SMALL}
        cadenceMs={0}
        guardMs={0}
        pasteGapMs={0}
        onDecision={(e) => decisions.push(e) > 0}
      />,
    );
    const text = await frame(r, (t) => t.includes('DANGER'));
    expect(text).toContain('It will run:');
    expect(text).toContain('$ systemctl restart app');
    expect(text).toContain('on all 2 hosts: alpha, beta');
    await press(r, 'restat');
    await press(r, keys.enter);
    await frame(r, (t) => t.includes('that is not "restart": nothing ran'));
    expect(decisions).toEqual([]);
    await press(r, 'restart');
    await frame(r, (t) => t.includes('> restart'));
    await press(r, keys.enter);
    await frame(r, (t) => t.includes('> ') && !t.includes('> restart'));
    expect(decisions).toEqual([{type: 'CONFIRM', value: 'restart'}]);
  });

  it('keys typed before a prompt appeared never answer it', async () => {
    // Only the clock is fake: the guard is measured against it at each key.
    vi.useFakeTimers({toFake: ['Date']});
    try {
      const {store, journal} = storeAt(after('step-finished', 'prepare/notice'));
      const decisions: DriverEvent[] = [];
      const r = render(
        <App
          store={store}
          mode="live"
          size={SMALL}
          cadenceMs={0}
          guardMs={300}
          pasteGapMs={0}
          onDecision={(e) => decisions.push(e) > 0}
        />,
      );
      await frame(r, (t) => t.includes('● live'));
      // No prompt yet: keys do nothing.
      await press(r, 'go');
      await press(r, keys.enter);
      store.getState().apply(
        journal.add({
          type: 'prompt-shown',
          step: 'prepare/go-ahead',
          prompt: 'gate',
          text: 'ready?',
          expects: 'go',
        }),
      );
      await frame(r, (t) => t.includes('GATE'));
      // Typed as the prompt appears (within the guard time): dropped and counted.
      await press(r, 'g');
      await press(r, 'o');
      await press(r, keys.enter);
      const text = await frame(r, (t) => t.includes('3 keys typed before this prompt appeared'));
      expect(text).toContain('3 keys typed before this prompt appeared were ignored');
      expect(decisions).toEqual([]);
      // Once the prompt can be read, the answer counts.
      vi.setSystemTime(Date.now() + 300);
      await press(r, 'go');
      await frame(r, (t) => t.includes('> go'));
      await press(r, keys.enter);
      await frame(r, (t) => !t.includes('> go'));
      expect(decisions).toEqual([{type: 'GO', value: 'go'}]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the answer line is empty from the moment a prompt appears: no "> …" placeholder during the guard (issue 12 #8)', async () => {
    vi.useFakeTimers({toFake: ['Date']});
    try {
      const {store, journal} = storeAt(after('step-finished', 'prepare/notice'));
      const r = render(
        <App
          store={store}
          mode="live"
          size={SMALL}
          cadenceMs={0}
          guardMs={400}
          pasteGapMs={0}
          theme={{colour: false}}
          onDecision={() => true}
        />,
      );
      await frame(r, (t) => t.includes('● live'));
      store.getState().apply(
        journal.add({
          type: 'prompt-shown',
          step: 'prepare/go-ahead',
          prompt: 'gate',
          text: 'ready?',
          expects: 'go',
        }),
      );
      // The clock stands still: the whole guard time is this frame.
      const text = await frame(r, (t) => t.includes('GATE'));
      const answer = linesOf(text).find((l) => /^│ >/.test(l));
      expect(answer, text).toMatch(/^│ > {2,}│$/);
      expect(text).not.toMatch(/> …/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a choice lists its options; the number or the id picks one, skip takes a reason', async () => {
    const {r, decisions} = show(after('prompt-shown', 'finish/outcome'));
    const text = await frame(r, (t) => t.includes('CHOOSE'));
    expect(text).toMatch(/1\) yes/);
    expect(text).toMatch(/2\) no/);
    expect(text).toContain('type the number or id of an option, then Enter');
    await press(r, keys.down);
    await press(r, keys.enter);
    await press(r, 'skip');
    await press(r, keys.enter);
    await frame(r, (t) => t.includes('say why: skip <reason>'));
    expect(decisions).toEqual([]);
    await press(r, 'skip decided on the call');
    await frame(r, (t) => t.includes('> skip decided on the call'));
    await press(r, keys.enter);
    await frame(r, (t) => !t.includes('decided on the call'));
    expect(decisions).toEqual([{type: 'SKIP', reason: 'decided on the call'}]);
  });

  it('picks an option by its number', async () => {
    const {r, decisions} = show(after('prompt-shown', 'finish/outcome'));
    await frame(r, (t) => t.includes('CHOOSE'));
    await press(r, '2');
    await frame(r, (t) => t.includes('> 2'));
    await press(r, keys.enter);
    await frame(r, (t) => !t.includes('> 2'));
    expect(decisions).toEqual([{type: 'CHOOSE', option: 'no'}]);
  });

  it('a failed step says why, and takes retry, done, skip or abort', async () => {
    const {r, decisions} = show(after('prompt-shown', 'deploy/restart') + 8);
    const text = await frame(r, (t) => t.includes('FAILED'));
    expect(text).toContain('retry · exclude <host> <why> · done <why> · skip <why> · abort');
    await press(r, 'done');
    await press(r, keys.enter);
    await frame(r, (t) => t.includes('say why: done <reason>'));
    await press(r, 'retry');
    await frame(r, (t) => t.includes('> retry'));
    await press(r, keys.enter);
    await frame(r, (t) => !t.includes('> retry'));
    expect(decisions).toEqual([{type: 'RETRY'}]);
  });

  it('after a resume, a step whose outcome is unknown asks to rerun, mark done or skip', async () => {
    const {store, journal} = storeAt(after('step-started', 'deploy/restart'));
    store
      .getState()
      .apply(
        journal.add({type: 'session-resumed', driver: 'bo@bastion', version: 'test', from: 12}),
      );
    store.getState().apply(
      journal.add({
        type: 'prompt-shown',
        step: 'deploy/restart',
        prompt: 'unknown',
        text: '"Restart the services" started before the last session stopped and never finished: it may or may not have run.',
      }),
    );
    const decisions: DriverEvent[] = [];
    const r = render(
      <App
        store={store}
        mode="live"
        size={SMALL}
        cadenceMs={0}
        guardMs={0}
        pasteGapMs={0}
        onDecision={(e) => decisions.push(e) > 0}
      />,
    );
    const text = await frame(r, (t) => t.includes('OUTCOME UNKNOWN'));
    expect(text).toContain('may or may not have run');
    expect(text).toContain('rerun · done <reason> (it did run) · skip <reason> · abort');
    await press(r, 'done it ran, the log says so');
    await frame(r, (t) => t.includes('> done it ran'));
    await press(r, keys.enter);
    await frame(r, (t) => !t.includes('> done it ran'));
    expect(decisions).toEqual([{type: 'MARK_DONE', reason: 'it ran, the log says so'}]);
  });

  it('a watch that timed out can be waited on', async () => {
    const {store, journal} = storeAt(after('count-stalled'));
    store.getState().apply(
      journal.add({
        type: 'prompt-shown',
        step: 'deploy/drain',
        prompt: 'watch-timeout',
        text: '"Wait until the queue drains" did not reach its target in time.',
      }),
    );
    const decisions: DriverEvent[] = [];
    const r = render(
      <App
        store={store}
        mode="live"
        size={SMALL}
        cadenceMs={0}
        guardMs={0}
        pasteGapMs={0}
        onDecision={(e) => decisions.push(e) > 0}
      />,
    );
    await frame(r, (t) => t.includes('TIMED OUT'));
    await press(r, 'wait');
    await frame(r, (t) => t.includes('> wait'));
    await press(r, keys.enter);
    await frame(r, (t) => !t.includes('> wait'));
    expect(decisions).toEqual([{type: 'KEEP_WAITING'}]);
  });

  it('a danger step on many hosts lists them all, even at 80×24', async () => {
    const hosts = Array.from({length: 30}, (_, i) => `node-${String(i + 1).padStart(2, '0')}`);
    const {store, journal} = storeAt(1);
    const first = journal.entries[0]!;
    if (first.type !== 'session-opened') throw new Error('fixture');
    const many = {
      ...first,
      plan: {
        ...first.plan,
        steps: first.plan.steps.map((s) => (s.id === 'restart' ? {...s, hosts} : s)),
      },
    };
    store.getState().reset();
    store.getState().apply(many);
    store.getState().apply(
      journal.add({
        type: 'prompt-shown',
        step: 'deploy/restart',
        prompt: 'confirm',
        text: 'DANGER',
        expects: 'restart',
      }),
    );
    const r = render(<App store={store} mode="live" size={SMALL} cadenceMs={0} />);
    const text = await frame(r, (t) => t.includes('DANGER'));
    expect(text).toContain('on all 30 hosts:');
    for (const h of hosts) expect(text).toContain(h);
  });

  it('Ctrl-X cancels a running command only after "cancel" is typed', async () => {
    const {r, decisions} = show(after('step-started', 'deploy/drain'));
    await frame(r, (t) => t.includes('Ctrl-X cancel command'));
    await press(r, keys.ctrlX);
    await frame(r, (t) => t.includes('CANCEL · stop "Wait until the queue drains"?'));
    await press(r, 'cancel');
    await frame(r, (t) => t.includes('> cancel'));
    await press(r, keys.enter);
    await frame(r, (t) => !t.includes('CANCEL ·'));
    expect(decisions).toEqual([{type: 'CANCEL'}]);
  });
});

describe('modes and keys', () => {
  it('read-only shows the prompt but offers and takes nothing that changes the session', async () => {
    const {r, decisions} = show(after('prompt-shown', 'prepare/go-ahead'), {mode: 'read-only'});
    let text = await frame(r, (t) => t.includes('GATE'));
    expect(text).toContain('read-only here: the driver answers this prompt in their console');
    expect(text).toContain('◌ read-only');
    expect(text).not.toMatch(/Enter answer|cancel command|Ctrl-C leave/);
    await press(r, 'go');
    await press(r, keys.enter);
    await press(r, '?');
    text = await frame(r, (t) => t.includes('keys (dim: not now)'));
    expect(text).not.toMatch(/type the word|cancel|choose/);
    expect(decisions).toEqual([]);
  });

  it('? lists every key from the one table the footer is drawn from', async () => {
    const {r} = show(after('prompt-shown', 'prepare/go-ahead'), {size: {rows: 60, columns: 160}});
    await frame(r, (t) => t.includes('GATE'));
    await press(r, '?');
    const text = await frame(r, (t) => t.includes('keys (dim: not now)'));
    const ctx: KeyContext = {
      mode: 'live',
      view: 'help',
      focus: 'none',
      answerEmpty: true,
      hostTabs: 0,
      running: false,
      away: false,
      closed: false,
    };
    for (const line of helpLines(ctx, 160)) expect(text).toContain(line.text.trimEnd());
    expect(helpLines(ctx).filter((l) => !l.title)).toHaveLength(
      bindings.filter((b) => b.group !== 'replay').length,
    );
    await press(r, keys.esc);
    expect(await frame(r, (t) => !t.includes('keys (dim: not now)'))).toMatch(
      /^\? help +Enter answer/m,
    );
  });

  it('Ctrl-L shows the command log: host, time, exit status, and who decided what', async () => {
    const {r} = show(after('step-finished', 'deploy/drain'), {size: {rows: 40, columns: 120}});
    await frame(r, (t) => t.includes('● live'));
    await press(r, keys.ctrlL);
    const text = await frame(r, (t) => t.includes('─ command log'));
    expect(text).toMatch(/10:00:12 \$ alpha +exit 0 +restart +systemctl restart app/);
    expect(text).toMatch(/10:00:12 \$ beta +exit 5 +restart +systemctl restart app/);
    expect(text).toMatch(/10:00:11 → restart: ana@bastion: confirm restart/);
    expect(text).toMatch(/10:00:21 \$ alpha +ok +drain +queue-length/);
    expect(text).toMatch(/10:00:25 ⚠ drain: the count has not moved from 9 for 120s/);
  });

  it('↑ picks an earlier step to look at; Esc goes back to the running one', async () => {
    const {r} = show(after('count-sampled'));
    await frame(r, (t) => t.includes('─ Wait until the queue drains'));
    await press(r, keys.up);
    const text = await frame(r, (t) => t.includes('─ Restart the services'));
    expect(text).toContain('unit app.service not found');
    expect(text).toContain('Esc back');
    await press(r, keys.esc);
    await frame(r, (t) => t.includes('─ Wait until the queue drains'));
  });
});
