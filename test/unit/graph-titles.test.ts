/** Issue 13 #5: `graph` fills the profile's variables into phase and step titles. */
import {describe, expect, it} from 'vitest';
import {mermaid} from '../../source/commands/graph.js';
import {resolvePlan} from '../../source/engine/plan.js';
import type {Profile} from '../../source/runbook/profile.js';
import type {Site} from '../../source/runbook/vocabulary.js';

const profile: Profile = {
  name: 'prod',
  file: 'prod.yaml',
  site: 'unit',
  transport: 'local',
  ssh: {} as Profile['ssh'],
  hosts: {},
  groups: {},
  variables: {env: 'production'},
  flags: [],
  secrets: {},
  overrides: {},
  outputCapBytes: 1 << 20,
  team: {} as Profile['team'],
  lineOf: () => 1,
};

describe('graph', () => {
  it('fills profile variables into titles and leaves captured ones as written', () => {
    const site: Site = {
      id: 'unit',
      title: 'Unit',
      phases: [
        {
          id: 'p',
          title: 'Deploy to ${env}',
          steps: [
            {kind: 'command', id: 'ver', title: 'Version on ${env}', run: 'version'},
            {kind: 'manual', id: 'tell', title: 'Announce ${ver}'},
          ],
        },
      ],
    };
    const text = mermaid(resolvePlan(site, profile));
    expect(text).toContain('state "Deploy to production"');
    expect(text).toContain('command · Version on production');
    expect(text).toContain('manual · Announce ${ver}');
    expect(text).not.toContain('${env}');
  });
});
