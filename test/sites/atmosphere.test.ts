/**
 * Atmosphere (seed 000) end to end over sshd: the release on the CyVerse and Jetstream
 * profiles (with a local image build, and with the rollback to the committed images), the
 * hotfix on both, and the backup that produced an empty file. The backups are real
 * pg_dump runs against the PostgreSQL on this machine, of scratch databases made here.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {entriesOf, expectFinishedRun, SiteLab, simCalls, started} from './lab.js';

const PG = {host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test'};
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const atmoDb = `cc_atmo_prod_${suffix}`;
const tropoDb = `cc_troposphere_${suffix}`;

let lab: SiteLab;

async function sql(database: string, text: string): Promise<void> {
  const client = new pg.Client({...PG, database});
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  lab = await SiteLab.start();
  await sql('test', `CREATE DATABASE ${atmoDb}`);
  await sql('test', `CREATE DATABASE ${tropoDb}`);
  await sql(
    atmoDb,
    `CREATE TABLE instance (id serial PRIMARY KEY, name text);
     INSERT INTO instance (name) VALUES ('jetstream-vm-1'), ('cyverse-vm-2');`,
  );
  await sql(
    tropoDb,
    `CREATE TABLE maintenance_record (id serial PRIMARY KEY, title text);
     INSERT INTO maintenance_record (title) VALUES ('v36-0 deployment');`,
  );
});

afterAll(async () => {
  await lab?.close();
  for (const db of [atmoDb, tropoDb])
    await sql('test', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
});

/** The seed's paths, in the simulated home; the backups go to the scratch databases. */
const variables = (home: string): Record<string, string> => ({
  atmosphere_docker: `${home}/opt/dev/atmosphere-docker/atmosphere-docker.sh -f ${home}/opt/dev/atmosphere-docker/docker-compose.prod.yml`,
  compose_dir: `${home}/opt/dev/atmosphere-docker`,
  secrets_dir: `${home}/opt/dev/atmosphere-docker-secrets`,
  nginx_dir: `${home}/etc/nginx`,
  backup_dir: `${home}/backups`,
  build_dir: `${home}/build`,
  pg_host: PG.host,
  pg_user: PG.user,
  atmo_db: atmoDb,
  tropo_db: tropoDb,
});

const release = '2026-12-01';

