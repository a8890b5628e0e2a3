/**
 * The typed answer to a prompt: its state (text, error, keys ignored) and its input.
 *
 * Keys typed before a prompt appeared never answer it (scap's rule): the answer starts
 * empty for every new prompt, and keys arriving within `guardMs` of the prompt reaching
 * the screen are dropped and counted, since they were typed for something else.
 */
import {useInput, type Key} from 'ink';
import {useCallback, useEffect, useRef, useState} from 'react';

export const PROMPT_GUARD_MS = 400;

export interface AnswerState {
  text: string;
  error?: string;
  /** Keys dropped because they came before the prompt could be read. */
  ignored: number;
  /** The guard time is over: keys now count. */
  armed: boolean;
}

export interface Answer extends AnswerState {
  /** Whether keys count now (read at the moment of the key, not from the last render). */
  isArmed(): boolean;
  ignore(): void;
  set(text: string): void;
  erase(): void;
  clear(): void;
  fail(error: string): void;
}

/** State of the answer to the prompt `promptId` (a new id starts afresh). */
export function useAnswerState(promptId: string | undefined, guardMs = PROMPT_GUARD_MS): Answer {
  const [state, setState] = useState<AnswerState>({text: '', ignored: 0, armed: guardMs <= 0});
  // Keys can come faster than frames: the text is kept in a ref that each key reads and
  // writes at once; the state only draws it.
  const text = useRef('');
  const shownAt = useRef(0);
  useEffect(() => {
    shownAt.current = Date.now();
    text.current = '';
    setState({text: '', ignored: 0, armed: guardMs <= 0});
    if (promptId === undefined || guardMs <= 0) return;
    const timer = setTimeout(() => setState((s) => ({...s, armed: true})), guardMs);
    return () => clearTimeout(timer);
  }, [promptId, guardMs]);
  const isArmed = useCallback(
    () => promptId !== undefined && Date.now() - shownAt.current >= guardMs,
    [promptId, guardMs],
  );
  const setText = (next: string, error?: string): void => {
    text.current = next;
    setState((s) => ({...s, text: next, error}));
  };
  return {
    ...state,
    get text() {
      return text.current;
    },
    isArmed,
    ignore: () => setState((s) => ({...s, ignored: s.ignored + 1})),
    set: (next) => setText(next),
    erase: () => setText(text.current.slice(0, -1)),
    clear: () => setText(''),
    // A refused answer is cleared, so the next try starts clean (the error says what was wrong).
    fail: (error) => setText('', error),
  };
}

export interface AnswerInputOptions {
  isActive: boolean;
  /** `guard`: only count keys that come too early (a choice list takes the rest). */
  only?: 'text' | 'guard';
  /** Sends the answer; returns an error to show, or nothing when it was taken. */
  onSubmit: (text: string) => string | undefined;
  /** Keys the key table takes (Tab, PgUp …) never reach the answer. */
  taken?: (input: string, key: Key) => boolean;
}

/** Feeds keys into an answer: printable text, Backspace, Esc (clear) and Enter (submit). */
export function useAnswerInput(answer: Answer, options: AnswerInputOptions): void {
  const {isActive, onSubmit, taken, only = 'text'} = options;
  useInput(
    (input, key) => {
      if (taken?.(input, key)) return;
      if (!answer.isArmed()) {
        answer.ignore();
        return;
      }
      if (only === 'guard') return;
      if (key.return) return submit(answer.text);
      if (key.backspace || key.delete) return answer.erase();
      if (key.escape) return answer.clear();
      if (key.ctrl || key.meta || key.tab) return;
      // A chunk may hold several keys ("go\r" from a fast typist or tmux send-keys).
      let text = answer.text;
      for (const ch of input) {
        if (ch === '\r' || ch === '\n') return submit(text);
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch >= ' ') text += ch;
      }
      if (text !== answer.text) answer.set(text);
    },
    {isActive},
  );

  function submit(text: string): void {
    const error = onSubmit(text);
    if (error) answer.fail(error);
    else answer.clear();
  }
}
