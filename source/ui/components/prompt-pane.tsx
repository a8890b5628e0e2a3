/**
 * What needs the driver: the prompt, what to check or what will run and where, how to
 * answer, and the answer being typed. A danger step's confirmation lists every host and
 * the command; a choice is a list (ink-select-input).
 */
import {Box, Text} from 'ink';
import React from 'react';
import {DONE_WORD} from '../../decisions/parse.js';
import type {PromptView, SessionState} from '../../store/fold.js';
import {
  NO_RETURN_LINE,
  promptCommands,
  promptHosts,
  safe,
  splitPromptText,
  wrapLine,
  wrapWords,
} from '../derive.js';
import type {Mode} from '../keys.js';
import {useColour, type Colour} from '../theme.js';

/** A prompt the console itself puts up (no journal event until it is answered). */
export type LocalPrompt = {kind: 'cancel'; step: string} | {kind: 'goto'};

export interface PromptLine {
  text: string;
  colour?: Colour;
  bold?: boolean;
}

export interface PromptModel {
  tone: 'danger' | 'attention' | 'trouble' | 'quiet';
  lines: PromptLine[];
  /** Lines that must stay whole (the hosts and the command of a danger step). */
  keep: number;
  hint: string;
  input: 'text' | 'none';
}

const titleOf = (state: SessionState, key: string): string =>
  safe(state.steps.find((s) => s.key === key)?.title ?? key);

const ANYWHERE = 'skip <reason> · abort';

/** What a prompt pane says, line by line, for a width (the layout asks for its height). */
export function promptModel(
  state: SessionState,
  prompt: PromptView | undefined,
  local: LocalPrompt | undefined,
  mode: Mode,
  width: number,
): PromptModel | undefined {
  const inner = Math.max(10, width - 4);
  const model = local ? localModel(state, local, inner) : storeModel(state, prompt, mode, inner);
  if (!model) return undefined;
  // Prompt text is read whole: wrap it (the kept lines are wrapped already).
  const wrapped = (lines: PromptLine[]): PromptLine[] =>
    lines.flatMap((l) => wrapLine(l.text, inner).map((text) => ({...l, text})));
  const kept = model.keep ? model.lines.slice(-model.keep) : [];
  return {
    ...model,
    lines: [...wrapped(model.lines.slice(0, model.lines.length - kept.length)), ...wrapped(kept)],
    keep: wrapped(kept).length,
  };
}

