/**
 * Mounts the Ink console for a live session, in the alternate screen so the driver's
 * scrollback stays intact. Frames are capped (maxFps 10) and always one line shorter
 * than the terminal (see layout.ts). When the session ends the console stays, showing
 * how it ended, until the driver leaves it.
 */
import {render} from 'ink';
import React from 'react';
import type {Launched} from '../engine/launch.js';
import type {HandOverRequest} from '../team/hand-over-words.js';
import type {SessionStoreApi} from '../store/store.js';
import {App} from './app.js';

const ALT_ON = '\u001b[?1049h';
const ALT_OFF = '\u001b[?1049l';

export interface ConsoleOptions {
  /** Show the session without offering any action that changes it. */
  readOnly?: boolean;
}

export interface ConsoleView {
  /** Resolves when the driver leaves the console. */
  done: Promise<void>;
  /** Once the session is over: waits until the driver has read the end, then goes. */
  unmount(): Promise<void>;
}

/** Why the session stopped without closing: the latest "session left" notice. */
function leftBecause(store: SessionStoreApi): string | undefined {
  const line = [...store.getState().log].reverse().find((l) => l.text.startsWith('session left: '));
  return line?.text.slice('session left: '.length);
}

export function renderConsole(
  store: SessionStoreApi,
  launched: Launched,
  options: ConsoleOptions = {},
): ConsoleView {
  process.stdout.write(ALT_ON);
  const restore = (): void => void process.stdout.write(ALT_OFF);
  process.once('exit', restore);
  let left = false;
  const element = (ended?: string) => (
    <App
      store={store}
      mode={options.readOnly ? 'read-only' : 'live'}
      onDecision={(event) => !options.readOnly && launched.session.decide(event)}
      {...(launched.team && !options.readOnly
        ? {onHandOver: (request: HandOverRequest) => launched.team!.handOver(request)}
        : {})}
      onQuit={() => {
        left = true;
      }}
      clearOnResize
      {...(ended ? {ended} : {})}
    />
  );
  // Standard (not incremental) rendering: after a resize the screen is wiped and every
  // line must be written again, which incremental rendering would skip.
  const instance = render(element(), {maxFps: 10, exitOnCtrlC: false, patchConsole: false});
  const done = instance.waitUntilExit().then(() => undefined);
  return {
    done,
    async unmount() {
      const reason = leftBecause(store);
      // A signal (the terminal went away) leaves at once; otherwise the driver reads the end.
      const signalled = !store.getState().closed && /\(SIG[A-Z]+\)$/.test(reason ?? '');
      if (!left && !signalled && process.stdin.isTTY) {
        if (!store.getState().closed) instance.rerender(element(reason ?? 'stopped'));
        await done;
      }
      instance.unmount();
      restore();
      process.removeListener('exit', restore);
      const state = store.getState();
      if (state.closed)
        process.stdout.write(`session ${state.session?.id ?? ''} ${state.closed.outcome}\n`);
    },
  };
}
