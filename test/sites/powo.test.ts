/**
 * POWO (seed 001) end to end over sshd: prod with a builder image and configuration
 * change and a rebuild started now; dev waiting for the scheduled rebuild and keeping the
 * old release; and a node pool too small for the new release, where the count of Running
 * pods stalls, times out, and the driver takes the troubleshooting branch.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {entriesOf, expectFinishedRun, SiteLab, simCalls} from './lab.js';

let lab: SiteLab;
beforeAll(async () => {
  lab = await SiteLab.start();
});
afterAll(async () => {
  await lab?.close();
});

const variables = (home: string): Record<string, string> => ({
  infra_dir: `${home}/powop-infrastructure`,
  builder_dir: `${home}/powop/powo-builder`,
});

describe('powo over sshd', () => {
  it('prod: builder update, helm upgrade, new node pool, rebuild, DNS swap, old pool deleted', async () => {
    const profile = await lab.profile('powo-prod', {sim: 'powo', variables});
    const run = await lab.run('powo', profile, [
      '--yes',
      '--confirm',
      'default-pool',
      '--choose',
      'builder-code=changed',
      '--choose',
      'builder-config=changed',
      '--choose',
      'rebuild=now',
      '--choose',
      'pods-healthy=running',
    ]);
    const {plan, outcome} = expectFinishedRun(run);
    expect(outcome['builder/builder-code/changed/builder-image']).toBe('ok');
    expect(outcome['cluster/old-pool-drained']).toBe('ok');
    expect(plan.find((s) => s.id === 'old-release')).toMatchObject({applies: false});
    const captured = Object.fromEntries(
      entriesOf(run.entries, 'variable-captured').map((e) => [e.name, e.value]),
    );
    expect(captured['old_release']).toMatch(/^prod-[0-9a-f]{5}$/);
    expect(captured['new_ip']).toMatch(/^203\.0\.113\.\d+$/);
    const pods = entriesOf(run.entries, 'count-sampled', 'cluster/new-release-running');
    expect(pods.at(-1)).toMatchObject({value: 4, target: '= 4'});
    const calls = simCalls(profile);
    expect(
      calls.some((c) => c.line === 'kubectl cordon -l cloud.google.com/gke-nodepool=default-pool'),
    ).toBe(true);
    expect(calls.some((c) => /^helm upgrade .* builder-prod powo-builder\/$/.test(c.line))).toBe(
      true,
    );
    expect(calls.some((c) => /^gcloud container node-pools delete default-pool/.test(c.line))).toBe(
      true,
    );
    expect(entriesOf(run.entries, 'decision', 'cluster/delete-old-pool')).toEqual([
      expect.objectContaining({decision: 'confirm', value: 'default-pool'}),
    ]);
  });

  it('dev: the scheduled rebuild; the old release (not deleted by the builder) goes before the pool', async () => {
    const profile = await lab.profile('powo-dev', {sim: 'powo', variables});
    const run = await lab.run('powo', profile, [
      '--yes',
      '--confirm',
      'all',
      '--choose',
      'builder-code=unchanged',
      '--choose',
      'builder-config=unchanged',
      '--choose',
      'rebuild=scheduled',
    ]);
    const {plan, outcome} = expectFinishedRun(run);
    expect(plan.find((s) => s.id === 'old-pool-drained')).toMatchObject({
      applies: false,
      reason: 'only for delete-existing',
    });
    expect(outcome['cluster/old-release/delete/delete-old-release']).toBe('ok');
    expect(outcome['builder/builder-deployed']).toBe('ok');
    expect(simCalls(profile).some((c) => /create job/.test(c.line))).toBe(false);
  });

  it('a pod stuck Pending: the count stalls, times out, and the driver troubleshoots', async () => {
    const profile = await lab.profile('powo-prod', {
      sim: 'powo',
      variables,
      faults: ['small-nodes'],
      name: 'powo-prod-pending',
      // the timeout leaves room for the pods to settle and the count to stall on a loaded machine
      overrides: {'new-release-running': {every: '300ms', patience: '1s', timeout: '10s'}},
    });
    const run = await lab.run('powo', profile, [
      '--yes',
      '--confirm',
      'all',
      '--on-timeout',
      'skip',
      '--choose',
      'builder-code=unchanged',
      '--choose',
      'builder-config=unchanged',
      '--choose',
      'pods-healthy=troubleshoot',
      '--choose',
      'pending-fix=add-node',
    ]);
    const key = 'cluster/new-release-running';
    // patience warning, then the timeout put to the driver, who skipped (by flag)
    const stalled = entriesOf(run.entries, 'count-stalled', key);
    expect(stalled.length).toBeGreaterThanOrEqual(1);
    expect(stalled.at(-1)?.value).toBe(3);
    expect(entriesOf(run.entries, 'prompt-shown', key).map((p) => p.prompt)).toEqual([
      'watch-timeout',
    ]);
    expect(entriesOf(run.entries, 'step-finished', key)).toEqual([
      expect.objectContaining({outcome: 'skipped', reason: 'timed out; --on-timeout skip'}),
    ]);
    const {outcome} = expectFinishedRun(run, {[key]: 'skipped'});
    const branch = 'cluster/pods-healthy/troubleshoot';
    for (const id of [
      'all-pods',
      'describe-pod',
      'pod-logs',
      'services',
      'dig',
      'running-after-fix',
    ])
      expect(outcome[`${branch}/${id}`], id).toBe('ok');
    const describe = entriesOf(run.entries, 'output', `${branch}/describe-pod`)
      .map((e) => e.text)
      .join('');
    expect(describe).toMatch(/FailedScheduling .* Insufficient cpu/);
    expect(outcome[`${branch}/pending-fix/add-node/grow-pool`]).toBe('ok');
  });
});
