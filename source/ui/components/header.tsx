/** Two lines: where this is (site, profile, release, mode, elapsed, driver) and the links to hosts. */
import {Box, Text} from 'ink';
import React from 'react';
import type {SessionState} from '../../store/fold.js';
import {hostLinks, safe, spanMinutes} from '../derive.js';
import type {Mode} from '../keys.js';
import {useColour} from '../theme.js';

export interface HeaderProps {
  state: SessionState;
  mode: Mode;
  now: number;
  width: number;
  /** Replay: following a journal still being written. */
  following?: boolean;
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
  // Most telling first: at 80 columns the end is cut.
  const first = [
    `${modeWord}${s?.dryRun ? ' · DRY RUN' : ''}${elapsed ? ` ${elapsed}` : ''}`,
    s?.siteTitle ?? 'waiting for the journal…',
    s?.profile,
    s?.release ? `release ${s.release}` : undefined,
    s?.driver,
  ]
    .filter(Boolean)
    .join(' │ ');
  const links = hostLinks(state);
  const transport = s?.transport === 'local' ? ' (all run here: local transport)' : '';
  return (
    <Box flexDirection="column" width={width} height={2}>
      <Text inverse bold wrap="truncate-end" color={colour(mode === 'live' ? undefined : 'cyan')}>
        {` ${first} `.padEnd(width)}
      </Text>
      <Text wrap="truncate-end">
        <Text color={colour('gray')}>hosts{transport} </Text>
        {links.length === 0 ? (
          <Text color={colour('gray')}>none</Text>
        ) : (
          links.map((l) => (
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
        <Text color={colour('gray')}>{` · session ${s?.id ?? '–'}`}</Text>
      </Text>
    </Box>
  );
}
