/**
 * Following a long journal (`watch --file`, `replay --follow`): the file is read in bounded
 * steps, not whole, and every event still arrives once, in order, including a line longer
 * than a step.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {JournalWriter} from '../../source/journal/file.js';
import {FileTail} from '../../source/team/file-tail.js';
import {writeLongJournal} from '../bench/lib/journal-gen.js';
import {tempDir} from '../helpers/fixtures.js';

const dir = tempDir('cc-tail-long-');
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

it('follows a 7 MB journal in bounded batches, every event once and in order, a 5 MB line included', () => {
  const file = path.join(dir, 'long.jsonl');
  const made = writeLongJournal(file, 30_000);
  expect(fs.statSync(file).size).toBeGreaterThan(6 << 20);

  const batches: JournalEntry[][] = [];
  const problems: string[] = [];
  const tail = new FileTail({
    file,
    onEntries: (entries) => batches.push(entries),
    onProblem: (text) => problems.push(text),
    pollMs: 60_000,
  });
  tail.start();
  // The first read took the whole file, a bounded step at a time.
  expect(batches.length).toBeGreaterThan(1);
  const seqs = batches.flat().map((e) => e.seq);
  expect(seqs).toHaveLength(made.events);
  expect(seqs.every((s, i) => s === i + 1)).toBe(true);

  // A line longer than a step is read whole when it comes.
  const writer = JournalWriter.reopen(file, made.events, fs.statSync(file).size);
  writer.append({type: 'notice', level: 'info', text: 'x'.repeat(5 << 20)});
  writer.append({type: 'notice', level: 'info', text: 'after the long line'});
  writer.close();
  (tail as unknown as {read(): void}).read();
  tail.stop();
  const after = batches.flat().slice(made.events);
  expect(after.map((e) => e.type === 'notice' && e.text.length)).toEqual([
    5 << 20,
    'after the long line'.length,
  ]);
  expect(problems).toEqual([]);
});
