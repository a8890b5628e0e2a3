import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {
  formatEntry,
  JournalWriter,
  parseEntry,
  parseJournal,
  readJournal,
  verifySeal,
} from '../../source/journal/file.js';

const dirs: string[] = [];
const tempFile = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-journal-'));
  dirs.push(dir);
  return path.join(dir, 'session.jsonl');
};
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

function writeSome(file: string): JournalWriter {
  const w = JournalWriter.create(file, 'test-session');
  w.append({type: 'phase-entered', phase: 'one'});
  w.append({
    type: 'step-started',
    step: 'one/a',
    runs: [{host: 'local', command: 'true'}],
    attempt: 1,
  });
  w.append({type: 'output', step: 'one/a', host: 'local', stream: 'stdout', text: 'hello\n'});
  w.append({type: 'step-finished', step: 'one/a', outcome: 'ok', exitCode: 0, durationMs: 3});
  return w;
}

describe('journal file', () => {
  it('writes a versioned header and numbered, checksummed events that read back', () => {
    const file = tempFile();
    writeSome(file).close();
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      crewchief: 'journal',
      version: 2,
      session: 'test-session',
    });
    const read = readJournal(file);
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(read.entries[2]).toMatchObject({type: 'output', text: 'hello\n'});
    expect(read.damage).toEqual([]);
    expect(read.warnings).toEqual([]);
    for (const e of read.entries) {
      expect(typeof e.mono).toBe('number');
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    }
  });

  it('fsyncs effect-bearing events at once and groups output', () => {
    const file = tempFile();
    const w = JournalWriter.create(file, 's');
    const before = w.stats.fsyncs;
    for (let i = 0; i < 50; i++)
      w.append({type: 'output', step: 'x', host: 'h', stream: 'stdout', text: `${i}\n`});
    expect(w.stats.fsyncs).toBe(before);
    w.append({type: 'step-finished', step: 'x', outcome: 'ok', durationMs: 1});
    expect(w.stats.fsyncs).toBe(before + 1);
    expect(readJournal(file).entries).toHaveLength(51);
    w.close();
  });

  it('drops a torn last line with a warning and goes on appending after it', () => {
    const file = tempFile();
    writeSome(file).close();
    fs.appendFileSync(file, '{"type":"output","step":"one/a","te');
    const read = readJournal(file);
    expect(read.entries).toHaveLength(4);
    expect(read.warnings[0]).toMatch(/torn last line at byte \d+/);
    expect(read.damage).toEqual([]);
    const w = JournalWriter.reopen(file, 4, read.validBytes);
    w.append({type: 'notice', level: 'info', text: 'after'});
    w.close();
    const again = readJournal(file);
    expect(again.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(again.warnings).toEqual([]);
  });

  it('reports damage in the middle with its offset, never skipping it silently', () => {
    const file = tempFile();
    writeSome(file).close();
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const offset = Buffer.byteLength(lines.slice(0, 2).join('\n')) + 1;
    lines[2] = lines[2]!.replace('"one/a"', '"one/b"');
    const read = parseJournal(lines.join('\n'), 'j');
    expect(read.damage).toEqual([{offset, line: 3, reason: 'checksum mismatch'}]);
    expect(read.entries.map((e) => e.seq)).toEqual([1, 3, 4]);
  });

  it('refuses a file that is not a journal, or from a newer version', () => {
    expect(() => parseJournal('hello\n')).toThrow(/not a crewchief journal/);
    expect(() =>
      parseJournal('{"crewchief":"journal","version":99,"session":"s","created":""}\n'),
    ).toThrow(/newer/);
  });

  it('never overwrites an existing journal', () => {
    const file = tempFile();
    writeSome(file).close();
    expect(() => JournalWriter.create(file, 'other')).toThrow(/EEXIST/);
  });

  it('checksums the header: a flipped session id is refused, a version 1 header still reads', () => {
    const file = tempFile();
    writeSome(file).close();
    const text = fs.readFileSync(file, 'utf8');
    expect(JSON.parse(text.split('\n')[0]!).checksum).toMatch(/^[0-9a-f]{64}$/);
    const flipped = text.replace('"session":"test-session"', '"session":"test-sessioN"');
    expect(() => parseJournal(flipped, 'j')).toThrow(
      /j: the journal header is damaged \(its checksum does not match its fields: session "test-sessioN"/,
    );
    const v1 = `{"crewchief":"journal","version":1,"session":"old","created":"2026-11-22T01:15:13.010Z"}\n${text.slice(text.indexOf('\n') + 1)}`;
    expect(parseJournal(v1, 'j').header.session).toBe('old');
  });

  it('seals the close with the event count and a running sha256: sealed, unsealed or broken', () => {
    const file = tempFile();
    const w = writeSome(file);
    w.close();
    expect(verifySeal(readJournal(file))).toBe('unsealed');
    const read = readJournal(file);
    const again = JournalWriter.reopen(file, 4, read.validBytes);
    again.append({type: 'notice', level: 'info', text: 'resumed'});
    const closed = again.append({type: 'session-closed', outcome: 'finished'});
    again.close();
    expect(closed).toMatchObject({seal: {events: 5}});
    expect(verifySeal(readJournal(file))).toBe('sealed');
    const text = fs.readFileSync(file, 'utf8');
    // A line rewritten with a fresh line checksum (what the per-line sums cannot catch): broken.
    const lines = text.split('\n');
    const edited = {...parseEntry(lines[3]!), text: 'HELLO\n'} as JournalEntry;
    lines[3] = formatEntry(edited).trimEnd();
    const forged = parseJournal(lines.join('\n'), 'j');
    expect(forged.damage).toEqual([]);
    expect(verifySeal(forged)).toBe('broken');
    // A line added after the close: broken.
    const w2 = JournalWriter.reopen(file, 6, Buffer.byteLength(text));
    w2.append({type: 'notice', level: 'info', text: 'late'});
    w2.close();
    expect(verifySeal(readJournal(file))).toBe('broken');
    // A version 1 close has no seal: unsealed, as before.
    const v1 = text.replace(/,"seal":\{[^}]*\}/, '');
    expect(verifySeal(parseJournal(v1, 'j'))).toBe('unsealed');
  });
});
