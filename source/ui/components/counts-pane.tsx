/**
 * The live counts, honestly: what is counted and its value, the target (and where the
 * watch started from), a sparkline on a fixed floor (0 at the bottom, the target's level
 * marked after it), how long since the value last moved, the time left before the watch
 * gives up, when it timed out, a link that is down, and what `investigate` shows.
 */
import {Box, Text} from 'ink';
import React from 'react';
import type {CountView, SessionState} from '../../store/fold.js';
import {bar, FINISHED, safe, scaleTop, span, sparkline, targetNumber} from '../derive.js';
import {useColour} from '../theme.js';

export interface CountsPaneProps {
  state: SessionState;
  counts: readonly CountView[];
  now: number;
  rows: number;
  width: number;
}

/** `hh:mm` of an ISO time (UTC, as the journal writes it). */
const hhmm = (iso: string): string => iso.slice(11, 16);

type Line = {key: string; text: string; tone: 'cyan' | 'green' | 'yellow' | 'red' | 'gray'};

/** The lines one count takes, as text (so the height is known before drawing). */
export function countLines(
  state: SessionState,
  count: CountView,
  now: number,
  width: number,
): Line[] {
  const step = state.steps.find((s) => s.key === count.step);
  const status = step?.status;
  const prompt = state.prompt?.step === count.step ? state.prompt : undefined;
  const timedOut = status === 'timed-out';
  const over = status ? FINISHED.has(status) : false;
  const value = count.value === null ? 'unreadable' : String(count.value);
  const unit = count.unit ? ` ${safe(count.unit)}` : '';
  const from =
    count.baseline !== undefined && count.baseline !== count.value
      ? ` · from ${count.baseline}`
      : '';
  const head = `◷ ${value}${unit} → ${count.target}${from}  `;
  const goal = targetNumber(count.target);
  const top = scaleTop(count.samples, goal ?? 0);
  // The sparkline gets what the head, the target mark and the scale leave (30 at most).
  const scale = `  (0–${top})`;
  const markWidth = goal !== undefined ? ' ┊▁ target'.length : 0;
  const room = Math.max(0, Math.min(30, width - head.length - markWidth - scale.length));
  const spark = room ? sparkline(count.samples, room, goal ?? 0) : '';
  const mark = goal !== undefined && room ? ` ┊${bar(goal, top)} target` : '';
  const lines: Line[] = [
    {
      key: 'head',
      text: `${head}${spark}${mark}${scale}`,
      tone: status === 'ok' ? 'green' : timedOut ? 'red' : count.stalled ? 'yellow' : 'cyan',
    },
  ];
  // Per host: which host holds it up (every) or which holds (any), a few at most.
  if (count.per && count.hosts?.length) {
    const shown = count.hosts.slice(0, 4);
    for (const h of shown)
      lines.push({
        key: `host:${h.host}`,
        text: `  ${h.holds ? '✓' : '✗'} ${safe(h.host)} ${h.value ?? 'unreadable'}${unit}${
          !h.holds && count.per === 'every' ? ' ← holding it up' : ''
        }`,
        tone: h.holds ? 'green' : 'yellow',
      });
    if (count.hosts.length > shown.length)
      lines.push({
        key: 'hosts-more',
        text: `  … ${count.hosts.length - shown.length} more hosts (${count.hosts.filter((h) => !h.holds).length} not holding)`,
        tone: 'gray',
      });
  }
  const title = step?.title ?? count.step;
  let when: string;
  if (status === 'ok') when = `reached at ${hhmm(step?.finishedAt ?? count.lastSample)}`;
  else if (timedOut)
    when = `timed out at ${hhmm(prompt?.time ?? step?.finishedAt ?? count.deadline ?? count.lastSample)}`;
  else if (over) when = `${status} at ${hhmm(step?.finishedAt ?? count.lastSample)}`;
  else {
    when = `changed ${span(now - Date.parse(count.lastChange))} ago`;
    if (count.deadline) {
      const left = Date.parse(count.deadline) - now;
      when += left > 0 ? ` · ${span(left)} left before the timeout` : ' · at its timeout';
    }
  }
  lines.push({key: 'when', text: `  ${when} · ${title}`, tone: 'gray'});
  if (!over) {
    const down = Object.entries(state.links).filter(([, l]) => l.state !== 'up');
    for (const [host, link] of down)
      lines.push({
        key: `link:${host}`,
        text: `  ✖ link ${link.state === 'down' ? 'down' : 'reconnecting'} since ${hhmm(link.since)} (${host}): the count cannot move until it is back`,
        tone: 'red',
      });
  }
  if (count.stalled && !over)
    lines.push({
      key: 'stalled',
      text: `  ⚠ not moving: still ${value} since ${hhmm(count.lastChange)}, past this watch's patience`,
      tone: 'yellow',
    });
  if (timedOut) {
    const investigating = prompt?.text.startsWith('Investigating');
    lines.push({
      key: 'timeout',
      text: investigating
        ? `  investigating: polling stopped; the last probe output is in the output pane`
        : `  wait: poll again, new timeout · investigate: stop, show last probe output`,
      tone: 'yellow',
    });
  } else if (count.raw && count.stalled && !over)
    lines.push({key: 'raw', text: `  last read "${safe(count.raw)}"`, tone: 'gray'});
  return lines;
}

/** Lines a list of counts takes. */
export const countsHeight = (
  state: SessionState,
  counts: readonly CountView[],
  now: number,
  width: number,
): number => counts.reduce((n, c) => n + countLines(state, c, now, width).length, 0);

export function CountsPane({state, counts, now, rows, width}: CountsPaneProps) {
  const colour = useColour();
  if (rows <= 0 || !counts.length) return null;
  const lines = counts.flatMap((count) =>
    countLines(state, count, now, width).map((l) => (
      <Text
        key={`${count.step}:${l.key}`}
        bold={l.key === 'head'}
        color={colour(l.tone)}
        wrap="truncate-end"
      >
        {l.text}
      </Text>
    )),
  );
  return (
    <Box
      flexDirection="column"
      width={width}
      height={Math.min(rows, lines.length)}
      overflowY="hidden"
    >
      {lines.slice(0, rows)}
    </Box>
  );
}
