/**
 * One driver at a time: two drivers started at once (two processes), exactly one
 * proceeds and the other is told who holds it and changes nothing; the lock frees when
 * the holder is killed; hand-over, take-over, a lost lock and strict mode.
 */
import fs from 'node:fs';
import pg from 'pg';
import {afterAll, describe, expect, it} from 'vitest';
import type {Launched} from '../../source/services/open.js';
import {readJournal} from '../../source/journal/file.js';
import {LOCK_NAMESPACE} from '../../source/journal/pg-schema.js';
import {lockKey} from '../../source/team/lock.js';
import {cli, waitForEntry} from '../helpers/cli.js';
import {fakeTransport} from '../helpers/fake-transport.js';
import {tempDir} from '../helpers/fixtures.js';
import {harness, promptFor, type Harness} from '../helpers/session.js';
import {journalsIn, runCleanups, stateDir} from './helpers.js';
import {createDatabase, eventually, query, terminate, type TestDatabase} from './pg.js';
import {TcpProxy} from './tcp-proxy.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(prefix);
  cleanup.push(() => db.drop());
  return db;
}

type Run = ReturnType<typeof cli>;

/** Two drivers at once: resolves with the one refused (it exits) and the one going on. */
async function race(a: Run, b: Run): Promise<{refused: Awaited<Run>; going: Run}> {
  const first = await Promise.race([a.then(() => 'a'), b.then(() => 'b')]);
  return first === 'a' ? {refused: await a, going: b} : {refused: await b, going: a};
}

describe.concurrent('one driver at a time, across machines (PostgreSQL)', () => {
  it('lets exactly one of two drivers proceed; the lock frees when the holder is killed; a take-over needs a reason', async () => {
    const db = await database('lock');
    const alice = stateDir(cleanup);
    const bob = stateDir(cleanup);
    const demo = (state: string, driver: string) =>
      cli(['demo', '--plain', '--journal-db', db.url], {
        state,
        env: {CREWCHIEF_DRIVER: driver},
      });
    const {refused, going} = await race(demo(alice, 'alice@bastion1'), demo(bob, 'bob@bastion2'));
    expect(refused.exitCode, refused.all).toBe(6);
    expect(refused.stderr, refused.stderr).toMatch(
      /is being driven by (alice@bastion1|bob@bastion2)/,
    );
    const [winner, loserState] = refused.stderr.includes('alice@bastion1')
      ? ['alice@bastion1', bob]
      : ['bob@bastion2', alice];
    const winnerState = loserState === bob ? alice : bob;
    expect(refused.stderr).toContain(`is being driven by ${winner}`);
    expect(refused.stderr).toMatch(/since: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(\d+s ago\)/);
    expect(refused.stderr).toMatch(/PostgreSQL advisory lock/);
    // The refused driver changed nothing: no journal, no session in the mirror.
    expect(journalsIn(loserState)).toEqual([]);
    const file = await eventually(() => journalsIn(winnerState)[0], 'the winner journal');
    const session = readJournal(file).header.session;
    expect(refused.stderr).toContain(`session: ${session}`);
    await eventually(
      async () =>
        (await query(db.url, 'select session from crewchief.sessions')).length === 1 &&
        (await query(db.url, 'select driver from crewchief.drivers'))[0]?.['driver'] === winner,
      'one session in the mirror, driven by the winner',
    );

    // The holder dies (kill -9): PostgreSQL frees the lock with its connection.
    await waitForEntry(file, (e) => e.type === 'phase-entered' && e.phase === 'cleanup');
    going.kill('SIGKILL');
    await going;
    const carol = stateDir(cleanup);
    // Resuming someone else's session without a hand-over is a take-over: a reason first.
    // (PostgreSQL notices the dead connection at once; a refusal naming the holder would
    // mean it has not yet.)
    const noReason = await eventually(async () => {
      const r = await cli(['resume', session, '--journal-db', db.url, '--plain'], {
        state: carol,
        env: {CREWCHIEF_DRIVER: 'carol@bastion3'},
      });
      return !r.stderr.includes('is being driven by') && r;
    }, 'the lock to free');
    expect(noReason.exitCode, noReason.all).toBe(6);
    expect(noReason.stderr).toContain(`last driven by ${winner}, who did not hand it over`);
    expect(noReason.stderr).toContain('--take-over');
    const takeOver = cli(
      [
        'resume',
        session,
        '--journal-db',
        db.url,
        '--plain',
        '--take-over',
        'bastion1 lost power',
        '--yes',
        '--confirm',
        'all',
        '--on-unknown',
        'rerun',
      ],
      {state: carol, env: {CREWCHIEF_DRIVER: 'carol@bastion3'}},
    );
    // The journal came from the mirror onto carol's machine, and says who took over and why.
    const restored = await eventually(() => journalsIn(carol)[0], 'the restored journal');
    await waitForEntry(restored, (e) => e.type === 'session-resumed');
    takeOver.kill('SIGKILL');
    await takeOver;
    const entries = readJournal(restored).entries;
    expect(entries.find((e) => e.type === 'decision' && e.decision === 'take-over')).toMatchObject({
      by: 'carol@bastion3',
      value: winner,
      reason: 'bastion1 lost power',
    });
    expect(entries.find((e) => e.type === 'session-resumed')).toMatchObject({
      driver: 'carol@bastion3',
    });
  });

  it('on one machine: two processes, one lock file; a killed holder leaves a stale lock that frees', async () => {
    const state = stateDir(cleanup);
    const demo = () => cli(['demo', '--plain'], {state});
    const {refused, going} = await race(demo(), demo());
    expect(refused.exitCode, refused.all).toBe(6);
    expect(refused.stderr).toContain('is being driven by tester@bastion');
    expect(refused.stderr).toMatch(/lock: lock file .*rubin--rubin-tts-demo\.lock/);
    const file = await eventually(() => journalsIn(state)[0], 'the journal of the one going on');
    expect(journalsIn(state)).toHaveLength(1);
    await waitForEntry(file, (e) => e.type === 'phase-entered' && e.phase === 'cleanup');
    going.kill('SIGKILL');
    await going;
    const next = cli(['demo', '--plain'], {state});
    const second = await eventually(
      () => journalsIn(state).find((f) => f !== file),
      'a second driver to start',
    );
    await waitForEntry(second, (e) => e.type === 'session-opened');
    next.kill('SIGKILL');
    await next;
  });
});

