/**
 * Asking the driver, on the terminal and before the session starts, for a variable the
 * site declares and neither the profile nor `--var` gives. The answer is checked as a
 * profile value is; an empty or bad answer is asked again. Closing the input (Ctrl-D,
 * Ctrl-C) starts nothing.
 */
import readline from 'node:readline';
import {variableProblem} from '../runbook/profile.js';
import type {AskVariable} from './variables.js';
import {UsageError} from './exit.js';

/** An AskVariable reading the terminal (stdin/stdout). */
export function askOnTerminal(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): AskVariable {
  return async (name, description) => {
    const rl = readline.createInterface({input, output, terminal: true});
    try {
      for (;;) {
        const answer = await new Promise<string>((resolve, reject) => {
          const closed = (): void =>
            reject(
              new UsageError(`no value given for ${name}; nothing started (--var ${name}=VALUE)`),
            );
          rl.once('close', closed);
          rl.question(`${name} (${description}): `, (typed) => {
            rl.off('close', closed);
            resolve(typed);
          });
        });
        const value = answer.trim();
        const problem = value ? variableProblem(name, value) : 'a value is needed';
        if (!problem) return value;
        output.write(`  ${problem}\n`);
      }
    } finally {
      rl.close();
    }
  };
}
