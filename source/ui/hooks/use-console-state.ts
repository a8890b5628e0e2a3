/**
 * The console's state: what the driver looks at (view, selected step, host tab, the
 * three scrolls, a prompt of the console's own) as one reducer, and everything the
 * layout reads, derived from it, the session and the terminal. No keys here: those are
 * use-console-keys.ts; the view is Console in app.tsx.
 */
import {useStdin} from 'ink';
import {useMemo, useReducer, useSyncExternalStore} from 'react';
import type {SessionState} from '../../store/fold.js';
import type {AppProps} from '../app.js';
import {checklistNeed} from '../components/checklist.js';
import {countsHeight} from '../components/counts-pane.js';
import {hasTabRow} from '../components/output-pane.js';
import {promptHeight, promptModel, type LocalPrompt} from '../components/prompt-pane.js';
import type {ReplayPosition} from '../components/replay-bar.js';
import {
  clock,
  defaultTab,
  filledState,
  hostTabs,
  outputLines,
  outcomeWords,
  span,
  viewedStep,
  visibleCounts,
} from '../derive.js';
import type {KeyContext, Mode} from '../keys.js';
import {BANNER_MAX, layout} from '../layout.js';
import {truncateToWidth, wrapToWidth} from '../text-width.js';
import {useTheme} from '../theme.js';
import {useAnswerState, PROMPT_GUARD_MS} from './use-answer.js';
import {useNow} from './use-now.js';
import {DEFAULT_CADENCE_MS, useSession} from './use-session.js';
import {useTerminalSize} from './use-terminal-size.js';

export type ConsoleView = 'main' | 'log' | 'help';

/** What the driver has chosen to look at. */
export interface ConsoleUi {
  view: ConsoleView;
  selected?: string;
  tabChoice?: {step: string; index: number};
  scroll: number;
  logScroll: number;
  helpScroll: number;
  localPrompt?: LocalPrompt;
}

export type ConsoleAction =
  /** Opens the view (its scroll at the top), or goes back to main when it is open. */
  | {type: 'toggle-view'; view: 'log' | 'help'}
  | {type: 'main'}
  | {type: 'local'; prompt?: LocalPrompt}
  /** Back to following the session: no step picked, output at the bottom, default tab. */
  | {type: 'follow'}
  | {type: 'select'; step: string}
  | {type: 'tab'; step: string; index: number}
  /** Moves the current view's scroll by delta, kept within 0..max. */
  | {type: 'scroll'; which: 'scroll' | 'logScroll' | 'helpScroll'; delta: number; max: number};

export const INITIAL_UI: ConsoleUi = {view: 'main', scroll: 0, logScroll: 0, helpScroll: 0};

export function consoleReducer(ui: ConsoleUi, action: ConsoleAction): ConsoleUi {
  switch (action.type) {
    case 'toggle-view': {
      const scroll = action.view === 'help' ? 'helpScroll' : 'logScroll';
      return {...ui, [scroll]: 0, view: ui.view === action.view ? 'main' : action.view};
    }
    case 'main':
      return {...ui, view: 'main'};
    case 'local': {
      const {localPrompt: _, ...rest} = ui;
      return action.prompt ? {...rest, localPrompt: action.prompt} : rest;
    }
    case 'follow': {
      const {selected: _s, tabChoice: _t, ...rest} = ui;
      return {...rest, scroll: 0};
    }
    case 'select':
      return {...ui, selected: action.step, scroll: 0};
    case 'tab':
      return {...ui, tabChoice: {step: action.step, index: action.index}};
    case 'scroll':
      return {
        ...ui,
        [action.which]: Math.max(0, Math.min(action.max, ui[action.which] + action.delta)),
      };
  }
}

const NO_REPLAY = {subscribe: () => () => {}, position: () => undefined};

