/**
 * The driver's console: header, checklist, output, counts, prompt and footer, laid out
 * for the terminal and never taller than it. Reads only the store (batched); decisions
 * go out through `onDecision`. The same component shows a live session, a read-only
 * view of one and a replay.
 */
import {Box, Text, useApp, useInput, useStdin, type Key} from 'ink';
import React, {useCallback, useMemo, useRef, useState, useSyncExternalStore} from 'react';
import type {DriverEvent} from '../engine/machine.js';
import type {SessionState} from '../store/fold.js';
import type {SessionStoreApi} from '../store/store.js';
import {answerTyped, type AnswerTarget, type HandOverRequest} from '../decisions/answer.js';
import type {AnsweredVia} from '../journal/events.js';
import {checklistNeed, Checklist} from './components/checklist.js';
import {CommandLog, logRows} from './components/command-log.js';
import {CountsPane, countsHeight} from './components/counts-pane.js';
import {Footer} from './components/footer.js';
import {Header} from './components/header.js';
import {Help, helpLines} from './components/help.js';
import {hasTabRow, OutputPane} from './components/output-pane.js';
import {promptHeight, promptModel, PromptPane, type LocalPrompt} from './components/prompt-pane.js';
import {LiveBar, ReplayBar, type ReplayPosition} from './components/replay-bar.js';
import {
  clock,
  defaultTab,
  filledState,
  hostTabs,
  outputLines,
  pickableSteps,
  span,
  viewedStep,
  visibleCounts,
} from './derive.js';
import {useAnswerInput, useAnswerState, PROMPT_GUARD_MS} from './hooks/use-answer.js';
import {useNow} from './hooks/use-now.js';
import {DEFAULT_CADENCE_MS, useSession} from './hooks/use-session.js';
import {useTerminalSize, type Size} from './hooks/use-terminal-size.js';
import {resolve, type BindingId, type KeyContext, type Mode} from './keys.js';
import {layout, MIN_COLUMNS, MIN_ROWS} from './layout.js';
import {ThemeContext, themeFromEnv, useColour, useTheme, type Theme} from './theme.js';

/** What the replay transport offers the console. */
export interface ReplayControls {
  subscribe(listener: () => void): () => void;
  position(): ReplayPosition;
  togglePause(): void;
  faster(): void;
  slower(): void;
  step(delta: number): void;
  phase(delta: number): void;
  phaseNumber(n: number): void;
  /** Jumps to a time; returns what was wrong with the text, or nothing. */
  goTo(text: string): string | undefined;
  start(): void;
  end(): void;
}

export interface AppProps {
  store: SessionStoreApi;
  mode: Mode;
  /** Sends a decision (typed by the driver here); false when the engine would not take it. */
  onDecision?: (event: DriverEvent, via: AnsweredVia) => boolean;
  /** Team mode: "hand over [to WHO][: note]" typed at a prompt hands the session over. */
  onHandOver?: (request: HandOverRequest) => Promise<{ok: boolean; message: string}>;
  /** The driver left (Ctrl-C, q). */
  onQuit?: () => void;
  replay?: ReplayControls;
  /** Where the journal is, for the driver to see (live, resume, watch of a file). */
  journalPath?: string;
  /** The session ended here without closing (left, or a prompt nobody here may answer). */
  ended?: string;
  /** Tests: a fixed terminal size, the batching cadence, the prompt guard, the theme. */
  size?: Size;
  cadenceMs?: number;
  guardMs?: number;
  /** Keys closer than this are a paste, whose Enter sends nothing (0 in tests that type instantly). */
  pasteGapMs?: number;
  theme?: Theme;
  /** Wipe the screen on resize (the real terminal; never in tests). */
  clearOnResize?: boolean;
}

const NO_REPLAY = {subscribe: () => () => {}, position: () => undefined};

export function App(props: AppProps) {
  const theme = props.theme ?? themeFromEnv();
  return (
    <ThemeContext.Provider value={theme}>
      <Console {...props} />
    </ThemeContext.Provider>
  );
}

