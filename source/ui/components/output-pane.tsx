/**
 * The output of the running (or picked) step: one tab per host for fan-out steps, each
 * with its exit code; the newest lines, or older ones when scrolled. Remote output is
 * made inert before it gets here (derive.outputLines).
 */
import {Box, Text} from 'ink';
import React from 'react';
import type {LogLine, StepView} from '../../store/fold.js';
import {clock, safe, type HostTab} from '../derive.js';
import {useColour, type Colour} from '../theme.js';
import {windowOf} from './window.js';

export interface OutputPaneProps {
  step?: StepView;
  tabs: readonly HostTab[];
  tab: number;
  /** The current tab's output as display lines (derive.outputLines). */
  lines: readonly string[];
  /** Lines scrolled back from the newest. */
  scroll: number;
  rows: number;
  width: number;
  /** The step's latest notice (a check's retries, a stalled count). */
  notice?: LogLine;
  /** What a watch's probe printed last (watches journal counts, not output). */
  probe?: string;
}

const tabMark: Record<HostTab['state'], {mark: string; colour?: Colour}> = {
  running: {mark: '▶', colour: 'cyan'},
  ok: {mark: '✓', colour: 'green'},
  failed: {mark: '✖', colour: 'red'},
  unknown: {mark: '?', colour: 'magenta'},
  waiting: {mark: '·'},
};

const exitText = (t: HostTab): string =>
  t.exitCode !== undefined && t.exitCode !== null ? String(t.exitCode) : '';

/** Whether the pane has a row of host tabs. */
export const hasTabRow = (tabs: readonly HostTab[]): boolean =>
  tabs.length > 1 || (tabs.length === 1 && tabs[0]!.host !== 'local');

export function OutputPane(props: OutputPaneProps) {
  const {step, tabs, tab, lines, scroll, rows, width, notice, probe} = props;
  const colour = useColour();
  const current = tabs[tab];
  if (rows <= 0) return null;
  const title = step ? `─ ${step.title} ` : '─ output ';
  const extra: React.ReactNode[] = [];
  // The step's guidance, whatever its kind (a manual step waiting for the driver has its
  // help in the prompt already), and a manual step's links. A step with no commands shows
  // them in place of its (absent) output; any other only while two output lines remain.
  const guidance: React.ReactNode[] = [];
  if (step?.help && !(step.kind === 'manual' && step.status === 'waiting'))
    guidance.push(
      <Text key="help" color={colour('cyan')} wrap="truncate-end">
        {`ℹ ${safe(step.help)}`}
      </Text>,
    );
  if (step?.links?.length)
    guidance.push(
      <Text key="links" color={colour('cyan')} wrap="truncate-end">
        {`links: ${step.links.map(safe).join(' · ')}`}
      </Text>,
    );
  const noCommands = !!step && !lines.length && probe === undefined && !step.runs && !tabs.length;
  const spare = rows - 1 - (hasTabRow(tabs) ? 1 : 0) - 2;
  if (!noCommands) extra.push(...guidance.slice(0, Math.max(0, spare)));
  if (current?.error)
    extra.push(
      <Text key="error" color={colour('red')} wrap="truncate-end">
        {`${current.host}: ${safe(current.error)}`}
      </Text>,
    );
  if (notice)
    extra.push(
      <Text
        key="notice"
        color={colour(
          notice.level === 'info' ? 'gray' : notice.level === 'warn' ? 'yellow' : 'red',
        )}
        wrap="truncate-end"
      >
        {`${notice.level === 'info' ? 'ℹ' : '⚠'} ${clock(notice.time)} ${safe(notice.text)}`}
      </Text>,
    );
  const tabRow = hasTabRow(tabs);
  const room = Math.max(0, rows - 1 - (tabRow ? 1 : 0) - extra.length);
  const body: React.ReactNode[] = [];
  if (!step) {
    body.push(
      <Text key="none" color={colour('gray')}>
        nothing has run yet
      </Text>,
    );
  } else if (!lines.length && probe !== undefined) {
    body.push(
      <Text key="probe" wrap="truncate-end">
        {`last probe output: ${safe(probe)}`}
      </Text>,
    );
  } else if (noCommands && guidance.length) {
    body.push(...guidance);
  } else if (!lines.length) {
    body.push(
      <Text key="none" color={colour('gray')} wrap="truncate-end">
        {step.runs
          ? step.status === 'running'
            ? 'no output yet'
            : 'no output'
          : tabs.length
            ? `not started: will run on ${tabs.map((t) => t.host).join(', ')}`
            : 'no commands in this step'}
      </Text>,
    );
  } else {
    const slice = windowOf(lines.length, room, {anchor: 'bottom', offset: scroll});
    if (slice.above > 0)
      body.push(
        <Text key="above" color={colour('gray')} wrap="truncate-end">
          {`… ${slice.above} earlier line${slice.above === 1 ? '' : 's'} (PgUp)`}
        </Text>,
      );
    for (let i = slice.start; i < slice.end; i++)
      body.push(
        <Text key={i} wrap="truncate-end">
          {lines[i]}
        </Text>,
      );
    if (slice.below > 0)
      body.push(
        <Text key="below" color={colour('gray')} wrap="truncate-end">
          {`… ${slice.below} later line${slice.below === 1 ? '' : 's'} (PgDn, Esc follows)`}
        </Text>,
      );
  }
  return (
    <Box flexDirection="column" width={width} height={rows} overflowY="hidden">
      <Text color={colour('gray')} wrap="truncate-end">
        {`${title}${'─'.repeat(Math.max(0, width - title.length))}`}
      </Text>
      {tabRow && (
        <Text wrap="truncate-end">
          {tabs.map((t, i) => {
            const {mark, colour: tone} = tabMark[t.state];
            const label = ` ${safe(t.host)} ${mark}${exitText(t)} `;
            return (
              <Text key={t.host} inverse={i === tab} color={colour(tone)}>
                {label}
              </Text>
            );
          })}
        </Text>
      )}
      {extra}
      {body.slice(0, room)}
    </Box>
  );
}
