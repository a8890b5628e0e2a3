/**
 * Mounts the Ink console for a live session. Frames are capped (maxFps) and the
 * alternate screen keeps the driver's scrollback intact.
 */
import {render} from 'ink';
import React from 'react';
import type {Launched} from '../engine/launch.js';
import type {SessionStoreApi} from '../store/store.js';
import {App} from './app.js';

const ALT_ON = '\u001b[?1049h';
const ALT_OFF = '\u001b[?1049l';

export function renderConsole(
  store: SessionStoreApi,
  launched: Launched,
): {done: Promise<void>; unmount(): void} {
  process.stdout.write(ALT_ON);
  const restore = (): void => void process.stdout.write(ALT_OFF);
  process.once('exit', restore);
  let left = false;
  const instance = render(
    <App
      store={store}
      mode="live"
      onDecision={(event) => launched.session.decide(event)}
      onQuit={() => {
        left = true;
      }}
    />,
    {maxFps: 10, exitOnCtrlC: false, patchConsole: false},
  );
  const done = instance.waitUntilExit().then(() => {
    if (!left) return new Promise<void>(() => {});
  });
  return {
    done,
    unmount() {
      instance.unmount();
      restore();
      process.removeListener('exit', restore);
      const state = store.getState();
      if (state.closed)
        process.stdout.write(`session ${state.session?.id ?? ''} ${state.closed.outcome}\n`);
    },
  };
}
