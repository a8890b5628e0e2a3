/**
 * `crewchief import` as functions: the tokenizer reads Markdown and wiki plain text alike,
 * the classifier makes steps of what a person does, and the emitted machine uses only the
 * public vocabulary, with stable unique ids and a literal `${` left to the shell.
 */
import fs from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {classify} from '../../source/import/classify.js';
import {importRunbook} from '../../source/import/index.js';
import {tokenize} from '../../source/import/markdown.js';
import {inlineCommands, looksDangerous, splitJoined} from '../../source/import/shell-text.js';
import {repoRoot} from '../helpers/fixtures.js';

const fixture = (...parts: string[]): string =>
  fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', ...parts), 'utf8');
const seeds = fs
  .readdirSync(path.join(repoRoot, 'test', 'fixtures', 'seeds'))
  .filter((f) => f.endsWith('.txt'))
  .sort();
const steps = (text: string) => classify(tokenize(text)).phases.flatMap((p) => p.steps);
const ids = (machine: string): string[] =>
  [...machine.matchAll(/^ {10}id: '([^']+)',$/gm)].map((m) => m[1]!);

describe('the tokenizer', () => {
  it('reads wiki plain text: lone short lines as headings, 4.5 and Step 3: as numbered items', () => {
    const blocks = tokenize(
      'Deploying\n\nThe intro says what this is.\n\n  1. Log in\n    4.5 Clean up\nStep 3: Check it\n  • a bullet\n',
    );
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'text', 'item', 'item', 'item', 'item']);
    expect(
      blocks.filter((b) => b.kind === 'item').map((b) => (b.kind === 'item' ? b.number : '')),
    ).toEqual(['1', '4.5', '3', undefined]);
  });

  it('reads a command on a line of its own, and output under a $ prompt, as one code block', () => {
    const [intro, code] = tokenize('Check the name:\n\n$ dig example.org\n\tANSWER SECTION:\n');
    expect(intro).toMatchObject({kind: 'text'});
    expect(code).toMatchObject({kind: 'code', lines: ['$ dig example.org', '    ANSWER SECTION:']});
  });

  it('does not take a Markdown file’s lone lines for headings when it has # headings', () => {
    const kinds = tokenize('# Title\n\nSSH into the git host\n\n## Next\n').map((b) => b.kind);
    expect(kinds).toEqual(['heading', 'text', 'heading']);
  });
});

describe('the classifier', () => {
  it('makes gates of "type go" and watches of "wait until … reaches"', () => {
    const found = steps(
      '# P\n\n1. Type go and enter to sync the next apps.\n2. Wait until the lag reaches 0.\n3. Wait until the balancer shows "6 of 6 healthy".\n4. Wait for the job to finish.\n',
    );
    expect(found.map((s) => [s.kind, s.until])).toEqual([
      ['gate', undefined],
      ['watch', 'zero'],
      ['watch', 'x-of-x'],
      ['gate', undefined],
    ]);
  });

  it('takes commands out of sentences: backticks, after a colon, a flattened ```shell block', () => {
    expect(inlineCommands('Deploy the proxy with `resinctl deploy proxy production`.')).toEqual({
      commands: ['resinctl deploy proxy production'],
      rest: 'Deploy the proxy with',
    });
    expect(inlineCommands('Restart PostgreSQL: systemctl restart postgresql').commands).toEqual([
      'systemctl restart postgresql',
    ]);
    expect(inlineCommands('back them up to images shell atmosphere-docker stop').commands).toEqual([
      'atmosphere-docker stop',
    ]);
    expect(
      inlineCommands('Use LOVE or Nublado to send all CSC systems to OFFLINE').commands,
    ).toEqual([]);
  });

  it('splits lines an export joined where the program comes again, never inside quotes', () => {
    expect(splitJoined('git reset --hard git pull')).toBe('git reset --hard\ngit pull');
    expect(splitJoined('cd /etc/nginx ln -sf a b')).toBe('cd /etc/nginx\nln -sf a b');
    expect(splitJoined('echo "git is here" git')).toBe('echo "git is here" git');
  });

  it('marks destructive commands', () => {
    for (const c of ['rm -rf /var/lib/etcd2/*', 'docker kill web_1', 'x --force', 'DROP TABLE t'])
      expect(looksDangerous(c), c).toBe(true);
    expect(looksDangerous('git pull')).toBe(false);
  });

  it('keeps a bullet under a numbered step as that step’s help, and a bullet with a command as a step', () => {
    const found = steps(
      '# P\n\n1. Check the service\n   - process is up\n   - bound to the port\n2. Do the deploy dance:\n   - git deploy start\n',
    );
    expect(found.map((s) => s.kind)).toEqual(['manual', 'manual', 'command']);
    expect(found[0]!.help.join('\n')).toContain('• process is up');
    expect(found[2]).toMatchObject({run: 'git deploy start', number: '2'});
  });
});

