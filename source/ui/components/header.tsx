/** Two lines: where this is (site, profile, release, mode, elapsed, driver) and the links to hosts. */
import {Box, Text} from 'ink';
import React from 'react';
import type {SessionState} from '../../store/fold.js';
import {hostLinks, rollbackMark, safe, spanMinutes} from '../derive.js';
import type {Mode} from '../keys.js';
import {padToWidth, textWidth, truncateToWidth} from '../text-width.js';
import {useColour} from '../theme.js';

export interface HeaderProps {
  state: SessionState;
  mode: Mode;
  now: number;
  width: number;
  /** Replay: following a journal still being written. */
  following?: boolean;
}

/**
 * The first line, fitted: the mode and the driver always stay whole; the site title,
 * profile and release give way first (cut with `…`), so the driver is never cut unsaid.
 */
export function firstLine(
  head: string,
  middle: readonly string[],
  driver: string,
  width: number,
): string {
  const tail = driver ? ` │ ${driver}` : '';
  const room = width - 2 - textWidth(head) - textWidth(tail);
  const mid = middle.length ? ` │ ${middle.join(' │ ')}` : '';
  const fitted = textWidth(mid) <= room ? mid : room > 1 ? truncateToWidth(mid, room) : '';
  return truncateToWidth(` ${head}${fitted}${tail} `, width);
}

/** The hosts that fit in `room` columns, and how many are left out ("+N"). */
export function fitHosts(hosts: readonly string[], room: number): {shown: number; hidden: number} {
  let used = 0;
  let shown = 0;
  for (const [i, h] of hosts.entries()) {
    const w = textWidth(h) + 3;
    const rest = hosts.length - i - 1;
    const more = rest ? textWidth(`+${rest} `) : 0;
    if (used + w + more > room) break;
    used += w;
    shown++;
  }
  return {shown, hidden: hosts.length - shown};
}

const linkMarks = {up: '●', lost: '✖', error: '!', idle: '○'} as const;

export function Header({state, mode, now, width, following}: HeaderProps) {
  const colour = useColour();
  const s = state.session;
  const end = state.closed ? Date.parse(state.closed.time) : now;
  // One clock on screen: a replay's is on its bar.
  const elapsed = s && mode !== 'replay' ? spanMinutes(end - Date.parse(s.started)) : '';
  const modeWord =
    mode === 'live'
      ? 'LIVE'
      : mode === 'read-only'
        ? 'READ-ONLY'
        : following
          ? 'FOLLOWING'
          : 'REPLAY';
  const rollback = rollbackMark(state);
  const first = firstLine(
    `${modeWord}${s?.dryRun ? ' · DRY RUN' : ''}${rollback ? ` · ${rollback}` : ''}${elapsed ? ` ${elapsed}` : ''}`,
    [
      s?.siteTitle ?? 'waiting for the journal…',
      s?.profile,
      s?.release ? `release ${s.release}` : undefined,
      ...Object.entries(s?.runTimeVariables ?? {}).map(([k, v]) => safe(`${k}=${v}`)),
    ].filter((x): x is string => !!x),
    s?.driver ?? '',
    width,
  );
  const links = hostLinks(state);
  // The session id is never cut: the hosts give way, and say how many they hide; at 80
  // columns the local-transport note is said short so the id still fits.
  const session = ` · session ${s?.id ?? '–'}`;
  const longNote = ' (all run here: local transport)';
  const transport =
    s?.transport !== 'local'
      ? ''
      : width - textWidth(`hosts${longNote} +99 `) - textWidth(session) >= 0
        ? longNote
        : ' (local)';
  const fit = fitHosts(
    links.map((l) => safe(l.host)),
    width - textWidth(`hosts${transport} `) - textWidth(session),
  );
  const more = fit.hidden ? `+${fit.hidden} ` : '';
  return (
    <Box flexDirection="column" width={width} height={2}>
      <Text inverse bold wrap="truncate-end" color={colour(mode === 'live' ? undefined : 'cyan')}>
        {padToWidth(first, width)}
      </Text>
      <Text wrap="truncate-end">
        <Text color={colour('gray')}>hosts{transport} </Text>
        {links.length === 0 ? (
          <Text color={colour('gray')}>none</Text>
        ) : (
          links.slice(0, fit.shown).map((l) => (
            <Text
              key={l.host}
              color={colour(
                l.state === 'up'
                  ? 'green'
                  : l.state === 'idle'
                    ? 'gray'
                    : l.state === 'lost'
                      ? 'red'
                      : 'yellow',
              )}
            >
              {`${safe(l.host)} ${linkMarks[l.state]} `}
            </Text>
          ))
        )}
        {more ? <Text color={colour('yellow')}>{more}</Text> : null}
        <Text color={colour('gray')}>{session}</Text>
      </Text>
    </Box>
  );
}
