/**
 * Every key the console knows, as data: id, keys, label, when it applies. The footer
 * and the `?` help are both drawn from this one table, and the input hooks resolve keys
 * through it, so what the screen says is what the keys do.
 */
import type {Key} from 'ink';
import {textWidth} from './text-width.js';

export type Mode = 'live' | 'replay' | 'read-only';

/** What the screen is in when a key arrives. */
export interface KeyContext {
  mode: Mode;
  view: 'main' | 'log' | 'help';
  /** The input that has focus: a typed answer, or none. */
  focus: 'text' | 'none';
  answerEmpty: boolean;
  /** Host tabs of the step in the output pane. */
  hostTabs: number;
  /** A step is running (it can be canceled). */
  running: boolean;
  /** The driver picked a step or scrolled: Esc goes back to following. */
  away: boolean;
  closed: boolean;
  replay?: {paused: boolean; follow: boolean; phases: number};
}

export type BindingId =
  | 'answer'
  | 'clear'
  | 'help'
  | 'log'
  | 'next-host'
  | 'previous-host'
  | 'pick-up'
  | 'pick-down'
  | 'scroll-up'
  | 'scroll-down'
  | 'line-up'
  | 'line-down'
  | 'back'
  | 'cancel-command'
  | 'leave'
  | 'quit'
  | 'pause'
  | 'faster'
  | 'slower'
  | 'next-event'
  | 'previous-event'
  | 'next-phase'
  | 'previous-phase'
  | 'phase-number'
  | 'go-to-time'
  | 'start'
  | 'end';

export interface KeyBinding {
  id: BindingId;
  /**
   * `enter`, `esc`, `tab`, `shift+tab`, `up`, `down`, `left`, `right`, `pageup`,
   * `pagedown`, `home`, `end`, `space`, `ctrl+x`, `digit` (1–9), or one printable character.
   * Printable keys never act while a typed answer has focus (they are the answer), except
   * `?` on an empty answer.
   */
  keys: readonly string[];
  /** Short, for the footer. */
  label: string | ((ctx: KeyContext) => string);
  /** Longer, for the help. */
  help: string;
  group: 'prompt' | 'view' | 'replay' | 'session';
  /** Changes the session: never offered in read-only or replay. */
  mutating?: boolean;
  /** Handled by a widget's own input (the answer line): listed, not dispatched. */
  widget?: boolean;
  when: (ctx: KeyContext) => boolean;
}

const live = (ctx: KeyContext): boolean => ctx.mode === 'live';
const main = (ctx: KeyContext): boolean => ctx.view === 'main';
const replaying = (ctx: KeyContext): boolean => ctx.mode === 'replay';

