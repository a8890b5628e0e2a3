/**
 * A flood of output through the console's pipeline (the live journal into the store,
 * folded once per frame): the screen's store ends on the last lines, keeps only a bounded
 * tail, never holds a secret cut across chunks, and the journal still gets the head, the
 * tail, the size and the hash of every byte.
 */
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {readJournal} from '../../source/journal/file.js';
import {drive} from '../../source/services/drive.js';
import {launch} from '../../source/services/open.js';
import {foldAll} from '../../source/store/fold.js';
import {snapshotOf, type SessionStoreApi} from '../../source/store/store.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';

const secret = 'Fl00d-s3cret-value';
const LINES = 600_000;
/** `seq 1 N` as the command prints it. */
const printed = Array.from({length: LINES}, (_, i) => `${i + 1}\n`).join('');

let dir: string;
beforeAll(() => {
  dir = tempDir('cc-flood-');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

/** Drives the session as the console does (no plain view: the store is what is shown). */
async function driveConsole(
  name: string,
  steps: string,
): Promise<{store: SessionStoreApi; journal: string}> {
  // A machine file per session: a module is imported once per process.
  const machine = writeMachine(
    dir,
    name,
    `export default site({id: 'flood', title: 'Flood', phases: [phase({id: 'p', title: 'P', steps: [${steps}]})]});`,
  );
  const profile = writeFile(
    dir,
    'flood.yaml',
    'site: flood\ntransport: local\nsecrets:\n  db: {env: FLOOD_SECRET}\n',
  );
  const journal = path.join(dir, `${name}.jsonl`);
  const env = {...process.env, XDG_STATE_HOME: dir, FLOOD_SECRET: secret};
  const launched = await launch(machine, profile, {
    version: 'test',
    journalPath: journal,
    driver: 'tester@test',
    env,
  });
  let store: SessionStoreApi | undefined;
  const code = await drive(launched, {
    plain: false,
    interactive: false,
    autopilot: {yes: true},
    driver: 'tester@test',
    write: () => {},
    say: () => {},
    onStore: (s) => (store = s),
  });
  expect(code).toBe(0);
  return {store: store!, journal};
}

describe('a flood of output in the console', () => {
  it('shows the last lines from a bounded tail and journals the head, tail, size and hash', async () => {
    const {store, journal} = await driveConsole(
      'flood',
      `command({id: 'flood', title: 'Flood', run: 'seq 1 ${LINES}'})`,
    );
    const entries = readJournal(journal).entries;
    // The journal: the head up to the cap, then the size and hash of every byte, then the tail.
    const head = entries
      .filter((e) => e.type === 'output')
      .map((e) => (e.type === 'output' ? (e.text ?? '') : ''));
    const truncated = entries.find((e) => e.type === 'output-truncated');
    expect(truncated).toMatchObject({
      totalBytes: printed.length,
      sha256: createHash('sha256').update(printed).digest('hex'),
    });
    expect(head.slice(0, -1).join('')).toBe(printed.slice(0, 1 << 20));
    expect(printed.endsWith(head.at(-1)!)).toBe(true);

    // The screen: the last lines, from a tail far smaller than the output.
    const shown = store.getState().output['p/flood']!['local']!;
    expect(shown.text.endsWith(`${LINES - 1}\n${LINES}\n`)).toBe(true);
    expect(shown.text.length).toBeLessThan(200_000);
    // Folded once per frame, it still ends where a fold of the journal ends.
    expect(snapshotOf(store)).toEqual(foldAll(entries));
  }, 120_000);

  it('never shows a secret cut across two chunks', async () => {
    const {store, journal} = await driveConsole(
      'split',
      `command({id: 'split', title: 'Split', run: "s=\\"\${secret.db}\\"; seq 1 20000; printf 'pw=%s' \\"\${s%%\${s#????}}\\"; sleep 0.4; printf '%s\\\\n' \\"\${s#????}\\"; seq 1 2000"})`,
    );
    const shown = store.getState().output['p/split']!['local']!.text;
    const written = fs.readFileSync(journal, 'utf8');
    expect(shown).toContain('pw=[redacted]');
    for (const text of [shown, written]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(0, 4));
      expect(text).not.toContain(secret.slice(4));
    }
  }, 120_000);
});
