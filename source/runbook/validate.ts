/**
 * Checks a site on its own and against a profile. Every error names file:line and says
 * what was expected; bad input never reaches the engine.
 */
import {parseDuration} from './duration.js';
import {applicability} from './flags.js';
import type {Profile, ValidationError} from './profile.js';
import {locationOf} from './source-location.js';
import {templateUses} from './template.js';
import {comparisonFields, whenList} from './conditions.js';
import {
  stepKinds,
  type Duration,
  type Phase,
  type Retry,
  type Site,
  type Step,
} from './vocabulary.js';

const ID = /^[a-z0-9][a-z0-9_-]*$/i;
/** A target written as one variable, `${name}`. */
const VARIABLE_TARGET = /^\$\{([A-Za-z_][\w.-]*)\}$/;
const WATCH_FIELDS = ['equals', 'atMost', 'atLeast', 'below', 'above', 'near', 'xOfX'] as const;
const NUMBER_FIELDS = new Set(['below', 'above', 'atMost', 'atLeast']);
const BUILT_IN = new Set(['site', 'profile', 'release']);

/** Where a step stands: in the runbook, a choice's branch, an on-failure branch, a rollback. */
type Placement = 'runbook' | 'choice' | 'on-failure' | 'rollback';

interface Walked {
  step: Step;
  phase: Phase;
  /** The innermost kind of branch the step is in (`runbook`: none). */
  placement: Placement;
  /** Variables captured by steps before this one (in walking order). */
  capturedBefore: Set<string>;
  backgroundsBefore: Set<string>;
}

function walkSteps(site: Site): Walked[] {
  const out: Walked[] = [];
  const captured = new Set<string>();
  const backgrounds = new Set<string>();
  const visit = (steps: readonly Step[], phase: Phase, placement: Placement): void => {
    for (const step of Array.isArray(steps) ? steps : []) {
      out.push({
        step,
        phase,
        placement,
        capturedBefore: new Set(captured),
        backgroundsBefore: new Set(backgrounds),
      });
      if (step.kind === 'command' && step.capture?.as) captured.add(step.capture.as);
      if (step.kind === 'command' && step.background?.name) backgrounds.add(step.background.name);
      // A branch inside a rollback is still part of the rollback.
      const inner = (p: Placement): Placement => (placement === 'rollback' ? placement : p);
      if (step.kind === 'choice')
        for (const o of step.options ?? []) visit(o.steps, phase, inner('choice'));
      if (step.onFailure && 'steps' in step.onFailure)
        visit(step.onFailure.steps, phase, inner('on-failure'));
    }
  };
  for (const phase of site.phases ?? []) visit(phase.steps, phase, 'runbook');
  // Rollbacks run after any step: they may use what the runbook captured.
  for (const phase of site.phases ?? []) visit(phase.rollback ?? [], phase, 'rollback');
  for (const r of Array.isArray(site.rollbacks) ? site.rollbacks : [])
    visit(r.steps, {id: `rollback:${r.id}`, title: r.title, steps: r.steps}, 'rollback');
  return out;
}

/** Kinds of step that can fail and so may say what runs then. */
const FAILING_KINDS: ReadonlySet<string> = new Set(['command', 'check', 'notify', 'watch']);

const where = (value: object, fallback: string): {file: string; line: number} => {
  const loc = locationOf(value);
  const match = loc ? /^(.*):(\d+)$/.exec(loc) : null;
  return match ? {file: match[1]!, line: Number(match[2])} : {file: fallback, line: 0};
};

const templateNames = (text: string | undefined): string[] =>
  text ? templateUses(text).map((u) => u.name) : [];

