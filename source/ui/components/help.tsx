/**
 * Every key, grouped, from the key table: what it does and whether it works right now.
 * Read-only and replay views never list the keys that change the session.
 */
import {Box, Text} from 'ink';
import React from 'react';
import {safe, wrapLine} from '../derive.js';
import {wrapToWidth} from '../text-width.js';
import {bindings, groupTitles, keyName, type KeyBinding, type KeyContext} from '../keys.js';
import {useColour} from '../theme.js';
import {windowOf} from './window.js';

const KEY_COLUMN = 17;

/** The help as plain lines, one per key (or wrapped to `width`, never cut). */
export function helpLines(
  ctx: KeyContext,
  width = Number.POSITIVE_INFINITY,
): {text: string; active: boolean; title?: boolean}[] {
  const out: {text: string; active: boolean; title?: boolean}[] = [];
  const shown = bindings.filter(
    (b) => (!b.mutating || ctx.mode === 'live') && (b.group !== 'replay' || ctx.mode === 'replay'),
  );
  for (const group of Object.keys(groupTitles) as KeyBinding['group'][]) {
    const inGroup = shown.filter((b) => b.group === group);
    if (!inGroup.length) continue;
    out.push({text: groupTitles[group], active: true, title: true});
    for (const b of inGroup) {
      const keys = `  ${b.keys.map(keyName).join(' ').padEnd(14)} `;
      const room = Math.max(20, width - KEY_COLUMN);
      const wrapped = Number.isFinite(width) ? wrapLine(b.help, room) : [b.help];
      wrapped.forEach((text, i) =>
        out.push({
          text: `${i === 0 ? keys.padEnd(KEY_COLUMN) : ' '.repeat(KEY_COLUMN)}${text}`,
          active: b.when(ctx),
        }),
      );
    }
  }
  return out;
}

/** Where the journal is, whole (wrapped, never cut), and the commands that use it. */
export function journalLines(
  journalPath: string,
  session: string | undefined,
  width = Number.POSITIVE_INFINITY,
): {text: string; active: boolean; title?: boolean}[] {
  const wrap = (text: string) =>
    Number.isFinite(width) ? wrapToWidth(text, Math.max(20, width - 2)) : [text];
  const id = session ?? journalPath;
  return [
    {text: 'Journal', active: true, title: true},
    ...wrap(safe(journalPath)).map((text) => ({text: `  ${text}`, active: true})),
    ...wrap(`resume: crewchief resume ${id} · replay: crewchief replay ${id}`).map((text) => ({
      text: `  ${text}`,
      active: true,
    })),
  ];
}

/** Everything the help view lists: the journal (when known), then the keys. */
export const helpScreenLines = (
  ctx: KeyContext,
  width: number,
  journalPath?: string,
  session?: string,
): {text: string; active: boolean; title?: boolean}[] => [
  ...(journalPath ? journalLines(journalPath, session, width) : []),
  ...helpLines(ctx, width),
];

export function Help({
  ctx,
  rows,
  width,
  scroll,
  journalPath,
  session,
}: {
  ctx: KeyContext;
  rows: number;
  width: number;
  scroll: number;
  /** Shown first, whole: the status line may only have room for a shortened path. */
  journalPath?: string;
  session?: string;
}) {
  const colour = useColour();
  const lines = helpScreenLines(ctx, width, journalPath, session);
  const title = '─ keys (dim: not now) · ↑/↓ PgUp/PgDn scroll · Esc or ? closes ';
  const slice = windowOf(lines.length, Math.max(0, rows - 1), {anchor: 'top', offset: scroll});
  return (
    <Box flexDirection="column" width={width} height={rows} overflowY="hidden">
      <Text color={colour('gray')} wrap="truncate-end">
        {title + '─'.repeat(Math.max(0, width - title.length))}
      </Text>
      {slice.above > 0 && <Text color={colour('gray')}>{`  ↑ ${slice.above} more (PgUp)`}</Text>}
      {lines.slice(slice.start, slice.end).map((l, i) => (
        <Text key={i} bold={l.title} dimColor={!l.active} wrap="truncate-end">
          {l.text}
        </Text>
      ))}
      {slice.below > 0 && <Text color={colour('gray')}>{`  ↓ ${slice.below} more (PgDn)`}</Text>}
    </Box>
  );
}
