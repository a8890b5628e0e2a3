/** The state of a choice: the driver picks an option, and its branch runs. */
import type {ChoiceStep} from '../../runbook/vocabulary.js';
import {builtInVariables, interpolate} from '../plan.js';
import type {StepContext} from './step-context.js';

/** One prompt with the options; CHOOSE goes to the option's first applicable branch step. */
export function choiceState(c: StepContext, step: ChoiceStep): object {
  const options = step.options;
  const vars = builtInVariables(c.plan.profile);
  return {
    id: c.id,
    entry: [
      ...c.entry,
      c.prompt('choice', step.question, {
        options: options.map((o) => o.id),
        labels: options.map((o) => interpolate(o.label, vars)),
      }),
    ],
    on: {
      CHOOSE: options.map((o) => {
        const firstApplicable = (c.s.branches?.[o.id] ?? []).find((b) => b.applies);
        return {
          guard: {type: 'choseOption', params: {option: o.id}},
          target: firstApplicable ? c.flow.target(firstApplicable.key) : c.next,
          actions: [...c.began, c.finish('ok')],
        };
      }),
      SKIP: c.skip,
      ...c.stop,
    },
  };
}
