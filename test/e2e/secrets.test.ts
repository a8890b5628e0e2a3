import fs from 'node:fs';
import path from 'node:path';
import {render} from 'ink-testing-library';
import React from 'react';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {createSessionStore} from '../../source/store/store.js';
import {App} from '../../source/ui/app.js';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';
import {createDatabase, query, type TestDatabase} from '../team/pg.js';

const envSecret = 'Tr0ub4dor&3-env-s3cret';
const fileSecret = 'correct horse battery staple';
const sqlLiteral = 'inline-sql-pa55';

let dir: string;
beforeAll(() => {
  dir = tempDir('cc-secrets-');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

/** Every form of a value we promise never to write. */
const forms = (v: string): string[] => [
  v,
  encodeURIComponent(v),
  Buffer.from(v).toString('base64').replace(/=+$/, ''),
  Buffer.from(v).toString('hex'),
];

describe('secrets', () => {
  it('never reach the journal or the screen, in any form, even split across output chunks', async () => {
    const machine = writeMachine(
      dir,
      'leaky',
      `export default site({id: 'leaky', title: 'Leaky', phases: [phase({id: 'p', title: 'P', steps: [
        command({id: 'echo', title: 'Echo the secret', run: "printf '%s\\\\n' \\"\${secret.db}\\" && printf '%s' \\"\${secret.db}\\" | base64 && printf '%s' \\"\${secret.db}\\" | od -An -tx1 | tr -d ' \\\\n' && echo"}),
        command({id: 'split', title: 'Print it in pieces', run: "s=\\"\${secret.db}\\"; printf 'pw=%s' \\"\${s%%\${s#????}}\\"; sleep 0.4; printf '%s\\\\n' \\"\${s#????}\\"; echo \\"\${secret.db}\\" >&2"}),
        command({id: 'file', title: 'A secret from a file', run: "echo 'key: \${secret.key}' && echo \\"url: https://x.example.org/?k=$(printf '%s' '\${secret.key}' | sed 's/ /%20/g')\\""}),
        command({id: 'sql', title: 'Undeclared SQL password', run: "echo \\"ALTER USER app PASSWORD '${sqlLiteral}';\\""}),
        command({id: 'grab', title: 'Capture it', run: "echo \\"token \${secret.db}\\"", capture: {as: 'tok', pattern: 'token (.*)'}}),
        manual({id: 'look', title: 'Look at \${tok}'}),
      ]})]});`,
    );
    writeFile(dir, 'key.txt', `${fileSecret}\n`);
    const profile = writeFile(
      dir,
      'leaky.yaml',
      `site: leaky\ntransport: local\nsecrets:\n  db: {env: LEAKY_DB_PASSWORD}\n  key: {file: key.txt}\n`,
    );
    const journal = path.join(dir, 'leaky.jsonl');
    const run = await cli(
      ['run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
      {
        state: dir,
        env: {LEAKY_DB_PASSWORD: envSecret},
      },
    );
    expect(run.all).toMatch(/session finished/);
    const written = fs.readFileSync(journal, 'utf8');
    const screen = run.all ?? '';
    expect(written).toContain('[redacted]');
    for (const secret of [envSecret, fileSecret, sqlLiteral]) {
      for (const form of forms(secret)) {
        expect(written, `journal holds ${form}`).not.toContain(form);
        expect(screen, `screen shows ${form}`).not.toContain(form);
      }
    }
    // A piece of the secret printed before a pause is not shown either.
    expect(written).not.toContain(envSecret.slice(0, 4));
  }, 60_000);

  it('say clearly when a secret cannot be read, and run nothing', async () => {
    const machine = writeMachine(
      dir,
      'needs',
      `export default site({id: 'needs', title: 'Needs', phases: [phase({id: 'p', title: 'P', steps: [command({id: 'x', title: 'X', run: 'echo \${secret.db}'})]})]});`,
    );
    const profile = writeFile(
      dir,
      'needs.yaml',
      'site: needs\ntransport: local\nsecrets:\n  db: {env: NOT_SET_ANYWHERE}\n',
    );
    const run = await cli(['run', machine, '--profile', profile, '--plain', '--yes'], {state: dir});
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toMatch(/secret "db": environment variable NOT_SET_ANYWHERE is not set/);
  });

  it('require only the secrets of steps that apply on the profile (issue 13)', async () => {
    const machine = writeMachine(
      dir,
      'variants',
      `export default site({id: 'variants', title: 'Variants', phases: [
        phase({id: 'p', title: 'P', steps: [
          command({id: 'everywhere', title: 'Everywhere', run: "echo 'tok=\${secret.common}'"}),
          command({id: 'east-only', title: 'East only', only: 'east', run: 'echo \${secret.east_key}'}),
          command({id: 'west-only', title: 'West only', unless: 'east', run: 'echo \${secret.west_hook}'}),
        ]}),
        phase({id: 'east-phase', title: 'East phase', only: 'east', steps: [
          command({id: 'east-more', title: 'More east', run: 'echo \${secret.east_phase}'}),
        ]}),
      ]});`,
    );
    const profile = (flag: string): string =>
      writeFile(
        dir,
        `variants-${flag}.yaml`,
        `site: variants\ntransport: local\nflags: [${flag}]\nsecrets:\n  common: {env: VARIANTS_COMMON}\n  east_key: {env: VARIANTS_EAST_KEY}\n  east_phase: {file: no-such-east-file}\n  west_hook: {env: VARIANTS_WEST_HOOK}\n`,
      );
    // West: the east steps (and the east phase) do not apply, so their secrets may be
    // missing; the session runs to its end, the secrets it uses redacted.
    const westJournal = path.join(dir, 'variants-west.jsonl');
    const west = await cli(
      ['run', machine, '--profile', profile('west'), '--plain', '--yes', '--journal', westJournal],
      {state: dir, env: {VARIANTS_COMMON: 'common-Zq81', VARIANTS_WEST_HOOK: 'west-Hk42'}},
    );
    expect(west.stderr).not.toMatch(/east_key|east_phase/);
    expect(west.exitCode).toBe(0);
    expect(west.all).toMatch(/session finished/);
    expect(readJournal(westJournal).entries.map((e) => e.type)).toContain('session-opened');
    expect(fs.readFileSync(westJournal, 'utf8')).not.toMatch(/common-Zq81|west-Hk42/);
    // East: the same unset secrets are now needed, and the first one stops the session.
    const east = await cli(['run', machine, '--profile', profile('east'), '--plain', '--yes'], {
      state: dir,
      env: {VARIANTS_COMMON: 'common-Zq81'},
    });
    expect(east.exitCode).toBe(3);
    expect(east.stderr).toMatch(
      /secret "east_key": environment variable VARIANTS_EAST_KEY is not set/,
    );
    // A secret used only by a step of the other variant (west_hook) is not asked for.
    const eastWithKey = await cli(
      ['run', machine, '--profile', profile('east'), '--plain', '--yes'],
      {state: dir, env: {VARIANTS_COMMON: 'common-Zq81', VARIANTS_EAST_KEY: 'k'}},
    );
    expect(eastWithKey.exitCode).toBe(3);
    expect(eastWithKey.stderr).toMatch(/secret "east_phase": cannot read .*no-such-east-file/);
    expect(eastWithKey.stderr).not.toMatch(/west_hook/);
  });
});

/**
 * The secret canary (issue 11, finding 8): two secrets, one used in commands, probes and
 * captures, one printed by the command in every encoding, go through every event kind
 * that can carry text. Zero hits, in any form, in the journal file, in PostgreSQL (a real
 * mirror), on the plain screen and in a frame of the console drawn from the journal.
 */
describe('the secret canary', () => {
  /** Used inside commands: a shell-safe word, so quoting or not runs the same. */
  const word = 'Canary-db-7f3k9Q2xZ';
  /** Read from a file and printed in every encoding by the command. */
  const odd = 'c@nary key/+=&%ü-Tz8';

  /** Every encoding of a value the canary looks for. */
  const encodings = (v: string): Record<string, string> => {
    const b = Buffer.from(v);
    const shifted = (k: number): string => {
      const e = Buffer.concat([Buffer.alloc(k, 0x41), b])
        .toString('base64')
        .replace(/=+$/, '');
      return e.slice([0, 2, 3][k], (b.length + k) % 3 ? e.length - 1 : e.length);
    };
    return {
      plain: v,
      'base64 @0': shifted(0),
      'base64 @1': shifted(1),
      'base64 @2': shifted(2),
      base64url: b.toString('base64url').slice(0, -1),
      'hex lower': b.toString('hex'),
      'hex upper': b.toString('hex').toUpperCase(),
      url: encodeURIComponent(v),
      'url +': encodeURIComponent(v).replace(/%20/g, '+'),
      'url lower': encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      json: JSON.stringify(v).slice(1, -1),
    };
  };

  const hits = (where: string, text: string): string[] =>
    [word, odd].flatMap((v) =>
      Object.entries(encodings(v))
        .filter(([, form]) => text.includes(form))
        .map(([name]) => `${where}: ${v === word ? 'word' : 'odd'} as ${name}`),
    );

  let db: TestDatabase | undefined;
  afterAll(async () => {
    await db?.drop();
  });

  it('0 hits in the journal, PostgreSQL, the plain screen and the console, every event kind and encoding', async () => {
    db = await createDatabase('canary');
    writeFile(dir, 'odd.txt', odd);
    const printer = writeFile(
      dir,
      'print-all.cjs',
      `const fs = require('fs');
const v = fs.readFileSync(process.argv[2], 'utf8');
const b = Buffer.from(v);
const out = [v, 'PGPASSWORD=' + v, 'Authorization: Bearer ' + b.toString('base64')];
for (const pre of ['', 'x', 'xy', 'xyz']) out.push(Buffer.from(pre + v + '!').toString('base64'));
out.push(b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase());
out.push(encodeURIComponent(v), encodeURIComponent(v).replace(/%20/g, '+'));
out.push(encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
out.push(JSON.stringify({v}));
process.stdout.write(out.join('\\n') + '\\n');
process.stderr.write('stderr: ' + v + '\\n');
process.stdout.write(Buffer.concat([Buffer.from([0xff, 0xfe]), b, Buffer.from('\\n')]));
`,
    );
    const machine = writeMachine(
      dir,
      'canary',
      `export default site({id: 'canary', title: 'Canary', phases: [phase({id: 'p', title: 'P', steps: [
        command({id: 'encodings', title: 'Print every encoding', run: 'node ${printer} ${path.join(dir, 'odd.txt')}'}),
        command({id: 'word', title: 'Use the word', run: 'echo token \${secret.db} && echo --password \${secret.db} >&2', capture: {as: 'tok', pattern: 'token (\\\\S+)'}}),
        watch({id: 'count', title: 'Count', probe: 'echo \${secret.db} 0', parse: '(\\\\d+)$', until: {equals: 0}, every: '50ms'}),
        command({id: 'produce', title: 'Produce a file', run: 'true', produces: '/nonexistent/\${secret.db}'}),
        check({id: 'probe', title: 'Probe', probes: [{command: 'test x = \${secret.db}'}], retries: 1, interval: '10ms'}),
        gate({id: 'look', title: 'Look at \${tok}', checks: ['the value \${tok} is set']}),
        manual({id: 'note', title: 'Note \${tok}'}),
      ]})]});`,
    );
    const profile = writeFile(
      dir,
      'canary.yaml',
      `site: canary\ntransport: local\nsecrets:\n  db: {env: CANARY_DB}\n  odd: {file: odd.txt}\n`,
    );
    const journal = path.join(dir, 'canary.jsonl');
    const run = await cli(
      [
        'run',
        machine,
        '--profile',
        profile,
        '--plain',
        '--yes',
        '--on-failure',
        'skip',
        '--journal',
        journal,
        '--journal-db',
        db.url,
      ],
      {state: dir, env: {CANARY_DB: word}},
    );
    expect(run.all).toMatch(/session finished/);
    const written = fs.readFileSync(journal, 'utf8');
    const entries = readJournal(journal).entries;
    // Every event kind that carries text from the run was there to carry the canary.
    const kinds = new Set(entries.map((e) => e.type));
    for (const kind of [
      'session-opened',
      'step-started',
      'output',
      'host-finished',
      'count-sampled',
      'prompt-shown',
      'decision',
      'variable-captured',
      'notice',
      'step-finished',
      'session-closed',
    ])
      expect(kinds, kind).toContain(kind);
    expect(entries.some((e) => e.type === 'output' && e.b64)).toBe(true);
    expect(written).toContain('[redacted]');

    // PostgreSQL: every row of every table, as text.
    const rows = await query<{t: string}>(
      db.url,
      `select string_agg(e::text, E'\\n') as t from crewchief.events e
       union all select string_agg(s::text, E'\\n') from crewchief.sessions s`,
    );
    const inPg = rows.map((r) => r.t ?? '').join('\n');
    expect(inPg.length).toBeGreaterThan(written.length / 2);

    // The console, drawn from the journal (the store the live console reads).
    const store = createSessionStore();
    store.getState().applyMany(entries);
    const r = render(
      React.createElement(App, {
        store,
        mode: 'replay',
        size: {rows: 60, columns: 200},
        cadenceMs: 0,
      }),
    );
    const consoleFrame = r.lastFrame() ?? '';
    r.unmount();
    expect(consoleFrame).toMatch(/Canary/);

    // Output bytes kept as b64 are decoded before looking.
    const decoded = entries
      .map((e) =>
        e.type === 'output' && e.b64 ? Buffer.from(e.b64, 'base64').toString('latin1') : '',
      )
      .join('\n');
    const found = [
      ...hits('journal', written),
      ...hits('journal (decoded b64)', decoded),
      ...hits('PostgreSQL', inPg),
      ...hits('screen', run.all ?? ''),
      ...hits('console', consoleFrame),
    ];
    expect(found).toEqual([]);
  }, 120_000);
});
