/**
 * resin.io (seed 004) end to end over sshd: production (rolling update, proxy, vpn, git,
 * CoreOS upgrade), staging (Jenkins, the inadvisable branch switch), a proxy deploy after
 * which the online devices never come back near the number noted before, and the etcd
 * recovery runbook on both stacks.
 */
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {entriesOf, expectFinishedRun, SiteLab, simCalls} from './lab.js';

let lab: SiteLab;
beforeAll(async () => {
  lab = await SiteLab.start();
});
afterAll(async () => {
  await lab?.close();
});

const KEY_BODY = 'c2ltdWxhdGVkIHJlc2luX2RldmljZXMga2V5IGZvciB0aGUgdGVzdHM';
const secrets = {
  ADMIN_TOKEN: 'test-admin-token-5f2a',
  RESIN_DEVICES_KEY: `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----`,
  JENKINS_TOKEN: 'test-jenkins-token-77c1',
};

const variables = (home: string): Record<string, string> => ({
  proxy_ssh_dir: `${home}/proxy-root/.ssh`,
  containers_dir: `${home}/resin-containers`,
  etcd_data_dir: `${home}/var/lib/etcd2`,
});

describe('resin over sshd', {timeout: 120_000}, () => {
  it('production: rolling update, proxy, vpn and git with downtime, CoreOS upgrade', async () => {
    const profile = await lab.profile('resin-prod', {sim: 'resin', variables, secrets});
    const run = await lab.run('resin', profile, ['--yes', '--confirm', 'all']);
    const {plan, outcome} = expectFinishedRun(run);
    expect(plan.filter((s) => s.phase === 'to-staging').every((s) => !s.applies)).toBe(true);
    expect(outcome['to-production/deploy-starting']).toBe('done');

    const captured = (name: string): string | undefined =>
      entriesOf(run.entries, 'variable-captured').find((e) => e.name === name)?.value;
    // doubled, X of X at twice the size, then back to the original size
    const desired = Number(captured('asg_desired'));
    const doubled = entriesOf(
      run.entries,
      'count-sampled',
      'rolling/rolling-update/yes/asg-in-service',
    );
    expect(doubled.at(-1)).toMatchObject({value: desired * 2, target: `= ${desired * 2}`});
    const settled = entriesOf(
      run.entries,
      'count-sampled',
      'rolling/rolling-update/yes/asg-settled',
    );
    expect(settled.at(-1)).toMatchObject({value: desired, target: `= ${desired}`});
    // the proxy: devices noted, knocked off by the deploy, back within 2% of the baseline
    const before = Number(captured('online_before'));
    const back = entriesOf(
      run.entries,
      'count-sampled',
      'proxy/proxy-deploy-this-time/yes/proxy-devices-back',
    );
    expect(Math.abs((back.at(-1)?.value ?? 0) - before)).toBeLessThanOrEqual(before * 0.02);
    // EXTREME CAUTION steps waited for their word
    const confirms = entriesOf(run.entries, 'decision').filter((d) => d.decision === 'confirm');
    expect(confirms.map((d) => [d.step.split('/').at(-1), d.value])).toEqual(
      expect.arrayContaining([
        ['vpn-deploy', 'vpn'],
        ['git-restart', 'git'],
        ['coreos-detach-volume', 'coreos-detach-volume'],
        ['coreos-submit', 'resin-production'],
      ]),
    );
    expect(outcome['coreos/coreos-upgrade/yes/coreos-devices-back']).toBe('ok');
    // the devices key went to the proxy's agent, never into the journal
    expect(fs.readFileSync(profile.journal, 'utf8')).not.toContain(KEY_BODY);
    expect(
      simCalls(profile).some((c) => c.host === 'proxy' && /^ssh-add .*resin_devices$/.test(c.line)),
    ).toBe(true);
  });

  it('staging: the Jenkins deploy and the inadvisable branch switch', async () => {
    const profile = await lab.profile('resin-staging', {sim: 'resin', variables, secrets});
    const run = await lab.run('resin', profile, [
      '--yes',
      '--confirm',
      'all',
      '--choose',
      'coreos-upgrade=no',
    ]);
    const {plan, outcome} = expectFinishedRun(run);
    expect(
      plan
        .filter((s) => s.phase === 'rolling' || s.phase === 'to-production')
        .every((s) => !s.applies),
    ).toBe(true);
    expect(outcome['to-staging/switch-branch/yes/resinctl-switch-branch']).toBe('ok');
    expect(outcome['to-staging/jenkins-done']).toBe('ok');
    expect(
      simCalls(profile).some((c) => c.line === 'resinctl switch-branch api feature-branch staging'),
    ).toBe(true);
    expect(fs.readFileSync(profile.journal, 'utf8')).not.toContain(secrets.JENKINS_TOKEN);
  });

  it('devices that never come back: patience warning, timeout, the driver aborts', async () => {
    const profile = await lab.profile('resin-prod', {
      sim: 'resin',
      variables,
      secrets,
      faults: ['devices-stay-offline'],
      name: 'resin-prod-devices',
      overrides: {'proxy-devices-back': {every: '300ms', patience: '1s', timeout: '6s'}},
    });
    const run = await lab.run('resin', profile, [
      '--yes',
      '--on-timeout',
      'abort',
      '--choose',
      'rolling-update=no',
    ]);
    expect(run.exitCode).toBe(1);
    const key = 'proxy/proxy-deploy-this-time/yes/proxy-devices-back';
    const before = Number(
      entriesOf(run.entries, 'variable-captured').find((e) => e.name === 'online_before')?.value,
    );
    const samples = entriesOf(run.entries, 'count-sampled', key);
    expect(samples.length).toBeGreaterThan(3);
    // never back within the 2% tolerance of the baseline
    expect(samples.every((s) => (s.value ?? 0) < before * 0.98)).toBe(true);
    expect(entriesOf(run.entries, 'count-stalled', key).length).toBeGreaterThanOrEqual(1);
    expect(entriesOf(run.entries, 'prompt-shown', key)).toEqual([
      expect.objectContaining({prompt: 'watch-timeout'}),
    ]);
    expect(entriesOf(run.entries, 'decision', key)).toEqual([
      expect.objectContaining({decision: 'abort', reason: 'timed out; --on-timeout abort'}),
    ]);
    expect(run.entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'aborted'});
    expect(
      entriesOf(run.entries, 'step-started').some((e) => e.step.startsWith('interrupted/')),
    ).toBe(false);
  });

  for (const name of ['resin-etcd-prod', 'resin-etcd-staging']) {
    it(`${name}: etcd is broken, and comes back`, async () => {
      const profile = await lab.profile(name, {sim: 'resin-etcd', variables});
      const run = await lab.run('resin-etcd', profile, ['--yes', '--confirm', 'all']);
      const {outcome} = expectFinishedRun(run);
      expect(entriesOf(run.entries, 'count-sampled', 'rejoin/fleet-machines').at(-1)).toMatchObject(
        {value: 8},
      );
      expect(outcome['rejoin/fleet-units-running']).toBe('ok');
      const wiped = simCalls(profile).filter((c) => c.line.startsWith('sudo rm -rf'));
      expect(new Set(wiped.map((c) => c.host))).toEqual(
        new Set(['manager', 'git', 'vpn', 'proxy', 'api1', 'api2', 'registry1', 'builder1']),
      );
    });
  }
});
