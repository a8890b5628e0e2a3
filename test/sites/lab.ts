/**
 * End-to-end runs of the shipped runbooks over SSH: one real OpenSSH sshd on loopback per
 * test file, every profile host reached through it, and the simulated site on the far
 * side (each host's `env:` carries the sim's HOME, PATH and state, and CREWCHIEF_HOST).
 * The test profile is derived from a shipped one: same site, flags, groups, host names
 * and variables, with paths pointed into the simulated home and waits compressed.
 */
import fs from 'node:fs';
import path from 'node:path';
import {expect} from 'vitest';
import {parse, stringify} from 'yaml';
import type {JournalEntry, Outcome, PlanStep} from '../../source/journal/events.js';
import {readJournal} from '../../source/journal/file.js';
import {findSite} from '../../source/runbook/load.js';
import type {Step} from '../../source/runbook/vocabulary.js';
import {prepareSim, type SimEnvironment} from '../../source/sim/index.js';
import {cli} from '../helpers/cli.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

export interface LabProfileOptions {
  /** The simulated site on the far side. */
  sim: string;
  /** Simulated seconds per real second (default 50). */
  speed?: number;
  faults?: string[];
  /** Variables to replace, given the simulated home. */
  variables?: (home: string) => Record<string, string>;
  /** Per-step timing overrides on top of the compressed defaults. */
  overrides?: Record<string, Record<string, string>>;
  /** Reach every host through the lab's bastion (ProxyJump), as a jump-host profile does. */
  jump?: boolean;
  /** A name for the scratch directory (default: the profile's name). */
  name?: string;
  /** Secret values, written to files the test profile names. */
  secrets?: Record<string, string>;
}

export interface LabProfile {
  file: string;
  dir: string;
  journal: string;
  sim: SimEnvironment;
  hosts: string[];
}

export interface SiteRun {
  exitCode: number | undefined;
  output: string;
  entries: JournalEntry[];
  profile: LabProfile;
  /** The CLI was still running after its session closed, and was stopped. */
  lingered: boolean;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the journal's last complete line closes the session. */
function sessionClosed(journal: string): boolean {
  try {
    const text = fs.readFileSync(journal, 'utf8');
    return text.trimEnd().split('\n').at(-1)?.includes('"type":"session-closed"') ?? false;
  } catch {
    return false;
  }
}

type Yaml = Record<string, unknown>;

/** Every step of a site, branches included. */
function allSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((s) =>
    s.kind === 'choice' ? [s, ...s.options.flatMap((o) => allSteps(o.steps))] : [s],
  );
}

/** Polls and retries every few hundred milliseconds: the sim's clock is compressed too. */
async function fastOverrides(site: string): Promise<Record<string, Record<string, string>>> {
  const {site: found} = await findSite(site);
  const overrides: Record<string, Record<string, string>> = {};
  for (const step of found.phases.flatMap((p) => allSteps(p.steps))) {
    if (step.kind === 'watch') overrides[step.id] = {every: '300ms'};
    if (step.kind === 'check') overrides[step.id] = {interval: '300ms'};
  }
  return overrides;
}

export class SiteLab {
  private constructor(
    readonly lab: SshLab,
    readonly dir: string,
  ) {}

  static async start(): Promise<SiteLab> {
    return new SiteLab(await startSshLab({aliases: 0}), tempDir('cc-sites-'));
  }

  /** Writes a test profile derived from `profiles/NAME.yaml`. */
  async profile(name: string, options: LabProfileOptions): Promise<LabProfile> {
    const shipped = parse(
      fs.readFileSync(path.join(repoRoot, 'profiles', `${name}.yaml`), 'utf8'),
    ) as Yaml;
    const dir = path.join(this.dir, options.name ?? name);
    fs.mkdirSync(dir, {recursive: true});
    const sim = prepareSim(options.sim, path.join(dir, 'sim'), {
      speed: options.speed ?? 50,
      ...(options.faults ? {faults: options.faults} : {}),
    });
    const hosts = Object.keys((shipped['hosts'] as Yaml | undefined) ?? {});
    const profile: Yaml = {
      ...shipped,
      title: `${String(shipped['title'] ?? name)} (over the sshd lab)`,
      transport: 'ssh',
      ssh: {
        config: this.lab.configFile,
        known_hosts: this.lab.knownHostsFile,
        identity: this.lab.keyPath,
        user: this.lab.user,
        strict_host_keys: 'yes',
        keepalive: {interval: '5s', count: 3},
        ...(options.jump ? {jump: 'bastion'} : {}),
      },
      hosts: Object.fromEntries(
        hosts.map((host) => [host, {address: 'target', env: {...sim.env, CREWCHIEF_HOST: host}}]),
      ),
      variables: {
        ...((shipped['variables'] as Yaml | undefined) ?? {}),
        ...options.variables?.(sim.home),
      },
      overrides: {
        ...(await fastOverrides(String(shipped['site']))),
        ...options.overrides,
      },
      ...(options.secrets
        ? {
            secrets: Object.fromEntries(
              Object.entries(options.secrets).map(([name, value]) => {
                const file = path.join(dir, `secret-${name}`);
                fs.writeFileSync(file, value, {mode: 0o600});
                return [name, {file}];
              }),
            ),
          }
        : {}),
    };
    delete profile['sim'];
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, stringify(profile));
    return {file, dir, journal: path.join(dir, 'session.jsonl'), sim, hosts};
  }

  /** Runs `crewchief run SITE --profile FILE --plain …` to the end and reads its journal. */
  async run(site: string, profile: LabProfile, args: string[]): Promise<SiteRun> {
    const home = path.join(profile.dir, 'driver-home');
    fs.mkdirSync(home, {recursive: true});
    const child = cli(
      ['run', site, '--profile', profile.file, '--plain', '--journal', profile.journal, ...args],
      {state: profile.dir, env: {HOME: home, SSH_AUTH_SOCK: ''}},
    );
    // The CLI must exit by itself once its session is over (its pooled SSH links closed).
    let exited = false;
    void child.finally(() => (exited = true));
    let lingered = false;
    for (;;) {
      if (exited) break;
      if (sessionClosed(profile.journal)) {
        const deadline = Date.now() + 10_000;
        while (!exited && Date.now() < deadline) await pause(50);
        if (!exited) {
          lingered = true;
          child.kill('SIGKILL');
        }
        break;
      }
      await pause(100);
    }
    const result = await child;
    if (lingered)
      throw new Error(
        `crewchief did not exit within 10 s after its session closed:\n${String(result.all ?? '').slice(-2000)}`,
      );
    const entries = fs.existsSync(profile.journal) ? readJournal(profile.journal).entries : [];
    const exitCode = result.exitCode;
    return {exitCode, output: String(result.all ?? ''), entries, profile, lingered};
  }

  async close(): Promise<void> {
    await this.lab.close();
    fs.rmSync(this.dir, {recursive: true, force: true});
  }
}

