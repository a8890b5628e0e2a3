/**
 * `--json` for scripts: list, sessions, validate (each problem with file, line, field and
 * message) and report as one JSON document; replay and watch stream the journal's events
 * as NDJSON, one entry a line, exactly as journaled.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';

let dir: string;
let journal: string;

beforeAll(async () => {
  dir = tempDir('cc-json-');
  writeMachine(
    dir,
    'hello',
    `export default site({id: 'hello', title: 'Hello', phases: [phase({id: 'greet', title: 'Greet', steps: [
      manual({id: 'look', title: 'Look around'}),
      command({id: 'say', title: 'Say hello', run: 'echo hello from \${who}', on: 'local'}),
    ]})]});`,
  );
  writeFile(
    dir,
    'hello-local.yaml',
    'site: hello\ntitle: Hello\ntransport: local\nvariables:\n  who: json\n',
  );
  journal = path.join(dir, 'hello.jsonl');
  const run = await cli(
    [
      'run',
      path.join(dir, 'hello.ts'),
      '--profile',
      path.join(dir, 'hello-local.yaml'),
      '--plain',
      '--yes',
      '--journal',
      journal,
    ],
    {state: dir},
  );
  expect(run.exitCode, run.all).toBe(0);
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

describe('--json', () => {
  it('list gives sites, profiles and sessions as one document', async () => {
    const run = await cli(['list', '--json'], {state: dir});
    expect(run.exitCode, run.all).toBe(0);
    const doc = JSON.parse(run.stdout) as {
      sites: {id: string; title: string}[];
      profiles: {name: string; site: string}[];
      sessions: unknown[];
    };
    expect(doc.sites.map((s) => s.id)).toContain('rubin');
    expect(doc.profiles).toContainEqual(
      expect.objectContaining({name: 'rubin-tts-demo', site: 'rubin'}),
    );
    expect(Array.isArray(doc.sessions)).toBe(true);
  });

  it('sessions gives the rows the table shows', async () => {
    const stateDir = path.join(dir, 'state2');
    fs.mkdirSync(path.join(stateDir, 'crewchief', 'sessions'), {recursive: true});
    fs.copyFileSync(journal, path.join(stateDir, 'crewchief', 'sessions', 'hello.jsonl'));
    const run = await cli(['sessions', '--json'], {state: stateDir});
    expect(run.exitCode, run.all).toBe(0);
    const doc = JSON.parse(run.stdout) as {
      sessions: {site: string; state: string; driver: string}[];
    };
    expect(doc.sessions).toEqual([
      expect.objectContaining({site: 'hello', state: 'finished', driver: 'tester@bastion'}),
    ]);
  });

  it('validate gives each problem as an object with file, line, field and message', async () => {
    const bad = writeFile(
      dir,
      'bad/hello-bad.yaml',
      'site: hello\ntitle: Bad\ntransport: carrier-pigeon\n',
    );
    const run = await cli(
      ['validate', path.join(dir, 'hello.ts'), bad, path.join(dir, 'missing.yaml'), '--json'],
      {state: dir},
    );
    expect(run.exitCode).toBe(3);
    const doc = JSON.parse(run.stdout) as {
      ok: boolean;
      problems: {file: string; line: number | null; field: string | null; message: string}[];
    };
    expect(doc.ok).toBe(false);
    expect(doc.problems).toContainEqual({
      file: bad,
      line: 3,
      field: 'transport',
      message: expect.stringContaining('carrier-pigeon') as string,
    });
    expect(doc.problems).toContainEqual({
      file: path.join(dir, 'missing.yaml'),
      line: null,
      field: null,
      message: 'no such file',
    });
    const ok = await cli(
      ['validate', path.join(dir, 'hello.ts'), path.join(dir, 'hello-local.yaml'), '--json'],
      {state: dir},
    );
    expect(ok.exitCode, ok.all).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ok: true, problems: [], sites: [{id: 'hello'}]});
  });

  it('report gives the facts of the Markdown and the HTML', async () => {
    const run = await cli(['report', journal, '--json'], {state: dir});
    expect(run.exitCode, run.all).toBe(0);
    const doc = JSON.parse(run.stdout) as {
      site: string;
      outcome: string;
      decisions: {decision: string}[];
      steps: {key: string; status: string}[];
    };
    expect(doc).toMatchObject({site: 'hello', outcome: 'finished'});
    expect(doc.decisions.map((d) => d.decision)).toEqual(['tick']);
    expect(doc.steps.map((s) => [s.key, s.status])).toEqual([
      ['greet/look', 'done'],
      ['greet/say', 'ok'],
    ]);
  });

  it('replay and watch stream the journal as NDJSON, one entry a line', async () => {
    const entries = readJournal(journal).entries;
    for (const args of [
      ['replay', journal, '--json'],
      ['watch', '--file', journal, '--json'],
    ]) {
      const run = await cli(args, {state: dir});
      expect(run.exitCode, run.all).toBe(0);
      const lines = run.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      // A replay ends with what its reader found: how the journal ended (not an entry).
      if (args[0] === 'replay')
        expect(lines.pop()).toMatchObject({
          type: 'journal-end',
          state: 'sealed',
          events: entries.length,
          text: expect.stringMatching(/^closed and sealed at \d\d:\d\d, checksum verified$/),
        });
      expect(lines).toEqual(entries);
    }
  });
});
