/**
 * Rubin T&S (seed 002) end to end over sshd, the TTS and the Summit shapes (the Summit
 * through a jump host, as its profile has it), and a rogue daemon that keeps the
 * federation count above 0: patience warning, timeout, the driver aborts.
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

/** Working directories must exist on the far side: the simulated home's. */
const variables =
  (site: 'tucson-teststand' | 'summit', expected: number) =>
  (home: string): Record<string, string> => ({
    k8s_admin_dir: `${home}/k8s-admin/${site}`,
    argocd_admin_dir: `${home}/argocd-admin`,
    config_dir: `${home}/deployment/config`,
    expected_federations: String(expected),
  });

describe('rubin over sshd', {timeout: 120_000}, () => {
  it('TTS: shutdown to 0 federations, staged startup through sync_apps.py, back to the full count', async () => {
    const profile = await lab.profile('rubin-tts', {
      sim: 'rubin',
      variables: variables('tucson-teststand', 18),
    });
    const run = await lab.run('rubin', profile, ['--yes', '--confirm', 'cleanup_all']);
    const {plan, outcome} = expectFinishedRun(run);
    expect(plan.find((s) => s.id === 'heartbeats')).toMatchObject({
      applies: false,
      reason: 'only for summit',
    });
    for (const id of ['federations-before', 'cleanup-love'])
      expect(outcome[`cleanup/${id}`], id).toBe('ok');
    for (const id of ['go-kafka', 'go-obssys', 'go-rest'])
      expect(outcome[`deployment/${id}`], id).toBe('ok');
    expect(
      entriesOf(run.entries, 'count-sampled', 'cleanup/federations-zero').at(-1),
    ).toMatchObject({value: 0});
    expect(
      entriesOf(run.entries, 'count-sampled', 'monitoring/federations-up').at(-1),
    ).toMatchObject({value: 18});
    // "go" was typed into the running sync_apps.py three times
    const typed = entriesOf(run.entries, 'step-started').filter((e) =>
      e.runs[0]?.command.startsWith('(typed into sync_apps)'),
    );
    expect(typed).toHaveLength(3);
  });

  it('Summit (through the bastion): the Summit-only step, no sync_apps.py', async () => {
    const profile = await lab.profile('rubin-summit', {
      sim: 'rubin',
      variables: variables('summit', 8),
      jump: true,
    });
    const run = await lab.run('rubin', profile, ['--yes', '--confirm', 'cleanup_all']);
    const {plan, outcome} = expectFinishedRun(run);
    expect(outcome['offline/heartbeats']).toBe('done');
    for (const id of [
      'federations-before',
      'cleanup-love',
      'argocd-login',
      'sync-apps',
      'go-kafka',
      'go-rest',
    ])
      expect(
        plan.find((s) => s.id === id),
        id,
      ).toMatchObject({applies: false, reason: 'only for tts'});
    expect(
      entriesOf(run.entries, 'count-sampled', 'monitoring/federations-up').at(-1),
    ).toMatchObject({value: 8});
    expect(lab.lab.bastion.log()).toMatch(
      new RegExp(
        `direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${lab.lab.target.port}\\b`,
      ),
    );
    expect(simCalls(profile).some((c) => c.host === 'k8s' && c.line === 'cleanup_all -d')).toBe(
      true,
    );
  });

  it('a rogue daemon: the count stalls above 0, times out, and the driver aborts', async () => {
    const profile = await lab.profile('rubin-tts', {
      sim: 'rubin',
      variables: variables('tucson-teststand', 18),
      faults: ['rogue-daemon'],
      name: 'rubin-tts-rogue',
      overrides: {'federations-zero': {every: '300ms', patience: '1s', timeout: '5s'}},
    });
    const run = await lab.run('rubin', profile, [
      '--yes',
      '--confirm',
      'cleanup_all',
      '--on-timeout',
      'abort',
    ]);
    expect(run.exitCode).toBe(1);
    const key = 'cleanup/federations-zero';
    expect(entriesOf(run.entries, 'count-sampled', key).at(-1)).toMatchObject({value: 1});
    expect(entriesOf(run.entries, 'count-stalled', key).at(-1)).toMatchObject({value: 1});
    expect(entriesOf(run.entries, 'decision', key)).toEqual([
      expect.objectContaining({decision: 'abort', reason: 'timed out; --on-timeout abort'}),
    ]);
    expect(entriesOf(run.entries, 'step-started', 'cleanup/main-daemon-down')).toEqual([]);
  });
});