const machine = `
export default site({
  id: 'shop',
  title: 'Shop',
  phases: [
    phase({id: 'one', title: 'One', steps: [
      command({id: 'first', title: 'First', run: 'do-first'}),
      gate({id: 'go', title: 'Go?'}),
      command({id: 'second', title: 'Second', run: 'do-second'}),
      gate({id: 'go2', title: 'Go again?'}),
      command({id: 'third', title: 'Third', run: 'do-third'}),
    ]}),
  ],
});
`;

const profile = (extra = '') => `site: shop
team:
  lock_grace: 2s
${extra}`;

const scripts = [
  {match: /^do-first/, stdout: 'first\n'},
  {match: /^do-second/, stdout: 'second\n'},
  {match: /^do-third/, stdout: 'third\n'},
];

/** A session in this process with team mode; started the way drive starts one. */
async function teamSession(
  db: TestDatabase | string | undefined,
  driver: string,
  options: Parameters<typeof harness>[3] & {
    profileExtra?: string;
    scripts?: Parameters<typeof harness>[2];
    takeOver?: string;
  } = {},
): Promise<Harness> {
  const url = typeof db === 'string' ? db : db?.url;
  const {profileExtra, scripts: script, takeOver, ...rest} = options;
  const lockDir = rest.dir ? `${rest.dir}/locks` : tempDir('cc-locks-');
  const h = await harness(machine, profile(profileExtra), script ?? scripts, {
    ...rest,
    driver,
    team: {
      ...(url ? {journalDb: url} : {}),
      lockDir,
      heartbeatMs: 200,
      mirrorCloseMs: 5_000,
      ...(takeOver ? {takeOver} : {}),
    },
  });
  cleanup.push(() => fs.rmSync(h.dir, {recursive: true, force: true}));
  h.launched.team!.start();
  h.launched.session.start();
  return h;
}

async function end(launched: Launched): Promise<void> {
  await launched.team?.settle();
  launched.journal.close();
  await launched.team?.close();
}

