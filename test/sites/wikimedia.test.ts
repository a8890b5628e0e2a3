/**
 * Wikimedia services (seed 003) end to end over sshd, a canary and 20 more hosts: Parsoid
 * (dependencies by hand) all the way through; citoid (service-runner) with one host of the
 * second batch failing its health check after the restart, where the driver's retry runs
 * only the hosts not restarted yet; and citoid's config change through puppet.
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
  source_dir: `${home}/service/deploy`,
  deploy_dir: `${home}/srv/deployment/service/deploy`,
  puppet_dir: `${home}/puppet`,
});

const rest = (prefix: string): string[] =>
  Array.from({length: 20}, (_, i) => `${prefix}${1002 + i}`);

describe('wikimedia services over sshd', {timeout: 120_000}, () => {
  it('parsoid: canary, then the rest in batches, then deployment-prep', async () => {
    const profile = await lab.profile('wikimedia-parsoid', {sim: 'wikimedia', variables});
    const run = await lab.run('wikimedia-service', profile, ['--yes']);
    const {plan, outcome} = expectFinishedRun(run);

    expect(plan.find((s) => s.id === 'build-deps')).toMatchObject({
      applies: false,
      reason: 'only for service-runner',
    });
    expect(outcome['prepare/build-deps-by-hand']).toBe('done');
    expect(outcome['prep-rest/prep-check-rest']).toBe('ok');
    // every minion reached the synced revision, in production and in deployment-prep
    expect(entriesOf(run.entries, 'count-sampled', 'deploy/minions').at(-1)).toMatchObject({
      value: 21,
      target: '= 21',
    });
    expect(
      entriesOf(run.entries, 'count-sampled', 'prep-deploy/prep-minions').at(-1),
    ).toMatchObject({value: 3});
    // the canary first, then the 20 others, each once
    const restarts = simCalls(profile).filter((c) => c.line === 'sudo service parsoid restart');
    expect(restarts[0]?.host).toBe('canary');
    for (const host of rest('wtp'))
      expect(
        restarts.filter((c) => c.host === host),
        host,
      ).toHaveLength(1);
    const keys = run.entries.flatMap((e) => (e.type === 'step-started' ? [e.step] : []));
    expect(keys.indexOf('canary/canary-ok')).toBeLessThan(keys.indexOf('rest/restart-rest'));
  });

  it('citoid: a host of the second batch fails its health check; retry restarts only what is left', async () => {
    const profile = await lab.profile('wikimedia-citoid', {
      sim: 'wikimedia',
      variables,
      faults: ['unhealthy-once:scb1008'],
    });
    const run = await lab.run('wikimedia-service', profile, ['--yes', '--on-failure', 'retry']);
    const {plan, outcome} = expectFinishedRun(run);
    expect(plan.find((s) => s.id === 'build-deps-by-hand')).toMatchObject({applies: false});
    expect(outcome['prepare/build-deps']).toBe('ok');
    expect(
      run.entries.find((e) => e.type === 'variable-captured' && e.name === 'change'),
    ).toMatchObject({value: expect.stringMatching(/^\d+$/)});

    const key = 'rest/restart-rest';
    const [first, second] = entriesOf(run.entries, 'step-started', key);
    // first attempt: batch 1 (scb1002–1006) and batch 2 (scb1007–1011), then it stopped
    expect(first?.runs.map((r) => r.host)).toEqual(rest('scb'));
    const failed = entriesOf(run.entries, 'host-finished', key).filter((h) => h.outcome !== 'ok');
    expect(failed.map((h) => h.host)).toEqual(['scb1008']);
    expect(entriesOf(run.entries, 'step-finished', key)[0]).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/stopped after a failed batch \(10 of 20 hosts ran\)|exit/),
    });
    // the driver's retry (by flag): only scb1008 and the batches that never ran
    expect(entriesOf(run.entries, 'decision', key)).toEqual([
      expect.objectContaining({decision: 'retry'}),
    ]);
    const done = [
      'scb1002',
      'scb1003',
      'scb1004',
      'scb1005',
      'scb1006',
      'scb1007',
      'scb1009',
      'scb1010',
      'scb1011',
    ];
    expect(second?.runs.map((r) => r.host)).toEqual(rest('scb').filter((h) => !done.includes(h)));
    const restarts = simCalls(profile).filter((c) => c.line === 'sudo service citoid restart');
    for (const host of rest('scb'))
      expect(
        restarts.filter((c) => c.host === host),
        host,
      ).toHaveLength(host === 'scb1008' ? 2 : 1);
    expect(outcome['rest/check-rest']).toBe('ok');
  });

  it('citoid config: puppet patch, puppet-merge, puppet on the canary then the rest, checks', async () => {
    const profile = await lab.profile('wikimedia-citoid-config', {sim: 'wikimedia', variables});
    const run = await lab.run('wikimedia-service-config', profile, ['--yes']);
    const {outcome} = expectFinishedRun(run);
    expect(outcome['apply/puppet-run/now/config-canary-first']).toBe('ok');
    expect(entriesOf(run.entries, 'count-sampled', 'apply/config-applied').at(-1)).toMatchObject({
      value: 21,
      target: '= 21',
    });
    // puppet exits 2 when it changed something: counted as success. A host whose own agent
    // run (simulated at a fixed offset after the merge) got there first exits 0: on a
    // loaded machine the simulated clock runs ahead of the steps, so some hosts may.
    const puppet = entriesOf(run.entries, 'host-finished', 'apply/puppet-run/now/puppet-rest');
    expect(puppet).toHaveLength(20);
    expect(puppet.every((h) => h.outcome === 'ok' && [0, 2].includes(h.exitCode ?? -1))).toBe(true);
    expect(puppet.some((h) => h.exitCode === 2)).toBe(true);
  });
});
