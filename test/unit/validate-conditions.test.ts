/**
 * `validate` on the conditions and retries vocabulary: each bad field is named with the
 * machine's file:line and what was expected.
 */
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {validate} from '../../source/commands/validate.js';
import {lineOf, tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';

const profile = `site: conds
hosts:
  db1: {}
  db2: {}
groups:
  dbs: [db1, db2]
variables:
  primary: db1
  wrong: nowhere
`;

let dir: string;
beforeAll(() => {
  dir = tempDir('cc-validate-conds-');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

let n = 0;
async function check(steps: string): Promise<{file: string; out: string; code: number}> {
  const file = writeMachine(
    dir,
    `m${++n}`,
    `export default site({id: 'conds', title: 'Conds', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'cap', title: 'Capture', run: 'x', capture: {as: 'lag', pattern: '(\\\\d+)'}}),
${steps}
]})]});`,
  );
  const p = writeFile(dir, `p${n}.yaml`, profile);
  const lines: string[] = [];
  const code = await validate([file, p], (s) => void lines.push(s));
  return {file, out: lines.join('\n'), code};
}

describe('validate: conditions and retries', () => {
  it('accepts every new construct written well', async () => {
    const {out, code} = await check(`
  watch({id: 'w', title: 'Lag', probe: 'lag', on: '@dbs', hosts: 'every', until: {below: 1048576}}),
  watch({id: 'w2', title: 'Up', probe: 'up', on: '\${primary}', until: {above: 0}}),
  command({id: 'c', title: 'C', run: 'echo $\${HOME}', on: '\${primary}', retry: {attempts: 3, backoff: '2s', factor: 2, maxDelay: '1m'},
    when: {var: 'lag', below: 100}, fanOut: {verify: [{command: 'true'}], verifyRetry: {attempts: 2}}}),
  check({id: 'k', title: 'K', probes: [{tcp: '5432'}], retry: {attempts: 2}, when: [{var: 'primary', equals: 'db1'}, {var: 'lag', matches: '\\\\d+'}]}),`);
    expect(out).not.toMatch(/error|expected/i);
    expect(code).toBe(0);
  });

  it('names file:line for each bad field', async () => {
    const {file, out, code} = await check(`
  watch({id: 'w', title: 'Hosts', probe: 'lag', on: '@dbs', hosts: 'each', until: {below: '1MB'}}),
  command({id: 'r', title: 'Retry', run: 'x', retry: {attempts: 0, backoff: 'soon'}}),
  check({id: 'k', title: 'Both', probes: [{tcp: '1'}], retry: {attempts: 2}, retries: 3}),
  manual({id: 'm', title: 'When', when: {var: 'lag', below: 1, above: 2}}),
  manual({id: 'm2', title: 'Unknown var', when: {var: 'nope', equals: 'x'}}),
  command({id: 't', title: 'Target', run: 'x', on: '\${nothing}'}),
  command({id: 't2', title: 'Bad value', run: 'x', on: '\${wrong}'}),
  command({id: 't3', title: 'Half', run: 'x', on: 'db-\${primary}'}),
  command({id: 'bg', title: 'Background', run: 'x', background: {name: 'b', readyWhen: 'up'}, retry: {attempts: 2}}),`);
    expect(code).not.toBe(0);
    const at = (needle: string) => `${fs.realpathSync(file)}:${lineOf(file, needle)}`;
    const expectAt = (needle: string, message: RegExp) =>
      expect(
        out.split('\n').some((l) => l.includes(at(needle)) && message.test(l)),
        `${needle} ${message}\n${out}`,
      ).toBe(true);
    expectAt("title: 'Hosts'", /expected "sum", "every" or "any", found "each"/);
    expectAt("title: 'Hosts'", /until.below.*expected a number, found "1MB"/);
    expectAt("title: 'Retry'", /expected a whole number of attempts of at least 1, found 0/);
    expectAt("title: 'Retry'", /retry.backoff.*expected a duration/);
    expectAt("title: 'Both'", /retry \(the general form\) or retries\/interval/);
    expectAt("title: 'When'", /exactly one comparison .* found below, above/);
    expectAt("title: 'Unknown var'", /no earlier step captures "nope"/);
    expectAt("title: 'Target'", /runs on \$\{nothing\}, which is not a variable/);
    expectAt("title: 'Bad value'", /sets to "nowhere": no such host or group/);
    expectAt("title: 'Half'", /one variable and nothing else/);
    expectAt("title: 'Background'", /retry does not apply to it/);
  });
});
