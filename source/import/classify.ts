/**
 * The classifier: blocks (markdown.ts) → an outline of phases and draft steps. Headings
 * open phases; numbered items, top-level bullets and imperative paragraphs are steps;
 * code, and commands written inside a sentence, are command steps; "type go" and "wait
 * until" sentences are gates, and watches when they wait for a count; everything else is
 * help for the step or phase it stands under. Every guess a person must confirm carries
 * a TODO.
 */
import type {Block, CodeBlock, HeadingBlock, ItemBlock, TextBlock} from './markdown.js';
import {
  asksToTypeGo,
  CONTENTS,
  dueHintOf,
  isGate,
  isImperative,
  isLabel,
  onlyHintOf,
  sentenceKind,
  titleOf,
  untilOf,
  URL,
  type DraftUntil,
} from './sentences.js';
import {inlineCommands, looksDangerous, splitJoined, straightQuotes, tidy} from './shell-text.js';

export type {DraftUntil} from './sentences.js';

/** A step as the text suggests it, before it becomes vocabulary. */
export interface DraftStep {
  kind: 'manual' | 'command' | 'gate' | 'watch';
  title: string;
  /** The item's number path as written or nested (`"4.5"`), for the id. */
  number?: string;
  help: string[];
  /** Line in the source. */
  line: number;
  /** command: the shell text (lines joined by newlines). */
  run?: string;
  /** command: found inside a sentence, or in an export that may have joined lines. */
  fromProse?: boolean;
  danger?: boolean;
  /** watch: the condition the sentence suggests. */
  until?: DraftUntil;
  /** gate: the sentence asks to type go into a running script. */
  typeGo?: boolean;
  /** The text names a site variant ("CyVerse only"). */
  onlyHint?: string;
  links: string[];
}

export interface DraftPhase {
  title: string;
  line: number;
  help: string[];
  /** The heading reads as a time before the release ("Two Weeks Prior to Release"). */
  dueHint?: string;
  steps: DraftStep[];
}

export interface Outline {
  title: string;
  phases: DraftPhase[];
  /** Numbered items in the source (`1.`, `4.5`, `Step 3:`), for the author's comparison. */
  numberedInSource: number;
}

/** The commands of a code block, and what is not a command (output under a `$ ` prompt). */
function codeCommands(block: CodeBlock): {run?: string; output: string[]} {
  const lines = block.lines.map(straightQuotes);
  while (lines.length && !lines.at(-1)!.trim()) lines.pop();
  while (lines.length && !lines[0]!.trim()) lines.shift();
  const lang = block.lang?.toLowerCase();
  if (
    lang &&
    !['shell', 'bash', 'sh', 'zsh', 'console', 'shell-session', 'terminal'].includes(lang)
  )
    return {output: lines};
  if (lines.some((l) => /^\s*\$\s/.test(l))) {
    const run = lines.filter((l) => /^\s*\$\s/.test(l)).map((l) => l.replace(/^\s*\$\s+/, ''));
    return {run: run.join('\n'), output: lines.filter((l) => !/^\s*\$\s/.test(l))};
  }
  return lines.length ? {run: lines.join('\n'), output: []} : {output: []};
}

interface Open {
  indent: number;
  ordered: boolean;
  /** The step this item is, or the step it details. */
  step?: DraftStep;
  number?: string;
  /** How deep a detail sits under its step. */
  depth: number;
  /** A detail of `step`, not the step itself. */
  detail?: boolean;
}