function storeModel(
  state: SessionState,
  prompt: PromptView | undefined,
  mode: Mode,
  inner: number,
): PromptModel | undefined {
  if (!prompt) return undefined;
  const title = titleOf(state, prompt.step);
  const {lines: prose} = splitPromptText(prompt.text);
  const commands = promptCommands(prompt);
  const body = (colour?: Colour): PromptLine[] =>
    prose
      .filter((l) => l.trim() && l.trim() !== title)
      .map((text) => ({text, ...(colour ? {colour} : {})}));
  const readOnly = mode !== 'live';
  // A gate's or a choice's help, where the driver is looking while it waits (the output
  // pane shows the step that ran last; a to-do's help is its prompt text already).
  const helpOf = state.steps.find((s) => s.key === prompt.step)?.help;
  const help: PromptLine[] =
    helpOf && (prompt.prompt === 'gate' || prompt.prompt === 'choice')
      ? [{text: `ℹ ${safe(helpOf)}`, colour: 'cyan'}]
      : [];
  // What skipping would give up, from the step's `guards` (prompt-shown, v2).
  const guards: PromptLine[] = [
    ...(prompt.guards
      ? [{text: `↷ skipping gives up: ${safe(prompt.guards)}`, colour: 'yellow' as const}]
      : []),
    ...(state.noReturn && prompt.prompt !== 'rollback'
      ? [{text: NO_RETURN_LINE, colour: 'magenta' as const}]
      : []),
  ];
  const model = (m: Omit<PromptModel, 'keep'> & {keep?: number}): PromptModel => ({
    keep: 0,
    ...m,
    lines: [
      ...m.lines.slice(0, m.lines.length - (m.keep ?? 0)),
      ...guards,
      ...m.lines.slice(m.lines.length - (m.keep ?? 0)),
    ],
    ...(readOnly
      ? {
          input: 'none',
          hint:
            mode === 'replay'
              ? 'the driver was asked this here; the next events show the answer'
              : 'read-only here: the driver answers this prompt in their console',
        }
      : {}),
  });
  switch (prompt.prompt) {
    case 'gate':
      return model({
        tone: 'attention',
        lines: [
          {text: `◆ GATE · ${title}`, bold: true, colour: 'yellow'},
          ...help,
          ...prose
            .filter((l) => l.trim() && l.trim() !== title)
            .map((text) => ({text: `☐ ${text}`})),
        ],
        hint: `type "${prompt.expects ?? 'go'}" then Enter to go on · ${ANYWHERE}`,
        input: 'text',
      });
    case 'confirm': {
      const hosts = promptHosts(state, prompt);
      const label = `on ${hosts.length === 1 ? 'host' : `all ${hosts.length} hosts`}:`;
      const oneLine = `${label} ${hosts.map(safe).join(', ')}`;
      const where: PromptLine[] =
        oneLine.length <= inner
          ? [{text: oneLine, bold: true}]
          : [
              {text: label, bold: true},
              ...wrapWords(hosts.map(safe), inner - 4).map((text) => ({
                text: `    ${text}`,
                bold: true,
              })),
            ];
      const what: PromptLine[] = commands.length
        ? [{text: 'It will run:'}, ...commands.map((c) => ({text: `  $ ${c}`, bold: true}))]
        : [];
      const keep: PromptLine[] = [...what, ...where];
      return model({
        tone: 'danger',
        lines: [
          {text: `⚠ DANGER · ${title}`, bold: true, colour: 'red'},
          ...body().filter((l) => !/^DANGER: type /.test(l.text)),
          ...keep,
        ],
        keep: keep.length,
        hint: `type "${prompt.expects ?? ''}" then Enter to run it · ${ANYWHERE}`,
        input: 'text',
      });
    }
    case 'manual':
      return model({
        tone: 'attention',
        lines: [{text: `◆ TO DO · ${title}`, bold: true, colour: 'yellow'}, ...body()],
        hint: `type "${DONE_WORD}" then Enter when it is done ("done <note>" keeps a note) · ${ANYWHERE}`,
        input: 'text',
      });
    case 'choice':
      return model({
        tone: 'attention',
        lines: [
          {text: `◆ CHOOSE · ${title}`, bold: true, colour: 'yellow'},
          ...help,
          ...body(),
          ...(prompt.options ?? []).map((o, i) => {
            const label = prompt.labels?.[i];
            return {
              text: `  ${i + 1}) ${safe(o)}${label && label !== o ? ` — ${safe(label)}` : ''}`,
              bold: true,
            };
          }),
        ],
        keep: (prompt.options ?? []).length,
        hint: `type the number or id of an option, then Enter · ${ANYWHERE}`,
        input: 'text',
      });
    case 'failed': {
      const step = state.steps.find((s) => s.key === prompt.step);
      return model({
        tone: 'trouble',
        lines: [
          {text: `✖ FAILED · ${title}`, bold: true, colour: 'red'},
          ...(step?.reason ? [{text: safe(step.reason), colour: 'red' as const}] : []),
          ...body().filter((l) => !l.text.startsWith(`"${title}" failed`)),
        ],
        hint:
          step?.kind === 'command' && (step.hosts?.length ?? 0) > 1
            ? 'retry · exclude <host> <why> · done <why> · skip <why> · abort'
            : 'retry · done <reason> (it did work) · skip <reason> · abort',
        input: 'text',
      });
    }
    case 'unknown':
      return model({
        tone: 'trouble',
        lines: [{text: `? OUTCOME UNKNOWN · ${title}`, bold: true, colour: 'magenta'}, ...body()],
        hint: 'rerun · done <reason> (it did run) · skip <reason> · abort',
        input: 'text',
      });
    case 'watch-timeout':
      return model({
        tone: 'trouble',
        lines: [{text: `⌛ TIMED OUT · ${title}`, bold: true, colour: 'red'}, ...body()],
        hint: `wait (keep waiting) · investigate · ${ANYWHERE}`,
        input: 'text',
      });
    case 'rollback':
      return model({
        tone: 'danger',
        lines: [{text: `↺ ROLL BACK? · aborted at ${title}`, bold: true, colour: 'red'}, ...body()],
        hint: 'type "rollback" then Enter to run the rollback · "abort" ends without rolling back',
        input: 'text',
      });
  }
}

