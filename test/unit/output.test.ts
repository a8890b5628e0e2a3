import {createHash} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {OutputRecorder} from '../../source/engine/output.js';
import type {JournalEntry, JournalEvent} from '../../source/journal/events.js';
import {Redactor} from '../../source/journal/redact.js';
import {foldAll} from '../../source/store/fold.js';

describe('output past the per-step cap', () => {
  it('journals the head, a live tail for the screen, then the tail, the size and a hash', () => {
    const events: JournalEvent[] = [];
    const recorder = new OutputRecorder({
      step: 's',
      host: 'h',
      redactor: new Redactor([]),
      capBytes: 1000,
      append: (e) => void events.push(e),
    });
    const lines = Array.from({length: 5000}, (_, i) => `line ${String(i).padStart(4, '0')}\n`);
    for (const line of lines) recorder.sink.stdout(Buffer.from(line));
    recorder.end();
    const all = lines.join('');
    const journaled = events
      .filter((e) => e.type === 'output')
      .map((e) => (e.type === 'output' ? e.text : ''));
    expect(journaled.length).toBeGreaterThan(1);
    expect(journaled.slice(0, -1).join('')).toBe(all.slice(0, 1000));
    expect(all.endsWith(journaled.at(-1)!)).toBe(true);
    const truncated = events.find((e) => e.type === 'output-truncated');
    expect(truncated).toMatchObject({
      totalBytes: all.length,
      sha256: createHash('sha256').update(all).digest('hex'),
    });
    expect(events.some((e) => e.type === 'output-progress')).toBe(true);

    const entries = [
      {
        type: 'session-opened',
        session: 'x',
        site: 's',
        siteTitle: 'S',
        siteFile: '',
        profile: 'p',
        profileFile: '',
        runbookHash: '',
        driver: 'd',
        version: '0',
        transport: 'local',
        dryRun: false,
        plan: {phases: [], steps: []},
        variables: {},
      },
      ...events,
    ].map((e, i) => ({
      ...e,
      seq: i + 1,
      time: '2026-11-22T00:00:00.000Z',
      mono: i,
    })) as JournalEntry[];
    const progressAt = entries.findIndex((e) => e.type === 'output-progress');
    const during = foldAll(entries.slice(0, progressAt + 1)).output['s']!['h']!;
    expect(during.text).toMatch(
      /^line 0000\n[\s\S]*… \d+ bytes so far; the journal keeps the head and the tail …\n/,
    );
    const after = foldAll(entries).output['s']!['h']!;
    expect(after.text).toContain(`bytes not kept (of ${all.length}`);
    expect(after.text.endsWith('line 4999\n')).toBe(true);
    expect(after.head).toBeUndefined();
    // what the screen and the report say was printed: every byte, not the last progress
    expect(after.bytes).toBe(all.length);
    expect(after.omitted).toBe((truncated as {omittedBytes: number}).omittedBytes);
  });
});

describe('secrets past the cap', () => {
  it('are redacted in the progress lines and the tail, even cut by the window', () => {
    const secret = 'S3cr3t-value-XYZ';
    const events: JournalEvent[] = [];
    const recorder = new OutputRecorder({
      step: 's',
      host: 'h',
      redactor: new Redactor([secret]),
      capBytes: 100,
      append: (e) => void events.push(e),
    });
    recorder.sink.stdout(Buffer.from('x'.repeat(200) + '\n'));
    // A long line with the secret where a window may cut it, and the secret split across chunks.
    recorder.sink.stdout(
      Buffer.from(`${'y'.repeat(5000)} ${secret} ${'z'.repeat(10)}\nlast ${secret.slice(0, 6)}`),
    );
    recorder.sink.stdout(Buffer.from(`${secret.slice(6)} done\n`));
    expect(recorder.text).not.toContain(secret.slice(0, 6) + secret.slice(6, 8));
    expect(recorder.text).toContain('[redacted]');
    recorder.end();
    const written = JSON.stringify(events);
    for (let i = 4; i <= secret.length; i++) {
      for (let j = 0; j + i <= secret.length; j += 3)
        expect(written).not.toContain(secret.slice(j, j + i));
    }
    expect(written).toContain('last [redacted] done');
  });
});

describe('a flood past the cap', () => {
  it('is counted and hashed to the last byte, and leaves no gc global behind', () => {
    const before = 'gc' in globalThis;
    const events: JournalEvent[] = [];
    const recorder = new OutputRecorder({
      step: 's',
      host: 'h',
      redactor: new Redactor([]),
      capBytes: 1 << 20,
      append: (e) => void events.push(e),
    });
    // 24 MiB in 32 KiB chunks: several young-generation collections on the way.
    const hash = createHash('sha256');
    for (let i = 0; i < 768; i++) {
      const chunk = Buffer.alloc(32 << 10, `chunk ${i}\n`);
      hash.update(chunk);
      recorder.sink.stdout(chunk);
    }
    recorder.end();
    expect(events.find((e) => e.type === 'output-truncated')).toMatchObject({
      totalBytes: 768 * (32 << 10),
      sha256: hash.digest('hex'),
    });
    expect('gc' in globalThis).toBe(before);
  });
});
