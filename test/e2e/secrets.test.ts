import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';

const envSecret = 'Tr0ub4dor&3-env-s3cret';
const fileSecret = 'correct horse battery staple';
const sqlLiteral = 'inline-sql-pa55';

let dir: string;
beforeAll(() => {
  dir = tempDir('cc-secrets-');
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

/** Every form of a value we promise never to write. */
const forms = (v: string): string[] => [
  v,
  encodeURIComponent(v),
  Buffer.from(v).toString('base64').replace(/=+$/, ''),
  Buffer.from(v).toString('hex'),
];

describe('secrets', () => {
  it('never reach the journal or the screen, in any form, even split across output chunks', async () => {
    const machine = writeMachine(
      dir,
      'leaky',
      `export default site({id: 'leaky', title: 'Leaky', phases: [phase({id: 'p', title: 'P', steps: [
        command({id: 'echo', title: 'Echo the secret', run: "printf '%s\\\\n' \\"\${secret.db}\\" && printf '%s' \\"\${secret.db}\\" | base64 && printf '%s' \\"\${secret.db}\\" | od -An -tx1 | tr -d ' \\\\n' && echo"}),
        command({id: 'split', title: 'Print it in pieces', run: "s=\\"\${secret.db}\\"; printf 'pw=%s' \\"\${s%%\${s#????}}\\"; sleep 0.4; printf '%s\\\\n' \\"\${s#????}\\"; echo \\"\${secret.db}\\" >&2"}),
        command({id: 'file', title: 'A secret from a file', run: "echo 'key: \${secret.key}' && echo \\"url: https://x.example.org/?k=$(printf '%s' '\${secret.key}' | sed 's/ /%20/g')\\""}),
        command({id: 'sql', title: 'Undeclared SQL password', run: "echo \\"ALTER USER app PASSWORD '${sqlLiteral}';\\""}),
        command({id: 'grab', title: 'Capture it', run: "echo \\"token \${secret.db}\\"", capture: {as: 'tok', pattern: 'token (.*)'}}),
        manual({id: 'look', title: 'Look at \${tok}'}),
      ]})]});`,
    );
    writeFile(dir, 'key.txt', `${fileSecret}\n`);
    const profile = writeFile(
      dir,
      'leaky.yaml',
      `site: leaky\ntransport: local\nsecrets:\n  db: {env: LEAKY_DB_PASSWORD}\n  key: {file: key.txt}\n`,
    );
    const journal = path.join(dir, 'leaky.jsonl');
    const run = await cli(
      ['run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
      {
        state: dir,
        env: {LEAKY_DB_PASSWORD: envSecret},
      },
    );
    expect(run.all).toMatch(/session finished/);
    const written = fs.readFileSync(journal, 'utf8');
    const screen = run.all ?? '';
    expect(written).toContain('[redacted]');
    for (const secret of [envSecret, fileSecret, sqlLiteral]) {
      for (const form of forms(secret)) {
        expect(written, `journal holds ${form}`).not.toContain(form);
        expect(screen, `screen shows ${form}`).not.toContain(form);
      }
    }
    // A piece of the secret printed before a pause is not shown either.
    expect(written).not.toContain(envSecret.slice(0, 4));
  }, 60_000);

  it('say clearly when a secret cannot be read, and run nothing', async () => {
    const machine = writeMachine(
      dir,
      'needs',
      `export default site({id: 'needs', title: 'Needs', phases: [phase({id: 'p', title: 'P', steps: [command({id: 'x', title: 'X', run: 'echo \${secret.db}'})]})]});`,
    );
    const profile = writeFile(
      dir,
      'needs.yaml',
      'site: needs\ntransport: local\nsecrets:\n  db: {env: NOT_SET_ANYWHERE}\n',
    );
    const run = await cli(['run', machine, '--profile', profile, '--plain', '--yes'], {state: dir});
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toMatch(/secret "db": environment variable NOT_SET_ANYWHERE is not set/);
  });
});
