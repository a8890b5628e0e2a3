/**
 * Issue 13 bugs in the step engine: a dry run no longer checks `expect` against the
 * output it never had; `--on-failure skip` on a capturing step says the value is missing.
 */
import {describe, expect, it} from 'vitest';
import {drive} from '../../source/services/drive.js';
import {createDryRunTransport} from '../../source/transport/dry-run.js';
import {entriesOf, harness} from '../helpers/session.js';

const machine = `
export default site({
  id: 'expecting',
  title: 'Expecting',
  phases: [phase({id: 'p', title: 'P', steps: [
    command({id: 'ver', title: 'Version', run: 'version', expect: '^v\\\\d+', capture: {as: 'ver', pattern: '^v(\\\\d+)'}}),
    command({id: 'after', title: 'Uses \${ver}', run: 'echo \${ver}'}),
  ]})],
});
`;
const profile = `site: expecting\ntransport: local\n`;

describe('issue 13 #2', () => {
  it('a dry run passes a step with expect and runs the rest', async () => {
    const dry = createDryRunTransport();
    const h = await harness(machine, profile, [], {
      dryRun: true,
      transports: {transport: dry, local: dry},
    });
    const code = await drive(h.launched, {
      plain: true,
      interactive: false,
      autopilot: {},
      driver: 'tester',
      write: () => {},
    });
    expect(code).toBe(0);
    const finished = entriesOf(h.journal).filter((e) => e.type === 'step-finished');
    expect(finished.map((e) => [e.step, e.outcome])).toEqual([
      ['p/ver', 'ok'],
      ['p/after', 'ok'],
    ]);
  });

  it('--on-failure skip on a capturing step journals that the value is missing', async () => {
    const h = await harness(machine, profile, [{match: /^version/, stdout: 'nothing\n'}]);
    await drive(h.launched, {
      plain: true,
      interactive: false,
      autopilot: {onFailure: 'skip'},
      driver: 'tester',
      write: () => {},
    });
    const entries = entriesOf(h.journal);
    const notice = entries.find(
      (e) => e.type === 'notice' && e.step === 'p/ver' && /\$\{ver\} is missing/.test(e.text),
    );
    expect(notice).toBeDefined();
    const after = entries.find((e) => e.type === 'step-finished' && e.step === 'p/after');
    expect(after).toMatchObject({reason: expect.stringMatching(/\$\{ver\} has no value/)});
  });
});
