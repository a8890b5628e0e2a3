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

describe('issue 13 #3', () => {
  it('fills captured values into a gate check and a failed step title', async () => {
    const gated = `
export default site({
  id: 'gated',
  title: 'Gated',
  phases: [phase({id: 'p', title: 'P', steps: [
    command({id: 'ver', title: 'Version', run: 'version', capture: {as: 'ver', pattern: '^v(\\\\d+)'}}),
    gate({id: 'go', title: 'Promote \${ver}', checks: ['v\${ver} is live on \${env}']}),
    command({id: 'promote', title: 'Promote v\${ver} on \${env}', run: 'promote'}),
  ]})],
});
`;
    const h = await harness(gated, `site: gated\ntransport: local\nvariables:\n  env: prod\n`, [
      {match: /^version/, stdout: 'v42\n'},
      {match: /^promote/, exitCode: 1},
    ]);
    await drive(h.launched, {
      plain: true,
      interactive: false,
      autopilot: {yes: true},
      driver: 'tester',
      write: () => {},
    });
    const prompts = entriesOf(h.journal).filter((e) => e.type === 'prompt-shown');
    const gate = prompts.find((e) => e.step === 'p/go');
    expect(gate?.text).toBe('v42 is live on prod');
    const failed = prompts.find((e) => e.step === 'p/promote' && e.prompt === 'failed');
    expect(failed?.text).toContain('"Promote v42 on prod" failed');
  });
});
