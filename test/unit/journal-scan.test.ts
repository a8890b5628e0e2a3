import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {formatEntry, JournalWriter, parseJournal, readJournal} from '../../source/journal/file.js';
import {timeMs} from '../../source/journal/replay-log.js';
import {JournalScanner, verifySeal} from '../../source/journal/scan.js';
import {fold, foldAll, initialState} from '../../source/store/fold.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

/** A journal with output in runs, across hosts and steps, text and bytes, past the tail cap. */
function writeJournal(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-scan-'));
  dirs.push(dir);
  const file = path.join(dir, 'j.jsonl');
  const w = JournalWriter.create(file, 'scan');
  w.append({type: 'phase-entered', phase: 'p'});
  for (const step of ['p/a', 'p/b']) {
    w.append({
      type: 'step-started',
      step,
      runs: [
        {host: 'h1', command: 'x'},
        {host: 'h2', command: 'x'},
      ],
      attempt: 1,
    });
    for (let i = 0; i < 900; i++) {
      const host = i % 3 ? 'h1' : 'h2';
      w.append(
        i % 50 === 7
          ? {
              type: 'output',
              step,
              host,
              stream: 'stderr',
              b64: Buffer.from([0xff, i % 256]).toString('base64'),
            }
          : {
              type: 'output',
              step,
              host,
              stream: 'stdout',
              text: `${step} ${i} ünïcode ${'x'.repeat(i % 400)}\n`,
            },
      );
      if (i % 100 === 99) w.append({type: 'notice', step, level: 'info', text: `at ${i}`});
    }
    w.append({type: 'host-finished', step, host: 'h1', exitCode: 0, outcome: 'ok'});
    w.append({type: 'step-finished', step, outcome: 'ok', exitCode: 0, durationMs: 5});
  }
  w.append({type: 'session-closed', outcome: 'finished'});
  w.close();
  return file;
}

describe('the journal scanner', () => {
  it('reads the same entries, damage and seal whatever the chunk boundaries', () => {
    const file = writeJournal();
    const bytes = fs.readFileSync(file);
    // Damage one line in the middle: it must be found at the same place every time.
    const text = bytes.toString('utf8').replace('"text":"p/a 300 ', '"text":"p/a 3O0 ');
    const whole = parseJournal(text, 'j');
    expect(whole.damage).toHaveLength(1);
    expect(whole.closedOver).toBeDefined();
    for (const size of [1, 7, 100, 4096, 65536]) {
      const entries: JournalEntry[] = [];
      const scanner = new JournalScanner('j', (batch) => void entries.push(...batch));
      const buf = Buffer.from(text, 'utf8');
      for (let at = 0; at < buf.length; at += size) scanner.push(buf.subarray(at, at + size));
      const scan = scanner.end();
      expect(entries).toEqual(whole.entries);
      expect(scan.damage).toEqual(whole.damage);
      expect(scan.closedOver).toEqual(whole.closedOver);
      expect(scan.validBytes).toBe(whole.validBytes);
    }
    expect(readJournal(file).entries).toHaveLength(whole.entries.length + 1);
  });

  it('folds runs of output at once into exactly the state chunk-by-chunk folding gives', () => {
    const {entries} = readJournal(writeJournal());
    const oneByOne = entries.reduce(fold, initialState());
    expect(foldAll(entries)).toEqual(oneByOne);
    expect(oneByOne.output['p/a']?.['h1']?.text.length).toBe(64 * 1024);
  });

  it('folds one long run of output (a flood, two hosts, two steps) as chunk by chunk', () => {
    const {entries} = readJournal(writeJournal());
    const opened = entries.filter((e) => e.type !== 'output' && e.type !== 'notice');
    let seq = entries.length;
    const flood: JournalEntry[] = [];
    for (let i = 0; i < 700; i++)
      flood.push({
        type: 'output',
        step: i % 5 ? 'p/a' : 'p/b',
        host: i % 3 ? 'h1' : 'h2',
        stream: 'stdout',
        ...(i % 97 === 3
          ? {b64: Buffer.from([0xc3, i % 256, 0x0a]).toString('base64')}
          : {text: `${i} ${'é'.repeat(i % 1500)}\n`}),
        seq: ++seq,
        time: '2026-11-22T08:00:00.000Z',
        mono: i,
      } as JournalEntry);
    const all = [...opened, ...flood];
    const state = foldAll(all);
    expect(state).toEqual(all.reduce(fold, initialState()));
    expect(state.output['p/a']?.['h1']?.text.length).toBe(64 * 1024);
  });

  it('reads a sealed file as the line-by-line check does, and a changed one line by line', () => {
    const file = writeJournal();
    const text = fs.readFileSync(file, 'utf8');
    const strict = parseJournal(text, file);
    // Sealed and whole: the same entries and the same seal facts as the full check.
    const sealed = readJournal(file);
    expect(sealed.entries).toEqual(strict.entries);
    expect(sealed.closedOver).toEqual(strict.closedOver);
    expect(sealed.damage).toEqual([]);
    expect(verifySeal(sealed)).toBe('sealed');

    // A line with a broken checksum: found, at its byte offset, though the close is sealed.
    const damaged = text.replace('"text":"p/a 300 ', '"text":"p/a 3O0 ');
    fs.writeFileSync(file, damaged);
    const read = readJournal(file);
    expect(read.damage).toHaveLength(1);
    expect(read.damage).toEqual(parseJournal(damaged, file).damage);
    expect(read.damage[0]!.offset).toBe(
      Buffer.byteLength(damaged.slice(0, damaged.indexOf('3O0')).replace(/[^\n]*$/, '')),
    );

    // A line rewritten with a checksum that matches it: only the seal can tell.
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.includes('"text":"p/b 5 '));
    const entry = JSON.parse(lines[at]!) as JournalEntry & {sum?: string};
    delete entry.sum;
    lines[at] = formatEntry({...entry, text: 'forged\n'} as JournalEntry).trimEnd();
    fs.writeFileSync(file, lines.join('\n'));
    const forged = readJournal(file);
    expect(forged.damage).toEqual([]);
    expect(forged.entries[at - 1]).toMatchObject({text: 'forged\n'});
    expect(verifySeal(forged)).toBe('broken');
  });

  it("reads a writer's time as Date.parse does", () => {
    for (const t of [
      '2026-11-22T08:00:00.000Z',
      '2026-11-22T08:00:59.999Z',
      '2026-11-22T08:01:00.001Z',
      '2026-11-22T08:00:07.120Z',
      '2026-12-31T23:59:59.999Z',
      '2027-01-01T00:00:00.000Z',
      '2026-11-22T08:00:60.000Z',
      '2026-11-22T08:0x:00.000Z',
      '2026-11-22T08:00:00Z',
      '2026-11-22T08:00:00.000+01:00',
      'not a time',
    ])
      expect([t, timeMs(t)]).toEqual([t, Date.parse(t)]);
  });
});