export const bindings: readonly KeyBinding[] = [
  {
    id: 'answer',
    keys: ['enter'],
    label: 'answer',
    help: 'type the word the prompt asks for ("done" at a to-do, a number at a choice), then Enter on its own; "skip <reason>" and "abort [reason]" work at every prompt',
    group: 'prompt',
    mutating: true,
    widget: true,
    when: (ctx) => live(ctx) && ctx.focus === 'text',
  },
  {
    id: 'clear',
    keys: ['esc'],
    label: 'clear',
    help: 'clear what you typed',
    group: 'prompt',
    widget: true,
    when: (ctx) => ctx.focus === 'text' && !ctx.answerEmpty && ctx.mode !== 'read-only',
  },
  {
    id: 'cancel-command',
    keys: ['ctrl+x'],
    label: 'cancel command',
    help: 'stop the running command (asks you to type "cancel" first); the step then counts as failed',
    group: 'session',
    mutating: true,
    when: (ctx) => live(ctx) && ctx.running && ctx.focus === 'none' && !ctx.closed,
  },
  {
    id: 'help',
    keys: ['?'],
    label: 'help',
    help: 'all keys (this list); ? or Esc closes it',
    group: 'view',
    when: () => true,
  },
  {
    id: 'log',
    keys: ['ctrl+l', 'l'],
    label: (ctx) => (ctx.view === 'log' ? 'checklist' : 'command log'),
    help: 'every command that ran: when, on which host, its exit status',
    group: 'view',
    when: (ctx) => ctx.view !== 'help',
  },
  {
    id: 'next-host',
    keys: ['tab'],
    label: 'next host',
    help: 'the next host’s output (fan-out steps have one tab per host)',
    group: 'view',
    when: (ctx) => main(ctx) && ctx.hostTabs > 1,
  },
  {
    id: 'previous-host',
    keys: ['shift+tab'],
    label: 'previous host',
    help: 'the previous host’s output',
    group: 'view',
    when: (ctx) => main(ctx) && ctx.hostTabs > 1,
  },
  {
    id: 'pick-up',
    keys: ['up'],
    label: 'pick step',
    help: 'pick the step above: its output, durations and exit codes show',
    group: 'view',
    when: (ctx) => main(ctx),
  },
  {
    id: 'pick-down',
    keys: ['down'],
    label: 'pick step',
    help: 'pick the step below',
    group: 'view',
    when: (ctx) => main(ctx),
  },
  {
    id: 'scroll-up',
    keys: ['pageup'],
    label: 'scroll',
    help: 'a page back in the output, the command log or this help',
    group: 'view',
    when: () => true,
  },
  {
    id: 'scroll-down',
    keys: ['pagedown'],
    label: 'scroll',
    help: 'a page forward',
    group: 'view',
    when: () => true,
  },
  {
    id: 'line-up',
    keys: ['up'],
    label: 'scroll',
    help: 'a line back in the command log or this help',
    group: 'view',
    when: (ctx) => ctx.view !== 'main',
  },
  {
    id: 'line-down',
    keys: ['down'],
    label: 'scroll',
    help: 'a line forward in the command log or this help',
    group: 'view',
    when: (ctx) => ctx.view !== 'main',
  },
  {
    id: 'back',
    keys: ['esc'],
    label: 'back',
    help: 'close the help or the log; stop looking at a picked step and follow the running one',
    group: 'view',
    when: (ctx) => ctx.answerEmpty && (ctx.view !== 'main' || ctx.away),
  },
  {
    id: 'pause',
    keys: ['space'],
    label: (ctx) => (ctx.replay?.paused ? 'play' : 'pause'),
    help: 'pause or play the replay',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'faster',
    keys: ['+', '='],
    label: 'faster',
    help: 'twice as fast (up to 256×)',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'slower',
    keys: ['-'],
    label: 'slower',
    help: 'half as fast (down to ¼×)',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'next-event',
    keys: ['right', 'n'],
    label: 'next event',
    help: 'one event forward (pauses)',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'previous-event',
    keys: ['left', 'p'],
    label: 'previous event',
    help: 'one event back (pauses)',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'next-phase',
    keys: [']'],
    label: 'next phase',
    help: 'jump to where the next phase began',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'previous-phase',
    keys: ['['],
    label: 'previous phase',
    help: 'jump back to where this (or the previous) phase began',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'phase-number',
    keys: ['digit'],
    label: 'phase N',
    help: 'jump to where phase 1–9 began',
    group: 'replay',
    when: (ctx) => replaying(ctx) && ctx.focus === 'none',
  },
  {
    id: 'go-to-time',
    keys: ['g'],
    label: 'go to time',
    help: 'jump to a time: hh:mm[:ss] (UTC, as shown) or +offset from the start (+90s, +1h5m)',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'start',
    keys: ['home'],
    label: 'start',
    help: 'back to the first event',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'end',
    keys: ['end'],
    label: (ctx) => (ctx.replay?.follow ? 'live edge' : 'end'),
    help: 'to the last event (with --follow: keep following the journal as it grows)',
    group: 'replay',
    when: replaying,
  },
  {
    id: 'leave',
    keys: ['ctrl+c'],
    label: 'leave',
    help: 'leave the console; the session stays open and `crewchief resume` goes on with it',
    group: 'session',
    when: (ctx) => live(ctx) && !ctx.closed,
  },
  {
    id: 'quit',
    keys: ['q', 'ctrl+c'],
    label: 'quit',
    help: 'quit the console (the session itself is over, or this is a read-only view)',
    group: 'session',
    when: (ctx) => !live(ctx) || ctx.closed,
  },
];

const PRINTABLE = (spec: string): boolean =>
  spec.length === 1 || spec === 'space' || spec === 'digit';

