/**
 * The state of a step the driver does outside the console and ticks: a manual step, or a
 * notify with no webhook (the text to post is shown to copy).
 */
import type {ManualStep, NotifyStep} from '../../runbook/vocabulary.js';
import type {StepContext} from './step-context.js';

/** One prompt; TICK (with an optional note) finishes it. */
export function manualState(c: StepContext, step: ManualStep | NotifyStep): object {
  const text =
    step.kind === 'notify'
      ? `Post${step.channel ? ` on ${step.channel}` : ''}:\n${step.text}`
      : (step.help ?? step.title);
  return {
    id: c.id,
    entry: [...c.entry, c.prompt('manual', text, {fill: true})],
    on: {TICK: {target: c.next, actions: [...c.began, c.finish('done')]}, SKIP: c.skip, ...c.stop},
  };
}
