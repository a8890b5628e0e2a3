/**
 * Drives a launched session with a view: feeds the store from the journal through the
 * one pipeline, shows it (plain lines or the Ink console), answers prompts from flags or
 * the driver, leaves cleanly on a signal, and turns the end into an exit status.
 */
import {
  answerAutomatically,
  answerTyped,
  promptHelp,
  type AnswerTarget,
} from '../decisions/answer.js';
import {
  answerDelayMs,
  autoAnswer,
  exhausted,
  RETRY_ATTEMPTS,
  type AutopilotOptions,
} from '../engine/autopilot.js';
import type {JournalEntry} from '../journal/events.js';
import {createSessionStore, type SessionStoreApi} from '../store/store.js';
import {terminalAsker} from '../ui/plain.js';
import {EXIT, exitForEnd} from './exit.js';
import {onInterrupt, type Interrupt} from './interrupt.js';
import type {Launched} from './open.js';
import {
  consoleView,
  feed,
  frameBatched,
  liveSource,
  plainView,
  storeSink,
  type BatchedSink,
} from './pipeline.js';

export interface DriveOptions {
  plain: boolean;
  /** A terminal to ask the driver on. */
  interactive: boolean;
  autopilot: AutopilotOptions;
  /** Wait this long before an automatic answer (the demo, so people can read). */
  autoDelayMs?: number;
  driver: string;
  write?: (line: string) => void;
  /** Sees the store the view reads (tests compare it with a replay). */
  onStore?: (store: SessionStoreApi) => void;
  /** Renders the console; `done` resolves when the driver leaves it. */
  console?: (
    store: SessionStoreApi,
    launched: Launched,
  ) => {done: Promise<void>; unmount(how?: {signalled?: boolean}): void | Promise<void>};
  /** Where the closing lines go (default stderr). */
  say?: (line: string) => void;
  /** The console only shows: prompts are answered by flags or not at all (--read-only). */
  readOnly?: boolean;
}

