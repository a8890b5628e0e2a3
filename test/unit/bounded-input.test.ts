/**
 * Bounded input (issue 11, finding 11): profiles and machine files have a size limit with
 * a clear message (file, size, limit), and a large profile validates in linear time
 * (duplicate keys are still found, with their line). Speed itself is measured outside
 * the tests; see the commit message and the release note for the figure.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {LoadError, loadMachineFile} from '../../source/runbook/load.js';
import {loadProfile, MAX_PROFILE_BYTES, ProfileError} from '../../source/runbook/profile.js';
import {tempDir, writeFile} from '../helpers/fixtures.js';

const dir = tempDir('cc-bounded-');
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

const problems = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    if (error instanceof ProfileError)
      return error.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n');
    throw error;
  }
  return '';
};

/** A profile of about `bytes` with as many hosts, group members and variables. */
function bigProfile(name: string, bytes: number): {file: string; hosts: number} {
  const per = 3 * 30;
  const n = Math.floor(bytes / per);
  const lines = ['site: big', 'hosts:'];
  for (let i = 0; i < n; i++) lines.push(`  host-${i}: host-${i}.example.org`);
  lines.push('groups:', '  all:');
  for (let i = 0; i < n; i++) lines.push(`    - host-${i}`);
  lines.push('variables:');
  for (let i = 0; i < n; i++) lines.push(`  v_${i}: value-${i}-xxxxxxxx`);
  return {file: writeFile(dir, name, `${lines.join('\n')}\n`), hosts: n};
}

describe('bounded input', () => {
  it('refuses a profile over the limit, naming the file, its size and the limit', () => {
    const file = writeFile(
      dir,
      'huge.yaml',
      `site: big\n${'# padding padding padding padding padding padding padding padding\n'.repeat(
        Math.ceil((MAX_PROFILE_BYTES + 1024) / 66),
      )}`,
    );
    const said = problems(() => loadProfile(file));
    expect(said).toContain(
      `${file}: 4.0 MiB (${fs.statSync(file).size} bytes) is larger than a profile may be (4.0 MiB, ${MAX_PROFILE_BYTES} bytes)`,
    );
  });

  it('refuses a machine file over the limit the same way, before loading it', async () => {
    const file = writeFile(dir, 'huge.ts', `// ${'x'.repeat(5 << 20)}\nexport default {};\n`);
    await expect(loadMachineFile(file)).rejects.toThrow(LoadError);
    await expect(loadMachineFile(file)).rejects.toThrow(
      `${file}: 5.0 MiB (${fs.statSync(file).size} bytes) is larger than a machine file may be (4.0 MiB, ${4 << 20} bytes)`,
    );
  });

  it('validates a 1 MB profile with thousands of hosts and variables', () => {
    const {file, hosts} = bigProfile('big.yaml', 1 << 20);
    expect(fs.statSync(file).size).toBeGreaterThan(900_000);
    const profile = loadProfile(file);
    expect(Object.keys(profile.hosts)).toHaveLength(hosts);
    expect(profile.groups['all']).toHaveLength(hosts);
  });

  it('still finds a duplicate key, with its line, in a large profile', () => {
    const {file} = bigProfile('dup.yaml', 256 << 10);
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${text}  v_7: again\n`);
    const line = text.split('\n').length;
    expect(problems(() => loadProfile(file))).toMatch(
      new RegExp(`${path.basename(file)}:${line}: YAML syntax: Map keys must be unique`),
    );
  });
});
