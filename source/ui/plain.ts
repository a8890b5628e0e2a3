/**
 * The line-oriented view: one line per event, for pipes, CI and plain terminals. Prompts
 * are asked on the terminal when there is one; otherwise answered by flags or refused.
 */
import readline from 'node:readline';
import type {JournalEntry} from '../journal/events.js';
import {formatDuration} from '../runbook/duration.js';
import {describeAttempt, type SessionState} from '../store/fold.js';
import {fill, NO_RETURN_LINE, outcomeWords} from './derive.js';
import {sanitize} from './sanitize.js';

const clock = (iso: string): string => iso.slice(11, 19);

const stepTitle = (state: SessionState, key: string): string =>
  fill(state.steps.find((s) => s.key === key)?.title ?? key, state.vars);

/**
 * One printable line (or a few) for an entry, or nothing. `state` is after the entry.
 * Every line passes the one escaper (titles, reasons, notices, values too).
 */
export function describeEntry(e: JournalEntry, state: SessionState): string | undefined {
  const text = describeRaw(e, state);
  return text === undefined
    ? undefined
    : text
        .split('\n')
        .map((l) => sanitize(l))
        .join('\n');
}

function describeRaw(e: JournalEntry, state: SessionState): string | undefined {
  const t = `[${clock(e.time)}]`;
  switch (e.type) {
    case 'session-opened':
      return `${t} session ${e.session}: ${e.siteTitle} on ${e.profile}${e.dryRun ? ' (dry run: nothing runs)' : ''}, driven by ${e.driver}${
        e.runTimeVariables && Object.keys(e.runTimeVariables).length
          ? `\n    run-time values: ${Object.entries(e.runTimeVariables)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`
          : ''
      }`;
    case 'session-resumed':
      return `${t} resumed by ${e.driver} after event ${e.from}`;
    case 'phase-entered':
      return `${t} ══ ${fill(state.phases.find((p) => p.id === e.phase)?.title ?? e.phase, state.vars)}`;
    case 'step-started':
      return `${t} ▶ ${stepTitle(state, e.step)}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}\n${e.runs
        .map((r) => `    $ ${r.host === 'local' ? '' : `[${r.host}] `}${sanitize(r.command)}`)
        .join('\n')}`;
    case 'output': {
      const text = e.text ?? `(binary) ${Buffer.from(e.b64 ?? '', 'base64').length} bytes`;
      const lines = sanitize(text).replace(/\n$/, '').split('\n');
      return lines.map((l) => `    ${e.host === 'local' ? '' : `${e.host}│ `}${l}`).join('\n');
    }
    case 'output-progress':
      return undefined;
    case 'output-truncated':
      return `    ${e.host}│ … ${e.omittedBytes} bytes left out of the journal (of ${e.totalBytes}; sha256 ${e.sha256.slice(0, 16)})`;
    case 'host-finished':
      return e.outcome === 'ok'
        ? undefined
        : `    ${e.host}: ${e.outcome}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}${e.error ? `: ${e.error}` : ''}`;
    case 'count-sampled':
      return `${t}   ◷ ${e.value ?? '?'} (until ${e.target})${
        e.hosts?.length
          ? ` · ${e.hosts.map((h) => `${h.host} ${h.value ?? '?'} ${h.holds ? '✓' : '✗'}`).join(', ')}`
          : ''
      }`;
    case 'attempt-ended':
      return `${t}   ↻ ${sanitize(describeAttempt(e))}`;
    case 'count-stalled':
      return `${t}   ⚠ the count has not moved from ${e.value ?? '?'} for ${formatDuration(e.sinceMs)}`;
    case 'prompt-shown': {
      const options = (e.options ?? []).map(
        (o, i) =>
          `    ${i + 1}) ${o}${e.labels?.[i] && e.labels[i] !== o ? ` — ${e.labels[i]}` : ''}`,
      );
      return [
        `${t} ? ${stepTitle(state, e.step)}`,
        ...e.text.split('\n').map((l) => `    ${l}`),
        ...options,
        ...(state.noReturn && e.prompt !== 'rollback' ? [`    ${NO_RETURN_LINE}`] : []),
      ]
        .map((l) => sanitize(fill(l, state.vars)))
        .join('\n');
    }
    case 'decision':
      return `${t}   → ${e.by}: ${e.decision}${e.value ? ` "${e.value}"` : ''}${e.reason ? ` (${e.reason})` : ''}`;
    case 'variable-captured':
      return `${t}   ${e.name} = ${e.value}`;
    case 'notice':
      return `${t}   ${e.level === 'info' ? 'ℹ' : e.level === 'warn' ? '⚠' : '✖'} ${e.text}`;
    case 'step-finished': {
      const mark = {
        ok: '✓',
        done: '✓',
        skipped: '↷',
        failed: '✖',
        'timed-out': '⌛',
        unknown: '?',
        canceled: '✖',
      }[e.outcome];
      return `${t} ${mark} ${stepTitle(state, e.step)}: ${e.outcome}${e.exitCode !== undefined && e.exitCode !== null && e.outcome !== 'ok' ? ` (exit ${e.exitCode})` : ''} in ${formatDuration(e.durationMs)}${e.reason ? ` — ${e.reason}` : ''}`;
    }
    case 'step-skipped':
      return `${t} ↷ ${stepTitle(state, e.step)}: ${e.reason}`;
    case 'session-closed':
      return `${t} session ${outcomeWords(e.outcome)}${e.reason ? `: ${e.reason}` : ''}`;
    case 'no-return-passed':
      return `${t} ⚑ point of no return: ${stepTitle(state, e.step)}; from here on, rolling back is no longer offered`;
    case 'rollback-started':
      return `${t} ↺ rolling back${e.rollback ? ` (${e.rollback})` : ''}: ${e.trigger === 'abort' ? 'the driver chose to roll back' : `"${stepTitle(state, e.step)}" failed`}; ${e.steps.length} steps run:\n${e.steps
        .map((k, i) => `    ${i + 1}. ${stepTitle(state, k)}`)
        .join('\n')}`;
  }
}

/** Reads answers from the terminal, one line per prompt, for the whole session. */
export interface LineAsker {
  /** The typed line, or undefined when the asker was closed (the session ended, Ctrl-D). */
  ask(question: string): Promise<string | undefined>;
  close(): void;
  /** Ends the line being typed on screen (before a notice is printed under it). */
  breakLine(): void;
}

/**
 * One readline on the terminal for the session: Ctrl-C (raw mode eats the signal) calls
 * `onInterrupt`, Ctrl-D calls `onEnd`, and keys typed before a prompt never answer it.
 */
export function terminalAsker(handlers: {onInterrupt: () => void; onEnd: () => void}): LineAsker {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
  });
  let pending: ((text: string | undefined) => void) | undefined;
  let closed = false;
  const settle = (text: string | undefined): void => {
    const resolve = pending;
    pending = undefined;
    resolve?.(text);
  };
  const breakLine = (): void => {
    if (pending) process.stdout.write('\n');
  };
  rl.on('SIGINT', () => {
    breakLine();
    handlers.onInterrupt();
  });
  rl.on('close', () => {
    const wasClosing = closed;
    closed = true;
    settle(undefined);
    if (!wasClosing) handlers.onEnd();
  });
  return {
    ask(question) {
      if (closed) return Promise.resolve(undefined);
      settle(undefined);
      // Keys typed before the prompt appeared never answer it: wipe the line.
      rl.write(null, {ctrl: true, name: 'e'});
      rl.write(null, {ctrl: true, name: 'u'});
      return new Promise((resolve) => {
        pending = resolve;
        rl.question(question, (text) => settle(text));
      });
    },
    breakLine,
    close() {
      if (closed) return;
      closed = true;
      rl.close();
    },
  };
}
