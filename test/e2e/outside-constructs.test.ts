/**
 * Issue 13, "done when": a machine file in a temporary directory outside the package,
 * importing from `crewchief`, validates, dry-runs and runs end to end over a real OpenSSH
 * sshd on loopback, using the conditions and retries vocabulary: a per-host watch with a
 * strict comparison, a command and a check that retry, an escaped shell `$${VAR}`, targets
 * from a profile variable and from a captured value, and steps that run only when a
 * captured value satisfies a condition (one runs, one is skipped with the reason), an
 * outcome branch, a named rollback that ends the session rolled back, and a `--var`
 * (the standby host, a target from a run-time variable).
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {stringify} from 'yaml';
import type {JournalEntry} from '../../source/journal/events.js';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile} from '../helpers/fixtures.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

const machine = `import {site, phase, command, watch, check, rollback, onFailure} from 'crewchief';

// Written outside the package, with only the README: a replica failover drill.
export default site({
  id: 'drill',
  title: 'Failover drill',
  variables: {work: 'a scratch directory the hosts share', standby: 'the standby host'},
  rollbacks: [
    rollback({
      id: 'back',
      title: 'Back to the old primary',
      steps: [
        command({
          id: 'restore',
          title: 'Make \${standby} primary again',
          run: 'echo "$\${CREWCHIEF_HOST}" > \${work}/restored',
          on: '\${standby}',
        }),
      ],
    }),
  ],
  phases: [
    phase({
      id: 'prepare',
      title: 'Prepare',
      steps: [
        command({
          id: 'seed',
          title: 'Seed the replicas',
          run: 'echo 4000000 > \${work}/lag-db2 && echo 600 > \${work}/lag-db3',
        }),
        command({
          id: 'flaky',
          title: 'Warm up the standby',
          // Fails once, then succeeds: the retry tries again after 300 ms.
          run: 'test -e \${work}/tried || { touch \${work}/tried; echo "not warm yet" >&2; exit 3; }; echo "warm on $\${CREWCHIEF_HOST}"',
          on: '\${standby}',
          retry: {attempts: 3, backoff: '300ms'},
        }),
      ],
    }),
    phase({
      id: 'failover',
      title: 'Failover',
      steps: [
        watch({
          id: 'lag',
          title: 'Every replica below 1000 bytes of lag',
          // Each read shrinks the host's lag eightfold (a replica catching up).
          probe: 'f=\${work}/lag-$\${CREWCHIEF_HOST}; n=$(cat "$f"); n=$((n / 8)); echo "$n" > "$f"; echo "lag $n"',
          on: '@replicas',
          hosts: 'every',
          until: {below: 1000},
          unit: 'bytes',
          every: '200ms',
          timeout: '2m',
        }),
        command({
          id: 'elect',
          title: 'Elect the new primary',
          run: 'echo "primary=db3"',
          capture: {as: 'primary', pattern: '^primary=(\\\\S+)$', value: 'db[0-9]+'},
        }),
        command({
          id: 'measure',
          title: 'Measure the lag on \${primary}',
          run: 'echo "lag=42"',
          on: '\${primary}',
          capture: {as: 'lag', pattern: '^lag=(\\\\d+)$'},
        }),
        command({
          id: 'promote',
          title: 'Promote \${primary}',
          run: 'echo "$\${CREWCHIEF_HOST}" > \${work}/promoted',
          on: '\${primary}',
          when: {var: 'lag', below: 100},
        }),
        command({
          id: 'resync',
          title: 'Full resync (lag too high)',
          run: 'touch \${work}/resynced',
          on: '\${primary}',
          when: {var: 'lag', atLeast: 100},
        }),
        check({
          id: 'promoted',
          title: 'The promotion is visible',
          on: '@replicas',
          probes: [{command: 'grep -qx db3 \${work}/promoted'}],
          retry: {attempts: 2, backoff: '200ms'},
        }),
        command({
          id: 'fence',
          title: 'Fence the old primary',
          run: 'echo "no fencing agent" >&2; exit 4',
          on: '\${standby}',
          // An outcome branch: fails, so these run instead, and the runbook goes on.
          onFailure: onFailure.steps([
            command({id: 'fence-by-hand', title: 'Fence by hand', run: 'touch \${work}/fenced', on: '\${standby}'}),
          ]),
        }),
        command({
          id: 'writes',
          title: 'Writes reach the new primary',
          run: 'echo "read-only" >&2; exit 9',
          on: '\${primary}',
          retry: {attempts: 2, backoff: '100ms'},
          // Still failing after its retries: roll back, ending the session rolled back.
          onFailure: onFailure.rollback('back'),
        }),
      ],
    }),
  ],
});
`;

let lab: SshLab;
let dir: string;
beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
  dir = tempDir('cc-outside-constructs-');
}, 60_000);
afterAll(async () => {
  await lab?.close();
  if (dir) fs.rmSync(dir, {recursive: true, force: true});
});

const of = <T extends JournalEntry['type']>(entries: JournalEntry[], type: T, step?: string) =>
  entries.filter(
    (e): e is Extract<JournalEntry, {type: T}> =>
      e.type === type && (step === undefined || ('step' in e && e.step === step)),
  );

describe('a machine outside the package, over the real sshd', () => {
  it('validates, dry-runs and runs every conditions-and-retries construct end to end', async () => {
    const work = fs.mkdtempSync(path.join(dir, 'work-'));
    const file = writeFile(dir, 'drill.ts', machine);
    const host = (name: string) => ({address: 'target', env: {CREWCHIEF_HOST: name}});
    const profile = writeFile(
      dir,
      'drill.yaml',
      stringify({
        site: 'drill',
        title: 'Drill over the sshd lab',
        transport: 'ssh',
        ssh: {
          config: lab.configFile,
          known_hosts: lab.knownHostsFile,
          identity: lab.keyPath,
          user: lab.user,
          strict_host_keys: 'yes',
        },
        hosts: {db1: host('db1'), db2: host('db2'), db3: host('db3')},
        groups: {replicas: ['db2', 'db3']},
        // The standby is given at run time: --var standby=db1.
        variables: {work, standby: null},
      }),
    );
    const state = tempDir('cc-state-');
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    const env = {HOME: home, SSH_AUTH_SOCK: ''};

    const given = ['--var', 'standby=db1'];
    const validated = await cli(['validate', file, profile, ...given], {
      state,
      cwd: dir,
      env,
    });
    expect(validated.all).toMatch(/ok: 1 site \(drill\), 1 profile/);
    expect(validated.exitCode).toBe(0);

    const dryJournal = path.join(dir, 'dry.jsonl');
    const dry = await cli(
      [
        'run',
        file,
        '--profile',
        profile,
        ...given,
        '--dry-run',
        '--plain',
        '--journal',
        dryJournal,
      ],
      {state, cwd: dir, env},
    );
    expect(dry.all).toMatch(/session finished/);
    expect(dry.exitCode).toBe(0);

    const journal = path.join(dir, 'session.jsonl');
    const run = await cli(
      ['run', file, '--profile', profile, ...given, '--plain', '--journal', journal],
      {
        state,
        cwd: dir,
        env,
      },
    );
    const output = String(run.all ?? '');
    // The rollback ran to its end: exit 7, the session closed rolled back.
    expect(run.exitCode, output.slice(-3000)).toBe(7);
    const entries = readJournal(journal).entries;
    expect(entries.at(-1)).toMatchObject({type: 'session-closed', outcome: 'rolled-back'});
    expect(of(entries, 'session-opened')[0]?.variables).toMatchObject({standby: 'db1'});

    // Retries: the first attempt failed (exit 3) with 300 ms before the next; the second passed.
    const attempts = of(entries, 'attempt-ended', 'prepare/flaky');
    expect(attempts.map((a) => [a.attempt, a.of, a.ok, a.exitCode, a.nextInMs])).toEqual([
      [1, 3, false, 3, 300],
      [2, 3, true, 0, undefined],
    ]);
    expect(attempts[0]?.host).toBe('db1'); // the target from the profile variable
    expect(output).toMatch(/command on db1: attempt 1 of 3 failed \(exit 3\).*next in 300ms/);
    expect(output).toContain('warm on db1'); // $${CREWCHIEF_HOST} reached the shell as ${…}

    // The per-host watch: db2 held it up until its own lag went below 1000.
    const samples = of(entries, 'count-sampled', 'failover/lag');
    expect(samples[0]).toMatchObject({
      per: 'every',
      target: 'each < 1000',
      value: 500000,
      hosts: [
        {host: 'db2', value: 500000, holds: false},
        {host: 'db3', value: 75, holds: true},
      ],
    });
    expect(samples.at(-1)?.hosts?.find((h) => h.host === 'db2')).toMatchObject({
      value: 976,
      holds: true,
    });
    expect(output).toMatch(/until each < 1000\) · db2 500000 ✗, db3 75 ✓/);

    // Targets from a captured value; a condition on a captured value: one runs, one skips.
    expect(fs.readFileSync(path.join(work, 'promoted'), 'utf8').trim()).toBe('db3');
    expect(of(entries, 'step-started', 'failover/promote')[0]?.runs).toEqual([
      {host: 'db3', command: expect.stringContaining('${CREWCHIEF_HOST}')},
    ]);
    expect(fs.existsSync(path.join(work, 'resynced'))).toBe(false);
    expect(of(entries, 'step-started', 'failover/resync')).toHaveLength(0);
    expect(of(entries, 'step-skipped', 'failover/resync')[0]?.reason).toBe(
      'not run: its condition lag ≥ 100 does not hold: lag is "42"',
    );
    expect(output).toMatch(/↷ Full resync \(lag too high\): not run: its condition lag ≥ 100/);
    expect(of(entries, 'step-finished', 'failover/promoted')[0]?.outcome).toBe('ok');

    // The outcome branch ran after the fence failed, and the runbook went on.
    expect(of(entries, 'step-finished', 'failover/fence')[0]?.outcome).toBe('failed');
    expect(fs.existsSync(path.join(work, 'fenced'))).toBe(true);
    // The last step failed twice (its retry), then the named rollback ran on the standby.
    expect(
      of(entries, 'attempt-ended', 'failover/writes').map((a) => [a.attempt, a.ok, a.exitCode]),
    ).toEqual([
      [1, false, 9],
      [2, false, 9],
    ]);
    expect(fs.readFileSync(path.join(work, 'restored'), 'utf8').trim()).toBe('db1');
    expect(output).toMatch(/↺ rolling back \(back\)/);
    expect(output).toMatch(/session rolled back/);
    expect(output).toMatch(/attempt 1 of 2 failed \(exit 9\); next in 100ms/);
  }, 180_000);
});