function Console(props: AppProps) {
  const {store, mode, replay} = props;
  const raw = useSession(store, props.cadenceMs ?? DEFAULT_CADENCE_MS);
  // Every `${name}` a driver reads is filled from the session's values (profile, captured).
  const state = useMemo(() => filledState(raw), [raw]);
  const size = useTerminalSize({
    ...(props.size ? {fixed: props.size} : {}),
    ...(props.clearOnResize ? {clearOnResize: true} : {}),
  });
  const {exit} = useApp();
  const {isRawModeSupported} = useStdin();
  const colour = useColour();
  const theme = useTheme();
  const source = replay ?? NO_REPLAY;
  const position = useSyncExternalStore(source.subscribe, source.position);

  const [view, setView] = useState<'main' | 'log' | 'help'>('main');
  const [selected, setSelected] = useState<string>();
  const [tabChoice, setTabChoice] = useState<{step: string; index: number}>();
  const [scroll, setScroll] = useState(0);
  const [logScroll, setLogScroll] = useState(0);
  const [helpScroll, setHelpScroll] = useState(0);
  const [localPrompt, setLocal] = useState<LocalPrompt>();

  const runningStep = state.steps.find((s) => s.status === 'running');
  const fixedNow =
    mode === 'replay'
      ? Date.parse(state.lastTime ?? state.session?.started ?? '1970-01-01T00:00:00Z')
      : state.closed
        ? Date.parse(state.closed.time)
        : undefined;
  const now = useNow(runningStep ? 1000 : 60_000, fixedNow);

  const local = localPrompt && holds(localPrompt, state, mode) ? localPrompt : undefined;

  const model = promptModel(state, state.prompt, local, mode, size.columns);
  const focus: KeyContext['focus'] =
    view !== 'main' || !model
      ? 'none'
      : model.input === 'text' && (mode === 'live' || local)
        ? 'text'
        : 'none';
  const answerId = local
    ? `local:${local.kind}`
    : state.prompt
      ? `prompt:${state.prompt.seq}`
      : undefined;
  // The guard is for prompts the engine puts up; the console's own come from the driver's key.
  const answer = useAnswerState(
    focus === 'none' ? undefined : answerId,
    local ? 0 : (props.guardMs ?? PROMPT_GUARD_MS),
  );

  const viewed = viewedStep(state, selected);
  const tabs = hostTabs(state, viewed);
  const tab =
    tabChoice && viewed && tabChoice.step === viewed.key
      ? Math.min(tabChoice.index, Math.max(0, tabs.length - 1))
      : defaultTab(tabs);
  const tabOutput = tabs[tab]?.output;
  const lines = useMemo(() => outputLines(tabOutput, theme.colour), [tabOutput, theme.colour]);
  const counts = visibleCounts(state, viewed);
  const notice = viewed ? [...state.log].reverse().find((l) => l.step === viewed.key) : undefined;
  const checklistMax = state.phases.length + state.steps.length;
  const outputNeed =
    1 +
    (hasTabRow(tabs) ? 1 : 0) +
    (notice ? 1 : 0) +
    (tabs[tab]?.error ? 1 : 0) +
    Math.max(1, lines.length);
  const message = !!(answer.error || answer.ignored);
  const banner = bannerText(state, props.ended, position);
  const L = layout({
    rows: size.rows,
    columns: size.columns,
    prompt: promptHeight(model, message),
    counts: view === 'main' ? countsHeight(state, counts, now, size.columns) : 0,
    checklist: checklistNeed(state, now, selected),
    checklistMax,
    output: outputNeed,
    replayBar: true,
    banner: !!banner,
  });

  const ctx: KeyContext = {
    mode,
    view,
    focus,
    answerEmpty: answer.text === '',
    hostTabs: tabs.length,
    running: !!runningStep,
    away: selected !== undefined || scroll > 0 || tabChoice !== undefined,
    closed: !!state.closed || !!props.ended,
    ...(position
      ? {replay: {paused: position.paused, follow: position.follow, phases: position.phases}}
      : {}),
  };
  const back = ctx.away || !!local;
  const keyCtx: KeyContext = {...ctx, away: back};

  const decide = (event: DriverEvent): boolean =>
    mode === 'live' && !!props.onDecision?.(event, 'typed');
  const target: AnswerTarget = {
    currentPrompt: () => store.getState().prompt?.seq,
    decide: (event, via) => mode === 'live' && !!props.onDecision?.(event, via),
    ...(props.onHandOver ? {handOver: props.onHandOver} : {}),
  };
  const page = Math.max(1, L.output.rows - 3);
  const handlers: Partial<Record<BindingId, (input: string) => void>> = {
    help: () => {
      setHelpScroll(0);
      setView((v) => (v === 'help' ? 'main' : 'help'));
    },
    log: () => {
      setLogScroll(0);
      setView((v) => (v === 'log' ? 'main' : 'log'));
    },
    'next-host': () =>
      viewed && setTabChoice({step: viewed.key, index: (tab + 1) % Math.max(1, tabs.length)}),
    'previous-host': () =>
      viewed &&
      setTabChoice({step: viewed.key, index: (tab - 1 + tabs.length) % Math.max(1, tabs.length)}),
    'pick-up': () => pick(-1),
    'pick-down': () => pick(1),
    'scroll-up': () => scrollBy(view === 'main' ? page : Math.max(1, L.body - 2)),
    'scroll-down': () => scrollBy(view === 'main' ? -page : -Math.max(1, L.body - 2)),
    'line-up': () => scrollBy(1),
    'line-down': () => scrollBy(-1),
    back: () => {
      if (view !== 'main') setView('main');
      else if (local) setLocal(undefined);
      else {
        setSelected(undefined);
        setScroll(0);
        setTabChoice(undefined);
      }
    },
    'cancel-command': () => runningStep && setLocal({kind: 'cancel', step: runningStep.key}),
    leave: quit,
    quit,
    pause: () => replay?.togglePause(),
    faster: () => replay?.faster(),
    slower: () => replay?.slower(),
    'next-event': () => replay?.step(1),
    'previous-event': () => replay?.step(-1),
    'next-phase': () => replay?.phase(1),
    'previous-phase': () => replay?.phase(-1),
    'phase-number': (input) => replay?.phaseNumber(Number(input)),
    'go-to-time': () => {
      // Seeking pauses: the screen holds still while the driver types the time.
      if (position && !position.paused) replay?.togglePause();
      setLocal({kind: 'goto'});
    },
    start: () => replay?.start(),
    end: () => replay?.end(),
  };

  function quit(): void {
    props.onQuit?.();
    exit();
  }

  function pick(delta: number): void {
    const list = pickableSteps(state);
    if (!list.length) return;
    const from = list.findIndex((s) => s.key === (selected ?? viewed?.key));
    const next = Math.max(0, Math.min(list.length - 1, from < 0 ? 0 : from + delta));
    setSelected(list[next]!.key);
    setScroll(0);
  }

  function scrollBy(delta: number): void {
    if (view === 'help') {
      const max = Math.max(0, helpLines(ctx, L.width).length - (L.body - 1));
      setHelpScroll((s) => Math.max(0, Math.min(max, s + -delta)));
    } else if (view === 'log') {
      const max = Math.max(0, logRows(state).length - (L.body - 1));
      setLogScroll((s) => Math.max(0, Math.min(max, s + delta)));
    } else {
      const max = Math.max(0, lines.length - 1);
      setScroll((s) => Math.max(0, Math.min(max, s + delta)));
    }
  }

  // The key handler changes every render; Ink subscribes once to a stable one.
  const onKey = useLatest((input: string, key: Key) => {
    // A chunk of several printable keys (typed fast, or sent by tmux) acts key by key.
    const chunk = keyCtx.focus === 'none' && input.length > 1 && !input.includes('\u001b');
    for (const ch of chunk ? [...input] : [input]) {
      const binding = resolve(keyCtx, ch, key);
      if (binding) handlers[binding.id]?.(ch);
    }
  });
  useInput(onKey, {isActive: isRawModeSupported});

  useAnswerInput(answer, {
    isActive: isRawModeSupported && focus !== 'none',
    taken: (input, key) => !!resolve(keyCtx, input, key),
    onSubmit: (text) => submit(text),
    ...(props.pasteGapMs !== undefined ? {pasteGapMs: props.pasteGapMs} : {}),
  });

  function submit(text: string): string | undefined {
    if (local) {
      switch (local.kind) {
        case 'cancel':
          if (text.trim() !== 'cancel') return 'type "cancel" to stop it (Esc keeps it running)';
          if (!decide({type: 'CANCEL'})) return 'not possible now';
          setLocal(undefined);
          return undefined;
        case 'goto': {
          const error = replay?.goTo(text);
          if (error) return error;
          setLocal(undefined);
          return undefined;
        }
      }
    }
    const prompt = state.prompt;
    if (!prompt || mode !== 'live') return undefined;
    const answered = answerTyped(target, prompt, text);
    if (answered.taken === 'pending') {
      void answered.result.then((error) => error && answer.fail(error));
      return undefined;
    }
    return answered.taken ? undefined : answered.error;
  }

  if (L.tooSmall) {
    return (
      <Box width={size.columns} height={L.height} overflow="hidden">
        <Text wrap="truncate-end">
          {`terminal too small (${size.columns}×${size.rows}): crewchief needs ${MIN_COLUMNS}×${MIN_ROWS}`}
        </Text>
      </Box>
    );
  }

  const checklist = (
    <Checklist
      state={state}
      now={now}
      rows={L.checklist.rows}
      width={L.checklist.width}
      budget={L.checklist.rows}
      {...(selected ? {selected} : {})}
    />
  );
  const output = (
    <OutputPane
      {...(viewed ? {step: viewed} : {})}
      tabs={tabs}
      tab={tab}
      lines={lines}
      scroll={scroll}
      rows={L.output.rows}
      width={L.output.width}
      {...(notice ? {notice} : {})}
      {...(viewed && state.counts[viewed.key]?.raw !== undefined
        ? {probe: state.counts[viewed.key]!.raw!}
        : {})}
    />
  );
  const countsPane = (
    <CountsPane state={state} counts={counts} now={now} rows={L.counts} width={L.output.width} />
  );
  let body: React.ReactNode;
  if (view === 'help') body = <Help ctx={ctx} rows={L.body} width={L.width} scroll={helpScroll} />;
  else if (view === 'log')
    body = <CommandLog state={state} rows={L.body} width={L.width} scroll={logScroll} />;
  else if (L.wide)
    body = (
      <Box flexDirection="row" height={L.body}>
        {checklist}
        <Box width={1} />
        <Box flexDirection="column" width={L.output.width} height={L.body}>
          {countsPane}
          {output}
        </Box>
      </Box>
    );
  else
    body = (
      <Box flexDirection="column" height={L.body}>
        {checklist}
        {output}
        {countsPane}
      </Box>
    );

  return (
    <Box flexDirection="column" width={L.width} height={L.height} overflow="hidden">
      <Header
        state={state}
        mode={mode}
        now={now}
        width={L.width}
        {...(position?.follow ? {following: true} : {})}
      />
      {body}
      {model && (
        <PromptPane
          model={model}
          rows={L.prompt}
          width={L.width}
          text={answer.text}
          armed={answer.armed}
          ignored={answer.ignored}
          {...(answer.error ? {error: answer.error} : {})}
        />
      )}
      {banner && (
        <Text bold color={colour(banner.colour)} wrap="truncate-end">
          {banner.text}
        </Text>
      )}
      {position ? (
        <ReplayBar position={position} width={L.width} />
      ) : (
        <LiveBar
          events={state.lastSeq}
          {...(state.lastTime ? {last: state.lastTime} : {})}
          readOnly={mode !== 'live'}
          width={L.width}
        />
      )}
      <Box height={1}>
        <Footer ctx={keyCtx} width={L.width} />
      </Box>
    </Box>
  );
}

