/**
 * Journals written by version 1 (before facts became fields) still replay to the store
 * version 1 showed, and an unclosed one still resumes — without running again what had
 * started. The fixtures and how they were made: test/fixtures/journals/v1/README.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {formatEntry, readJournal} from '../../source/journal/file.js';
import {foldAll, type SessionState} from '../../source/store/fold.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';
import {entriesOf, harness} from '../helpers/session.js';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'journals', 'v1');
const expected = JSON.parse(
  fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8'),
) as Record<string, unknown>;
const journals = fs
  .readdirSync(fixtures)
  .filter((f) => f.endsWith('.jsonl'))
  .sort();

/** What the screen ends on, in short (the same function made expected.json with v1's fold). */
function summarise(version: number, s: SessionState) {
  return {
    version,
    events: s.events,
    closed: s.closed?.outcome ?? null,
    current: s.current ?? null,
    prompt: s.prompt ? `${s.prompt.prompt} ${s.prompt.step}` : null,
    steps: Object.fromEntries(
      s.steps.map((st) => [st.key, `${st.status}${st.reason ? ` — ${st.reason}` : ''}`]),
    ),
    vars: s.vars,
    commands: s.commands.map((c) => `${c.host} ${c.outcome ?? '?'} ${c.exitCode ?? '-'}`),
    log: s.log.length,
    counts: Object.fromEntries(Object.entries(s.counts).map(([k, c]) => [k, c.value])),
  };
}

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

/** A copy of a fixture whose session-opened names the site and profile where they are now. */
function relocated(name: string, profile: string): string {
  const dir = tempDir('cc-v1-');
  dirs.push(dir);
  const text = fs.readFileSync(path.join(fixtures, name), 'utf8').split('\n');
  const opened = JSON.parse(text[1]!.replace(/,"sum":"[0-9a-f]+"\}$/, '}')) as JournalEntry;
  if (opened.type !== 'session-opened') throw new Error(`${name}: no session-opened`);
  text[1] = formatEntry({
    ...opened,
    siteFile: path.join(fixtures, 'fixture.ts'),
    profileFile: path.join(fixtures, profile),
  }).trimEnd();
  const file = path.join(dir, name);
  fs.writeFileSync(file, text.join('\n'));
  return file;
}

describe('version 1 journals', () => {
  it.each(journals)('%s replays to the store version 1 recorded', (name) => {
    const read = readJournal(path.join(fixtures, name));
    expect(read.header.version).toBe(1);
    expect(read.damage).toEqual([]);
    expect(summarise(read.header.version, foldAll(read.entries))).toEqual(expected[name]);
  });

  it('the not-chosen branch of a version 1 choice is read from its decision (no "chose X" prose)', () => {
    const state = foldAll(readJournal(path.join(fixtures, 'crashed.jsonl')).entries);
    expect(state.steps.find((s) => s.key === 'deploy/how')).toMatchObject({option: 'fine'});
    expect(state.steps.find((s) => s.key === 'deploy/how/debug/logs')?.status).toBe('not-chosen');
  });

  it('a crashed one resumes: the step that had started is put to the driver, not run again', async () => {
    const file = relocated('crashed.jsonl', 'fixture-slow.yaml');
    const before = entriesOf(file).length;
    const h = await harness('', '', [{match: /.*/, stdout: '0\n'}], {
      dir: path.dirname(file),
      resumeFrom: file,
    });
    expect(h.launched.resume).toMatchObject({unknown: 'deploy/slow'});
    expect(h.state().vars['rev']).toBe('rev-v42');
    h.launched.session.start();
    const asked = await h.until((s) => s.prompt?.prompt === 'unknown');
    expect(asked.prompt).toMatchObject({
      step: 'deploy/slow',
      title: 'Slow migration',
      // Run again today, the profile value would reach the shell quoted, as one word.
      runs: [{host: 'local', command: "echo migrating; sleep '30'; echo migrated"}],
    });
    expect(h.transport.calls.some((c) => c.command.includes('migrating'))).toBe(false);
    h.launched.session.decide({type: 'MARK_DONE', reason: 'it ran: the schema is new'});
    const post = await h.until((s) => s.prompt?.step === 'deploy/tell');
    // A text to copy is filled with the values captured before the crash.
    expect(post.prompt?.text).toBe('Post on #ops:\ndeployed rev-v42');
    h.launched.session.decide({type: 'TICK'});
    const end = await h.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(h.transport.calls.some((c) => c.command.includes('migrating'))).toBe(false);
    const entries = entriesOf(file);
    expect(entries.slice(0, before).map((e) => e.seq)).toEqual(
      entries.slice(0, before).map((_, i) => i + 1),
    );
    expect(entries.find((e) => e.seq === before + 1)).toMatchObject({type: 'session-resumed'});
  });

  it('one left open at a failed step resumes at that prompt', async () => {
    const file = relocated('needs-driver.jsonl', 'fixture.yaml');
    const h = await harness('', '', [{match: /.*/, stdout: '0\n'}], {
      dir: path.dirname(file),
      resumeFrom: file,
    });
    h.launched.session.start();
    const asked = await h.until((s) => s.prompt?.prompt === 'failed' && s.prompt.seq > 28);
    expect(asked.prompt?.step).toBe('deploy/flaky');
    expect(h.transport.calls).toEqual([]);
    h.launched.session.decide({type: 'SKIP', reason: 'known flaky'});
    await h.until((s) => s.prompt?.prompt === 'choice');
    h.launched.session.decide({type: 'CHOOSE', option: 'debug'});
    await h.until((s) => s.prompt?.step === 'deploy/tell');
    h.launched.session.decide({type: 'TICK'});
    const end = await h.until((s) => s.closed !== undefined);
    expect(end.closed?.outcome).toBe('finished');
    expect(end.steps.find((s) => s.key === 'deploy/how/debug/logs')?.status).toBe('ok');
  });
});
