/**
 * Facts are events: what a prompt shows (the exact commands per host, the hosts, what to
 * check), the chosen option and how an answer came, why a session was left and how links
 * changed are journal fields; the store reads them, never prose.
 */
import fs from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEntry, JournalEvent} from '../../source/journal/events.js';
import type {LinkChange} from '../../source/transport/types.js';
import {entriesOf, harness, promptFor, type Harness} from '../helpers/session.js';

const machine = `
export default site({
  id: 'shop',
  title: 'Shop',
  phases: [
    phase({id: 'prep', title: 'Prepare', steps: [
      command({id: 'rev', title: 'Read the revision', run: 'git rev-parse HEAD', capture: {as: 'rev', pattern: '^(\\\\w+)$'}}),
      gate({id: 'go', title: 'Go with \${rev}?', checks: ['dashboards for \${site} are green']}),
    ]}),
    phase({id: 'deploy', title: 'Deploy', steps: [
      command({id: 'wipe', title: 'Reset \${rev}', run: 'reset-db --yes \${rev} --token \${secret.TOKEN}', on: '@db', danger: '\${site}'}),
      choice({id: 'how', title: 'How did it go?', question: 'Well?', options: [
        {id: 'fine', label: 'Fine', steps: []},
        {id: 'debug', label: 'Debug', steps: [command({id: 'logs', title: 'Logs', run: 'show-logs'})]},
      ]}),
      watch({id: 'drain', title: 'Drain', probe: 'count-conns', until: {equals: 0}, every: '10ms', timeout: '50ms', unit: 'connections'}),
      command({id: 'final', title: 'Final', run: 'echo done'}),
    ]}),
  ],
});
`;

const profile = `site: shop
hosts:
  db1: db1.example.org
  db2: db2.example.org
groups:
  db: [db1, db2]
secrets:
  TOKEN: {env: SHOP_TOKEN}
`;

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

const scripts = [
  {match: /^git rev-parse/, stdout: 'abc123\n'},
  {match: /^reset-db/, stdout: 'reset\n'},
  {match: /^show-logs/, stdout: 'log line\n'},
  {match: /^count-conns/, stdout: '4\n'},
  {match: /^echo done/, stdout: 'done\n'},
];

async function start(): Promise<Harness> {
  const h = await harness(machine, profile, scripts, {
    env: {...process.env, SHOP_TOKEN: 's3cr3t-token-value'},
  });
  dirs.push(h.dir);
  return h;
}

const ofType = <T extends JournalEvent['type']>(entries: JournalEntry[], type: T) =>
  entries.filter((e): e is Extract<JournalEntry, {type: T}> => e.type === type);

