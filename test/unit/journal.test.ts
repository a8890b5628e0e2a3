import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {JournalWriter, parseJournal, readJournal} from '../../source/journal/file.js';

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
});
