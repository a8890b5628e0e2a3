/**
 * The one Ink mount: the console in the alternate screen, so the driver's scrollback
 * stays intact. Live, resume, watch and replay all mount through `mountConsole`. Frames
 * are capped (maxFps 10) and always one line shorter than the terminal (see layout.ts).
 * A live session's console stays when the session ends, showing how it ended, until the
 * driver leaves it.
 */
import {render, type Instance} from 'ink';
import React from 'react';
import type {DriverEvent} from '../engine/machine.js';
import type {AnsweredVia} from '../journal/events.js';
import type {HandOverRequest} from '../engine/hand-over.js';
import type {SessionStoreApi} from '../store/store.js';
import {App, type AppProps} from './app.js';

const ALT_ON = '\u001b[?1049h';
const ALT_OFF = '\u001b[?1049l';

export interface Mounted {
  instance: Instance;
  /** Resolves when the viewer leaves the console (q, Ctrl-C in the console). */
  done: Promise<void>;
  /** Unmounts and gives the terminal back (idempotent). */
  unmount(): void;
}

/**
 * Mounts the console in the alternate screen and restores the terminal however the
 * process ends (unmount, exit, or a signal handled elsewhere).
 */
export function mountConsole(
  props: AppProps,
  out: NodeJS.WriteStream = process.stdout,
  /** Keys come from here (a recording passes a stream that never has any). */
  input?: NodeJS.ReadStream,
): Mounted {
  out.write(ALT_ON);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    out.write(ALT_OFF);
  };
  process.once('exit', restore);
  // Standard (not incremental) rendering: after a resize the screen is wiped and every
  // line must be written again, which incremental rendering would skip.
  const instance = render(<App clearOnResize {...props} />, {
    maxFps: 10,
    exitOnCtrlC: false,
    patchConsole: false,
    stdout: out,
    ...(input ? {stdin: input} : {}),
  });
  const done = instance.waitUntilExit().then(
    () => undefined,
    () => undefined,
  );
  let unmounted = false;
  return {
    instance,
    done,
    unmount() {
      if (unmounted) return;
      unmounted = true;
      instance.unmount();
      restore();
      process.removeListener('exit', restore);
    },
  };
}

export interface ConsoleOptions {
  /** Show the session without offering any action that changes it. */
  readOnly?: boolean;
}

/** What the live console may do with the session it shows. */
export interface LiveTarget {
  /** Sends a decision, with how it was given (typed here). */
  decide(event: DriverEvent, via?: AnsweredVia): boolean;
  /** Team mode: hand the session over. */
  handOver?: (request: HandOverRequest) => Promise<{ok: boolean; message: string}>;
  /** Where the journal is (the console shows it). */
  journalPath: string;
}

export interface ConsoleView {
  /** Resolves when the driver leaves the console. */
  done: Promise<void>;
  /**
   * Once the session is over: waits until the driver has read the end, then goes.
   * `signalled`: the process was told to stop (the terminal may be gone): go at once.
   */
  unmount(options?: {signalled?: boolean}): Promise<void>;
}

/** Why the session stopped without closing. */
function leftBecause(store: SessionStoreApi): string | undefined {
  const state = store.getState() as {left?: {text?: string}};
  if (state.left?.text) return state.left.text;
  const line = [...store.getState().log].reverse().find((l) => l.text.startsWith('session left: '));
  return line?.text.slice('session left: '.length);
}

/** The console of a live session. */
export function renderConsole(
  store: SessionStoreApi,
  target: LiveTarget,
  options: ConsoleOptions = {},
): ConsoleView {
  let left = false;
  const props = (ended?: string): AppProps => ({
    store,
    mode: options.readOnly ? 'read-only' : 'live',
    onDecision: (event, via) => !options.readOnly && target.decide(event, via),
    ...(target.handOver && !options.readOnly ? {onHandOver: target.handOver} : {}),
    onQuit: () => {
      left = true;
    },
    journalPath: target.journalPath,
    ...(ended ? {ended} : {}),
  });
  const mounted = mountConsole(props());
  return {
    done: mounted.done,
    async unmount(how = {}) {
      const reason = leftBecause(store);
      // A signal (the terminal went away) leaves at once; otherwise the driver reads the end.
      const signalled =
        how.signalled || (!store.getState().closed && /\(SIG[A-Z]+\)$/.test(reason ?? ''));
      if (!left && !signalled && process.stdin.isTTY) {
        if (!store.getState().closed)
          mounted.instance.rerender(<App clearOnResize {...props(reason ?? 'stopped')} />);
        await mounted.done;
      }
      mounted.unmount();
      const state = store.getState();
      if (state.closed)
        process.stdout.write(
          `session ${state.session?.id ?? ''} ${state.closed.outcome}\njournal ${target.journalPath}: replay it with crewchief replay ${target.journalPath}\n`,
        );
    },
  };
}
