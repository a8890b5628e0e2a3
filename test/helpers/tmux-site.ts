/**
 * A tiny site for the console's end-to-end tests: a gate, a slow command (to type
 * ahead during), a danger step fanned out to two hosts whose output is full of escape
 * sequences, a watch counting down to 0, and a manual step. Local transport: the
 * "hosts" run here with CREWCHIEF_HOST set.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {repoRoot} from './tmux.js';

/** What the escape-laden command prints: title, clipboard (OSC 52), cursor moves, clear, alt screen, a query, colour. */
export const HOSTILE = String.raw`\033]0;PWNED\007\033]52;c;ZXZpbA==\007\033[2J\033[H\033[10;10Hmoved\033[?1049l\033[6n\033[31mred\033[0m done\n`;

export interface TestSite {
  dir: string;
  machine: string;
  profile: string;
  state: string;
  journalDir: string;
}

export function writeTestSite(
  options: {warmUpSeconds?: number; countFrom?: number; choice?: boolean} = {},
): TestSite {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-tmux-'));
  const state = path.join(dir, 'state');
  const vocabulary = path.join(repoRoot, 'dist', 'source', 'runbook', 'vocabulary.js');
  const countFile = path.join(dir, 'queue-length');
  fs.writeFileSync(countFile, String(options.countFrom ?? 6));
  const restart = `echo "restarting on $CREWCHIEF_HOST"; printf '${HOSTILE}'; echo "app up on $CREWCHIEF_HOST"`;
  const probe =
    'n=$(cat "${queue_file}"); n=$((n > 0 ? n - 1 : 0)); echo $n > "${queue_file}"; echo "queue: $n"';
  const machine = path.join(dir, 'console-test.ts');
  fs.writeFileSync(
    machine,
    `import {choice, command, gate, manual, phase, site, watch} from ${JSON.stringify(vocabulary)};

export default site({
  id: 'console-test',
  title: 'Console test site',
  variables: {queue_file: 'the fake queue length'},
  phases: [
    phase({
      id: 'prepare',
      title: '1. Prepare',
      steps: [
        gate({id: 'go-ahead', title: 'Canary green? Type go', checks: ['The canary dashboard is green']}),
        command({id: 'warm-up', title: 'Warm the caches', run: ${JSON.stringify(`sleep ${options.warmUpSeconds ?? 2}; echo warmed`)}}),
      ],
    }),
    phase({
      id: 'deploy',
      title: '2. Deploy',
      steps: [
        command({id: 'restart', title: 'Restart the app on the pair', run: ${JSON.stringify(restart)}, on: '@pair', danger: 'restart'}),
        watch({
          id: 'drain',
          title: 'Wait until the queue drains',
          probe: ${JSON.stringify(probe)},
          parse: 'queue: (\\\\d+)',
          until: {equals: 0},
          every: '400ms',
          patience: '1m',
          timeout: '2m',
        }),
      ],
    }),
    phase({id: 'finish', title: '3. Finish', steps: [${
      options.choice
        ? `choice({id: 'notify', title: 'Tell the users?', question: 'Post on the status page?', options: [{id: 'yes', label: 'Post it', steps: []}, {id: 'no', label: 'Not this time', steps: []}]}), `
        : ''
    }manual({id: 'enable', title: 'Enable the app'})]}),
  ],
});
`,
  );
  const profile = path.join(dir, 'console-test.yaml');
  fs.writeFileSync(
    profile,
    `site: console-test
title: Console test
release: 2026-12-01
transport: local
hosts:
  alpha: {}
  beta: {}
groups:
  pair: [alpha, beta]
variables:
  queue_file: ${countFile}
`,
  );
  return {dir, machine, profile, state, journalDir: path.join(state, 'crewchief', 'sessions')};
}

/** The one journal a run wrote. */
export function journalOf(site: TestSite): string {
  const files = fs.readdirSync(site.journalDir).filter((f) => f.endsWith('.jsonl'));
  if (files.length !== 1) throw new Error(`expected one journal, found ${files.join(', ')}`);
  return path.join(site.journalDir, files[0]!);
}
