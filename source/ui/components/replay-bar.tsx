/** Where the replay is: playing or paused, speed, a position bar, time, event and phase. */
import {Text} from 'ink';
import os from 'node:os';
import React from 'react';
import {clock, safe, span} from '../derive.js';
import {shortPath} from '../short-path.js';
import {textWidth, truncateToWidth} from '../text-width.js';
import {useColour} from '../theme.js';

export interface ReplayPosition {
  /** Entries applied so far. */
  index: number;
  total: number;
  paused: boolean;
  speed: number;
  follow: boolean;
  /** ISO time of the last applied entry, and of the first and last entries. */
  time?: string;
  start?: string;
  end?: string;
  /** The phase the position is in (1-based) and how many phases were entered. */
  phase: number;
  phases: number;
}

export const speedText = (speed: number): string =>
  speed >= 1 ? `${speed}×` : speed === 0.5 ? '½×' : speed === 0.25 ? '¼×' : `${speed}×`;

export function ReplayBar({position, width}: {position: ReplayPosition; width: number}) {
  const colour = useColour();
  const p = position;
  const state = p.paused ? '❚❚' : '▶';
  const offset = p.time && p.start ? `+${span(Date.parse(p.time) - Date.parse(p.start))}` : '';
  const right = ` ${clock(p.time)} ${offset} · event ${p.index}/${p.total} · phase ${p.phase}/${p.phases}${p.follow ? ' · following' : ''}`;
  const left = `${state} ${speedText(p.speed).padEnd(4)} `;
  const barWidth = Math.max(4, width - left.length - right.length);
  const at = p.total ? Math.round((p.index / p.total) * (barWidth - 1)) : 0;
  const bar = '━'.repeat(at) + '●' + '─'.repeat(Math.max(0, barWidth - at - 1));
  return (
    <Text wrap="truncate-end">
      <Text bold color={colour(p.paused ? 'yellow' : 'green')}>
        {left}
      </Text>
      <Text color={colour('cyan')}>{bar}</Text>
      <Text>{right}</Text>
    </Text>
  );
}

/**
 * The same line in a live console: how far the journal has got and where it is (the
 * layout matches a replay's). The path is shortened (`~`, an ellipsis in the middle) to
 * the room left, so the count and the time of the last event always stay; the full path
 * is in the `?` help and in what is printed when the console closes.
 */
export function LiveBar({
  events,
  last,
  readOnly,
  width,
  journalPath,
  home = os.homedir(),
}: {
  events: number;
  last?: string;
  readOnly: boolean;
  width: number;
  journalPath?: string;
  home?: string;
}) {
  const colour = useColour();
  const mark = readOnly ? '◌ read-only' : '● live';
  const count = ` · ${events} event${events === 1 ? '' : 's'} in `;
  const time = ` · last at ${clock(last)}`;
  const room = width - textWidth(mark) - textWidth(count) - textWidth(time);
  const where = (journalPath && shortPath(safe(journalPath), room, home)) || 'the journal';
  return (
    <Text wrap="truncate-end">
      <Text bold color={colour(readOnly ? 'cyan' : 'green')}>
        {mark}
      </Text>
      <Text color={colour('gray')}>
        {truncateToWidth(`${count}${where}${time}`, width - textWidth(mark))}
      </Text>
    </Text>
  );
}
