/**
 * `graph` draws what runs when things go wrong apart from the flow: on-failure steps beside
 * their step, the rollback an abort offers (latest phase first) and named rollbacks, each
 * ending rolled back; conditions and the point of no return are in the labels.
 */
import {expect, it} from 'vitest';
import {mermaid} from '../../source/commands/graph.js';
import {resolvePlan} from '../../source/engine/plan.js';
import type {Profile} from '../../source/runbook/profile.js';
import {
  command,
  manual,
  onFailure,
  phase,
  rollback,
  site,
} from '../../source/runbook/vocabulary.js';

const profile = {
  name: 'prod',
  file: 'prod.yaml',
  site: 'shop',
  transport: 'local',
  ssh: {},
  hosts: {},
  groups: {},
  variables: {},
  flags: [],
  secrets: {},
  overrides: {},
  outputCapBytes: 1 << 20,
  team: {},
  lineOf: () => 1,
} as unknown as Profile;

const shop = site({
  id: 'shop',
  title: 'Shop release',
  rollbacks: [
    rollback({
      id: 'restore',
      title: 'Restore the database backup',
      steps: [command({id: 'restore-db', title: 'Restore the database', run: 'restore-db'})],
    }),
  ],
  phases: [
    phase({
      id: 'prepare',
      title: 'Prepare',
      rollback: [command({id: 'unprepare', title: 'Put the old config back', run: 'undo'})],
      steps: [
        command({id: 'backup', title: 'Back up', run: 'backup'}),
        command({
          id: 'promote',
          title: 'Promote the replica',
          run: 'promote',
          onFailure: onFailure.steps([
            command({id: 'by-hand', title: 'Promote by hand', run: 'promote-by-hand'}),
          ]),
        }),
      ],
    }),
    phase({
      id: 'upgrade',
      title: 'Upgrade',
      rollback: [command({id: 'downgrade', title: 'Reinstall the old version', run: 'down'})],
      steps: [
        command({
          id: 'install',
          title: 'Install',
          run: 'install',
          capture: {as: 'ver', pattern: '(v\\d+)'},
        }),
        command({
          id: 'migrate',
          title: 'Migrate',
          run: 'migrate',
          pointOfNoReturn: true,
          when: {var: 'ver', equals: 'v2'},
          onFailure: onFailure.rollback('restore'),
        }),
        manual({id: 'announce', title: 'Announce'}),
      ],
    }),
  ],
});

it('draws on-failure steps, the offered rollback and named rollbacks apart from the flow', () => {
  const text = mermaid(resolvePlan(shop, profile));
  const edges = text.split('\n').filter((l) => l.includes('-->'));
  // The flow does not pass through standby steps.
  expect(edges).toContain('  prepare_promote --> upgrade_install');
  expect(edges).toContain('  upgrade_announce --> [*]');
  // Into a rollback step: only from the offer, another rollback step or a failure.
  const standby = /(_rollback_|restore_db)/;
  for (const e of edges.filter((x) => standby.test(x.split(' --> ')[1] ?? '')))
    expect(e).toMatch(/^ {2}(rollback_offer|\w*_rollback_\w+|\w+ --> \S+ : on failure)/);
  expect(edges).toContain('  upgrade_rollback_downgrade --> prepare_rollback_unprepare');
  // On failure: the step's own steps, then on with the flow; or a named rollback.
  expect(edges).toContain('  prepare_promote --> prepare_promote_on_failure_by_hand : on failure');
  expect(edges).toContain('  prepare_promote_on_failure_by_hand --> upgrade_install');
  expect(text).toMatch(/upgrade_migrate --> \S+restore_db : on failure, rollback restore/);
  // The abort's offer: the latest phase's rollback first, then the earlier one; rolled back.
  expect(edges).toContain('  rollback_offer --> upgrade_rollback_downgrade : rollback');
  expect(edges).toContain('  prepare_rollback_unprepare --> [*] : rolled back');
  expect(text).toMatch(/state "Roll back Upgrade" as rollback_phase_upgrade \{/);
  // Labels: the condition and the point of no return.
  expect(text).toMatch(
    /upgrade_migrate : command · Migrate \(when ver = v2\) ⛔ point of no return/,
  );
});
