/**
 * The driver's console: header, checklist, output, counts, prompt and footer, laid out
 * for the terminal and never taller than it. Reads only the store (batched); decisions
 * go out through `onDecision`. The same component shows a live session, a read-only
 * view of one and a replay.
 */
import {Box, Text} from 'ink';
import React from 'react';
import type {DriverEvent} from '../engine/machine.js';
import type {SessionStoreApi} from '../store/store.js';
import type {HandOverRequest} from '../decisions/answer.js';
import type {AnsweredVia} from '../journal/events.js';
import {Checklist} from './components/checklist.js';
import {CommandLog} from './components/command-log.js';
import {CountsPane} from './components/counts-pane.js';
import {Footer} from './components/footer.js';
import {Header} from './components/header.js';
import {Help} from './components/help.js';
import {OutputPane} from './components/output-pane.js';
import {PromptPane} from './components/prompt-pane.js';
import {LiveBar, ReplayBar, type ReplayPosition} from './components/replay-bar.js';
import {useConsoleKeys} from './hooks/use-console-keys.js';
import {useConsoleState} from './hooks/use-console-state.js';
import type {Size} from './hooks/use-terminal-size.js';
import type {Mode} from './keys.js';
import {MIN_COLUMNS, MIN_ROWS} from './layout.js';
import {ThemeContext, themeFromEnv, useColour, type Theme} from './theme.js';

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

export function App(props: AppProps) {
  const theme = props.theme ?? themeFromEnv();
  return (
    <ThemeContext.Provider value={theme}>
      <Console {...props} />
    </ThemeContext.Provider>
  );
}

function Console(props: AppProps) {
  const c = useConsoleState(props);
  useConsoleKeys(props, c);
  const {state, size, position, now, model, answer, viewed, tabs, tab, lines, counts} = c;
  const {notice, banner, L, ctx, keyCtx} = c;
  const {mode} = props;
  const {view, selected, scroll, logScroll, helpScroll} = c.ui;
  const colour = useColour();

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
  if (view === 'help')
    body = (
      <Help
        ctx={ctx}
        rows={L.body}
        width={L.width}
        scroll={helpScroll}
        {...(props.journalPath ? {journalPath: props.journalPath} : {})}
        {...(state.session?.id ? {session: state.session.id} : {})}
      />
    );
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
    <Box flexDirection="column" width={L.width} height={L.height} overflowY="hidden">
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
      {banner?.lines.map((line, i) => (
        <Text key={i} bold color={colour(banner.colour)} wrap="truncate-end">
          {line}
        </Text>
      ))}
      {position ? (
        <ReplayBar position={position} width={L.width} />
      ) : (
        <LiveBar
          events={state.lastSeq}
          {...(state.lastTime ? {last: state.lastTime} : {})}
          readOnly={mode !== 'live'}
          width={L.width}
          {...(props.journalPath ? {journalPath: props.journalPath} : {})}
        />
      )}
      <Box height={1}>
        <Footer ctx={keyCtx} width={L.width} />
      </Box>
    </Box>
  );
}