function templatesOf(step: Step): {field: string; text: string}[] {
  const t: {field: string; text: string | undefined}[] = [{field: 'title', text: step.title}];
  if (step.kind === 'command')
    t.push(
      {field: 'run', text: step.run},
      {field: 'cwd', text: step.cwd},
      {field: 'produces', text: step.produces},
    );
  if (step.kind === 'watch') t.push({field: 'probe', text: step.probe});
  if (step.kind === 'notify')
    t.push({field: 'text', text: step.text}, {field: 'channel', text: step.channel});
  if (step.kind === 'check') t.push({field: 'probes', text: JSON.stringify(step.probes ?? [])});
  if (typeof step.danger === 'string') t.push({field: 'danger', text: step.danger});
  return t.filter((x): x is {field: string; text: string} => typeof x.text === 'string');
}

/** Problems in a site on its own. */
export function validateSite(site: Site, file: string): ValidationError[] {
  const errors: ValidationError[] = [];
  const fail = (value: object, field: string, message: string): void => {
    errors.push({...where(value, file), field, message});
  };
  if (!site || typeof site !== 'object') return [{file, line: 0, field: '', message: 'not a site'}];
  if (!site.id || !ID.test(site.id))
    fail(site, 'id', 'expected a site id (letters, digits, - and _)');
  if (!Array.isArray(site.phases) || !site.phases.length) {
    fail(site, 'phases', 'expected a non-empty list of phases');
    return errors;
  }
  const phaseIds = new Set<string>();
  for (const phase of site.phases) {
    if (!phase.id || !ID.test(phase.id))
      fail(phase, 'id', `phase "${phase.title}": expected an id (letters, digits, - and _)`);
    else if (phaseIds.has(phase.id)) fail(phase, 'id', `phase id "${phase.id}" is used twice`);
    phaseIds.add(phase.id);
    if (!Array.isArray(phase.steps))
      fail(phase, 'steps', `phase ${phase.id}: expected a list of steps`);
    if (phase.due !== undefined && !/^T-\d+(d|wd)$/.test(phase.due)) {
      fail(
        phase,
        'due',
        `phase ${phase.id}: expected T-<n>d (days) or T-<n>wd (working days), found "${phase.due}"`,
      );
    }
  }
  const rollbackIds = new Set<string>();
  for (const r of site.rollbacks ?? []) {
    if (!r.id || !ID.test(r.id))
      fail(r, 'id', `rollback "${r.title}": expected an id (letters, digits, - and _)`);
    else if (rollbackIds.has(r.id)) fail(r, 'id', `rollback id "${r.id}" is used twice`);
    rollbackIds.add(r.id);
    if (!Array.isArray(r.steps) || !r.steps.length)
      fail(r, 'steps', `rollback ${r.id}: expected a non-empty list of steps`);
  }
  for (const phase of site.phases) {
    if (phase.rollback !== undefined && !Array.isArray(phase.rollback))
      fail(phase, 'rollback', `phase ${phase.id}: expected a list of rollback steps`);
  }
  const stepIds = new Set<string>();
  const duration = (step: Step, field: string, value: Duration | undefined): void => {
    if (value !== undefined && parseDuration(value) === null) {
      fail(
        step,
        field,
        `step ${step.id}: expected a duration such as 30s, 2m or 1h, found ${JSON.stringify(value)}`,
      );
    }
  };
  const regex = (step: Step, field: string, value: string | undefined): void => {
    if (value === undefined) return;
    try {
      new RegExp(value);
    } catch (error) {
      fail(
        step,
        field,
        `step ${step.id}: not a valid regular expression: ${(error as Error).message}`,
      );
    }
  };
  const required = (step: Step, field: string, value: unknown): void => {
    if (value === undefined || value === null || value === '') {
      fail(step, field, `step ${step.id ?? '?'} (${step.kind}): ${field} is required`);
    }
  };
  const retry = (step: Step, field: string, value: Retry | undefined): void => {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null) {
      fail(
        step,
        field,
        `step ${step.id}: expected {attempts, backoff}, found ${JSON.stringify(value)}`,
      );
      return;
    }
    if (!Number.isInteger(value.attempts) || value.attempts < 1)
      fail(
        step,
        `${field}.attempts`,
        `step ${step.id}: expected a whole number of attempts of at least 1, found ${JSON.stringify(value.attempts)}`,
      );
    duration(step, `${field}.backoff`, value.backoff);
    duration(step, `${field}.maxDelay`, value.maxDelay);
    if (value.factor !== undefined && !(typeof value.factor === 'number' && value.factor >= 1))
      fail(
        step,
        `${field}.factor`,
        `step ${step.id}: expected a factor of at least 1, found ${JSON.stringify(value.factor)}`,
      );
  };
  for (const {step, backgroundsBefore, placement} of walkSteps(site)) {
    if (!stepKinds.includes(step.kind)) {
      fail(
        step,
        'kind',
        `step ${step.id}: unknown kind "${String(step.kind)}" (expected one of: ${stepKinds.join(', ')})`,
      );
      continue;
    }
    if (!step.id || !ID.test(step.id))
      fail(step, 'id', `step "${step.title}": expected an id (letters, digits, - and _)`);
    else if (stepIds.has(step.id))
      fail(
        step,
        'id',
        `step id "${step.id}" is used twice: ids must be unique in a site (the journal and resume use them)`,
      );
    stepIds.add(step.id);
    required(step, 'title', step.title);
    if (step.pointOfNoReturn && placement !== 'runbook') {
      fail(
        step,
        'pointOfNoReturn',
        placement === 'choice'
          ? `step ${step.id}: a point of no return inside a choice is passed only if the driver picks that branch; mark the choice step itself`
          : `step ${step.id}: a point of no return belongs to the runbook's own steps, not to ${placement === 'rollback' ? 'a rollback' : 'an on-failure branch'}`,
      );
    }
    if (step.onFailure !== undefined) {
      const onFailure = step.onFailure as Partial<{steps: unknown; rollback: unknown}>;
      if (!FAILING_KINDS.has(step.kind))
        fail(
          step,
          'onFailure',
          `step ${step.id}: a ${step.kind} step does not fail; onFailure is for command, check, notify and watch steps`,
        );
      else if ('rollback' in onFailure) {
        if (placement === 'rollback')
          fail(
            step,
            'onFailure.rollback',
            `step ${step.id}: a rollback step cannot start a rollback`,
          );
        else if (!rollbackIds.has(String(onFailure.rollback)))
          fail(
            step,
            'onFailure.rollback',
            `step ${step.id}: no rollback named "${String(onFailure.rollback)}" (the site's rollbacks: ${[...rollbackIds].join(', ') || 'none'})`,
          );
      } else if (!Array.isArray(onFailure.steps) || !onFailure.steps.length)
        fail(
          step,
          'onFailure',
          `step ${step.id}: expected onFailure: {steps: [...]} (at least one step) or {rollback: 'name'}`,
        );
    }
    if (step.due !== undefined && !/^T-\d+(d|wd)$/.test(step.due)) {
      fail(
        step,
        'due',
        `step ${step.id}: expected T-<n>d (days) or T-<n>wd (working days), found "${step.due}"`,
      );
    }
    for (const [i, condition] of whenList(step.when).entries()) {
      const field = Array.isArray(step.when) ? `when[${i}]` : 'when';
      const problem = conditionProblem(condition);
      if (problem) fail(step, field, `step ${step.id}: ${problem}`);
      else if ('matches' in condition) regex(step, `${field}.matches`, condition.matches);
    }
    const on = 'on' in step ? step.on : undefined;
    if (typeof on === 'string' && on.includes('${') && !VARIABLE_TARGET.test(on.trim()))
      fail(
        step,
        'on',
        `step ${step.id}: a target from a variable is one variable and nothing else, e.g. "\${primary}", found "${on}"`,
      );
    switch (step.kind) {
      case 'command':
        required(step, 'run', step.run);
        retry(step, 'retry', step.retry);
        retry(step, 'fanOut.verifyRetry', step.fanOut?.verifyRetry);
        if (step.retry && step.background)
          fail(
            step,
            'retry',
            `step ${step.id}: a background command is started once; retry does not apply to it`,
          );
        duration(step, 'timeout', step.timeout);
        duration(step, 'fanOut.pause', step.fanOut?.pause);
        regex(step, 'expect', step.expect);
        regex(step, 'capture.pattern', step.capture?.pattern);
        regex(step, 'capture.value', step.capture?.value);
        regex(step, 'background.readyWhen', step.background?.readyWhen);
        for (const [field, n] of [
          ['fanOut.parallel', step.fanOut?.parallel],
          ['fanOut.batch', step.fanOut?.batch],
        ] as const) {
          if (n !== undefined && (!Number.isInteger(n) || n < 1))
            fail(step, field, `step ${step.id}: expected a whole number of at least 1, found ${n}`);
        }
        if (step.capture && !step.capture.as)
          fail(step, 'capture.as', `step ${step.id}: capture needs a variable name in "as"`);
        break;
      case 'watch':
        required(step, 'probe', step.probe);
        required(step, 'until', step.until);
        duration(step, 'every', step.every);
        duration(step, 'patience', step.patience);
        duration(step, 'timeout', step.timeout);
        if (step.parse !== 'lines') regex(step, 'parse', step.parse);
        if (step.hosts !== undefined && !['sum', 'every', 'any'].includes(step.hosts))
          fail(
            step,
            'hosts',
            `step ${step.id}: expected "sum", "every" or "any", found ${JSON.stringify(step.hosts)}`,
          );
        if (step.until && typeof step.until === 'object') {
          const present = WATCH_FIELDS.filter((f) => f in step.until);
          if (present.length !== 1)
            fail(
              step,
              'until',
              `step ${step.id}: expected exactly one of ${WATCH_FIELDS.join(', ')}, found ${present.join(', ') || 'none'}`,
            );
          for (const f of present.filter((f) => f !== 'near' && f !== 'xOfX')) {
            const n = (step.until as Record<string, unknown>)[f];
            if (typeof n !== 'number' || !Number.isFinite(n))
              fail(
                step,
                `until.${f}`,
                `step ${step.id}: expected a number, found ${JSON.stringify(n)}`,
              );
          }
        }
        if (step.until && 'xOfX' in step.until) {
          regex(step, 'until.xOfX', step.until.xOfX);
          if (!/\(.*\).*\(.*\)/.test(step.until.xOfX))
            fail(
              step,
              'until.xOfX',
              `step ${step.id}: expected a pattern with two groups, e.g. "(\\d+) of (\\d+)"`,
            );
        }
        break;
      case 'gate':
        if (step.send) {
          regex(step, 'send.until', step.send.until);
          duration(step, 'send.timeout', step.send.timeout);
          if (!backgroundsBefore.has(step.send.to)) {
            fail(
              step,
              'send.to',
              `step ${step.id}: no earlier command starts a background process named "${step.send.to}"`,
            );
          }
        }
        break;
      case 'check':
        if (!Array.isArray(step.probes) || !step.probes.length)
          fail(step, 'probes', `step ${step.id}: expected at least one probe`);
        duration(step, 'interval', step.interval);
        retry(step, 'retry', step.retry);
        if (step.retry && (step.retries !== undefined || step.interval !== undefined))
          fail(
            step,
            'retry',
            `step ${step.id}: say the tries once: retry (the general form) or retries/interval (the older one), not both`,
          );
        for (const probe of step.probes ?? []) {
          if ('sql' in probe || ('command' in probe && probe.expect))
            regex(step, 'probes.expect', probe.expect);
        }
        break;
      case 'notify':
        required(step, 'text', step.text);
        break;
      case 'choice': {
        required(step, 'question', step.question);
        const options = step.options ?? [];
        if (options.length < 2)
          fail(step, 'options', `step ${step.id}: a choice needs at least two options`);
        const ids = new Set<string>();
        for (const o of options) {
          if (ids.has(o.id))
            fail(step, 'options', `step ${step.id}: option id "${o.id}" is used twice`);
          ids.add(o.id);
        }
        break;
      }
    }
  }
  return errors;
}

