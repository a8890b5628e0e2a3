/**
 * The session state for the screen, batched: the store may change hundreds of times a
 * second while a command prints, the screen takes the newest state at most once per
 * `cadenceMs`. Nothing renders while nothing changes.
 */
import {useEffect, useState} from 'react';
import type {SessionState} from '../../store/fold.js';
import type {SessionStoreApi} from '../../store/store.js';

export const DEFAULT_CADENCE_MS = 100;

export function useSession(store: SessionStoreApi, cadenceMs = DEFAULT_CADENCE_MS): SessionState {
  const [state, setState] = useState<SessionState>(() => store.getState());
  useEffect(() => {
    let timer: NodeJS.Timeout | undefined;
    let last = 0;
    const flush = (): void => {
      timer = undefined;
      last = Date.now();
      setState(store.getState());
    };
    const unsubscribe = store.subscribe(() => {
      // Never render inside the engine's call: always on a timer, at most once per cadence.
      timer ??= setTimeout(flush, Math.max(0, last + cadenceMs - Date.now()));
    });
    setState(store.getState());
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
  }, [store, cadenceMs]);
  return state;
}
