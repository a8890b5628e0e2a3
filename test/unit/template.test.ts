/** `${…}` in shell commands: one word by default, `${raw:…}` pasted, `$${X}` for the shell. */
import {execFileSync} from 'node:child_process';
import {describe, expect, it} from 'vitest';
import {interpolate} from '../../source/engine/plan.js';
import {fillTemplate, templateUses} from '../../source/runbook/template.js';

const vars: Record<string, string> = {
  x: `it's a "test" $(touch /tmp/never) \`id\` ; | & > < * ? ~ \\ $HOME`,
  n: '3',
  dir: '~/deploy dir',
  flags: '-l -a',
};
const shell = (t: string): string => fillTemplate(t, (n) => vars[n], 'shell');
const run = (sh: string, command: string): string =>
  execFileSync(sh, ['-c', command], {encoding: 'utf8', env: {...process.env, HOME: '/home/h'}});

describe.each(['sh', 'bash'])('filled commands under %s', (sh) => {
  it('a value is one word bare, inside single quotes, double quotes, backticks and $(…)', () => {
    expect(run(sh, shell(`printf '<%s>' \${x}`))).toBe(`<${vars['x']}>`);
    expect(run(sh, shell(`printf '<%s>' 'in single \${x} end'`))).toBe(
      `<in single ${vars['x']} end>`,
    );
    expect(run(sh, shell(`printf '<%s>' "in double \${x} end"`))).toBe(
      `<in double ${vars['x']} end>`,
    );
    expect(run(sh, shell(`printf '<%s>' "$(printf %s \${x})"`))).toBe(`<${vars['x']}>`);
    expect(run(sh, shell(`printf '<%s>' "\`printf %s \${x}\`"`))).toBe(`<${vars['x']}>`);
  });

  it('a value starting with ~/ is the home directory on the target, the rest one word', () => {
    expect(run(sh, shell(`printf '<%s>' \${dir}/x`))).toBe('</home/h/deploy dir/x>');
    expect(run(sh, shell(`printf '<%s>' "\${dir}"`))).toBe('</home/h/deploy dir>');
  });

  it('arithmetic takes whole numbers only', () => {
    expect(run(sh, shell('echo $((${n} + 1))')).trim()).toBe('4');
    expect(() => shell('echo $((${x} + 1))')).toThrow(/not a whole number/);
  });

  it('${raw:…} pastes shell text; $${VAR} is the shell’s own expansion', () => {
    expect(run(sh, shell(`printf '<%s>' \${raw:flags}`))).toBe('<-l><-a>');
    expect(run(sh, shell(`V=7; printf '<%s>' $\${V} "$\${V}"`))).toBe('<7><7>');
  });
});

describe('templates', () => {
  it('lists uses, raw ones marked, escapes not counted', () => {
    expect(templateUses('a ${x} ${raw:y} $${Z} ${secret.K}')).toEqual([
      {name: 'x', raw: false, index: 2},
      {name: 'y', raw: true, index: 7},
      {name: 'secret.K', raw: false, index: 22},
    ]);
  });

  it('text (titles, messages) is filled as is; unknown names stay for later', () => {
    expect(interpolate('Deploy ${x} as $${USER} then ${later}', vars)).toBe(
      `Deploy ${vars['x']} as \${USER} then \${later}`,
    );
  });

  it('a name with no value is an error, never run as is', () => {
    expect(() => shell('echo ${nope}')).toThrow(/\$\{nope\} has no value/);
  });
});