/** Problems between a site and a profile that names it. */
export function validateAgainstProfile(
  site: Site,
  file: string,
  profile: Profile,
  /** The simulated sites there are (the caller knows them; the runbook layer does not). */
  sims: readonly string[],
): ValidationError[] {
  const errors: ValidationError[] = [];
  const fail = (value: object, field: string, message: string): void => {
    errors.push({...where(value, file), field, message});
  };
  const profileLine = (field: string): number => profile.lineOf(field);
  const defined = new Set([
    ...BUILT_IN,
    ...Object.keys(profile.variables),
    ...(profile.runTimeVariables ?? []),
  ]);
  const declared = new Set(Object.keys(site.variables ?? {}));
  const stepIds = new Set<string>();
  for (const {step, phase, capturedBefore} of walkSteps(site)) {
    stepIds.add(step.id);
    // A step ruled out on this profile never runs: its hosts, variables and secrets need not exist.
    if (applicability(phase, profile.flags) ?? applicability(step, profile.flags)) continue;
    const target = 'on' in step ? step.on : undefined;
    const variable =
      typeof target === 'string' ? VARIABLE_TARGET.exec(target.trim())?.[1] : undefined;
    if (variable !== undefined) {
      const value = profile.variables[variable];
      if (!defined.has(variable) && !capturedBefore.has(variable) && !declared.has(variable))
        fail(
          step,
          'on',
          `step ${step.id} runs on \${${variable}}, which is not a variable of profile ${profile.name} and not captured by an earlier step`,
        );
      else if (
        value !== undefined &&
        !capturedBefore.has(variable) &&
        !profile.hosts[value.replace(/^@/, '')] &&
        !profile.groups[value.replace(/^@/, '')]
      )
        fail(
          step,
          'on',
          `step ${step.id} runs on \${${variable}}, which profile ${profile.name} sets to "${value}": no such host or group (hosts: ${Object.keys(profile.hosts).join(', ') || 'none'}; groups: ${Object.keys(profile.groups).join(', ') || 'none'})`,
        );
    } else if (target !== undefined && target !== 'local') {
      const name = target.startsWith('@') ? target.slice(1) : target;
      if (!profile.hosts[name] && !profile.groups[name]) {
        fail(
          step,
          'on',
          `step ${step.id} runs on "${target}", but profile ${profile.name} (${profile.file}) has no such host or group (hosts: ${Object.keys(profile.hosts).join(', ') || 'none'}; groups: ${Object.keys(profile.groups).join(', ') || 'none'})`,
        );
      }
    }
    for (const {field, text} of templatesOf(step)) {
      for (const name of templateNames(text)) {
        if (name.startsWith('secret.')) {
          if (!profile.secrets[name.slice(7)]) {
            fail(
              step,
              field,
              `step ${step.id} uses \${${name}}, but profile ${profile.name} declares no secret "${name.slice(7)}" under secrets:`,
            );
          }
        } else if (!defined.has(name) && !capturedBefore.has(name)) {
          fail(
            step,
            field,
            `step ${step.id} uses \${${name}}, which is not a variable of profile ${profile.name} and not captured by an earlier step`,
          );
        }
      }
    }
    for (const [i, condition] of whenList(step.when).entries()) {
      const name = condition?.var;
      if (
        typeof name === 'string' &&
        !defined.has(name) &&
        !capturedBefore.has(name) &&
        !declared.has(name)
      )
        fail(
          step,
          Array.isArray(step.when) ? `when[${i}].var` : 'when.var',
          `step ${step.id} runs only when ${name} is known, but no earlier step captures "${name}" and profile ${profile.name} does not define it`,
        );
    }
    const near =
      step.kind === 'watch' && step.until && 'near' in step.until ? step.until.near : undefined;
    if (near && !defined.has(near) && !capturedBefore.has(near)) {
      fail(
        step,
        'until.near',
        `step ${step.id} compares with "${near}", which no earlier step captures and profile ${profile.name} does not define`,
      );
    }
    if (step.kind === 'notify' && step.webhook && !profile.secrets[step.webhook]) {
      fail(
        step,
        'webhook',
        `step ${step.id} posts to the webhook in secret "${step.webhook}", which profile ${profile.name} does not declare`,
      );
    }
  }
  for (const id of Object.keys(profile.overrides)) {
    if (!stepIds.has(id)) {
      errors.push({
        file: profile.file,
        line: profileLine(`overrides.${id}`),
        field: `overrides.${id}`,
        message: `names step "${id}", which site ${site.id} does not have`,
      });
    }
  }
  if (profile.sim && !sims.includes(profile.sim.site)) {
    errors.push({
      file: profile.file,
      line: profileLine('sim'),
      field: 'sim',
      message: `no simulated site "${profile.sim.site}" (known: ${sims.join(', ')})`,
    });
  }
  for (const name of Object.keys(site.variables ?? {})) {
    if (!(name in profile.variables) && !profile.runTimeVariables?.includes(name)) {
      errors.push({
        file: profile.file,
        line: profileLine('variables'),
        field: `variables.${name}`,
        message: `site ${site.id} expects this variable (${site.variables![name]}): give it a value here, or write \`${name}: ~\` to give it at run time (--var ${name}=VALUE, or asked)`,
      });
    }
  }
  return errors;
}