/** The plan the journal recorded at the start. */
export function planOf(entries: readonly JournalEntry[]): readonly PlanStep[] {
  const opened = entries.find((e) => e.type === 'session-opened');
  if (opened?.type !== 'session-opened') throw new Error('no session-opened in the journal');
  return opened.plan.steps;
}

/** The last outcome of each step that finished, by step key. */
export function outcomes(entries: readonly JournalEntry[]): Record<string, Outcome> {
  const out: Record<string, Outcome> = {};
  for (const e of entries) if (e.type === 'step-finished') out[e.step] = e.outcome;
  return out;
}

/** Keys of steps that started at least once. */
export const started = (entries: readonly JournalEntry[]): Set<string> =>
  new Set(entries.flatMap((e) => (e.type === 'step-started' ? [e.step] : [])));

/** Entries of one type for one step. */
export function entriesOf<T extends JournalEntry['type']>(
  entries: readonly JournalEntry[],
  type: T,
  step?: string,
): Extract<JournalEntry, {type: T}>[] {
  return entries.filter(
    (e): e is Extract<JournalEntry, {type: T}> =>
      e.type === type && (step === undefined || ('step' in e && e.step === step)),
  );
}

/**
 * What every run must show: the session closed `finished`; every applicable step outside
 * a branch finished ok (or done, for the driver's own steps); steps that do not apply on
 * this profile never started, and neither did rollback or on-failure steps; each chosen
 * branch ran all its applicable steps.
 */
export function expectFinishedRun(
  run: SiteRun,
  /** Steps expected to end otherwise (a skipped watch on a failure path). */
  except: Record<string, Outcome> = {},
): {
  plan: readonly PlanStep[];
  outcome: Record<string, Outcome>;
} {
  const {entries} = run;
  const closed = entries.find((e) => e.type === 'session-closed');
  expect(closed?.type === 'session-closed' ? closed.outcome : run.output.slice(-3000)).toBe(
    'finished',
  );
  const plan = planOf(entries);
  const outcome = outcomes(entries);
  const chosen = new Map(
    entriesOf(entries, 'decision')
      .filter((d) => d.decision === 'choose')
      .map((d) => [d.step, d.value]),
  );
  const ran = started(entries);
  for (const step of plan) {
    if (!step.applies) {
      expect(ran.has(step.key), `${step.key} does not apply (${step.reason}) but started`).toBe(
        false,
      );
      expect(outcome[step.key], `${step.key} does not apply but finished`).toBe(undefined);
      continue;
    }
    // Rollback and on-failure steps run only when something goes wrong: not in a finished run.
    if (step.standby) {
      expect(ran.has(step.key), `${step.key} runs only if needed (${step.standby.when})`).toBe(
        false,
      );
      continue;
    }
    const inChosenBranch = !step.branch || chosen.get(step.branch.choice) === step.branch.option;
    if (!inChosenBranch) {
      expect(ran.has(step.key), `${step.key} is in a branch not taken`).toBe(false);
      continue;
    }
    const expected = except[step.key];
    const want: string[] = expected
      ? [expected]
      : ['manual', 'notify', 'gate', 'choice'].includes(step.kind)
        ? ['ok', 'done']
        : ['ok'];
    expect(
      want.includes(outcome[step.key] ?? 'missing'),
      `${step.key} (${step.kind}) finished ${outcome[step.key] ?? 'never'}`,
    ).toBe(true);
  }
  return {plan, outcome};
}

/** What the simulated hosts really ran: `host program args…` per call. */
export function simCalls(profile: LabProfile): {host: string; line: string}[] {
  const log = path.join(profile.sim.state, 'calls.log');
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as {host: string; program: string; args: string[]})
    .map((c) => ({host: c.host, line: `${c.program} ${c.args.join(' ')}`}));
}
