/**
 * The console's keys: the key table (keys.ts) dispatched to what each binding does, and
 * the typed answer's submission. Both inputs are routed by `isActive`: the key table
 * while the terminal gives keys, the answer only while a prompt has the focus.
 */
import {useApp, useInput, type Key} from 'ink';
import {useCallback, useRef} from 'react';
import type {DriverEvent} from '../../engine/machine.js';
import {answerTyped, type AnswerTarget} from '../../decisions/answer.js';
import type {AppProps} from '../app.js';
import {logRows} from '../components/command-log.js';
import {helpScreenLines} from '../components/help.js';
import {pickableSteps} from '../derive.js';
import {resolve, type BindingId} from '../keys.js';
import {useAnswerInput} from './use-answer.js';
import type {ConsoleState} from './use-console-state.js';

export function useConsoleKeys(props: AppProps, c: ConsoleState): void {
  const {store, mode, replay} = props;
  const {exit} = useApp();
  const {state, ui, dispatch, viewed, tabs, tab, lines, L, ctx, keyCtx, local, position} = c;
  const {runningStep, answer, focus, isRawModeSupported} = c;
  const {view, selected} = ui;

  const decide = (event: DriverEvent): boolean =>
    mode === 'live' && !!props.onDecision?.(event, 'typed');
  const target: AnswerTarget = {
    currentPrompt: () => store.getState().prompt?.seq,
    decide: (event, via) => mode === 'live' && !!props.onDecision?.(event, via),
    ...(props.onHandOver ? {handOver: props.onHandOver} : {}),
  };
  const page = Math.max(1, L.output.rows - 3);
  const handlers: Partial<Record<BindingId, (input: string) => void>> = {
    help: () => dispatch({type: 'toggle-view', view: 'help'}),
    log: () => dispatch({type: 'toggle-view', view: 'log'}),
    'next-host': () =>
      viewed &&
      dispatch({type: 'tab', step: viewed.key, index: (tab + 1) % Math.max(1, tabs.length)}),
    'previous-host': () =>
      viewed &&
      dispatch({
        type: 'tab',
        step: viewed.key,
        index: (tab - 1 + tabs.length) % Math.max(1, tabs.length),
      }),
    'pick-up': () => pick(-1),
    'pick-down': () => pick(1),
    'scroll-up': () => scrollBy(view === 'main' ? page : Math.max(1, L.body - 2)),
    'scroll-down': () => scrollBy(view === 'main' ? -page : -Math.max(1, L.body - 2)),
    'line-up': () => scrollBy(1),
    'line-down': () => scrollBy(-1),
    back: () => {
      if (view !== 'main') dispatch({type: 'main'});
      else if (local) dispatch({type: 'local'});
      else dispatch({type: 'follow'});
    },
    'cancel-command': () =>
      runningStep && dispatch({type: 'local', prompt: {kind: 'cancel', step: runningStep.key}}),
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
      dispatch({type: 'local', prompt: {kind: 'goto'}});
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
    dispatch({type: 'select', step: list[next]!.key});
  }

  function scrollBy(delta: number): void {
    if (view === 'help') {
      const max = Math.max(
        0,
        helpScreenLines(ctx, L.width, props.journalPath, state.session?.id).length - (L.body - 1),
      );
      dispatch({type: 'scroll', which: 'helpScroll', delta: -delta, max});
    } else if (view === 'log') {
      const max = Math.max(0, logRows(state).length - (L.body - 1));
      dispatch({type: 'scroll', which: 'logScroll', delta, max});
    } else {
      const max = Math.max(0, lines.length - 1);
      dispatch({type: 'scroll', which: 'scroll', delta, max});
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
          dispatch({type: 'local'});
          return undefined;
        case 'goto': {
          const error = replay?.goTo(text);
          if (error) return error;
          dispatch({type: 'local'});
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
}

/** A stable function that always calls the latest `fn`. */
function useLatest<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  const ref = useRef(fn);
  ref.current = fn;
  return useCallback((...args: A) => ref.current(...args), []);
}