/** Whether one key spec matches a key press. */
export function matches(spec: string, input: string, key: Key): boolean {
  switch (spec) {
    case 'enter':
      return key.return;
    case 'esc':
      return key.escape;
    case 'tab':
      return key.tab && !key.shift;
    case 'shift+tab':
      return key.tab && key.shift;
    case 'up':
      return key.upArrow;
    case 'down':
      return key.downArrow;
    case 'left':
      return key.leftArrow;
    case 'right':
      return key.rightArrow;
    case 'pageup':
      return key.pageUp;
    case 'pagedown':
      return key.pageDown;
    case 'home':
      return key.home;
    case 'end':
      return key.end;
    case 'space':
      return input === ' ' && !key.ctrl && !key.meta;
    case 'digit':
      return /^[1-9]$/.test(input) && !key.ctrl && !key.meta;
    default:
      if (spec.startsWith('ctrl+')) return key.ctrl && input === spec.slice(5);
      return input === spec && !key.ctrl && !key.meta;
  }
}

/** Whether a key spec can act now (printable keys belong to a focused answer). */
export function usable(spec: string, ctx: KeyContext): boolean {
  if (!PRINTABLE(spec)) return true;
  if (ctx.focus === 'none') return true;
  return spec === '?' && ctx.focus === 'text' && ctx.answerEmpty;
}

/** The bindings that apply now (read-only and replay never see mutating ones). */
export function activeBindings(ctx: KeyContext): KeyBinding[] {
  return bindings.filter((b) => (!b.mutating || ctx.mode === 'live') && b.when(ctx));
}

/** The binding a key press triggers, if any (widget bindings are the widgets' business). */
export function resolve(ctx: KeyContext, input: string, key: Key): KeyBinding | undefined {
  return activeBindings(ctx).find(
    (b) => !b.widget && b.keys.some((spec) => usable(spec, ctx) && matches(spec, input, key)),
  );
}

const KEY_NAMES: Record<string, string> = {
  enter: 'Enter',
  esc: 'Esc',
  tab: 'Tab',
  'shift+tab': 'S-Tab',
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  home: 'Home',
  end: 'End',
  space: 'Space',
  digit: '1-9',
};

/** How a key spec is written on screen: `Ctrl-L`, `PgUp`, `?`. */
export const keyName = (spec: string): string =>
  KEY_NAMES[spec] ?? (spec.startsWith('ctrl+') ? `Ctrl-${spec.slice(5).toUpperCase()}` : spec);

/** The label of a binding now. */
export const labelOf = (b: KeyBinding, ctx: KeyContext): string =>
  typeof b.label === 'function' ? b.label(ctx) : b.label;

/** The keys of a binding that work now, as written on screen. */
export function keysOf(b: KeyBinding, ctx: KeyContext): string {
  const keys = b.keys.filter((k) => b.widget || usable(k, ctx));
  return (keys.length ? keys : b.keys).map(keyName).join('/');
}

const FOOTER_ORDER: readonly KeyBinding['group'][] = ['prompt', 'replay', 'session', 'view'];

/** Footer items, most useful first, merged where two bindings share a label. */
export function footerItems(ctx: KeyContext): {keys: string; label: string}[] {
  const items: {keys: string; label: string}[] = [];
  // Going back comes right after the prompt's keys: it is what a driver who wandered needs.
  const rank = (b: KeyBinding): number => (b.id === 'back' ? 0.5 : FOOTER_ORDER.indexOf(b.group));
  const ordered = activeBindings(ctx).sort((a, b) => rank(a) - rank(b));
  for (const b of ordered) {
    const label = labelOf(b, ctx);
    const keys = keysOf(b, ctx);
    const same = items.find((i) => i.label === label);
    if (same) same.keys = `${same.keys}/${keys}`;
    else items.push({keys, label});
  }
  return items;
}

/** The footer as one line of at most `width` characters; the help is always reachable. */
export function footerLine(ctx: KeyContext, width: number): string {
  const parts = footerItems(ctx).map((i) => `${i.keys} ${i.label}`);
  const help = parts.find((p) => p.endsWith(' help')) ?? '? help';
  const rest = parts.filter((p) => p !== help);
  let line = help;
  for (const part of rest) {
    if (textWidth(`${line}  ${part}`) > width) break;
    line = `${line}  ${part}`;
  }
  return line;
}

export const groupTitles: Record<KeyBinding['group'], string> = {
  prompt: 'At a prompt',
  session: 'The session',
  view: 'Looking around',
  replay: 'Replay',
};