function localModel(state: SessionState, local: LocalPrompt, inner: number): PromptModel {
  switch (local.kind) {
    case 'cancel': {
      const step = state.steps.find((s) => s.key === local.step);
      const hosts = [...new Set((step?.runs ?? []).map((r) => r.host))];
      return {
        tone: 'danger',
        lines: [
          {text: `⚠ CANCEL · stop "${titleOf(state, local.step)}"?`, bold: true, colour: 'red'},
          {text: 'The command is killed on:'},
          ...wrapWords(hosts.map(safe), inner - 4).map((text) => ({text: `    ${text}`})),
        ],
        keep: 0,
        hint: 'type "cancel" then Enter to stop it · Esc keeps it running',
        input: 'text',
      };
    }
    case 'goto':
      return {
        tone: 'quiet',
        lines: [{text: 'Go to a time in the session', bold: true}],
        keep: 0,
        hint: 'hh:mm[:ss] as shown (UTC) or +offset from the start (+90s, +1h5m), then Enter · Esc',
        input: 'text',
      };
  }
}

/** Lines the pane takes for a model (border, lines, hint, input, message). */
export function promptHeight(model: PromptModel | undefined, message: boolean): number {
  if (!model) return 0;
  const input = model.input === 'text' ? 1 : 0;
  return 2 + model.lines.length + 1 + input + (message ? 1 : 0);
}

const borderOf: Record<
  PromptModel['tone'],
  {style: 'double' | 'round' | 'single'; colour: Colour}
> = {
  danger: {style: 'double', colour: 'red'},
  attention: {style: 'round', colour: 'yellow'},
  trouble: {style: 'round', colour: 'red'},
  quiet: {style: 'single', colour: 'gray'},
};

export interface PromptPaneProps {
  model: PromptModel;
  rows: number;
  width: number;
  text: string;
  /** Keys count now (the guard time after the prompt appeared is over). */
  armed: boolean;
  ignored: number;
  error?: string;
}

export function PromptPane(props: PromptPaneProps) {
  const {model, rows, width, text, ignored, error} = props;
  const colour = useColour();
  const border = borderOf[model.tone];
  const message =
    error ??
    (ignored
      ? `${ignored} key${ignored === 1 ? '' : 's'} typed before this prompt appeared ${ignored === 1 ? 'was' : 'were'} ignored`
      : undefined);
  const inputRows = model.input === 'text' ? 1 : 0;
  // Inside the border: lines, hint, input, message. Prose goes first when rows are short;
  // the title, the hosts and the command of a danger step stay.
  const room = Math.max(1, rows - 2 - 1 - inputRows - (message ? 1 : 0));
  let lines = model.lines;
  if (lines.length > room) {
    const head = lines.slice(0, 1);
    const kept = model.keep ? lines.slice(-model.keep) : [];
    const prose = lines.slice(1, lines.length - model.keep);
    const proseRoom = Math.max(0, room - 1 - kept.length);
    lines = [...head, ...prose.slice(0, proseRoom), ...kept];
    if (lines.length > room) {
      const cut = lines.length - room + 1;
      lines = [
        ...lines.slice(0, room - 1),
        {text: `  … and ${cut} more lines (a taller terminal shows them)`, colour: 'yellow'},
      ];
    }
  }
  return (
    <Box
      flexDirection="column"
      width={width}
      height={rows}
      overflowY="hidden"
      borderStyle={border.style}
      borderColor={colour(border.colour)}
      paddingX={1}
    >
      {lines.map((l, i) => (
        <Text key={i} bold={l.bold} color={colour(l.colour)} wrap="truncate-end">
          {l.text}
        </Text>
      ))}
      <Text color={colour('gray')} wrap="truncate-end">
        {model.hint}
      </Text>
      {model.input === 'text' && (
        <Text wrap="truncate-start">
          {'> '}
          {text}
          <Text inverse> </Text>
        </Text>
      )}
      {message && (
        <Text color={colour(error ? 'red' : 'yellow')} wrap="truncate-end">
          {message}
        </Text>
      )}
    </Box>
  );
}
