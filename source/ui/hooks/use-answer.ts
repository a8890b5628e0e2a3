/**
 * The typed answer to a prompt: its state (text, error, keys ignored) and its input.
 *
 * No stray key decides anything:
 * - keys typed before a prompt appeared never answer it (scap's rule): the answer starts
 *   empty for every new prompt, and keys arriving within `guardMs` of the prompt reaching
 *   the screen are dropped and counted, since they were typed for something else;
 * - an Enter sends the answer only when it is a key of its own: an Enter inside a chunk
 *   of several keys, or less than `pasteGapMs` after the key before it (faster than a
 *   person types), is a paste or a storm, and sends nothing;
 * - what is sent must still be a deliberate word (source/decisions/parse.ts).
 */
import {useInput, type Key} from 'ink';
import {useCallback, useEffect, useRef, useState} from 'react';

export const PROMPT_GUARD_MS = 400;
/** Keys closer together than this came from a paste or a storm, not from a person. */
export const PASTE_GAP_MS = 25;
/** What the driver reads when an Enter came with a paste. */
export const PASTED_ENTER =
  'Enter came with other keys (a paste?): nothing was sent; press Enter on its own';

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
  /** Says something about the answer without clearing it. */
  warn(message: string): void;
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
    warn: (message) => setText(text.current, message),
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
  /** Keys closer than this are a paste (0: never; tests that type instantly). */
  pasteGapMs?: number;
  /** The clock (tests inject fake timers). */
  now?: () => number;
}

/** Feeds keys into an answer: printable text, Backspace, Esc (clear) and Enter (submit). */
export function useAnswerInput(answer: Answer, options: AnswerInputOptions): void {
  const {isActive, onSubmit, taken, only = 'text', pasteGapMs = PASTE_GAP_MS} = options;
  const now = options.now ?? Date.now;
  const lastKeyAt = useRef(Number.NEGATIVE_INFINITY);
  useInput(
    (input, key) => {
      const at = now();
      const rushed = at - lastKeyAt.current < pasteGapMs;
      lastKeyAt.current = at;
      if (taken?.(input, key)) return;
      if (!answer.isArmed()) {
        answer.ignore();
        return;
      }
      if (only === 'guard') return;
      if (key.return) return rushed ? answer.warn(PASTED_ENTER) : submit(answer.text);
      if (key.backspace || key.delete) return answer.erase();
      if (key.escape) return answer.clear();
      if (key.ctrl || key.meta || key.tab) return;
      // A chunk of several keys (a paste, tmux send-keys, a storm) is typed into the
      // answer; an Enter inside it sends nothing.
      let text = answer.text;
      let pastedEnter = false;
      for (const ch of input) {
        if (ch === '\r' || ch === '\n') pastedEnter = true;
        else if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch >= ' ') text += ch;
      }
      if (text !== answer.text) answer.set(text);
      if (pastedEnter) answer.warn(PASTED_ENTER);
    },
    {isActive},
  );

  function submit(text: string): void {
    const error = onSubmit(text);
    if (error) answer.fail(error);
    else answer.clear();
  }
}
