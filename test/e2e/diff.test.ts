/**
 * `crewchief diff` (issue 13): a site's plan on two profiles side by side, checked against
 * the site differences the seeds describe (shared/seeds: Rubin's "(Summit)"/"(TTS)"
 * steps, Atmosphere's "CyVerse Only"/"Jetstream Only" tasks).
 */
import fs from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {PlanDiff} from '../../source/services/plan-diff.js';
import {cli} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';

let state: string;
beforeAll(() => {
  state = tempDir('cc-diff-');
});
afterAll(() => fs.rmSync(state, {recursive: true, force: true}));

async function diffJson(site: string, a: string, b: string): Promise<PlanDiff> {
  const run = await cli(['diff', site, '--profile', a, '--profile', b, '--json'], {state});
  expect(run.exitCode, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as PlanDiff;
}

const keys = (list: readonly {key: string}[]): string[] => list.map((x) => x.key);

describe('crewchief diff', () => {
  it('rubin-summit vs rubin-tts: the TTS-only and Summit-only steps, the hosts and counts that differ', async () => {
    const d = await diffJson('rubin', 'rubin-summit', 'rubin-tts');
    // Seed: the heartbeat warning is "(Summit)".
    expect(keys(d.onlyA)).toEqual(['offline/heartbeats']);
    expect(d.onlyA[0]!.reason).toBe('only for summit');
    // Seed: the federation count before cleanup, ./cleanup_love and sync_apps.py with its
    // three "type go" pauses are "(TTS)".
    expect(keys(d.onlyB)).toEqual(
      expect.arrayContaining([
        'cleanup/federations-before',
        'cleanup/cleanup-love',
        'deployment/argocd-login',
        'deployment/sync-apps',
        'deployment/go-kafka',
        'deployment/go-obssys',
        'deployment/go-rest',
      ]),
    );
    expect(d.onlyB.every((o) => o.reason === 'only for tts')).toBe(true);
    // Both sites run the cleanup script, each from its own k8s-admin directory and host.
    const cleanup = d.differ.find((s) => s.key === 'cleanup/k8s-cleanup');
    expect(cleanup?.fields).toEqual(
      expect.arrayContaining([
        {field: 'cwd', a: '~/k8s-admin/summit', b: '~/k8s-admin/tucson-teststand'},
        {
          field: 'hosts',
          a: 'k8s (k8s-admin.summit.example.org)',
          b: 'k8s (k8s-admin.tts.example.org)',
        },
      ]),
    );
    // The federations watched back up: a different count on each site.
    const up = d.differ.find((s) => s.key === 'monitoring/federations-up');
    expect(up?.fields.find((f) => f.field === 'until')).toEqual({
      field: 'until',
      a: 'near expected_federations = 31 ± 0',
      b: 'near expected_federations = 24 ± 0',
    });
    expect(d.profile).toEqual(
      expect.arrayContaining([
        {field: 'flags', a: 'summit', b: 'tts'},
        {field: 'variables.slack_channel', a: '#summit-ops', b: '#tts-ops'},
      ]),
    );
    expect(d.same).toBeGreaterThan(0);
  });

  it('cyverse vs jetstream: the CyVerse-only notices and the Jetstream-only heads-up', async () => {
    const d = await diffJson('atmosphere', 'cyverse', 'jetstream');
    expect(keys(d.onlyA).sort()).toEqual(
      [
        'two-weeks-prior/maintenance-banner',
        'two-weeks-prior/maintenance-calendar',
        'two-weeks-prior/maintenance-notice',
        'two-weeks-prior/statusio',
      ].sort(),
    );
    expect(keys(d.onlyB)).toEqual(['two-weeks-prior/jetstream-team']);
    expect(d.profile).toEqual(
      expect.arrayContaining([
        {field: 'variables.secrets_branch', a: 'prod', b: 'jetstream-prod'},
        {field: 'hosts.atmo', a: 'atmo.cyverse.example.org', b: 'use.jetstream.example.org'},
      ]),
    );
  });

  it('prints the two plans side by side', async () => {
    const run = await cli(
      ['diff', 'rubin', '--profile', 'rubin-summit', '--profile', 'rubin-tts'],
      {
        state,
      },
    );
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('rubin: Rubin Summit (rubin-summit) vs Rubin TTS (rubin-tts)');
    expect(lines.find((l) => /^\s+rubin-summit\s+│ rubin-tts$/.test(l))).toBeDefined();
    const heartbeats = lines.indexOf('  offline/heartbeats');
    expect(lines[heartbeats + 1]).toMatch(
      /manual · 2\. Check heartbeats .*│ — not run \(only for summit\)/,
    );
    expect(run.stdout).toMatch(/flags\s+summit\s+│ tts/);
    expect(run.stdout).toMatch(/steps? run the same on both sides\./);
  });

  it('refuses one profile, profiles of another site, and --profile twice elsewhere', async () => {
    const one = await cli(['diff', 'rubin', '--profile', 'rubin-tts'], {state});
    expect(one.exitCode).toBe(2);
    expect(one.stderr).toContain('diff expects a SITE and two profiles');
    const other = await cli(['diff', 'rubin', '--profile', 'rubin-tts', '--profile', 'cyverse'], {
      state,
    });
    expect(other.exitCode).toBe(3);
    expect(other.stderr).toMatch(/profile cyverse is for site "atmosphere", not "rubin"/);
    const twice = await cli(
      ['graph', 'rubin', '--profile', 'rubin-tts', '--profile', 'rubin-summit'],
      {state},
    );
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toContain('only diff takes two');
  });
});