/** A prompt of the console's own holds only while what it is about still holds. */
function holds(local: LocalPrompt, state: SessionState, mode: Mode): boolean {
  switch (local.kind) {
    case 'cancel':
      return (
        mode === 'live' &&
        !state.prompt &&
        state.steps.some((s) => s.key === local.step && s.status === 'running')
      );
    case 'goto':
      return mode === 'replay';
  }
}

/** A stable function that always calls the latest `fn`. */
function useLatest<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  const ref = useRef(fn);
  ref.current = fn;
  return useCallback((...args: A) => ref.current(...args), []);
}

function bannerText(
  state: SessionState,
  ended: string | undefined,
  position?: ReplayPosition,
): {text: string; colour: 'green' | 'red' | 'yellow'} | undefined {
  const s = state.session;
  // A replay at the end of a journal that never closed says so plainly.
  if (
    position &&
    !position.follow &&
    position.total &&
    position.index >= position.total &&
    !state.closed
  ) {
    return state.left
      ? {
          text: `■ the journal ends here: the session was left open at ${clock(state.left.time)} (${state.left.text}), never closed; crewchief resume ${s?.id ?? ''} goes on with it`,
          colour: 'yellow',
        }
      : {
          text: `■ the journal ends here without a close: the run stopped (crashed or killed) at ${clock(state.lastTime)}; crewchief resume ${s?.id ?? ''} goes on with it`,
          colour: 'red',
        };
  }
  if (state.closed) {
    const took = s ? ` after ${span(Date.parse(state.closed.time) - Date.parse(s.started))}` : '';
    return {
      text: `■ session ${state.closed.outcome} at ${clock(state.closed.time)}${took}${state.closed.reason ? `: ${state.closed.reason}` : ''}`,
      colour: state.closed.outcome === 'finished' ? 'green' : 'red',
    };
  }
  if (ended)
    return {
      text: `■ left the session (${ended}); crewchief resume ${s?.id ?? ''} goes on with it`,
      colour: 'yellow',
    };
  return undefined;
}
