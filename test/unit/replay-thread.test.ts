import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {loadInWorker, loadReplay, type LoadedReplay} from '../../source/commands/replay.js';
import {startReplayRead, takeEarlyRead} from '../../source/commands/replay-start.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {formatEntry} from '../../source/journal/file.js';
import {createSessionStore, snapshotOf, type SessionStoreApi} from '../../source/store/store.js';
import {writeLongJournal} from '../bench/lib/journal-gen.js';

/** The reading thread as the CLI runs it: the built module (npm run build). */
const script = path.join(import.meta.dirname, '../../dist/source/commands/replay-worker.js');
const fixtures = path.join(import.meta.dirname, '../fixtures/journals');

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true})));

const clock = {now: () => 0, setTimer: () => undefined, clearTimer: () => undefined};

async function both(
  file: string,
): Promise<[LoadedReplay, SessionStoreApi, LoadedReplay, SessionStoreApi]> {
  const here = createSessionStore();
  const a = await loadReplay(file, here, {speed: 0, ...clock});
  const there = createSessionStore();
  const b = await loadInWorker(file, there, {speed: 0, ...clock}, script);
  expect(b, 'the reading thread was not used').toBeDefined();
  return [a, here, b!, there];
}

describe('a journal read on its own thread', () => {
  it('gives the store, the end fact, the positions and the way back the main thread gives', async () => {
    expect(fs.existsSync(script), `${script} is missing: npm run build`).toBe(true);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-replay-thread-'));
    dirs.push(dir);
    const long = path.join(dir, 'long.jsonl');
    writeLongJournal(long, 12_000);
    // Killed while writing: a torn last line, no close.
    const torn = path.join(dir, 'torn.jsonl');
    const bytes = fs.readFileSync(long);
    fs.writeFileSync(torn, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    // Sealed, but a line rewritten with a checksum that matches it: only the seal tells.
    const forged = path.join(dir, 'forged.jsonl');
    const lines = bytes.toString('utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"type":"output"'));
    const {sum: _sum, ...entry} = JSON.parse(lines[at]!) as JournalEntry & {sum: string};
    lines[at] = formatEntry({...entry, text: 'forged\n'} as JournalEntry).trimEnd();
    fs.writeFileSync(forged, lines.join('\n'));
    for (const file of [
      long,
      torn,
      forged,
      path.join(fixtures, 'sealed.jsonl'),
      path.join(fixtures, 'crashed.jsonl'),
      path.join(fixtures, 'damaged.jsonl'),
    ]) {
      const [a, here, b, there] = await both(file);
      expect(b.read).toEqual(a.read);
      if (file === forged) expect(b.read.end.state).toBe('broken');
      if (file === long) expect(b.read.end.state).toBe('sealed');
      expect(b.following).toBe(a.following);
      expect(snapshotOf(there)).toEqual(snapshotOf(here));
      expect(b.player.position()).toEqual(a.player.position());
      const total = a.player.position().total;
      // Back through the checkpoints, and forward again: the same state at every stop.
      for (const at of [0, 1, Math.floor(total / 3), total - 2049, total - 1, total]) {
        for (const {player} of [a, b]) {
          player.start();
          player.step(Math.max(0, at));
          expect(player.position().index).toBe(Math.max(0, at));
        }
        expect(snapshotOf(there)).toEqual(snapshotOf(here));
      }
      a.player.dispose();
      b.player.dispose();
    }
  });

  it('says a file that is not a journal as the main thread does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-replay-thread-'));
    dirs.push(dir);
    const file = path.join(dir, 'not.jsonl');
    fs.writeFileSync(file, 'hello\n');
    const here = await loadReplay(file, createSessionStore(), {speed: 0, ...clock}).catch(
      (e: Error) => e.message,
    );
    const there = await loadInWorker(
      file,
      createSessionStore(),
      {speed: 0, ...clock},
      script,
    )!.catch((e: Error) => e.message);
    expect(here).toMatch(/not a crewchief journal/);
    expect(there).toBe(here);
  });

  it('takes the read the CLI entry started for the same file, and only that one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-replay-thread-'));
    dirs.push(dir);
    const file = path.join(dir, 'long.jsonl');
    writeLongJournal(file, 4_000);
    const here = createSessionStore();
    const a = await loadReplay(file, here, {speed: 0, ...clock});
    // The split build's reading thread, one bundled file, as bin/crewchief.js runs it.
    const bundled = path.join(import.meta.dirname, '../../dist/cli/replay-worker.js');
    expect(fs.existsSync(bundled), `${bundled} is missing: npm run build`).toBe(true);
    startReplayRead(file, bundled);
    // Another file's replay does not take it.
    expect(takeEarlyRead(path.join(dir, 'other.jsonl'))).toBeUndefined();
    const there = createSessionStore();
    // No thread module given here: only the early read can answer.
    const b = await loadInWorker(file, there, {speed: 0, ...clock}, '/nonexistent/worker.js');
    expect(b, 'the early read was not taken').toBeDefined();
    expect(b!.read).toEqual(a.read);
    expect(snapshotOf(there)).toEqual(snapshotOf(here));
    expect(b!.player.position()).toEqual(a.player.position());
    expect(takeEarlyRead(file)).toBeUndefined();
    a.player.dispose();
    b!.player.dispose();
  });
});
