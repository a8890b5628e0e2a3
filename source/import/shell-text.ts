/**
 * What a line of a runbook says about the shell: whether it reads as a command, the
 * commands written inline in a sentence, and whether a command looks destructive.
 * Heuristics, kept in one place so the tokenizer and the classifier agree.
 */

/** Programs a runbook's commands commonly start with. */
const PROGRAMS = new Set(
  (
    'alias apt apt-get aws awk bash cat cd chmod chown cp crontab curl dig docker docker-compose ' +
    'echo env export fleetctl gcloud git grep gsutil helm journalctl kill kubectl less ln ls ' +
    'make mkdir mv mvn mysql node npm npx pg_dump pg_restore pip psql puppet python python3 ' +
    'rm rsync scp service sh ssh ssh-add ssh-keygen sudo systemctl tail tar terraform tmux ' +
    'vi vim wget yum'
  ).split(' '),
);

/** The first word of a command line, without a `$ ` prompt or leading `sudo`. */
export function programOf(line: string): string {
  const words = line
    .trim()
    .replace(/^\$\s+/, '')
    .split(/\s+/);
  const first = words[0] ?? '';
  return first === 'sudo' ? (words[1] ?? '') : first;
}

/**
 * A line reads as a shell command: a `$ ` prompt, a path to a program (`./x`, `/usr/…`),
 * a program named like a tool (`…ctl`, `….sh`, `….py`), or a well-known program followed
 * by an argument that does not read as English.
 */
export function looksLikeCommand(line: string): boolean {
  const text = line.trim();
  if (!text || text.length > 400) return false;
  if (/^\$\s+\S/.test(text)) return true;
  const words = text.split(/\s+/);
  const program = programOf(text);
  if (/^(\.{1,2}\/|~\/|\/)[\w./-]+$/.test(program)) return true;
  if (/^[a-z][\w-]*(ctl|\.sh|\.py)$/.test(program) && words.length > 1) return true;
  if (!PROGRAMS.has(program)) return false;
  if (words.length === 1) return ['ls', 'make'].includes(program);
  // "Restart the service" starts with a word, not a program; "git pull" starts with one.
  const second = words[program === words[0] ? 1 : 2] ?? '';
  if (/^(the|a|an|to|and|or|of|in|on|into|with|for|is|are|that|this|your|its)$/i.test(second))
    return false;
  // A sentence ends with a full stop; a command rarely does.
  return !/[\w"'”)]\.$/.test(text) || /\s-{1,2}\w/.test(text);
}

/** Straight quotes for the typographic ones an export puts into commands. */
export const straightQuotes = (text: string): string =>
  text.replace(/[“”„]/g, '"').replace(/[‘’]/g, "'");

/** A command found inside a sentence, and the sentence without it. */
export interface InlineCommands {
  commands: string[];
  /** The sentence with the commands taken out (what the step is called). */
  rest: string;
}

/**
 * Commands written inside a sentence: in backticks (`` `git pull` ``), after a language
 * word left by an export that flattened a code block (`… back it up: shell pg_dump …`),
 * after a colon (`Restart PostgreSQL: systemctl restart postgresql`), or in parentheses
 * (`(cd /srv/deploy)`).
 */
export function inlineCommands(sentence: string): InlineCommands {
  const commands: string[] = [];
  let rest = sentence;
  // Backticks, also ```lang …``` spans a flattened export left on one line.
  rest = rest.replace(/(`+)(?:shell|bash|sh|console)?\s*([^`]+?)\1/g, (all, _ticks, inner) => {
    const code = String(inner).trim();
    if (looksLikeCommand(code)) {
      commands.push(code);
      return '';
    }
    return all;
  });
  // "… : shell CMD" (a flattened ```shell block): everything after the language word.
  const flattened = /(^|[\s:])`*(?:shell|bash|console)\s+(\S.*)$/.exec(rest);
  if (flattened && (looksLikeCommand(flattened[2]!) || looksLikeProgram(flattened[2]!))) {
    commands.push(flattened[2]!.trim());
    rest = rest.slice(0, flattened.index + flattened[1]!.length);
  } else {
    const afterColon = /:\s+(\S.*)$/.exec(rest);
    if (afterColon && looksLikeCommand(afterColon[1]!)) {
      commands.push(afterColon[1]!.trim());
      rest = rest.slice(0, afterColon.index);
    }
  }
  rest = rest.replace(/\(([^()]+)\)/g, (all, inner) => {
    if (looksLikeCommand(String(inner))) {
      commands.push(String(inner).trim());
      return '';
    }
    return all;
  });
  if (!commands.length && looksLikeCommand(sentence)) {
    const {command, remark} = withoutRemark(sentence.trim());
    return {commands: [straightQuotes(command)], rest: remark};
  }
  const remarks: string[] = [];
  const cleaned = commands.map((c) => {
    const {command, remark} = withoutRemark(c);
    if (remark) remarks.push(remark);
    return straightQuotes(command.replace(/\s*`+$/, ''));
  });
  return {commands: cleaned, rest: tidy([rest, ...remarks].join(' '))};
}

/** After a language word: a first word no English sentence starts with (`atmosphere-docker`). */
const looksLikeProgram = (text: string): boolean =>
  /^[a-z][\w]*[-_./][\w./-]*\s+\S/.test(text.trim());

/**
 * An export that flattened a code block joins its lines: `git reset --hard git pull`.
 * Split where the first program comes again, and after `cd DIR`, outside quotes. The
 * result still carries a TODO to check it against the source.
 */
export function splitJoined(command: string): string {
  const words = command.trim().split(/\s+/);
  const first = programOf(command);
  const lines: string[][] = [[]];
  let quotes = '';
  for (const [i, word] of words.entries()) {
    const current = lines.at(-1)!;
    const previous = words[i - 1];
    const startsAgain =
      !quotes &&
      current.length > 1 &&
      (word === first ||
        (current.length === 2 && current[0] === 'cd' && PROGRAMS.has(word) && previous !== 'cd'));
    if (startsAgain) lines.push([word]);
    else current.push(word);
    for (const c of word) {
      if ((c === '"' || c === "'") && (!quotes || quotes === c)) quotes = quotes ? '' : c;
    }
  }
  return lines.map((l) => l.join(' ')).join('\n');
}

/** "git commit && git review (for the deploy repo)": the remark in parentheses is not shell. */
function withoutRemark(command: string): {command: string; remark: string} {
  const m = /\s+\(([\w\s,&'.-]+)\)\.?$/.exec(command);
  if (!m || looksLikeCommand(m[1]!)) return {command, remark: ''};
  return {command: command.slice(0, m.index), remark: `(${m[1]!.trim()})`};
}

/** A sentence without the dangling punctuation a removed command leaves. */
export const tidy = (text: string): string =>
  text
    .replace(/\s+/g, ' ')
    .replace(/\s+([,;:]|\.(?=\s|$))/g, '$1')
    .replace(/[\s,;:(.-]+$/, '')
    .trim();

/**
 * Words that say a command can destroy something: it gets `danger: true` and a TODO to
 * review it.
 */
const DANGER =
  /\brm\s+(-\w*[rf]|--recursive|--force)|\b(drop|delete|kill|wipe|terminate|destroy|truncate|purge|mkfs)\b|--force\b|\breset\s+--hard\b|\bdd\s+if=/i;

/** The command looks destructive. */
export const looksDangerous = (command: string): boolean => DANGER.test(command);
