/**
 * The first console: header, phase checklist with states, the running step's output
 * tail, its live count, and the prompt. Reads only the store; decisions go out through
 * `onDecision`.
 */
import {Box, Text, useApp, useInput, useStdout} from 'ink';
import React, {useEffect, useRef, useState} from 'react';
import {useStore} from 'zustand';
import type {DriverEvent} from '../engine/machine.js';
import {formatDuration} from '../runbook/duration.js';
import type {SessionState, StepStatus, StepView} from '../store/fold.js';
import type {SessionStoreApi} from '../store/store.js';
import {parseAnswer} from './answers.js';
import {sanitize} from './sanitize.js';

export interface AppProps {
  store: SessionStoreApi;
  mode: 'live' | 'replay' | 'read-only';
  /** Sends a decision; false when the engine would not take it. */
  onDecision?: (event: DriverEvent) => boolean;
  onQuit?: () => void;
}

const marks: Record<StepStatus, {mark: string; color?: string}> = {
  pending: {mark: '·'},
  running: {mark: '▶', color: 'cyan'},
  waiting: {mark: '?', color: 'yellow'},
  ok: {mark: '✓', color: 'green'},
  done: {mark: '✓', color: 'green'},
  failed: {mark: '✖', color: 'red'},
  'timed-out': {mark: '⌛', color: 'red'},
  canceled: {mark: '✖', color: 'red'},
  skipped: {mark: '↷', color: 'gray'},
  unknown: {mark: '?', color: 'magenta'},
  'not-applicable': {mark: '–', color: 'gray'},
  'not-chosen': {mark: '–', color: 'gray'},
};

/** Keys typed this soon after a prompt appears are dropped (typed for something else). */
const PROMPT_GUARD_MS = 300;

function Checklist({state, rows}: {state: SessionState; rows: number}) {
  const current = state.steps.find((s) => s.key === state.current);
  const lines: React.ReactNode[] = [];
  for (const phase of state.phases) {
    const steps = state.steps.filter((s) => s.phase === phase.id && !s.branch);
    const done = steps.filter((s) =>
      ['ok', 'done', 'skipped', 'not-applicable'].includes(s.status),
    ).length;
    const active = current?.phase === phase.id;
    lines.push(
      <Text key={phase.id} bold={active} color={phase.applies ? undefined : 'gray'}>
        {active ? '▸ ' : '  '}
        {phase.title} {phase.applies ? `(${done}/${steps.length})` : `— ${phase.reason}`}
      </Text>,
    );
    if (active) {
      for (const s of state.steps.filter((x) => x.phase === phase.id))
        lines.push(<StepLine key={s.key} step={s} current={s.key === state.current} />);
    }
  }
  const hidden = Math.max(0, lines.length - rows);
  const start = Math.min(
    hidden,
    Math.max(
      0,
      lines.findIndex((l) => (l as React.ReactElement).key === state.current) -
        Math.floor(rows / 2),
    ),
  );
  return (
    <Box flexDirection="column">
      {lines.slice(start, start + rows)}
      {hidden > 0 && <Text color="gray"> … {hidden} more lines</Text>}
    </Box>
  );
}

function StepLine({step, current}: {step: StepView; current: boolean}) {
  const {mark, color} = marks[step.status];
  const extra =
    step.status === 'not-applicable' || step.status === 'not-chosen'
      ? ` (${step.reason ?? step.status})`
      : step.durationMs !== undefined && step.status !== 'waiting'
        ? ` ${formatDuration(step.durationMs)}`
        : '';
  return (
    <Text color={color} bold={current} wrap="truncate-end">
      {'    '}
      {step.branch ? '  ' : ''}
      {mark} {step.title}
      {step.danger ? ' ⚠' : ''}
      {step.due ? ` [due ${step.due}]` : ''}
      {extra}
    </Text>
  );
}

function Output({state, rows, width}: {state: SessionState; rows: number; width: number}) {
  const key = state.current;
  const byHost = key ? state.output[key] : undefined;
  if (!byHost || rows <= 0) return null;
  const hosts = Object.keys(byHost);
  const lines = hosts.flatMap((host) =>
    sanitize(byHost[host]!.text)
      .replace(/\n$/, '')
      .split('\n')
      .slice(-rows)
      .map((l) => (hosts.length > 1 || host !== 'local' ? `${host}│ ${l}` : l)),
  );
  const shown = lines.slice(-rows);
  return (
    <Box flexDirection="column" borderStyle="single" borderColor="gray" paddingX={1}>
      {lines.length > shown.length && (
        <Text color="gray">… {lines.length - shown.length} earlier lines</Text>
      )}
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {l.slice(0, width - 4)}
        </Text>
      ))}
    </Box>
  );
}

