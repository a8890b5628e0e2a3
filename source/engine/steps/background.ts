/** Background processes: started by a command step, typed into by gates (`send`). */
import {parseDuration} from '../../runbook/duration.js';
import type {CommandStep, GateStep} from '../../runbook/vocabulary.js';
import {hostName, type HostSpec, type RunResult} from '../../transport/types.js';
import type {StepInput, StepResult} from '../machine.js';
import type {OutputRecorder} from '../output.js';
import {
  DEFAULT_TIMEOUT,
  stepOf,
  transportFor,
  waitForPattern,
  type Background,
  type StepServices,
} from './shared.js';

/** Starts a long-running process; done once its output shows `readyWhen`. */
export async function startBackground(
  services: StepServices,
  key: string,
  host: HostSpec | 'local',
  text: string,
  recorder: OutputRecorder,
  step: CommandStep,
  signal: AbortSignal,
): Promise<RunResult & {ok: boolean}> {
  const spec = step.background!;
  const controller = new AbortController();
  const running = transportFor(services, host).start(
    {host, command: text, signal: controller.signal},
    recorder.sink,
  );
  const background: Background = {
    step: key,
    host: hostName(host),
    running,
    recorder,
    listeners: new Set(),
  };
  recorder.onText = (chunk) => background.listeners.forEach((l) => l(chunk));
  services.backgrounds.set(spec.name, background);
  const stopBackground = (): void => controller.abort();
  const outcome = await waitForPattern({
    background,
    pattern: new RegExp(spec.readyWhen, 'm'),
    timeoutMs: parseDuration(step.timeout) ?? DEFAULT_TIMEOUT,
    signal,
    initial: recorder.text,
  });
  if (outcome !== 'matched') {
    stopBackground();
    services.backgrounds.delete(spec.name);
    const result = background.exited ?? (await running.done);
    recorder.end();
    return {
      ...result,
      timedOut: outcome === 'timed-out',
      canceled: outcome === 'canceled',
      ok: false,
      error: outcome === 'exited' ? `exited before showing /${spec.readyWhen}/` : undefined,
    };
  }
  void running.done.then((result) => {
    background.exited = result;
    recorder.end();
  });
  services.append({
    type: 'notice',
    step: key,
    level: 'info',
    text: `${spec.name} keeps running in the background`,
  });
  background.stop = stopBackground;
  return {exitCode: 0, timedOut: false, canceled: false, durationMs: 0, ok: true};
}

/** Types the gate's word into a background process and waits for its next pause. */
export async function sendToBackground(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {step} = stepOf<GateStep>(services, input.key);
  const send = step.send!;
  const started = performance.now();
  const background = services.backgrounds.get(send.to);
  if (services.dryRun) {
    services.append({
      type: 'step-started',
      step: input.key,
      runs: [{host: 'local', command: `(typed into ${send.to}) ${send.text ?? step.word ?? 'go'}`}],
      attempt: input.attempt,
    });
    return {outcome: 'ok', durationMs: 0, reason: 'dry run: nothing typed'};
  }
  if (!background || background.exited) {
    return {
      outcome: 'failed',
      durationMs: 0,
      reason: `the background process "${send.to}" is not running${background?.exited ? ` (it exited with ${background.exited.exitCode})` : ''}`,
    };
  }
  const word = send.text ?? step.word ?? 'go';
  services.append({
    type: 'step-started',
    step: input.key,
    runs: [{host: background.host, command: `(typed into ${send.to}) ${word}`}],
    attempt: input.attempt,
  });
  const outcome = await waitForPattern({
    background,
    pattern: send.until ? new RegExp(send.until, 'm') : undefined,
    timeoutMs: parseDuration(send.timeout) ?? DEFAULT_TIMEOUT,
    signal,
    onListening: () => background.running.write(`${word}\n`),
  });
  const durationMs = performance.now() - started;
  if (outcome === 'matched' || (outcome === 'exited' && !send.until))
    return {outcome: 'ok', durationMs};
  if (outcome === 'exited') {
    return {
      outcome: 'failed',
      durationMs,
      reason: `${send.to} exited before showing /${send.until}/`,
    };
  }
  return {outcome: outcome === 'canceled' ? 'canceled' : 'timed-out', durationMs};
}
