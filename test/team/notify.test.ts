/**
 * Chat notifications against a local HTTP server: the notify step's payload and the
 * profile's subscriptions (phase started, step failed, waiting for the driver, finished);
 * a server that answers 500 or never answers does not stop the deployment, and the
 * failure is journaled.
 */
import fs from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {afterAll, describe, expect, it} from 'vitest';
import type {Launched} from '../../source/services/open.js';
import {readJournal} from '../../source/journal/file.js';
import {tempDir} from '../helpers/fixtures.js';
import {harness, promptFor, type Harness} from '../helpers/session.js';
import {runCleanups} from './helpers.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterAll(() => runCleanups(cleanup));

interface Post {
  url: string;
  body: {text: string; channel?: string};
}

/** A webhook that answers 200, 500, or never. */
async function webhook(mode: 200 | 500 | 'hang'): Promise<{url: string; posts: Post[]}> {
  const posts: Post[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({url: req.url ?? '', body: JSON.parse(body) as Post['body']});
      if (mode === 'hang') return void hanging.push(res);
      res.writeHead(mode, {'content-type': 'text/plain'}).end(mode === 200 ? 'ok' : 'boom');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        hanging.forEach((r) => r.destroy());
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const {port} = server.address() as AddressInfo;
  return {url: `http://127.0.0.1:${port}/hooks/T000/B000/secret-token-123`, posts};
}

const machine = `
export default site({
  id: 'chat',
  title: 'Chat site',
  phases: [
    phase({id: 'up', title: 'Bring up', steps: [
      notify({id: 'tell', title: 'Tell the principals', text: 'the minimal system is up on \${where}', channel: '#ops', webhook: 'chat'}),
      manual({id: 'look', title: 'Look at the dashboards'}),
    ]}),
    phase({id: 'check', title: 'Check', steps: [
      command({id: 'probe', title: 'Probe', run: 'probe-it'}),
    ]}),
  ],
});
`;

const profile = `site: chat
variables: {where: tts}
secrets:
  chat: {env: CHAT_WEBHOOK}
team:
  notify:
    webhook: chat
    channel: '#ops'
    events: [phase-started, step-failed, waiting, finished]
    waiting_minutes: 0.005
    timeout: 500ms
`;

async function session(url: string): Promise<Harness> {
  const lockDir = tempDir('cc-locks-');
  const h = await harness(machine, profile, [{match: /^probe-it/, exitCode: 1, stderr: 'nope\n'}], {
    env: {CHAT_WEBHOOK: url},
    driver: 'alice@a',
    team: {lockDir},
  });
  cleanup.push(() => fs.rmSync(h.dir, {recursive: true, force: true}));
  cleanup.push(() => fs.rmSync(lockDir, {recursive: true, force: true}));
  h.launched.team!.start();
  h.launched.session.start();
  return h;
}

/** Walks the runbook: waits long enough at the manual step to be reported, skips the failure. */
async function walk(h: Harness, posts: Post[]): Promise<void> {
  // (A webhook that never answers holds the notify step for its 10 s timeout.)
  await h.until(promptFor('look'), 15_000);
  // The "waiting" post comes 300 ms after the prompt, later on a busy machine: wait for it
  // (the tests count it) rather than tick too early.
  await h
    .until(() => posts.some((p) => p.body.text.includes('waiting for the driver')), 30_000)
    .catch(() => undefined);
  h.launched.session.decide({type: 'TICK'});
  await h.until(promptFor('probe'), 15_000);
  h.launched.session.decide({type: 'SKIP', reason: 'known flaky'});
  expect(await h.launched.session.done).toBe('finished');
  await end(h.launched);
}

async function end(launched: Launched): Promise<void> {
  await launched.team?.settle();
  launched.journal.close();
  await launched.team?.close();
}

const notices = (file: string) =>
  readJournal(file)
    .entries.filter((e) => e.type === 'notice')
    .map((e) => (e.type === 'notice' ? `${e.level}: ${e.text}` : ''));

describe.concurrent('chat notifications', () => {
  it('posts the notify step and the subscribed session events', async () => {
    const hook = await webhook(200);
    const h = await session(hook.url);
    await walk(h, hook.posts);
    const texts = hook.posts.map((p) => p.body.text);
    expect(hook.posts.find((p) => p.body.text.startsWith('the minimal system'))?.body).toEqual({
      text: 'the minimal system is up on tts',
      channel: '#ops',
    });
    const subscribed = texts.filter((t) => t.startsWith('[Chat site · test]'));
    const expected = [
      /^\[Chat site · test\] phase "Bring up" started$/,
      /^\[Chat site · test\] waiting for the driver \(alice@a\) for 300ms at "Look at the dashboards"$/,
      /^\[Chat site · test\] phase "Check" started$/,
      /^\[Chat site · test\] step "Probe" failed \(exit 1\).*; waiting for alice@a$/,
      /^\[Chat site · test\] session finished \(driver alice@a\)$/,
    ];
    expect(subscribed).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(subscribed[i]).toMatch(re));
    expect(hook.posts.every((p) => p.url === '/hooks/T000/B000/secret-token-123')).toBe(true);
    expect(notices(h.journal)).toContain(
      'info: notified #ops (finished): session finished (driver alice@a)',
    );
    // The webhook URL is a secret: never in the journal.
    expect(fs.readFileSync(h.journal, 'utf8')).not.toContain('secret-token-123');
  }, 90_000);

  it('goes on when the webhook answers 500, and journals each failure', async () => {
    const hook = await webhook(500);
    const h = await session(hook.url);
    await walk(h, hook.posts);
    const said = notices(h.journal);
    expect(said).toContain(
      'warn: could not post to #ops: the webhook answered 500; post it by hand',
    );
    expect(
      said.filter((t) =>
        /^warn: could not notify #ops .*the webhook answered 500; the session goes on$/.test(t),
      ),
    ).toHaveLength(5);
    expect(readJournal(h.journal).entries.find((e) => e.type === 'session-closed')).toMatchObject({
      outcome: 'finished',
    });
  }, 90_000);

  it('goes on when the webhook never answers', async () => {
    const hook = await webhook('hang');
    const h = await session(hook.url);
    await walk(h, hook.posts);
    const said = notices(h.journal);
    expect(said.some((t) => /^warn: could not post to #ops: .*; post it by hand$/.test(t))).toBe(
      true,
    );
    expect(
      said.filter((t) =>
        /^warn: could not notify #ops .*no answer within 500ms; the session goes on$/.test(t),
      ).length,
    ).toBeGreaterThanOrEqual(4);
    expect(fs.readFileSync(h.journal, 'utf8')).not.toContain('secret-token-123');
  }, 90_000);
});
