import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {keyListMarkdown} from '../../source/ui/key-list.js';

const readme = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

/** Table rows as trimmed cells (Prettier pads the columns). */
const rows = (markdown: string): string[][] =>
  markdown
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[\s-|]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );

describe('the README', () => {
  it('lists every key of the console, as the key table has it', () => {
    const text = fs.readFileSync(readme, 'utf8');
    const start = text.indexOf('## The console');
    expect(start).toBeGreaterThan(-1);
    const section = text.slice(start, text.indexOf('\n## ', start + 1));
    const table = section.slice(section.indexOf('| Keys'));
    expect(rows(table).slice(0, rows(keyListMarkdown()).length)).toEqual(rows(keyListMarkdown()));
  });
});
