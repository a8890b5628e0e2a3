/** Notify steps: post to a webhook; a failed post is journaled and shown, never fatal. */
import type {NotifyStep} from '../../runbook/vocabulary.js';
import type {StepInput, StepResult} from '../machine.js';
import {fillText, maskedSecrets, stepOf, type StepServices} from './shared.js';
import {postWebhook} from '../../transport/webhook.js';

/** Posts to the webhook. A failed post never stops the deployment: it is journaled and shown. */
export async function runNotify(
  services: StepServices,
  input: StepInput,
  signal: AbortSignal,
): Promise<StepResult> {
  const {step} = stepOf<NotifyStep>(services, input.key);
  const started = performance.now();
  let text: string;
  let shown: string;
  try {
    text = fillText(step.text, input.vars, services.secrets);
    shown = services.redactor.text(
      fillText(step.text, input.vars, maskedSecrets(services.secrets)),
    );
  } catch (error) {
    return {outcome: 'failed', durationMs: 0, reason: (error as Error).message};
  }
  const url = step.webhook ? services.secrets[step.webhook] : undefined;
  services.append({
    type: 'step-started',
    step: input.key,
    runs: [
      {
        host: 'local',
        command: `post to ${step.channel ?? 'webhook'}: ${shown}`,
      },
    ],
    attempt: input.attempt,
  });
  if (!url || services.dryRun) {
    return {
      outcome: 'ok',
      durationMs: 0,
      reason: url ? 'dry run: not posted' : 'no webhook: shown to copy',
    };
  }
  try {
    // Retried with backoff on 429/503 (Retry-After), through HTTPS_PROXY unless NO_PROXY.
    const response = await postWebhook(
      url,
      {text, ...(step.channel ? {channel: step.channel} : {})},
      {signal, timeoutMs: 10_000, ...(services.fetch ? {fetch: services.fetch} : {})},
    );
    if (!response.ok) throw new Error(`the webhook answered ${response.status}`);
    return {outcome: 'ok', durationMs: performance.now() - started};
  } catch (error) {
    const reason = services.redactor.text(
      `could not post to ${step.channel ?? 'the webhook'}: ${(error as Error).message}; post it by hand`,
    );
    services.append({type: 'notice', step: input.key, level: 'warn', text: reason});
    return {outcome: 'ok', durationMs: performance.now() - started, reason};
  }
}