/** What is wrong with one `when` condition, or undefined. */
function conditionProblem(condition: unknown): string | undefined {
  if (!condition || typeof condition !== 'object')
    return `expected a condition such as {var: 'lag', below: 100}, found ${JSON.stringify(condition)}`;
  const c = condition as Record<string, unknown>;
  if (typeof c['var'] !== 'string' || !c['var'])
    return 'a condition names its variable in "var", e.g. {var: \'lag\', below: 100}';
  const present = comparisonFields.filter((f) => f in c);
  if (present.length !== 1)
    return `a condition makes exactly one comparison (${comparisonFields.join(', ')}), found ${present.join(', ') || 'none'}`;
  const field = present[0]!;
  const operand = c[field];
  if (NUMBER_FIELDS.has(field) && (typeof operand !== 'number' || !Number.isFinite(operand)))
    return `${field} compares with a number, found ${JSON.stringify(operand)}`;
  if (field === 'matches' && typeof operand !== 'string')
    return `matches takes a regular expression as a string, found ${JSON.stringify(operand)}`;
  if (
    (field === 'equals' || field === 'notEquals') &&
    typeof operand !== 'number' &&
    typeof operand !== 'string'
  )
    return `${field} compares with a number or a text, found ${JSON.stringify(operand)}`;
  return undefined;
}

