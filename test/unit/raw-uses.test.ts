/** `validate` says where a value is pasted as shell text (`${raw:…}`), with file:line. */
import {describe, expect, it} from 'vitest';
import {rawUses, validateSite} from '../../source/runbook/validate.js';
import {command, phase, site} from '../../source/runbook/vocabulary.js';

describe('raw uses', () => {
  it('lists each ${raw:…} in a shell command with its file and line, and nothing else', () => {
    const s = site({
      id: 'raw',
      title: 'Raw',
      phases: [
        phase({
          id: 'p',
          title: 'P',
          steps: [
            command({id: 'quoted', title: 'Quoted ${raw:x}', run: 'echo ${x} $${HOME}'}),
            command({id: 'pasted', title: 'Pasted', run: '${raw:tool} up -d'}),
          ],
        }),
      ],
    });
    expect(validateSite(s, 'raw.ts')).toEqual([]);
    const notices = rawUses(s, 'raw.ts');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({field: 'run'});
    expect(notices[0]!.file).toMatch(/raw-uses\.test\.ts$/);
    expect(notices[0]!.line).toBe(17);
    expect(notices[0]!.message).toMatch(/pastes \$\{raw:tool\} as shell text, unquoted/);
  });
});
