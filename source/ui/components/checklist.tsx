/**
 * The runbook as a checklist: every phase with its progress, the steps of the active
 * phase (of all phases when they fit) with status, duration, due date and why a step
 * does not apply. Clipped to its rows around the step in focus.
 */
import {Box, Text} from 'ink';
import React from 'react';
import type {SessionState, StepView} from '../../store/fold.js';
import {checklistRows, safe, span, type ChecklistRow} from '../derive.js';
import {padToWidth, textWidth, truncateToWidth} from '../text-width.js';
import {statusMarks, useColour} from '../theme.js';
import {windowOf} from './window.js';

export interface ChecklistProps {
  state: SessionState;
  now: number;
  rows: number;
  width: number;
  /** Lines the checklist may fill by expanding more phases. */
  budget: number;
  /** The step the driver picked (highlighted), if any. */
  selected?: string;
}

/** What follows a step's title: how long, how it ended, why it does not apply. */
export function stepSuffix(step: StepView, now: number): string {
  switch (step.status) {
    case 'running':
      return step.startedAt ? span(now - Date.parse(step.startedAt)) : 'running';
    case 'waiting':
      return 'waiting for you';
    case 'not-applicable':
    case 'not-chosen':
      return step.reason ?? statusMarks[step.status].word;
    case 'standby':
      return step.standby?.when === 'rollback'
        ? 'rollback: runs only when rolling back'
        : 'runs only if the step above fails';
    case 'skipped':
      return `↷ SKIPPED, not done${step.reason ? `: ${step.reason}` : ''}`;
    case 'done':
      // Ticked, or marked done by the driver: the note or reason says which.
      return `${step.reason ? `done: ${step.reason} ` : ''}${step.durationMs !== undefined ? span(step.durationMs) : ''}`.trim();
    case 'pending':
      return '';
    default: {
      const code =
        step.exitCode !== undefined && step.exitCode !== null && step.exitCode !== 0
          ? ` exit ${step.exitCode}`
          : '';
      const took = step.durationMs !== undefined ? ` ${span(step.durationMs)}` : '';
      const word = step.status === 'ok' ? '' : statusMarks[step.status].word;
      return `${word}${code}${took}`.trim();
    }
  }
}

/** Fits `left` and a right-aligned `right` into `width` characters. */
export function fit(rawLeft: string, rawRight: string, width: number): string {
  // Titles and reasons come from the journal: through the one escaper first.
  const left = safe(rawLeft);
  const right = safe(rawRight);
  // By terminal columns, not characters: a CJK title or an emoji takes two.
  const room = width - (right ? textWidth(right) + 1 : 0);
  if (room < 8) return truncateToWidth(`${left} ${right}`, width);
  const l = padToWidth(truncateToWidth(left, room), room);
  return right ? `${l} ${right}` : l;
}

/** Lines the checklist needs with only the active phase (and the picked step's) expanded. */
export const checklistNeed = (state: SessionState, now: number, selected?: string): number =>
  checklistRows(state, now, {budget: 0, ...(selected ? {selected} : {})}).length;

export function Checklist({state, now, rows, width, budget, selected}: ChecklistProps) {
  const colour = useColour();
  const items = checklistRows(state, now, {budget, ...(selected ? {selected} : {})});
  const focusKey = selected ?? state.current;
  const focus = items.findIndex((r) => r.key === focusKey);
  const slice = windowOf(items.length, rows, focus >= 0 ? {focus} : {anchor: 'top'});
  return (
    <Box flexDirection="column" width={width} height={rows} overflowY="hidden">
      {slice.above > 0 && (
        <Text color={colour('gray')} wrap="truncate-end">
          {`  ↑ ${slice.above} more`}
        </Text>
      )}
      {items.slice(slice.start, slice.end).map((row) => (
        <Row
          key={row.key}
          row={row}
          now={now}
          width={width}
          picked={row.key === selected}
          current={row.key === state.current}
        />
      ))}
      {slice.below > 0 && (
        <Text color={colour('gray')} wrap="truncate-end">
          {`  ↓ ${slice.below} more`}
        </Text>
      )}
    </Box>
  );
}

// A row is the same object while its step is unchanged (derive.checklistRows keeps
// them): during a flood only the output changes, and the rows are not drawn again.
const Row = React.memo(function Row({
  row,
  now,
  width,
  picked,
  current,
}: {
  row: ChecklistRow;
  now: number;
  width: number;
  picked: boolean;
  current: boolean;
}) {
  const colour = useColour();
  if (row.kind === 'phase') {
    const right = row.applies
      ? `${row.due ? `due ${row.due}${row.overdue ? ' OVERDUE' : ''} ` : ''}${row.skipped ? `↷${row.skipped} skipped ` : ''}${row.done}/${row.total}`
      : (row.reason ?? 'does not apply');
    return (
      <Text
        bold={row.active}
        color={colour(!row.applies ? 'gray' : row.overdue ? 'red' : undefined)}
        wrap="truncate-end"
      >
        {fit(
          `${!row.applies ? '–' : row.active ? '▸' : row.expanded ? '▾' : '▹'} ${row.title}`,
          right,
          width,
        )}
      </Text>
    );
  }
  const {step} = row;
  const {mark, colour: tone} = statusMarks[step.status];
  const due = step.due ? ` [due ${step.due}${row.overdue ? ' OVERDUE' : ''}]` : '';
  // A choice's branch step says which option runs it: until the choice is made it is
  // only a possibility, drawn dim, never like a step that will run.
  const option = step.branch ? `if ${step.branch.option}: ` : '';
  const undecided = !!step.branch && step.status === 'pending';
  const left = `${'  '.repeat(row.depth + 1)}${mark} ${option}${step.title}${step.danger ? ' ⚠' : ''}${due}`;
  return (
    <Text
      color={colour(undecided ? 'gray' : row.overdue && !tone ? 'red' : tone)}
      dimColor={undecided}
      bold={current}
      inverse={picked}
      wrap="truncate-end"
    >
      {fit(left, stepSuffix(step, now), width)}
    </Text>
  );
});