/** Fields of a step that reach a shell: a `${raw:…}` there is pasted as shell text. */
function shellTemplatesOf(step: Step): {field: string; text: string}[] {
  const t: {field: string; text: string | undefined}[] = [];
  if (step.kind === 'command') t.push({field: 'run', text: step.run});
  if (step.kind === 'watch') t.push({field: 'probe', text: step.probe});
  if (step.kind === 'check')
    for (const [i, probe] of (step.probes ?? []).entries())
      if ('command' in probe) t.push({field: `probes[${i}].command`, text: probe.command});
  if (step.kind === 'command')
    for (const [i, probe] of (step.fanOut?.verify ?? []).entries())
      if ('command' in probe) t.push({field: `fanOut.verify[${i}].command`, text: probe.command});
  return t.filter((x): x is {field: string; text: string} => typeof x.text === 'string');
}

/**
 * Every `${raw:…}` in a shell command, with file:line: the places where a value is pasted
 * as shell text instead of one quoted word. `validate` lists them as notices (not errors).
 */
export function rawUses(site: Site, file: string): ValidationError[] {
  const notices: ValidationError[] = [];
  for (const {step} of walkSteps(site)) {
    for (const {field, text} of shellTemplatesOf(step)) {
      for (const use of templateUses(text).filter((u) => u.raw)) {
        notices.push({
          ...where(step, file),
          field,
          message: `step ${step.id} pastes \${raw:${use.name}} as shell text, unquoted: only safe if you trust every character of "${use.name}"`,
        });
      }
    }
  }
  return notices;
}
