/** Runs a session in-process with a fake transport, for engine tests. */
import fs from 'node:fs';
import path from 'node:path';
import {launch, resume, type Launched, type LaunchOptions} from '../../source/services/open.js';
import {readJournal} from '../../source/journal/file.js';
import type {SessionState} from '../../source/store/fold.js';
import {createSessionStore, snapshotOf, type SessionStoreApi} from '../../source/store/store.js';
import {fakeTransport, type Script} from './fake-transport.js';
import {tempDir, writeFile, writeMachine} from './fixtures.js';

export interface Harness {
  dir: string;
  machine: string;
  profile: string;
  journal: string;
  launched: Launched;
  store: SessionStoreApi;
  transport: ReturnType<typeof fakeTransport>;
  state(): SessionState;
  /** Resolves when the predicate holds on the store (checked on every journal entry). */
  until(predicate: (s: SessionState) => boolean, timeoutMs?: number): Promise<SessionState>;
}

export async function harness(
  machineBody: string,
  profileYaml: string,
  scripts: Script[],
  options: Partial<LaunchOptions> & {dir?: string; resumeFrom?: string} = {},
): Promise<Harness> {
  const dir = options.dir ?? tempDir('cc-engine-');
  const machine = path.join(dir, 'machine.ts');
  if (!fs.existsSync(machine)) writeMachine(dir, 'machine', machineBody);
  const profile = path.join(dir, 'test.yaml');
  if (!fs.existsSync(profile)) writeFile(dir, 'test.yaml', profileYaml);
  const journal = options.resumeFrom ?? path.join(dir, 'session.jsonl');
  const transport = fakeTransport(scripts);
  const launchOptions: LaunchOptions = {
    version: 'test',
    journalPath: journal,
    driver: 'tester@test',
    transports: {transport, local: transport},
    ...options,
  };
  const launched = options.resumeFrom
    ? await resume(options.resumeFrom, launchOptions)
    : await launch(machine, profile, launchOptions);
  const store = createSessionStore();
  store.getState().applyMany(launched.history);
  const waiters = new Set<() => void>();
  launched.journal.onEntry((e) => {
    store.getState().apply(e);
    for (const w of [...waiters]) w();
  });
  const state = (): SessionState => snapshotOf(store);
  return {
    dir,
    machine,
    profile,
    journal,
    launched,
    store,
    transport,
    state,
    until(predicate, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(state())) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(state());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting; last prompt: ${JSON.stringify(state().prompt)}; steps: ${state()
                .steps.map((s) => `${s.key}=${s.status}`)
                .join(' ')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

export const entriesOf = (file: string) => readJournal(file).entries;
export const promptFor = (step: string) => (s: SessionState) =>
  s.prompt?.step.endsWith(step) ?? false;
