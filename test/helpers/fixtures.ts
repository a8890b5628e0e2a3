/** Temporary machines and profiles for tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const vocabularyPath = path.join(repoRoot, 'source', 'runbook', 'vocabulary.ts');

export function tempDir(prefix = 'cc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a machine file whose body may use the vocabulary helpers. */
export function writeMachine(dir: string, name: string, body: string): string {
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(
    file,
    `import {site, phase, manual, command, watch, gate, check, notify, choice} from ${JSON.stringify(vocabularyPath)};\n${body}\n`,
  );
  return file;
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, text);
  return file;
}

/** The line (1-based) of the first occurrence of `needle` in a file. */
export function lineOf(file: string, needle: string): number {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  return i + 1;
}
