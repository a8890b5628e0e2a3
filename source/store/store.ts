/**
 * The zustand store the screen reads. It holds only what the fold makes of journal
 * entries; the screen never reads anything else.
 */
import {createStore, type StoreApi} from 'zustand/vanilla';
import {fold, foldAll, initialState, type FoldItem, type SessionState} from './fold.js';

export interface SessionStore extends SessionState {
  apply(entry: FoldItem): void;
  applyMany(entries: readonly FoldItem[]): void;
  reset(): void;
}

export type SessionStoreApi = StoreApi<SessionStore>;

export function createSessionStore(): SessionStoreApi {
  return createStore<SessionStore>()((set) => {
    // Replace, never merge: the fold removes keys (a prompt answered), and a merge
    // would keep them.
    const actions = {
      apply: (entry: FoldItem) => set((state) => ({...fold(state, entry), ...actions}), true),
      applyMany: (entries: readonly FoldItem[]) =>
        set((state) => ({...foldAll(entries, state), ...actions}), true),
      reset: () => set({...initialState(), ...actions}, true),
    };
    return {...initialState(), ...actions};
  });
}

/** The folded state without the store's functions (for comparisons and reports). */
export function snapshotOf(store: SessionStoreApi): SessionState {
  const {apply: _a, applyMany: _m, reset: _r, ...state} = store.getState();
  return state;
}