export async function drive(launched: Launched, options: DriveOptions): Promise<number> {
  const {session, journal} = launched;
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const say = options.say ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const store = createSessionStore();
  store.getState().applyMany(launched.history);
  options.onStore?.(store);
  for (const warning of launched.warnings) write(`warning: ${warning}`);
  let needsDriver: string | undefined;
  let pendingAnswer: NodeJS.Timeout | undefined;

  // Answers reach the session through the one answering path (source/decisions).
  const target: AnswerTarget = {
    currentPrompt: () => store.getState().prompt?.seq,
    decide: (event, via) =>
      session.decide(event, options.driver + (via === 'typed' ? '' : ` (${via})`), via),
    ...(launched.team ? {handOver: (request) => launched.team!.handOver(request)} : {}),
  };
  const asker =
    options.plain && options.interactive && !options.console && !options.readOnly
      ? terminalAsker({
          // Raw mode turns Ctrl-C into a key: it means leave, as a signal does.
          onInterrupt: () => void process.emit('SIGINT', 'SIGINT'),
          onEnd: () => void session.detach({reason: 'other', text: 'the terminal closed (Ctrl-D)'}),
        })
      : undefined;

  const handlePrompt = (entry: Extract<JournalEntry, {type: 'prompt-shown'}>): void => {
    const prompt = store.getState().prompt;
    if (!prompt || prompt.seq !== entry.seq) return;
    const stepId = launched.plan.byKey.get(entry.step)?.step.id ?? entry.step;
    // The attempt that just ended: bounds `--on-failure retry` and sets its backoff.
    const context = {attempt: store.getState().steps.find((s) => s.key === entry.step)?.attempt};
    const auto = autoAnswer(prompt, stepId, options.autopilot, context);
    const limit = exhausted(prompt, options.autopilot, context);
    const stepTitle = launched.plan.byKey.get(entry.step)?.step.title ?? entry.step;
    const refuse = (why: string): void => {
      needsDriver = `step "${stepTitle}" needs the driver (${prompt.prompt}${limit ? `; ${limit}` : ''}), and ${why}: run it in a terminal, or answer in advance with --yes, --confirm, --choose, --on-failure, --on-unknown, --on-timeout`;
      const reason = options.readOnly
        ? 'a prompt needs the driver (this console is read-only)'
        : 'no terminal to answer a prompt';
      queueMicrotask(() => void session.detach({reason: 'needs-driver', text: reason}));
    };
    const askDriver = (): void => {
      if (options.readOnly) return refuse('this console is read-only');
      if (options.console) return; // the console asks
      if (!asker) return refuse('there is no terminal to ask on');
      const ask = (hint: string): void => {
        void asker.ask(`  ${hint}\n  > `).then((text) => {
          if (text === undefined || left || store.getState().prompt?.seq !== entry.seq) return;
          const answered = answerTyped(target, prompt, text);
          if (answered.taken === 'pending')
            void answered.result.then((error) => error && ask(error));
          else if (!answered.taken) ask(answered.error);
        });
      };
      ask(promptHelp[prompt.prompt]);
    };
    const answer = (): void => {
      const result = answerAutomatically(target, prompt, stepId, options.autopilot, context);
      if (result === 'taken' || result === 'stale') return;
      if (result === 'misfit')
        write(
          `  the answer given by ${options.autopilot.via === 'autopilot' ? 'the autopilot' : 'flag'} does not fit this prompt`,
        );
      askDriver();
    };
    if (!auto) return askDriver();
    const backoff = answerDelayMs(prompt, auto, context);
    if (backoff) {
      const max = options.autopilot.retryAttempts ?? RETRY_ATTEMPTS;
      journal.append({
        type: 'notice',
        step: entry.step,
        level: 'warn',
        text: `--on-failure retry: attempt ${(context.attempt ?? 1) + 1} of at most ${max} in ${Math.round(backoff / 1000)} s`,
      });
    }
    const delay = Math.max(options.autoDelayMs ?? 0, backoff);
    if (delay) pendingAnswer = setTimeout(answer, delay);
    else queueMicrotask(answer);
  };

  // The one pipeline: the live journal into the store and the view; prompts are answered
  // once the store shows them.
  // The console folds output once per frame (frameBatched), never per chunk; the plain
  // view prints each entry as it comes.
  const sink: BatchedSink = options.plain
    ? {...storeSink(store, plainView(write)), flush() {}}
    : frameBatched(storeSink(store, consoleView));
  const feeding = feed(liveSource(journal), {
    take(entries) {
      sink.take(entries);
      for (const entry of entries) if (entry.type === 'prompt-shown') handlePrompt(entry);
    },
  });

  const view = options.console?.(store, launched);
  let left: Interrupt | undefined;
  const offInterrupt = onInterrupt((signal) => {
    left = signal;
    asker?.breakLine();
    void session.detach({reason: 'signal', signal, text: `interrupted (${signal})`});
  });
  if (view)
    void view.done.then(() =>
      session.detach({reason: 'console-closed', text: 'the driver closed the console'}),
    );
  launched.team?.start();
  // Where everything is recorded, before anything runs (the end says it again).
  if (options.plain) say(`journal: ${journal.path}`);
  session.start();
  const end = await session.done;
  asker?.close();
  clearTimeout(pendingAnswer);
  offInterrupt();
  await launched.team?.settle();
  await feeding.stop();
  sink.flush();
  journal.close();
  const teamNotes = (await launched.team?.close()) ?? [];
  const {events, fsyncs, bytes} = journal.stats;
  if (options.plain && left !== 'SIGPIPE') {
    say(
      `journal ${journal.path}: ${events} events, ${fsyncs} fsyncs, ${bytes} bytes written by this run`,
    );
    if (end === 'finished' || end === 'aborted') say(`replay it: crewchief replay ${journal.path}`);
  }
  // The console shows how the session ended until the driver leaves it.
  await view?.unmount(left ? {signalled: true} : {});
  for (const note of teamNotes) say(`crewchief: ${note}`);
  if (needsDriver) {
    say(`crewchief: ${needsDriver}\nthe session is kept: crewchief resume ${journal.path}`);
    return EXIT.needsDriver;
  }
  if (end === 'journal-error') {
    // A disk fault on the journal: nothing ran after it; never a failed step, never a trace.
    say(
      `crewchief: ${session.journalError?.message ?? `cannot write the journal ${journal.path}`}\ncrewchief: the session stopped before anything else ran; once the journal can be written again (free space, a writable disk): crewchief resume ${journal.path}`,
    );
    return EXIT.journal;
  }
  if (end === 'detached') {
    if (left !== 'SIGPIPE')
      say(`session left open${left ? ` (${left})` : ''}: crewchief resume ${journal.path}`);
    return EXIT.detached;
  }
  return exitForEnd(end);
}
