/**
 * The tokenizer: a runbook's text as a list of blocks (headings, list items, code,
 * paragraphs), with the indentation and the line each starts on. It reads Markdown
 * (`#` headings, `1.`/`-` items, fenced and indented code) and the plain text wikis
 * export (headings as lone short lines, `•` bullets, `4.5` and `Step 3:` numbering,
 * commands on lines of their own after a blank line, `$ ` prompts with output below).
 * It says what the text looks like; the classifier decides what it means.
 */
import {isLabel} from './sentences.js';
import {looksLikeCommand} from './shell-text.js';

/** A section title. */
export interface HeadingBlock {
  kind: 'heading';
  level: number;
  text: string;
  line: number;
}

/** A list item: `1.`, `4.5`, `Step 3:`, `-`, `*`, `•`; its wrapped lines joined. */
export interface ItemBlock {
  kind: 'item';
  ordered: boolean;
  /** The number as written, for ordered items (`"4.5"`). */
  number?: string;
  indent: number;
  text: string;
  line: number;
}

/** Lines of code: a fenced block, or command lines standing on their own. */
export interface CodeBlock {
  kind: 'code';
  /** The fence's language word, if any (`shell`, `sql`). */
  lang?: string;
  fenced: boolean;
  indent: number;
  lines: string[];
  line: number;
}

/** A paragraph of prose, wrapped lines joined. */
export interface TextBlock {
  kind: 'text';
  indent: number;
  text: string;
  line: number;
}

export type Block = HeadingBlock | ItemBlock | CodeBlock | TextBlock;

const ITEM =
  /^(\s*)(?:(\d+(?:\.\d+)+)\.?|(\d+)[.)]|step\s+(\d+(?:\.\d+)*)\s*[:.)-]|([-*+•●◦▪‣]))\s+(\S.*)$/i;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;

/** Columns of indentation, tabs to the next multiple of 4. */
function expand(line: string): string {
  let out = '';
  for (const c of line) out += c === '\t' ? ' '.repeat(4 - (out.length % 4)) : c;
  return out.replace(/\u00a0/g, ' ').replace(/\s+$/, '');
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/** The blocks of a runbook's text, in order. */
export function tokenize(source: string): Block[] {
  const lines = source
    .replace(/^\uFEFF/, '')
    .split(/\r?\n|\r/)
    .map(expand);
  const markdownHeadings = lines.some((l) => /^#{1,6}\s+\S/.test(l));
  const blocks: Block[] = [];
  let i = 0;
  const blank = (n: number): boolean => n < 0 || n >= lines.length || !lines[n]!.trim();

  while (i < lines.length) {
    const line = lines[i]!;
    const start = i + 1;
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence && line.trim().startsWith(fence[2]!)) {
      const close = fence[2]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(close)) body.push(lines[i++]!);
      i++;
      const cut = fence[1]!.length;
      blocks.push({
        kind: 'code',
        fenced: true,
        ...(fence[3] ? {lang: fence[3]} : {}),
        indent: cut,
        lines: body.map((l) => (indentOf(l) >= cut ? l.slice(cut) : l.trimStart())),
        line: start,
      });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      blocks.push({kind: 'heading', level: heading[1]!.length, text: heading[2]!, line: start});
      i++;
      continue;
    }
    const item = ITEM.exec(line);
    if (item) {
      const indent = item[1]!.length;
      const text = [item[6]!];
      i++;
      // Wrapped lines: indented deeper than the marker, or lazily at its level.
      while (
        i < lines.length &&
        lines[i]!.trim() &&
        !ITEM.exec(lines[i]!) &&
        !FENCE.test(lines[i]!) &&
        (indentOf(lines[i]!) > indent || !looksLikeCommand(lines[i]!))
      ) {
        text.push(lines[i++]!.trim());
      }
      const number = item[2] ?? item[3] ?? item[4];
      blocks.push({
        kind: 'item',
        ordered: !item[5],
        ...(number ? {number} : {}),
        indent,
        text: text.join(' '),
        line: start,
      });
      continue;
    }
    // Command lines on their own: a block of code, output lines below a `$ ` prompt included.
    if (looksLikeCommand(line) && blank(i - 1)) {
      const indent = indentOf(line);
      const body: string[] = [];
      const prompted = /^\s*\$\s/.test(line);
      while (
        i < lines.length &&
        lines[i]!.trim() &&
        !ITEM.exec(lines[i]!) &&
        (looksLikeCommand(lines[i]!) || indentOf(lines[i]!) > indent || prompted)
      ) {
        body.push(lines[i++]!.slice(Math.min(indent, indentOf(lines[i - 1]!))));
      }
      blocks.push({kind: 'code', fenced: false, indent, lines: body, line: start});
      continue;
    }
    // A paragraph; in plain text a lone short line is a section title.
    const indent = indentOf(line);
    const text: string[] = [];
    while (
      i < lines.length &&
      lines[i]!.trim() &&
      !ITEM.exec(lines[i]!) &&
      !FENCE.test(lines[i]!) &&
      !/^#{1,6}\s/.test(lines[i]!)
    ) {
      text.push(lines[i++]!.trim());
    }
    const underline = text.length === 2 && /^(=+|-+)$/.test(text[1]!);
    if (underline) {
      blocks.push({
        kind: 'heading',
        level: text[1]!.startsWith('=') ? 1 : 2,
        text: text[0]!,
        line: start,
      });
      continue;
    }
    const only = text[0]!;
    if (
      !markdownHeadings &&
      text.length === 1 &&
      indent === 0 &&
      blank(i) &&
      only.split(/\s+/).length <= 8 &&
      !only.includes(', ') &&
      !looksLikeCommand(lines.slice(i).find((l) => l.trim()) ?? '') &&
      /^[A-Z0-9]/.test(only) &&
      !/[.,;:]$/.test(only) &&
      !isLabel(only)
    ) {
      blocks.push({kind: 'heading', level: 2, text: only, line: start});
      continue;
    }
    blocks.push({kind: 'text', indent, text: text.join(' '), line: start});
  }
  return blocks;
}
