/**
 * Everything that ran, and who decided what: each command with its host, time and exit
 * status, interleaved with the driver's decisions and the notices, oldest first.
 */
import {Box, Text} from 'ink';
import React from 'react';
import type {SessionState} from '../../store/fold.js';
import {clock, FINISHED, safe} from '../derive.js';
import {useColour, type Colour} from '../theme.js';
import {windowOf} from './window.js';

export interface LogRow {
  seq: number;
  text: string;
  colour?: Colour;
}

export function logRows(state: SessionState): LogRow[] {
  const id = (key: string): string => state.steps.find((s) => s.key === key)?.id ?? key;
  const rows: LogRow[] = [];
  for (const command of state.commands) {
    // Probes (watches, checks) report no host of their own: the step says how it went.
    const step = state.steps.find((s) => s.key === command.step);
    const c =
      command.outcome === undefined &&
      step &&
      FINISHED.has(step.status) &&
      !step.hostResults?.[command.host]
        ? {...command, outcome: step.status === 'ok' || step.status === 'done' ? 'ok' : step.status}
        : command;
    const status =
      c.outcome === undefined
        ? 'running'
        : c.exitCode === null || c.exitCode === undefined
          ? c.outcome
          : `exit ${c.exitCode}`;
    rows.push({
      seq: c.seq,
      text: `${clock(c.time)} $ ${safe(c.host).padEnd(10)} ${status.padEnd(9)} ${id(c.step).padEnd(18)} ${safe(c.command)}`,
      ...(c.outcome === undefined
        ? {colour: 'cyan' as const}
        : c.outcome === 'ok'
          ? {}
          : {colour: 'red' as const}),
    });
  }
  for (const l of state.log) {
    rows.push({
      seq: l.seq,
      text: `${clock(l.time)} ${l.level === 'info' ? '→' : l.level === 'warn' ? '⚠' : '✖'} ${l.step ? `${id(l.step)}: ` : ''}${safe(l.text)}`,
      colour: l.level === 'info' ? 'gray' : l.level === 'warn' ? 'yellow' : 'red',
    });
  }
  return rows.sort((a, b) => a.seq - b.seq);
}

export function CommandLog({
  state,
  rows,
  width,
  scroll,
}: {
  state: SessionState;
  rows: number;
  width: number;
  scroll: number;
}) {
  const colour = useColour();
  const all = logRows(state);
  const title = `─ command log: ${state.commands.length} commands · time host status step command `;
  const slice = windowOf(all.length, Math.max(0, rows - 1), {anchor: 'bottom', offset: scroll});
  return (
    <Box flexDirection="column" width={width} height={rows} overflowY="hidden">
      <Text color={colour('gray')} wrap="truncate-end">
        {title + '─'.repeat(Math.max(0, width - title.length))}
      </Text>
      {all.length === 0 && <Text color={colour('gray')}>nothing has run yet</Text>}
      {slice.above > 0 && <Text color={colour('gray')}>{`… ${slice.above} earlier (PgUp)`}</Text>}
      {all.slice(slice.start, slice.end).map((r) => (
        <Text key={`${r.seq}:${r.text.slice(9, 40)}`} color={colour(r.colour)} wrap="truncate-end">
          {r.text}
        </Text>
      ))}
      {slice.below > 0 && <Text color={colour('gray')}>{`… ${slice.below} later (PgDn)`}</Text>}
    </Box>
  );
}