function Count({state}: {state: SessionState}) {
  const count = state.current ? state.counts[state.current] : undefined;
  if (!count) return null;
  const bars = '▁▂▃▄▅▆▇█';
  const values = count.samples.filter((v): v is number => v !== null);
  const max = Math.max(1, ...values);
  const spark = count.samples
    .map((v) => (v === null ? ' ' : bars[Math.min(7, Math.floor((v / max) * 7))]))
    .join('');
  return (
    <Text color={count.stalled ? 'yellow' : 'cyan'}>
      count {count.value ?? '?'} (until {count.target}) {spark}
      {count.stalled ? '  ⚠ not moving' : ''}
    </Text>
  );
}

function Prompt({state, input, error}: {state: SessionState; input: string; error?: string}) {
  const prompt = state.prompt;
  if (!prompt) return null;
  const hint: Record<string, string> = {
    gate: `type "${prompt.expects}" and enter`,
    confirm: `type "${prompt.expects}" and enter to run it`,
    manual: 'enter when done (a note is optional)',
    choice: (prompt.options ?? []).map((o, i) => `${i + 1}) ${o}`).join('  '),
    failed: 'retry · done <reason> · skip <reason> · abort',
    unknown: 'rerun · done <reason> · skip <reason> · abort',
    'watch-timeout': 'wait · investigate · skip <reason> · abort',
  };
  return (
    <Box
      flexDirection="column"
      borderStyle="round"
      borderColor={prompt.prompt === 'confirm' ? 'red' : 'yellow'}
      paddingX={1}
    >
      {prompt.text.split('\n').map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {l}
        </Text>
      ))}
      <Text color="gray">{hint[prompt.prompt]}</Text>
      <Text>
        {'> '}
        {input}
        <Text inverse> </Text>
      </Text>
      {error && <Text color="red">{error}</Text>}
    </Box>
  );
}

export function App({store, mode, onDecision, onQuit}: AppProps) {
  const state = useStore(store);
  const {exit} = useApp();
  const {stdout} = useStdout();
  const [size, setSize] = useState({rows: stdout.rows || 24, columns: stdout.columns || 80});
  const [input, setInput] = useState('');
  const [error, setError] = useState<string>();
  const promptAt = useRef(0);
  const promptSeq = state.prompt?.seq;

  useEffect(() => {
    const onResize = () => setSize({rows: stdout.rows || 24, columns: stdout.columns || 80});
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);

  useEffect(() => {
    setInput('');
    setError(undefined);
    promptAt.current = Date.now();
  }, [promptSeq]);

  useInput((text, key) => {
    if (key.ctrl && text === 'c') {
      onQuit?.();
      exit();
      return;
    }
    const prompt = store.getState().prompt;
    if (!prompt || mode !== 'live') {
      if (text === 'q') {
        onQuit?.();
        exit();
      }
      return;
    }
    if (Date.now() - promptAt.current < PROMPT_GUARD_MS) return;
    if (key.return) {
      const parsed = parseAnswer(prompt, input);
      if ('error' in parsed) setError(parsed.error);
      else if (!onDecision?.(parsed.event)) setError('not possible now');
      else setInput('');
      return;
    }
    if (key.backspace || key.delete) setInput((s) => s.slice(0, -1));
    else if (key.escape) setInput('');
    else if (text && !key.ctrl && !key.meta) setInput((s) => s + text);
  });

  const s = state.session;
  const elapsed =
    s && state.lastTime ? formatDuration(Date.parse(state.lastTime) - Date.parse(s.started)) : '';
  const promptRows = state.prompt ? state.prompt.text.split('\n').length + 5 : 0;
  const countRows = state.current && state.counts[state.current] ? 1 : 0;
  const free = Math.max(4, size.rows - 3 - promptRows - countRows);
  const checklistRows = Math.max(3, Math.floor(free * 0.55));
  const outputRows = Math.max(0, free - checklistRows - 3);
  return (
    <Box flexDirection="column" width={size.columns}>
      <Text inverse wrap="truncate-end">
        {` crewchief · ${s?.siteTitle ?? '…'} · ${s?.profile ?? ''} · ${s?.id ?? ''} · ${s?.driver ?? ''} · ${mode}${s?.dryRun ? ' · DRY RUN' : ''} · ${elapsed} `}
      </Text>
      <Checklist state={state} rows={checklistRows} />
      <Output state={state} rows={outputRows} width={size.columns} />
      <Count state={state} />
      <Prompt state={state} input={input} {...(error ? {error} : {})} />
      {state.closed && (
        <Text bold color={state.closed.outcome === 'finished' ? 'green' : 'red'}>
          session {state.closed.outcome}
          {state.closed.reason ? `: ${state.closed.reason}` : ''}
        </Text>
      )}
      <Text color="gray" wrap="truncate-end">
        {mode === 'live' ? 'Ctrl-C leave (resume later)' : 'q quit'}
      </Text>
    </Box>
  );
}
