/**
 * Colours and marks. NO_COLOR (https://no-color.org) turns every colour off: chalk, which
 * Ink uses, does not read it, so components take their colours from here. Marks differ by
 * shape as well as colour, so nothing is told by colour alone.
 */
import {createContext, useContext} from 'react';
import type {StepStatus} from '../store/fold.js';

export type Colour = 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'gray' | 'blue';

export interface Theme {
  /** False under NO_COLOR: every `colour()` is undefined and remote SGR is shown inert. */
  colour: boolean;
}

/** NO_COLOR set to anything but the empty string turns colour off. */
export const themeFromEnv = (env: NodeJS.ProcessEnv = process.env): Theme => ({
  colour: !env['NO_COLOR'],
});

export const ThemeContext = createContext<Theme>({colour: true});

/** A colour for Ink's `color` props, or undefined under NO_COLOR. */
export function useColour(): (c: Colour | undefined) => Colour | undefined {
  const theme = useContext(ThemeContext);
  return (c) => (theme.colour ? c : undefined);
}

export const useTheme = (): Theme => useContext(ThemeContext);

export const statusMarks: Record<StepStatus, {mark: string; colour?: Colour; word: string}> = {
  pending: {mark: '·', word: 'pending'},
  running: {mark: '▶', colour: 'cyan', word: 'running'},
  waiting: {mark: '◆', colour: 'yellow', word: 'waiting for you'},
  ok: {mark: '✓', colour: 'green', word: 'ok'},
  done: {mark: '✓', colour: 'green', word: 'done'},
  failed: {mark: '✖', colour: 'red', word: 'failed'},
  'timed-out': {mark: '⌛', colour: 'red', word: 'timed out'},
  canceled: {mark: '✖', colour: 'red', word: 'canceled'},
  skipped: {mark: '↷', colour: 'yellow', word: 'skipped'},
  unknown: {mark: '?', colour: 'magenta', word: 'outcome unknown'},
  'not-applicable': {mark: '–', colour: 'gray', word: 'does not apply'},
  'not-chosen': {mark: '–', colour: 'gray', word: 'not chosen'},
  standby: {mark: '↺', colour: 'gray', word: 'only if needed'},
};