describe('the emitted machine', () => {
  it('imports only the public vocabulary from crewchief', () => {
    const {machine} = importRunbook(fixture('markdown', 'web-rollout.md'), {
      siteId: 'web',
      source: 'web-rollout.md',
    });
    const imports = [...machine.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports).toEqual(['crewchief']);
    expect(machine).toMatch(/^import \{site, phase, manual, command, gate, watch\} from/m);
  });

  it('leaves a shell ${VAR} to the shell ($${VAR}) and marks rm -rf as danger with a TODO', () => {
    const {machine} = importRunbook(fixture('markdown', 'postgres-failover.md'), {
      siteId: 'pg',
      source: 'postgres-failover.md',
    });
    expect(machine).toContain(`run: 'pg_ctl promote -D "$\${PGDATA}"',`);
    expect(machine).toMatch(
      /\/\/ TODO: review: this command looks destructive.*\n\s+command\(\{\n(\s+.*\n)*?\s+run: 'rm -rf \/var\/lib\/postgresql\/15\/main',\n\s+danger: true,/,
    );
  });

  it('finds every numbered step of the seeds, as counted by hand', () => {
    // 000: 2 + 4 + 5 + (3 + 2.1–2.7) + (9 + 7.1–7.4) + 5 hotfix; 001: 3 builder steps;
    // 002: 9 + 4.1–4.8 + 6.1–6.8; 003: 12 code + 4 config; 004: 2 + 3 + 7 proxy + 8 vpn.
    const counted = seeds.map(
      (seed) => importRunbook(fixture('seeds', seed), {siteId: 's', source: seed}).counts,
    );
    expect(counted.map((c) => c.numberedInSource)).toEqual([39, 3, 25, 16, 20]);
  });

  it('keeps a ${ in titles and help literal, as the console shows them', () => {
    const {machine} = importRunbook('# P\n\n1. Check ${HOME} is set\n   - it holds ${USER}\n', {
      siteId: 'p',
      source: 'p.md',
    });
    expect(machine).toContain("title: 'Check $${HOME} is set',");
    expect(machine).toContain("help: '• it holds $${USER}',");
  });

  for (const seed of seeds) {
    it(`${seed}: ids are unique, stable, and every numbered item is a step`, () => {
      const text = fixture('seeds', seed);
      const first = importRunbook(text, {siteId: 's', source: seed});
      const again = importRunbook(text, {siteId: 's', source: seed});
      const all = ids(first.machine);
      expect(new Set(all).size).toBe(all.length);
      expect(ids(again.machine)).toEqual(all);
      expect(all.every((id) => /^[a-z0-9][a-z0-9_-]*$/.test(id))).toBe(true);
      // Each numbered item gives a step whose id starts with its number.
      const numbered = all.filter((id) => /^\d+(-\d+)*-[a-z]/.test(id));
      expect(numbered.length).toBeGreaterThanOrEqual(first.counts.numberedInSource);
      expect(first.counts.numberedInSource).toBeGreaterThan(0);
    });
  }
});
