/**
 * Issue 13 #5 in the console: a step's help is shown whatever its kind (not only at a
 * manual step's prompt), a manual step's links are shown, and a choice's branch steps
 * say which option runs them (so a rollback branch does not read as a step that will run).
 */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEvent, Plan} from '../../source/journal/events.js';
import {createSessionStore} from '../../source/store/store.js';
import {App} from '../../source/ui/app.js';
import {frame, Journal, linesOf, opened, plan} from './fixtures.js';

afterEach(() => cleanup());

const guided: Plan = {
  ...plan,
  steps: plan.steps.map((s) =>
    s.key === 'deploy/drain'
      ? {...s, help: 'Give the queue ${grace} before worrying; then page the on-call.'}
      : s.key === 'finish/enable'
        ? {...s, help: 'Enable them from LOVE.', links: ['https://love.example.org/csc']}
        : s,
  ),
};

function show(events: JournalEvent[], size: {columns: number; rows: number}) {
  const journal = new Journal();
  const store = createSessionStore();
  store
    .getState()
    .applyMany(
      [{...opened, plan: guided, variables: {grace: '2 min'}} as JournalEvent, ...events].map((e) =>
        journal.add(e),
      ),
    );
  return render(
    <App
      store={store}
      mode="live"
      size={size}
      cadenceMs={0}
      guardMs={0}
      pasteGapMs={0}
      theme={{colour: false}}
      onDecision={() => true}
    />,
  );
}

for (const size of [
  {columns: 80, rows: 24},
  {columns: 200, rows: 50},
]) {
  describe(`step guidance at ${size.columns}×${size.rows}`, () => {
    it('shows a watch step’s help, filled, while it runs', async () => {
      const r = show(
        [
          {type: 'phase-entered', phase: 'deploy'},
          {type: 'step-started', step: 'deploy/drain', attempt: 1, runs: []},
        ],
        size,
      );
      const text = await frame(r, (t) => t.includes('Wait until the queue drains'));
      expect(text).toMatch(/ℹ Give the queue 2 min before worrying/);
      expect(linesOf(text).every((l) => l.length <= size.columns)).toBe(true);
    });

    it('shows a manual step’s links, and labels branch steps with their option', async () => {
      const r = show(
        [
          {type: 'phase-entered', phase: 'finish'},
          {
            type: 'prompt-shown',
            step: 'finish/outcome',
            prompt: 'choice',
            text: 'Did it go well?',
            options: ['yes', 'no'],
            labels: ['Yes', 'No: report it'],
          },
        ],
        size,
      );
      const text = await frame(r, (t) => t.includes('Did it go well?'));
      // Until the choice is made, the branch step is a possibility, labelled by its option.
      expect(text).toMatch(/· if no: Report the trouble/);
      expect(text).not.toMatch(/· Report the trouble/);
      r.unmount();
      const later = show(
        [
          {type: 'phase-entered', phase: 'finish'},
          {
            type: 'decision',
            step: 'finish/outcome',
            decision: 'choose',
            option: 'yes',
            by: 'ana@b',
          },
          {
            type: 'step-finished',
            step: 'finish/outcome',
            outcome: 'ok',
            option: 'yes',
            durationMs: 1,
          },
          {type: 'prompt-shown', step: 'finish/enable', prompt: 'manual', text: 'Enable them.'},
        ],
        size,
      );
      const t2 = await frame(later, (t) => t.includes('Enable the CSCs'));
      expect(t2).toMatch(/if no: Report the trouble +not chosen/);
      expect(t2).toContain('links: https://love.example.org/csc');
    });
  });
}
