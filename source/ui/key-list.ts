/**
 * The key list as Markdown, drawn from the key table (the README's "The console" section
 * carries it; a test keeps the two the same).
 */
import {
  activeBindings,
  bindings,
  groupTitles,
  keyName,
  type KeyBinding,
  type KeyContext,
} from './keys.js';

const keysText = (b: KeyBinding): string => b.keys.map((k) => `\`${keyName(k)}\``).join(' ');

/** The modes in which a binding ever applies (tried against every kind of moment). */
function modesOf(b: KeyBinding): string {
  const modes: KeyContext['mode'][] = [];
  for (const mode of ['live', 'read-only', 'replay'] as const) {
    const some = (['main', 'log', 'help'] as const).some((view) =>
      (['none', 'text'] as const).some((focus) =>
        [true, false].some((flag) =>
          activeBindings({
            mode,
            view,
            focus,
            answerEmpty: flag,
            hostTabs: 2,
            running: flag,
            away: flag,
            closed: !flag,
            ...(mode === 'replay' ? {replay: {paused: flag, follow: flag, phases: 3}} : {}),
          }).includes(b),
        ),
      ),
    );
    if (some) modes.push(mode);
  }
  return modes.length === 3 ? 'all' : modes.join(', ');
}

export function keyListMarkdown(): string {
  const lines = ['| Keys | What it does | Where |', '|---|---|---|'];
  for (const group of Object.keys(groupTitles) as KeyBinding['group'][]) {
    for (const b of bindings.filter((x) => x.group === group))
      lines.push(`| ${keysText(b)} | ${b.help.replace(/\|/g, '\\|')} | ${modesOf(b)} |`);
  }
  return lines.join('\n');
}