/** Reads blocks into an outline. */
export function classify(blocks: readonly Block[]): Outline {
  const phases: DraftPhase[] = [];
  let phase: DraftPhase | undefined;
  let stack: Open[] = [];
  let label: string | undefined;
  const title =
    blocks.find((b): b is HeadingBlock => b.kind === 'heading' && !CONTENTS.test(b.text))?.text ??
    'Imported runbook';
  /** Inside a table of contents: its items are links to sections, not steps. */
  let contents = false;

  const currentPhase = (line: number): DraftPhase => {
    if (!phase) {
      phase = {title, line, help: [], steps: []};
      phases.push(phase);
    }
    return phase;
  };
  const lastStep = (): DraftStep | undefined => phase?.steps.at(-1);
  const add = (step: DraftStep): DraftStep => {
    currentPhase(step.line).steps.push(step);
    return step;
  };
  const draft = (
    kind: DraftStep['kind'],
    text: string,
    line: number,
    number?: string,
  ): DraftStep => {
    const {title, rest, links} = titleOf(text);
    const only = onlyHintOf(title);
    return {
      kind,
      title: title || 'Step',
      ...(number ? {number} : {}),
      help: rest ? [rest] : [],
      line,
      links,
      ...(only ? {onlyHint: only} : {}),
    };
  };
  /** A sentence that is a step: a command, a gate, a watch or a manual item. */
  const sentenceSteps = (text: string, line: number, number?: string): DraftStep[] => {
    const found = inlineCommands(text);
    const sentence = found.rest || text;
    const steps: DraftStep[] = [];
    if (isGate(sentence) || !found.commands.length) {
      const kind = sentenceKind(sentence);
      const step = draft(kind, sentence, line, number);
      if (kind === 'watch') step.until = untilOf(sentence);
      if (kind === 'gate' && asksToTypeGo(sentence)) step.typeGo = true;
      steps.push(step);
    }
    for (const run of found.commands) {
      const step = found.rest
        ? draft('command', sentence, line, number)
        : draft(
            'command',
            run.length <= 60 ? `Run ${run}` : `Run ${run.slice(0, 56)} …`,
            line,
            number,
          );
      if (steps.length) step.title = `${step.title} (${steps.length + 1})`;
      step.run = splitJoined(run);
      step.fromProse = true;
      if (looksDangerous(run)) step.danger = true;
      steps.push(step);
    }
    return steps;
  };
  /** Code under a step: the step's command, or one more command after it. */
  const attachCode = (owner: DraftStep | undefined, block: CodeBlock, titleText?: string): void => {
    const code = codeCommands(block);
    const output = code.output;
    const run = block.fenced ? code.run : code.run?.split('\n').map(splitJoined).join('\n');
    // Lines that had to be split were joined by an export: worth a look.
    const fromProse = run !== code.run;
    if (!run) {
      const target = owner ?? lastStep();
      const what = block.lang ? `${block.lang}:` : 'Output:';
      if (target) target.help.push(`${what}\n${output.join('\n')}`);
      else currentPhase(block.line).help.push(`${what}\n${output.join('\n')}`);
      return;
    }
    const extra = output.length ? [`Expected output:\n${output.join('\n')}`] : [];
    const dangerous = looksDangerous(run);
    if (owner && owner.kind === 'manual' && !owner.run) {
      Object.assign(owner, {
        kind: 'command',
        run,
        ...(fromProse ? {fromProse} : {}),
        ...(dangerous ? {danger: true} : {}),
      });
      owner.help.push(...extra);
      return;
    }
    const named = titleText && !/^(run|execute)( the following| this)?:?$/i.test(titleText.trim());
    const base = named
      ? draft('command', titleText, block.line)
      : owner
        ? {...draft('command', owner.title, block.line, owner.number), help: []}
        : draft('command', `Run ${run.split('\n')[0]!.slice(0, 60)}`, block.line);
    base.run = run;
    if (fromProse) base.fromProse = true;
    if (dangerous) base.danger = true;
    base.help.push(...extra);
    add(base);
  };

  /** Paragraphs that title the code after them ("Restart the service:"). */
  const pendingTitles = new Map<Block, string>();
  for (const [k, block] of blocks.entries()) {
    const next = blocks[k + 1];
    if (block.kind === 'heading') contents = CONTENTS.test(block.text);
    if (contents) continue;
    switch (block.kind) {
      case 'heading': {
        stack = [];
        const due = dueHintOf(block.text);
        phase = {
          title: block.text,
          line: block.line,
          help: [],
          steps: [],
          ...(due ? {dueHint: due} : {}),
        };
        phases.push(phase);
        break;
      }
      case 'item':
        itemBlock(block);
        break;
      case 'code': {
        const titled = pendingTitles.get(block);
        if (titled !== undefined) {
          attachCode(undefined, block, titled);
          break;
        }
        // Under the item it follows, or the deepest open item it is indented under.
        if (blocks[k - 1]?.kind !== 'item')
          while (stack.length && stack.at(-1)!.indent >= block.indent) stack.pop();
        attachCode(stack.at(-1)?.step, block);
        break;
      }
      case 'text':
        textBlock(block, next);
        break;
    }
  }

  function itemBlock(block: ItemBlock): void {
    let sibling: Open | undefined;
    while (stack.length && stack.at(-1)!.indent >= block.indent) sibling = stack.pop();
    // A bullet right after a numbered item at the same level notes that item (exports
    // flatten the nesting), unless it opens a list of its own ("CyVerse only:").
    const notes =
      !block.ordered &&
      (sibling?.ordered || sibling?.detail) &&
      sibling.indent === block.indent &&
      !/:$/.test(block.text);
    const parent = notes ? sibling : stack.at(-1);
    const number = !block.ordered
      ? undefined
      : block.number?.includes('.') || !parent?.number
        ? block.number
        : `${parent.number}.${block.number}`;
    const text = label ? `${label}: ${block.text}` : block.text;
    label = undefined;
    const found = inlineCommands(block.text);
    const isStep =
      block.ordered ||
      (!parent && !notes) ||
      found.commands.length > 0 ||
      isGate(found.rest || block.text);
    if (!isStep) {
      // A detail of the step above: its help, one bullet a line.
      const owner = parent?.step;
      const depth = notes || !parent || parent.step !== owner ? 0 : parent.depth;
      const isDetail =
        !notes && parent && !parent.ordered && parent.step === owner && parent.detail;
      const level = isDetail ? depth + 1 : 0;
      if (owner) {
        owner.help.push(`${'  '.repeat(level)}• ${tidy(block.text)}`);
        owner.links.push(...[...block.text.matchAll(URL)].map((m) => m[0]));
      }
      stack.push({
        indent: block.indent,
        ordered: false,
        depth: level,
        detail: true,
        ...(owner ? {step: owner} : {}),
        ...(parent?.number ? {number: parent.number} : {}),
      });
      return;
    }
    // A bullet promoted to a step (it holds a command) carries its parent's number.
    const steps = sentenceSteps(text, block.line, number ?? parent?.number);
    steps.forEach(add);
    stack.push({
      indent: block.indent,
      ordered: block.ordered,
      depth: 0,
      step: steps.at(-1)!,
      ...(number ? {number} : {}),
    });
  }

  function textBlock(block: TextBlock, next: Block | undefined): void {
    if (isLabel(block.text)) {
      label = block.text.replace(/:$/, '');
      return;
    }
    const text = label ? `${label}: ${block.text}` : block.text;
    label = undefined;
    const open = stack.at(-1);
    // Indented under an open item: more of that item.
    if (open && block.indent > open.indent) {
      const found = inlineCommands(block.text);
      if (found.commands.length && open.step) sentenceSteps(text, block.line).forEach(add);
      else if (open.step) open.step.help.push(tidy(text));
      return;
    }
    stack = [];
    if (next?.kind === 'code' && codeCommands(next).run) {
      // The prose right before code introduces it ("Restart the service:", "To get the
      // external IPs, run"): the code's title. Consumed when the code comes.
      pendingTitles.set(next, text);
      return;
    }
    if (
      isImperative(block.text) ||
      inlineCommands(block.text).commands.length ||
      isGate(block.text)
    ) {
      sentenceSteps(text, block.line).forEach(add);
      return;
    }
    const target = lastStep();
    if (target) target.help.push(tidy(text));
    else currentPhase(block.line).help.push(tidy(text));
  }

  return {
    title,
    phases,
    numberedInSource: blocks.filter((b) => b.kind === 'item' && b.ordered).length,
  };
}
