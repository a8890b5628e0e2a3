/**
 * Issue 13 #1 and #4: a machine file in a directory outside the package imports from
 * `crewchief`, validates and dry-runs from the installed package (dist/); `validate` names
 * its file and the real line of a problem.
 */
import fs from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {cli} from '../helpers/cli.js';
import {lineOf, tempDir, writeFile} from '../helpers/fixtures.js';

const body = (second: string) => `import {site, phase, command} from 'crewchief';

// A machine written by someone outside the package, with only the README.

export default site({
  id: 'outside',
  title: 'Outside',
  phases: [
    phase({
      id: 'p',
      title: 'P',
      steps: [
        command({id: 'a', title: 'First', run: 'echo first', expect: 'first'}),
        command({id: '${second}', title: 'Second', run: 'echo second'}),
      ],
    }),
  ],
});
`;

const profile = 'site: outside\ntransport: local\n';

describe('a machine outside the package', () => {
  for (const [name, pkg] of [
    ['machine.ts', undefined],
    ['machine.mts', undefined],
    ['machine.js', '{"type": "module"}'],
  ] as const) {
    it(`${name} importing from crewchief validates and dry-runs`, async () => {
      const dir = tempDir('cc-outside-');
      if (pkg) writeFile(dir, 'package.json', pkg);
      const file = writeFile(dir, name, body('b'));
      writeFile(dir, 'p.yaml', profile);
      const state = tempDir('cc-state-');
      const validated = await cli(['validate', file, '--profile', path.join(dir, 'p.yaml')], {
        state,
        cwd: dir,
      });
      expect(validated.all).not.toMatch(/Cannot find module/);
      expect(validated.exitCode).toBe(0);
      const dry = await cli(
        ['run', file, '--profile', path.join(dir, 'p.yaml'), '--dry-run', '--yes'],
        {state, cwd: dir},
      );
      expect(dry.all).toMatch(/session finished/);
      expect(dry.exitCode).toBe(0);
    }, 60_000);
  }

  it('validate names the file and the real line of a problem in a .ts machine', async () => {
    const dir = tempDir('cc-outside-');
    const file = writeFile(dir, 'machine.ts', body('a'));
    writeFile(dir, 'p.yaml', profile);
    const result = await cli(['validate', file, '--profile', path.join(dir, 'p.yaml')], {
      state: tempDir('cc-state-'),
      cwd: dir,
    });
    const line = lineOf(file, "title: 'Second'");
    expect(result.all).toContain(`${fs.realpathSync(file)}:${line}: `);
    expect(result.all).not.toMatch(/data:text|tsx-namespace|namespace%3D/);
  }, 60_000);
});