describe('facts as event fields', () => {
  it('a danger prompt carries the exact command per host, filled and redacted, as it then runs', async () => {
    const h = await start();
    const {session} = h.launched;
    session.start();
    const gate = await h.until(promptFor('go'));
    expect(gate.prompt).toMatchObject({
      title: 'Go with abc123?',
      checks: ['dashboards for shop are green'],
      hosts: ['local'],
    });
    session.decide({type: 'GO', value: 'go'}, undefined, 'typed');
    const confirm = await h.until(promptFor('wipe'));
    // Values are quoted (one word each), the secret masked: the exact command as it runs.
    const expected = "reset-db --yes 'abc123' --token '[redacted]'";
    expect(confirm.prompt).toMatchObject({
      prompt: 'confirm',
      expects: 'shop',
      title: 'Reset abc123',
      hosts: ['db1', 'db2'],
      runs: [
        {host: 'db1', command: expected},
        {host: 'db2', command: expected},
      ],
    });
    expect(JSON.stringify(confirm.prompt)).not.toContain('s3cr3t-token-value');
    session.decide({type: 'CONFIRM', value: 'shop'}, undefined, 'typed');
    await h.until(promptFor('how'));
    // What the prompt showed is what the step journaled as run, host for host.
    const entries = entriesOf(h.journal);
    const shown = ofType(entries, 'prompt-shown').find((e) => e.step === 'deploy/wipe')!;
    const started = ofType(entries, 'step-started').find((e) => e.step === 'deploy/wipe')!;
    expect(shown.runs).toEqual(started.runs);
    expect(shown.runs?.[0]?.command.replace(/\*+/, '***')).toContain(expected.slice(0, 20));
    // And it ran with the secret, on both hosts.
    expect(
      h.transport.calls.filter((c) => c.command.startsWith('reset-db')).map((c) => c.host),
    ).toEqual(['db1', 'db2']);
    session.decide({type: 'ABORT', reason: 'enough'});
    await h.until((s) => s.closed !== undefined);
  });

  it('a choice journals the option id and how it was answered; the store reads those fields', async () => {
    const h = await start();
    const {session} = h.launched;
    session.start();
    await h.until(promptFor('go'));
    session.decide({type: 'GO', value: 'go'}, 'ci@runner (flag)', 'flag');
    await h.until(promptFor('wipe'));
    session.decide({type: 'CONFIRM', value: 'shop'}, undefined, 'typed');
    const choice = await h.until(promptFor('how'));
    expect(choice.prompt).toMatchObject({options: ['fine', 'debug'], labels: ['Fine', 'Debug']});
    session.decide({type: 'CHOOSE', option: 'fine'}, 'auto@pilot', 'autopilot');
    const timeout = await h.until((s) => s.prompt?.prompt === 'watch-timeout');
    // The watch's timeout prompt carries its last count and target, and what it guards.
    expect(timeout.prompt).toMatchObject({
      count: {value: 4, target: '= 0', unit: 'connections'},
      guards: expect.stringContaining('"Final" comes next'),
    });
    expect(timeout.steps.find((s) => s.id === 'how')).toMatchObject({status: 'ok', option: 'fine'});
    expect(timeout.steps.find((s) => s.id === 'logs')?.status).toBe('not-chosen');
    session.decide({type: 'SKIP', reason: 'drained by hand'});
    await h.until((s) => s.closed !== undefined);

    const entries = entriesOf(h.journal);
    const decisions = ofType(entries, 'decision');
    expect(decisions.map((d) => [d.decision, d.via])).toEqual([
      ['go', 'flag'],
      ['confirm', 'typed'],
      ['choose', 'autopilot'],
      ['skip', undefined],
    ]);
    expect(decisions[2]).toMatchObject({option: 'fine', by: 'auto@pilot'});
    const finished = ofType(entries, 'step-finished').find((e) => e.step === 'deploy/how')!;
    expect(finished).toMatchObject({outcome: 'ok', option: 'fine'});
    expect(finished.reason).toBeUndefined();
  });

  it('leaving a session journals session-left with its reason and signal', async () => {
    const h = await start();
    h.launched.session.start();
    await h.until(promptFor('go'));
    await h.launched.session.detach({reason: 'signal', signal: 'SIGTERM', text: 'interrupted'});
    const left = ofType(entriesOf(h.journal), 'session-left');
    expect(left).toEqual([
      expect.objectContaining({reason: 'signal', signal: 'SIGTERM', text: 'interrupted'}),
    ]);
    expect(h.state().left).toMatchObject({reason: 'signal', signal: 'SIGTERM'});
    expect(h.state().closed).toBeUndefined();
  });

  it('every change of a link the transport reports is a link event; the store shows the last', async () => {
    const h = await start();
    const listeners = new Set<(c: LinkChange) => void>();
    h.transport.onLink = (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    h.launched.session.start();
    await h.until(promptFor('go'));
    const tell = (c: LinkChange) => listeners.forEach((l) => l(c));
    tell({host: 'db1', state: 'down', error: 'Keepalive timeout (token s3cr3t-token-value)'});
    tell({host: 'db1', state: 'reconnecting', attempt: 1});
    tell({host: 'db1', state: 'up'});
    tell({host: 'db2', state: 'down', error: 'connection reset'});
    h.launched.journal.flush();
    const links = ofType(entriesOf(h.journal), 'link');
    expect(links.map((l) => `${l.host}:${l.state}`)).toEqual([
      'db1:down',
      'db1:reconnecting',
      'db1:up',
      'db2:down',
    ]);
    expect(links[0]!.error).not.toContain('s3cr3t');
    expect(links[1]).toMatchObject({attempt: 1});
    expect(h.state().links).toMatchObject({db1: {state: 'up'}, db2: {state: 'down'}});
    await h.launched.session.detach({reason: 'console-closed', text: 'closed'});
    // Once left, the session stops listening.
    expect(listeners.size).toBe(0);
  });
});