describe('atmosphere over sshd', () => {
  it('cyverse: the whole release, building the images here, with real pg_dump backups', async () => {
    const profile = await lab.profile('cyverse', {sim: 'atmosphere', variables});
    const run = await lab.run('atmosphere', profile, [
      '--yes',
      '--confirm',
      'all',
      '--choose',
      'dockerhub-build=build-here',
    ]);
    const {plan, outcome} = expectFinishedRun(run);

    // CyVerse-only tasks ran, the Jetstream one does not apply; due dates from the release.
    for (const id of [
      'maintenance-notice',
      'maintenance-banner',
      'maintenance-calendar',
      'statusio',
    ])
      expect(outcome[`two-weeks-prior/${id}`]).toBe('done');
    expect(plan.find((s) => s.id === 'jetstream-team')).toMatchObject({applies: false});
    expect(plan.find((s) => s.id === 'maintenance-notice')?.due).toBe('2026-11-27');
    expect(plan.find((s) => s.id === 'crew-chief')?.due).toBe('2026-11-17');
    // The crew chief and the driver are in the session.
    const opened = run.entries.find((e) => e.type === 'session-opened');
    expect(opened?.type === 'session-opened' && opened.variables['crew_chief']).toMatch(
      /Crew Chief/,
    );
    expect(outcome['release-candidate/dockerhub-build/build-here/build-atmosphere']).toBe('ok');

    // Real dumps of the scratch databases, non-empty, before the maintenance started.
    const dump = fs.readFileSync(
      path.join(profile.sim.home, 'backups', `atmo-${release}.sql`),
      'utf8',
    );
    expect(dump).toMatch(/PostgreSQL database dump/);
    expect(dump).toMatch(/jetstream-vm-1/);
    expect(
      fs.readFileSync(path.join(profile.sim.home, 'backups', `tropo-${release}.sql`), 'utf8'),
    ).toMatch(/v36-0 deployment/);
    const keys = run.entries.flatMap((e) => (e.type === 'step-started' ? [e.step] : []));
    expect(keys.indexOf('maintenance/backup-tropo')).toBeLessThan(
      keys.indexOf('maintenance/maintenance-tropo'),
    );

    // The maintenance page went up and came down on the proxy; the app runs the release.
    const calls = simCalls(profile);
    expect(
      calls.filter((c) => c.host === 'proxy' && c.line === 'systemctl restart nginx'),
    ).toHaveLength(2);
    expect(
      calls.some((c) => c.host === 'atmo' && /commit atmosphere-docker_troposphere_1/.test(c.line)),
    ).toBe(true);
    expect(
      calls.some(
        (c) => c.host === 'beta' && /^docker build -t cyverse\/atmosphere:v36-1/.test(c.line),
      ),
    ).toBe(true);
    const maintenance = entriesOf(run.entries, 'notice', 'maintenance/maintenance-page-up');
    expect(maintenance.at(-1)?.text).toMatch(/all 1 checks passed/);
  });

  it('jetstream: the release rolled back to the committed images', async () => {
    const profile = await lab.profile('jetstream', {sim: 'atmosphere', variables});
    const run = await lab.run('atmosphere', profile, [
      '--yes',
      '--confirm',
      'all',
      '--choose',
      'go-live=rollback',
    ]);
    const {plan, outcome} = expectFinishedRun(run);
    expect(outcome['two-weeks-prior/jetstream-team']).toBe('done');
    for (const id of [
      'maintenance-notice',
      'maintenance-banner',
      'maintenance-calendar',
      'statusio',
    ])
      expect(
        plan.find((s) => s.id === id),
        id,
      ).toMatchObject({applies: false, reason: 'only for cyverse'});
    expect(outcome['test/go-live/rollback/rollback-running']).toBe('ok');
    expect(outcome['end-maintenance/public-site-live']).toBe('ok');
    const compose = fs.readFileSync(
      path.join(profile.sim.home, 'opt/dev/atmosphere-docker/docker-compose.prod.yml'),
      'utf8',
    );
    expect(compose).toMatch(/image: old_atmosphere-docker_atmosphere/);
    // the secrets checkout moved to Jetstream's branch
    const secrets = entriesOf(run.entries, 'notice', 'upgrade/secrets-on-branch');
    expect(secrets.at(-1)?.text).toMatch(/passed/);
  });

  it('jetstream: a release that does not answer, rolled back to the committed images to outcome rolled back', async () => {
    // The released image answers 500 on the server: the upgrade's test fails.
    const profile = await lab.profile('jetstream', {
      sim: 'atmosphere',
      variables,
      name: 'jetstream-broken-release',
      faults: ['release-broken'],
    });
    const run = await lab.run('atmosphere', profile, [
      '--yes',
      '--confirm',
      'all',
      '--choose',
      'go-live=keep',
      '--on-failure',
      'rollback',
    ]);

    expect(run.exitCode).toBe(7);
    const outcome = (key: string) =>
      entriesOf(run.entries, 'step-finished', key).map((e) => e.outcome);
    expect(outcome('test/app-answers')).toEqual(['failed', 'canceled']);
    // The phases that ran with a rollback, the latest first: the images, then the maintenance.
    expect(run.entries.find((e) => e.type === 'rollback-started')).toMatchObject({
      step: 'test/app-answers',
      trigger: 'abort',
      phases: ['upgrade', 'maintenance'],
      steps: [
        'upgrade/rollback/undo-tags',
        'upgrade/rollback/undo-up',
        'upgrade/rollback/undo-running',
        'maintenance/rollback/undo-proxy-live',
        'maintenance/rollback/undo-maintenance-stop-tropo',
        'maintenance/rollback/undo-maintenance-stop-atmo',
        'maintenance/rollback/undo-public-site-live',
        'maintenance/rollback/rolled-back-notice',
      ],
    });
    for (const key of [
      'upgrade/rollback/undo-running',
      'maintenance/rollback/undo-public-site-live',
    ])
      expect(outcome(key), key).toEqual(['ok']);
    // Nothing after the failure ran: not the go-live choice, not the end of the maintenance.
    expect(started(run.entries).has('end-maintenance/proxy-live')).toBe(false);
    expect(run.entries.some((e) => e.type === 'no-return-passed')).toBe(false);
    expect(run.entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'rolled-back'});
    // The server runs the committed images, and the public site is back, out of maintenance.
    const compose = fs.readFileSync(
      path.join(profile.sim.home, 'opt/dev/atmosphere-docker/docker-compose.prod.yml'),
      'utf8',
    );
    expect(compose).toMatch(/image: old_atmosphere-docker_atmosphere/);
    expect(
      simCalls(profile).filter((c) => c.host === 'proxy' && c.line === 'systemctl restart nginx'),
    ).toHaveLength(2);
    expect(run.output).toMatch(/session rolled back/);
  });

  it('refuses to go on after a backup that produced an empty file', async () => {
    const profile = await lab.profile('cyverse', {
      sim: 'atmosphere',
      variables,
      name: 'cyverse-empty-dump',
    });
    // A stale link in the backup directory sends the dump nowhere: pg_dump succeeds, the file is empty.
    const backups = path.join(profile.sim.home, 'backups');
    fs.mkdirSync(backups, {recursive: true});
    fs.symlinkSync('/dev/null', path.join(backups, `atmo-${release}.sql`));

    const run = await lab.run('atmosphere', profile, ['--yes', '--on-failure', 'abort']);

    expect(run.exitCode).toBe(1);
    const failed = entriesOf(run.entries, 'host-finished', 'maintenance/backup-atmo');
    expect(failed).toEqual([
      expect.objectContaining({
        host: 'atmo',
        exitCode: 0,
        outcome: 'failed',
        error: expect.stringMatching(
          /atmo-2026-12-01\.sql is missing or empty on atmo: the next step may not start/,
        ),
      }),
    ]);
    // failed, then the driver (by flag) aborted at the prompt
    expect(
      entriesOf(run.entries, 'step-finished', 'maintenance/backup-atmo').map((e) => e.outcome),
    ).toEqual(['failed', 'canceled']);
    expect(entriesOf(run.entries, 'decision', 'maintenance/backup-atmo')).toEqual([
      expect.objectContaining({decision: 'abort'}),
    ]);
    expect(started(run.entries).has('maintenance/backup-tropo')).toBe(false);
    expect(started(run.entries).has('maintenance/maintenance-tropo')).toBe(false);
    expect(run.entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'aborted'});
  });

  it('cyverse hotfix: scale to 2, wait for the new container, swap, restart nginx', async () => {
    const profile = await lab.profile('cyverse-hotfix', {sim: 'atmosphere', variables});
    const run = await lab.run('atmosphere-hotfix', profile, ['--yes', '--confirm', 'kill-old']);
    const {plan, outcome} = expectFinishedRun(run);
    expect(outcome['hotfix/crontab-reminder']).toBe('done');
    expect(plan.find((s) => s.id === 'crontab-index')).toMatchObject({applies: false});
    const counts = entriesOf(run.entries, 'count-sampled', 'hotfix/new-container-ready');
    expect(counts.at(-1)).toMatchObject({value: 2});
    expect(run.entries.find((e) => e.type === 'variable-captured')).toMatchObject({
      name: 'old_container',
      value: 'atmosphere-docker_atmosphere_1',
    });
    expect(
      simCalls(profile).some((c) => c.line === 'docker kill atmosphere-docker_atmosphere_1'),
    ).toBe(true);
  });

  it('jetstream hotfix: and the crontab entries get --index=2', async () => {
    const profile = await lab.profile('jetstream-hotfix', {sim: 'atmosphere', variables});
    const run = await lab.run('atmosphere-hotfix', profile, ['--yes', '--confirm', 'all']);
    const {plan, outcome} = expectFinishedRun(run);
    expect(outcome['hotfix/crontab-has-index']).toBe('ok');
    expect(plan.find((s) => s.id === 'crontab-reminder')).toMatchObject({applies: false});
  });
});
