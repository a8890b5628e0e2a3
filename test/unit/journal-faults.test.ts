/**
 * Disk faults on the journal, injected (issue 11, finding 7): every fault code, at an
 * effect-bearing write and at a group-committed output write. The session stops before
 * the next effect, is never shown as a failed step, exits 4 with the file and the free
 * space named, and resumes once the journal can be written. (The real-filesystem
 * version, a tmpfs, is test/e2e/disk-faults.test.ts.)
 */
import fs from 'node:fs';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {drive} from '../../source/services/drive.js';
import {EXIT} from '../../source/services/exit.js';
import {JournalWriteError, JournalWriter, readJournal} from '../../source/journal/file.js';
import {harness} from '../helpers/session.js';
import {tempDir} from '../helpers/fixtures.js';

const machine = `
export default site({id: 'disk', title: 'Disk', phases: [phase({id: 'p', title: 'P', steps: [
  command({id: 'first', title: 'First', run: 'first-thing'}),
  command({id: 'second', title: 'Second', run: 'second-thing'}),
]})]});
`;
const profile = 'site: disk\n';
const scripts = () => [
  {match: /^first-thing/, stdout: 'one\n'},
  {match: /^second-thing/, stdout: 'two\n'},
];

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  dirs.splice(0).forEach((d) => fs.rmSync(d, {recursive: true, force: true}));
});

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected, write`), {code, syscall: 'write'});

/** Makes fs.writeSync fail with `code` when the bytes written match `when`. */
function failWrites(code: string, when: RegExp): void {
  const real = fs.writeSync.bind(fs);
  vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buffer: unknown, ...rest: never[]) => {
    const text = Buffer.isBuffer(buffer) ? buffer.toString('utf8') : String(buffer);
    if (when.test(text)) throw errno(code);
    return (real as (...a: unknown[]) => number)(fd, buffer, ...rest);
  }) as typeof fs.writeSync);
}

async function driveCapturing(launched: Awaited<ReturnType<typeof harness>>['launched']) {
  const lines: string[] = [];
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write);
  const code = await drive(launched, {
    plain: true,
    interactive: false,
    autopilot: {yes: true, onUnknown: 'rerun'},
    driver: 'tester@test',
    write: (line) => lines.push(line),
  });
  vi.mocked(process.stderr.write).mockRestore();
  return {code, screen: `${lines.join('\n')}\n${stderr}`};
}

describe('a journal that cannot be written', () => {
  for (const code of ['ENOSPC', 'EIO', 'EROFS', 'EACCES']) {
    it(`${code} at an effect's start: stops before it, exit 4, file and free space named; resume runs it`, async () => {
      const dir = tempDir('cc-fault-');
      dirs.push(dir);
      const h = await harness(machine, profile, scripts(), {dir});
      failWrites(code, /"type":"step-started","step":"p\/second"/);
      const {code: exit, screen} = await driveCapturing(h.launched);
      expect(exit).toBe(EXIT.journal);
      expect(screen).toContain(`cannot write the journal ${h.journal}`);
      expect(screen).toContain(`(${code})`);
      expect(screen).toMatch(/free on its filesystem/);
      expect(screen).toContain(`crewchief resume ${h.journal}`);
      expect(screen).not.toMatch(/failed|engine error|\n\s+at /);
      // The effect never happened, and the journal is whole lines up to the fault.
      expect(h.transport.calls.map((c) => c.command)).toEqual(['first-thing']);
      const read = readJournal(h.journal);
      expect(read.damage).toEqual([]);
      expect(read.entries.some((e) => e.type === 'step-started' && e.step === 'p/second')).toBe(
        false,
      );
      expect(read.entries.some((e) => e.type === 'step-finished' && e.outcome !== 'ok')).toBe(
        false,
      );

      vi.restoreAllMocks();
      const again = await harness(machine, profile, scripts(), {dir, resumeFrom: h.journal});
      const resumed = await driveCapturing(again.launched);
      expect(resumed.code, resumed.screen).toBe(EXIT.ok);
      expect(again.transport.calls.map((c) => c.command)).toEqual(['second-thing']);
    });
  }

  it('a failed group commit (output) stops the session too, without an uncaught exception', async () => {
    const dir = tempDir('cc-fault-');
    dirs.push(dir);
    const h = await harness(machine, profile, scripts(), {dir});
    failWrites('ENOSPC', /"type":"output","step":"p\/first"/);
    const {code, screen} = await driveCapturing(h.launched);
    expect(code).toBe(EXIT.journal);
    expect(screen).toContain('no space left on device (ENOSPC)');
    expect(h.transport.calls.map((c) => c.command)).toEqual(['first-thing']);
  });

  it('the writer refuses every append after a fault and names the file', () => {
    const dir = tempDir('cc-fault-');
    dirs.push(dir);
    const w = JournalWriter.create(`${dir}/j.jsonl`, 's');
    const faults: JournalWriteError[] = [];
    w.onFault((e) => faults.push(e));
    failWrites('EIO', /step-started/);
    const start = {type: 'step-started', step: 'a', runs: [], attempt: 1} as const;
    expect(() => w.append(start)).toThrow(JournalWriteError);
    vi.restoreAllMocks();
    expect(() => w.append({type: 'phase-entered', phase: 'x'})).toThrow(/cannot write the journal/);
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({code: 'EIO', file: `${dir}/j.jsonl`});
    expect(typeof faults[0]!.free).toBe('number');
    w.close();
    expect(readJournal(`${dir}/j.jsonl`).entries).toEqual([]);
  });
});
