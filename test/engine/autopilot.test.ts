/**
 * Issue 11 #9: `--on-failure retry` on a step that always fails made 482 attempts in
 * 300 s. Now: at most 3 attempts, 5 s then 10 s apart (fake clock), each journaled; then
 * nobody can answer and the session stops with exit 5, kept for resume.
 */
import {afterEach, describe, expect, it, vi} from 'vitest';
import {answerDelayMs, autoAnswer, exhausted, retryDelayMs} from '../../source/engine/autopilot.js';
import {drive} from '../../source/services/drive.js';
import {entriesOf, harness} from '../helpers/session.js';

const machine = `
export default site({
  id: 'flaky',
  title: 'Flaky',
  phases: [phase({id: 'p', title: 'P', steps: [
    command({id: 'broken', title: 'Always fails', run: 'always-fails'}),
    command({id: 'after', title: 'Never reached', run: 'echo after'}),
  ]})],
});
`;
const profile = `site: flaky\ntransport: local\n`;

afterEach(() => void vi.useRealTimers());

describe('--on-failure retry', () => {
  it('answers retry with a doubling pause, and stops answering at the cap', () => {
    const failed = {prompt: 'failed' as const};
    const options = {onFailure: 'retry' as const};
    expect(autoAnswer(failed, 'x', options, {attempt: 1})).toEqual({type: 'RETRY'});
    expect(autoAnswer(failed, 'x', options, {attempt: 2})).toEqual({type: 'RETRY'});
    expect(autoAnswer(failed, 'x', options, {attempt: 3})).toBeNull();
    expect(exhausted(failed, options, {attempt: 3})).toMatch(/made 3 attempts \(at most 3\)/);
    expect(autoAnswer(failed, 'x', {...options, retryAttempts: 5}, {attempt: 4})).toEqual({
      type: 'RETRY',
    });
    expect([1, 2, 3, 4, 5, 6].map(retryDelayMs)).toEqual([5000, 10000, 20000, 40000, 60000, 60000]);
    expect(answerDelayMs(failed, {type: 'RETRY'}, {attempt: 2})).toBe(10000);
    expect(answerDelayMs({prompt: 'gate'}, {type: 'GO', value: 'go'})).toBe(0);
  });

  it('makes 3 attempts on the clock, journals each, then exits 5 with nobody to ask', async () => {
    const h = await harness(machine, profile, [{match: /always-fails/, exitCode: 1}]);
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'Date']});
    const lines: string[] = [];
    let code: number | undefined;
    void drive(h.launched, {
      plain: true,
      interactive: false,
      autopilot: {onFailure: 'retry'},
      driver: 'tester',
      write: (l) => void lines.push(l),
    }).then((c) => (code = c));
    const calls = (): number =>
      h.transport.calls.filter((c) => c.command === 'always-fails').length;
    await vi.advanceTimersByTimeAsync(100);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(4_800);
    expect(calls()).toBe(1); // the 5 s pause is not over
    await vi.advanceTimersByTimeAsync(300);
    expect(calls()).toBe(2);
    await vi.advanceTimersByTimeAsync(9_500);
    expect(calls()).toBe(2); // then 10 s
    await vi.advanceTimersByTimeAsync(600);
    expect(calls()).toBe(3);
    for (let i = 0; i < 100 && code === undefined; i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(code).toBe(5);
    expect(calls()).toBe(3);
    const entries = entriesOf(h.journal);
    const started = entries.filter((e) => e.type === 'step-started' && e.step === 'p/broken');
    expect(started.map((e) => (e as {attempt?: number}).attempt)).toEqual([1, 2, 3]);
    const notices = entries
      .filter((e) => e.type === 'notice' && e.text.startsWith('--on-failure retry'))
      .map((e) => (e as {text: string}).text);
    expect(notices).toEqual([
      '--on-failure retry: attempt 2 of at most 3 in 5 s',
      '--on-failure retry: attempt 3 of at most 3 in 10 s',
    ]);
    expect(entries.filter((e) => e.type === 'decision' && e.decision === 'retry')).toHaveLength(2);
    expect(h.transport.calls.some((c) => c.command === 'echo after')).toBe(false);
  });
});
