/**
 * `${…}` in a runbook's text: the one reader of the template syntax, for the engine (which
 * fills it) and `validate` (which checks the names and reports raw uses).
 *
 * - `${name}`, `${secret.NAME}`: a value. In a shell command it reaches the shell as ONE
 *   word, whatever it holds (`$(…)`, `;`, quotes, newlines, globs …): quoted for where it
 *   stands (bare, inside '…', inside "…", inside `…`).
 * - `${raw:name}`: the value pasted as shell text, unquoted: the author means shell syntax
 *   (a list of flags, a pipe). `validate` lists every raw use.
 * - `$${NAME}`: a literal `${NAME}` for the shell (its own parameter expansion).
 *
 * Text that is shown, not run (titles, messages, the danger line), is filled as is.
 */
import {shellQuote} from '../transport/shell.js';

const TOKEN = /\$\$\{|\$\{(raw:)?([A-Za-z_][\w.-]*)\}/g;

export interface TemplateUse {
  name: string;
  raw: boolean;
  /** Offset of the `${` in the text. */
  index: number;
}

/** The `${…}` a text uses (escaped `$${…}` is not a use). */
export function templateUses(text: string): TemplateUse[] {
  const uses: TemplateUse[] = [];
  for (const m of text.matchAll(TOKEN)) {
    if (m[0] === '$${') continue;
    uses.push({name: m[2]!, raw: !!m[1], index: m.index});
  }
  return uses;
}

type Frame = 'plain' | 'subst' | 'paren' | 'arith' | 'single' | 'double' | 'backtick';

/** Follows shell quoting through a command as it is built, to know where a value lands. */
class ShellQuoting {
  private stack: Frame[] = ['plain'];
  private comment = false;
  private last = '\n';

  get context(): 'plain' | 'single' | 'double' | 'backtick' | 'arith' {
    if (this.comment) return 'plain';
    const top = this.stack.at(-1)!;
    return top === 'single' || top === 'double' || top === 'backtick' || top === 'arith'
      ? top
      : 'plain';
  }

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const next = text[i + 1];
      const top = this.stack.at(-1)!;
      const previous = this.last;
      this.last = c;
      if (this.comment) {
        if (c === '\n') this.comment = false;
        continue;
      }
      if (top === 'single') {
        if (c === "'") this.stack.pop();
        continue;
      }
      if (c === '\\') {
        i++;
        this.last = text[i] ?? c;
        continue;
      }
      if (c === '$' && next === '(') {
        const arith = text[i + 2] === '(';
        this.stack.push(arith ? 'arith' : 'subst');
        i += arith ? 2 : 1;
        continue;
      }
      if (top === 'arith' && c === ')' && next === ')') {
        this.stack.pop();
        i++;
        continue;
      }
      if (c === '`') {
        if (top === 'backtick') this.stack.pop();
        else this.stack.push('backtick');
        continue;
      }
      if (top === 'double') {
        if (c === '"') this.stack.pop();
        continue;
      }
      if (c === "'") this.stack.push('single');
      else if (c === '"') this.stack.push('double');
      else if (c === '(') this.stack.push('paren');
      else if (c === ')' && (top === 'subst' || top === 'paren')) this.stack.pop();
      else if (top === 'arith') continue;
      else if (c === '#' && /[\s;&|(]/.test(previous)) this.comment = true;
    }
  }

  /**
   * A value as one shell word (or as part of the quoted word it stands in). A value that
   * starts with `~/` keeps meaning the home directory on the target: `"$HOME"/'rest'`.
   */
  quote(value: string, name: string): string {
    this.last = 'v';
    const home = value === '~' || value.startsWith('~/');
    const rest = value.slice(2);
    switch (this.context) {
      case 'single':
        return value.replace(/'/g, `'\\''`);
      case 'double': {
        const escape = (v: string): string => v.replace(/[\\$`"]/g, '\\$&');
        return home ? (value === '~' ? '$HOME' : `$HOME/${escape(rest)}`) : escape(value);
      }
      case 'arith':
        if (!/^-?\d+$/.test(value.trim()))
          throw new MissingVariable(
            `\${${name}} is used in arithmetic $((…)) but its value ${JSON.stringify(value.slice(0, 40))} is not a whole number`,
          );
        return value.trim();
      case 'backtick':
        return shellQuote(value).replace(/[\\`$]/g, '\\$&');
      default:
        return home
          ? value === '~'
            ? '"$HOME"'
            : `"$HOME"/${shellQuote(rest)}`
          : shellQuote(value);
    }
  }
}

/** A name with no value, or a value that cannot stand where it is used. */
export class MissingVariable extends Error {}

/**
 * Fills a template. `shell`: each value quoted for where it stands (raw uses pasted);
 * `text`: values as they are. A name `lookup` does not know goes to `onMissing`, which
 * returns the text to put there (or throws); by default it is an error.
 */
export function fillTemplate(
  template: string,
  lookup: (name: string) => string | undefined,
  mode: 'shell' | 'text',
  onMissing: (name: string, whole: string) => string = (name) => {
    throw new MissingVariable(
      `\${${name}} has no value (not in the profile, not captured by an earlier step)`,
    );
  },
): string {
  const shell = mode === 'shell' ? new ShellQuoting() : undefined;
  let out = '';
  let at = 0;
  const literal = (text: string): void => {
    shell?.feed(text);
    out += text;
  };
  for (const m of template.matchAll(TOKEN)) {
    literal(template.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[0] === '$${') {
      literal('${');
      continue;
    }
    const raw = !!m[1];
    const name = m[2]!;
    const value = lookup(name);
    if (value === undefined) {
      literal(onMissing(name, m[0]));
      continue;
    }
    if (!shell) out += value;
    else if (raw) literal(value);
    else out += shell.quote(value, name);
  }
  literal(template.slice(at));
  return out;
}