describe.concurrent('hand-over, take-over and a lost lock', () => {
  it('hands over at a prompt; only the named driver resumes without a take-over', async () => {
    const db = await database('handover');
    const a = await teamSession(db, 'alice@a');
    await a.until(promptFor('go'));
    const result = await a.launched.team!.handOver({to: 'bob@b', note: 'lunch'});
    expect(result).toMatchObject({ok: true});
    expect(result.message).toContain(
      `crewchief resume ${readJournal(a.journal).header.session} --journal-db`,
    );
    expect(await a.launched.session.done).toBe('detached');
    await end(a.launched);
    const stale = `${a.dir}/alice-copy.jsonl`;
    fs.copyFileSync(a.journal, stale);
    await expect(teamSession(db, 'carol@c', {dir: a.dir, resumeFrom: a.journal})).rejects.toThrow(
      /handed it over to bob@b/,
    );
    const b = await teamSession(db, 'bob@b', {dir: a.dir, resumeFrom: a.journal});
    await b.until(promptFor('go'));
    b.launched.session.decide({type: 'GO', value: 'go'});
    await b.until(promptFor('go2'));
    b.launched.session.decide({type: 'GO', value: 'go'});
    expect(await b.launched.session.done).toBe('finished');
    await end(b.launched);
    // Alice's copy of the journal, as it was when she handed over, is out of date now.
    // With the profile's journal database only, going on from it would fork the session:
    // refused. With --journal-db, the mirror brings the copy up to date first.
    const profileFile = `${a.dir}/test.yaml`;
    const plain = fs.readFileSync(profileFile, 'utf8');
    fs.writeFileSync(profileFile, `${plain}  journal_db: {env: SHOP_JOURNAL_DB}\n`);
    await expect(
      teamSession(undefined, 'alice@a', {
        dir: a.dir,
        resumeFrom: stale,
        env: {...process.env, SHOP_JOURNAL_DB: db.url},
      }),
    ).rejects.toThrow(/only \d+: the session went on elsewhere/);
    fs.writeFileSync(profileFile, plain);
    await expect(teamSession(db, 'alice@a', {dir: a.dir, resumeFrom: stale})).rejects.toThrow(
      /is already closed \(finished\)/,
    );
    expect(fs.readFileSync(stale, 'utf8')).toBe(fs.readFileSync(a.journal, 'utf8'));
    const entries = readJournal(a.journal).entries;
    expect(entries.find((e) => e.type === 'decision' && e.decision === 'hand-over')).toMatchObject({
      by: 'alice@a',
      value: 'bob@b',
      reason: 'lunch',
      step: 'one/go',
    });
    expect(entries.find((e) => e.type === 'session-resumed')).toMatchObject({driver: 'bob@b'});
    const [row] = await query(db.url, 'select driver, state, last_seq from crewchief.sessions');
    expect(row).toMatchObject({driver: 'bob@b', state: 'finished', last_seq: entries.length});
  });

  it('refuses a hand-over while a command runs', async () => {
    const db = await database('busy');
    const a = await teamSession(db, 'alice@a', {
      scripts: [{match: /^do-first/, hang: true}, ...scripts.slice(1)],
    });
    await a.until((s) => s.steps.some((x) => x.id === 'first' && x.status === 'running'));
    const result = await a.launched.team!.handOver({});
    expect(result).toEqual({ok: false, message: expect.stringContaining('"First" is running')});
    await a.launched.session.detach('test over');
    await end(a.launched);
  });

  it('a driver whose process is gone is taken over only with a reason, and the journal says so', async () => {
    const db = await database('takeover');
    const a = await teamSession(db, 'alice@a');
    await a.until(promptFor('go'));
    // Alice's crewchief goes away without handing over (its locks go with it).
    await a.launched.session.detach('gone');
    await end(a.launched);
    await expect(
      teamSession(db, 'bob@b', {dir: a.dir, resumeFrom: a.journal}),
    ).rejects.toMatchObject({code: 6, message: expect.stringContaining('--take-over')});
    const b = await teamSession(db, 'bob@b', {
      dir: a.dir,
      resumeFrom: a.journal,
      takeOver: "alice's laptop died",
    });
    await b.until(promptFor('go'));
    b.launched.session.decide({type: 'GO', value: 'go'});
    await b.until(promptFor('go2'));
    await b.launched.session.detach('test over');
    await end(b.launched);
    const entries = readJournal(a.journal).entries;
    const resumed = entries.findIndex((e) => e.type === 'session-resumed');
    // The take-over comes first, then the resumption it explains.
    expect(entries[resumed - 1]).toMatchObject({
      type: 'decision',
      decision: 'take-over',
      by: 'bob@b',
      value: 'alice@a',
      reason: "alice's laptop died",
    });
    expect(entries[resumed]).toMatchObject({driver: 'bob@b'});
  });

  it('stops before the next step when another driver has taken the lock', async () => {
    const db = await database('lost');
    const a = await teamSession(db, 'alice@a');
    await a.until(promptFor('go'));
    const competitor = new pg.Client({connectionString: db.url});
    competitor.on('error', () => {});
    await competitor.connect();
    cleanup.push(() => competitor.end());
    // Cut the lock's connection and take the lock in the same breath: the competitor is
    // queued for the lock before the old holder's backend has even gone.
    await competitor.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and application_name = 'crewchief driver lock';
       select pg_advisory_lock(${LOCK_NAMESPACE}, ${lockKey('shop', 'test')});`,
    );
    expect(await a.launched.session.done).toBe('detached');
    await end(a.launched);
    expect(a.transport.calls.map((c) => c.command)).toEqual(['do-first']);
    const texts = readJournal(a.journal)
      .entries.filter((e) => e.type === 'notice')
      .map((e) => e.text);
    expect(texts.some((t) => t.startsWith('driver lock taken by someone else'))).toBe(true);
    expect(texts.some((t) => /no further step starts/.test(t))).toBe(true);
  });

  it('in strict mode, runs nothing the mirror does not have yet', async () => {
    const db = await database('strict');
    const proxy = await TcpProxy.start({host: '127.0.0.1', port: Number(new URL(db.url).port)});
    cleanup.push(() => proxy.close());
    const ref: {launched?: Launched} = {};
    const mirroredAtStart: Record<string, number> = {};
    const transport = fakeTransport(scripts, (call) => {
      mirroredAtStart[call.command] = ref.launched?.team?.mirrorStatus()?.mirrored ?? -1;
    });
    const a = await teamSession(proxy.url(db.url), 'alice@a', {
      transports: {transport, local: transport},
      profileExtra: '  strict: true\n  journal_db: postgres://unused.invalid/x\n',
    });
    ref.launched = a.launched;
    await a.until(promptFor('go'));
    // The mirror loses PostgreSQL (the lock's connection stays up).
    proxy.refuseNew(true);
    await eventually(async () => (await terminate(db, 'crewchief mirror')) > 0, 'a mirror to cut');
    await eventually(
      () => a.launched.team!.mirrorStatus()?.state === 'behind',
      'the mirror behind',
    );
    a.launched.session.decide({type: 'GO', value: 'go'});
    await a.until((s) =>
      s.log.some((l) => /strict mode: the journal mirror is behind/.test(l.text)),
    );
    expect(transport.calls.map((c) => c.command)).toEqual(['do-first']);
    proxy.refuseNew(false);
    await a.until(promptFor('go2'), 20_000);
    const started = readJournal(a.journal).entries.find(
      (e) => e.type === 'step-started' && e.step === 'one/second',
    )!;
    // When do-second ran, PostgreSQL already had its step-started.
    expect(mirroredAtStart['do-second']).toBeGreaterThanOrEqual(started.seq);
    a.launched.session.decide({type: 'GO', value: 'go'});
    expect(await a.launched.session.done).toBe('finished');
    await end(a.launched);
  });

  it('refuses to start in strict mode when the journal database cannot be reached', async () => {
    await expect(
      teamSession('postgres://postgres@127.0.0.1:1/nowhere', 'alice@a', {
        profileExtra: '  strict: true\n  journal_db: postgres://unused.invalid/x\n',
      }),
    ).rejects.toMatchObject({
      code: 6,
      message: expect.stringMatching(/cannot reach the journal database[\s\S]*strict mode/),
    });
  });
});