/** The console's state and everything its layout reads. */
export function useConsoleState(props: AppProps) {
  const {store, mode, replay} = props;
  const raw = useSession(store, props.cadenceMs ?? DEFAULT_CADENCE_MS);
  // Every `${name}` a driver reads is filled from the session's values (profile, captured).
  const state = useMemo(() => filledState(raw), [raw]);
  const size = useTerminalSize({
    ...(props.size ? {fixed: props.size} : {}),
    ...(props.clearOnResize ? {clearOnResize: true} : {}),
  });
  const {isRawModeSupported} = useStdin();
  const theme = useTheme();
  const source = replay ?? NO_REPLAY;
  const position = useSyncExternalStore(source.subscribe, source.position);

  const [ui, dispatch] = useReducer(consoleReducer, INITIAL_UI);
  const {view, selected, tabChoice, scroll, localPrompt} = ui;

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
  const banner = wrapBanner(bannerText(state, props.ended, position), size.columns);
  const L = layout({
    rows: size.rows,
    columns: size.columns,
    prompt: promptHeight(model, message),
    counts: view === 'main' ? countsHeight(state, counts, now, size.columns) : 0,
    checklist: checklistNeed(state, now, selected),
    checklistMax,
    output: outputNeed,
    replayBar: true,
    banner: banner?.lines.length ?? 0,
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

  return {
    state,
    size,
    isRawModeSupported,
    position,
    ui,
    dispatch,
    runningStep,
    now,
    local,
    model,
    focus,
    answer,
    viewed,
    tabs,
    tab,
    lines,
    counts,
    notice,
    banner,
    L,
    ctx,
    keyCtx,
  };
}

export type ConsoleState = ReturnType<typeof useConsoleState>;

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

/** `■ session finished at 10:42:07 after 3m05s`: how a closed session ended. */
function closedText(state: SessionState): string {
  const closed = state.closed!;
  const s = state.session;
  const took = s ? ` after ${span(Date.parse(closed.time) - Date.parse(s.started))}` : '';
  return `■ session ${outcomeWords(closed.outcome)} at ${clock(closed.time)}${took}${closed.reason ? `: ${closed.reason}` : ''}`;
}

/** The banner in lines that fit the width: it wraps (at most BANNER_MAX lines), never cut mid-fact. */
function wrapBanner(
  banner: {text: string; colour: 'green' | 'red' | 'yellow'} | undefined,
  columns: number,
): {lines: string[]; colour: 'green' | 'red' | 'yellow'} | undefined {
  if (!banner) return undefined;
  const lines = wrapToWidth(banner.text, columns).map((l) => l.trimEnd());
  if (lines.length > BANNER_MAX)
    lines.splice(
      BANNER_MAX - 1,
      Infinity,
      truncateToWidth(lines.slice(BANNER_MAX - 1).join(' '), columns),
    );
  return {lines, colour: banner.colour};
}

function bannerText(
  state: SessionState,
  ended: string | undefined,
  position?: ReplayPosition,
): {text: string; colour: 'green' | 'red' | 'yellow'} | undefined {
  const s = state.session;
  // A replay at its end says how the journal ended, as its reader found it (the store's
  // journalEnd): closed and sealed, closed, left open, crashed, damaged.
  const end = state.journalEnd;
  if (end && position && position.total && position.index >= position.total) {
    const resume = end.state === 'open' || end.state === 'left' || end.state === 'damaged';
    // A closed session: the live run's own line, then what the seal says.
    const text = state.closed
      ? `${closedText(state)} · ${end.state === 'sealed' ? 'sealed, checksum verified' : end.text}`
      : `■ ${end.text}${resume ? `; crewchief resume ${s?.id ?? ''} goes on with it` : ''}`;
    return {
      text,
      colour:
        end.state === 'left'
          ? 'yellow'
          : state.closed?.outcome === 'finished' && end.state !== 'broken'
            ? 'green'
            : 'red',
    };
  }
  if (state.closed) {
    return {
      text: closedText(state),
      colour:
        state.closed.outcome === 'finished'
          ? 'green'
          : state.closed.outcome === 'rolled-back'
            ? 'yellow'
            : 'red',
    };
  }
  if (ended)
    return {
      text: `■ left the session (${ended}); crewchief resume ${s?.id ?? ''} goes on with it`,
      colour: 'yellow',
    };
  return undefined;
}
