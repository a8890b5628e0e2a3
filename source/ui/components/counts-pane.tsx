/**
 * The live counts: value, target, a sparkline of recent samples, how long since the
 * value last moved, and the patience warning when it has stopped moving.
 */
import {Box, Text} from 'ink';
import React from 'react';
import type {CountView, SessionState} from '../../store/fold.js';
import {clock, FINISHED, safe, span, sparkline} from '../derive.js';
import {useColour} from '../theme.js';

export interface CountsPaneProps {
  state: SessionState;
  counts: readonly CountView[];
  now: number;
  rows: number;
  width: number;
}

/** Lines a list of counts takes: one each, two when the patience warning shows. */
export const countsHeight = (counts: readonly CountView[]): number =>
  counts.reduce((n, c) => n + (c.stalled ? 2 : 1), 0);

export function CountsPane({state, counts, now, rows, width}: CountsPaneProps) {
  const colour = useColour();
  if (rows <= 0 || !counts.length) return null;
  const lines: React.ReactNode[] = [];
  for (const count of counts) {
    const step = state.steps.find((s) => s.key === count.step);
    const over = step ? FINISHED.has(step.status) : false;
    const value = count.value === null ? '?' : String(count.value);
    const since = over
      ? `${step?.status === 'ok' ? 'reached' : 'stopped'} ${clock(step?.finishedAt)}`
      : `changed ${span(now - Date.parse(count.lastChange))} ago`;
    const head = `◷ ${value} → ${count.target}  `;
    const tail = `  ${since} · ${step?.title ?? count.step}`;
    const spark = sparkline(count.samples, Math.max(0, Math.min(30, width - head.length - 24)));
    lines.push(
      <Text key={count.step} wrap="truncate-end">
        <Text bold color={colour(over ? 'green' : count.stalled ? 'yellow' : 'cyan')}>
          {head}
        </Text>
        <Text color={colour('cyan')}>{spark}</Text>
        <Text color={colour('gray')}>{tail}</Text>
      </Text>,
    );
    if (count.stalled && !over)
      lines.push(
        <Text key={`${count.step}:stalled`} color={colour('yellow')} wrap="truncate-end">
          {`  ⚠ not moving: still ${value} since ${clock(count.lastChange)}, past this watch's patience${count.raw ? ` · last read "${safe(count.raw)}"` : ''}`}
        </Text>,
      );
  }
  return (
    <Box
      flexDirection="column"
      width={width}
      height={Math.min(rows, lines.length)}
      overflow="hidden"
    >
      {lines.slice(0, rows)}
    </Box>
  );
}
