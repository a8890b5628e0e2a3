/**
 * Every shipped machine and profile validates, and `crewchief demo SITE --plain` runs each
 * site's runbook to the end against its simulated site, on this machine, in under ~30 s.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';
import {slots} from '../helpers/slots.js';

let state: string;
beforeAll(() => {
  state = tempDir('cc-demos-');
});
afterAll(() => fs.rmSync(state, {recursive: true, force: true}));

/** The five seeds' sites first, then the sites added beside them. */
const demos = [
  'rubin',
  'atmosphere',
  'powo',
  'wikimedia-service',
  'resin',
  'atmosphere-hotfix',
  'wikimedia-service-config',
  'resin-etcd',
];

describe('shipped runbooks', () => {
  it('crewchief validate passes on every machine and profile', async () => {
    const result = await cli(['validate'], {state});
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toMatch(
      /^ok: 8 sites \(atmosphere, atmosphere-hotfix, powo, resin, resin-etcd, rubin, wikimedia-service, wikimedia-service-config\), \d+ profiles$/m,
    );
  });

  it('crewchief graph draws every site', async () => {
    for (const site of demos) {
      const result = await cli(['graph', site], {state});
      expect(result.exitCode, `${site}: ${result.all}`).toBe(0);
      expect(result.all).toMatch(/^stateDiagram-v2/);
    }
  });
});

/** Three demos at a time: more only slows each of them down on two cores. */
const slot = slots(3);

// The timeout covers the wait for a slot as well as the run: generous, for a loaded machine.
describe.concurrent('crewchief demo SITE --plain', {timeout: 420_000}, () => {
  for (const site of demos) {
    it(`${site} runs to the end`, async () => {
      const journal = path.join(state, `${site}.jsonl`);
      const release = await slot.take();
      const result = await cli(['demo', site, '--plain', '--journal', journal], {state}).finally(
        release,
      );
      expect(result.exitCode, String(result.all).slice(-3000)).toBe(0);
      expect(result.all).toMatch(/session finished/);
      const entries = readJournal(journal).entries;
      expect(entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'finished'});
      expect(entries.some((e) => e.type === 'step-finished' && e.outcome === 'failed')).toBe(false);
      if (site === 'rubin') {
        // The quick start meets a typed danger confirmation; unattended, the autopilot types it.
        expect(entries).toContainEqual(
          expect.objectContaining({
            type: 'prompt-shown',
            step: 'cleanup/k8s-cleanup',
            prompt: 'confirm',
            expects: 'cleanup_all',
          }),
        );
        expect(entries).toContainEqual(
          expect.objectContaining({
            type: 'decision',
            step: 'cleanup/k8s-cleanup',
            decision: 'confirm',
            value: 'cleanup_all',
            via: 'autopilot',
          }),
        );
      }
      // How long a demo takes is the benchmark's business (test/bench), not a test's.
    });
  }
});
