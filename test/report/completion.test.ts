/**
 * `crewchief completion bash`, sourced in a real bash: the completion function completes
 * commands (the same table `--help` prints), sites, profile names and option values.
 */
import {execa} from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {cli, cliPath} from '../helpers/cli.js';
import {tempDir} from '../helpers/fixtures.js';

let dir: string;
let script: string;

beforeAll(async () => {
  dir = tempDir('cc-completion-');
  const out = await cli(['completion', 'bash'], {state: dir});
  expect(out.exitCode, out.all).toBe(0);
  script = path.join(dir, 'crewchief.bash');
  fs.writeFileSync(script, out.stdout);
  // `crewchief` on PATH, as an installed package puts it.
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(
    path.join(dir, 'bin', 'crewchief'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} "$@"\n`,
    {mode: 0o755},
  );
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

/** What bash offers after typing `line` (the last word is being completed). */
async function complete(line: string): Promise<string[]> {
  const words = line.split(' ');
  const run = await execa(
    'bash',
    [
      '--norc',
      '-c',
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _crewchief; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      script,
      ...words,
    ],
    {
      env: {PATH: `${path.join(dir, 'bin')}:${process.env['PATH']}`, XDG_STATE_HOME: dir},
      reject: false,
    },
  );
  expect(run.exitCode, run.stderr).toBe(0);
  return run.stdout.split('\n').filter(Boolean).sort();
}

describe('crewchief completion bash', () => {
  it('completes every command --help lists', async () => {
    const help = await cli(['--help'], {state: dir});
    const listed = [...help.stdout.matchAll(/^ {2}crewchief ([a-z]+)/gm)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(8);
    const offered = await complete('crewchief ');
    for (const command of listed) expect(offered).toContain(command);
    expect(await complete('crewchief re')).toEqual(['replay', 'report', 'resume']);
  });

  it('completes sites, profile names and option values', async () => {
    expect(await complete('crewchief run ru')).toEqual(['rubin']);
    expect(await complete('crewchief demo wikimedia')).toEqual([
      'wikimedia-service',
      'wikimedia-service-config',
    ]);
    expect(await complete('crewchief run rubin --profile rubin-t')).toEqual([
      'rubin-tts',
      'rubin-tts-demo',
    ]);
    expect(await complete('crewchief run rubin --on-unknown r')).toEqual(['rerun']);
    expect(await complete('crewchief report --h')).toEqual(['--help', '--html']);
    expect(await complete('crewchief completion ')).toEqual(['bash', 'zsh']);
  });

  it('says what it expects for another shell', async () => {
    const run = await cli(['completion', 'fish'], {state: dir});
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('completion expects bash or zsh');
    const zsh = await cli(['completion', 'zsh'], {state: dir});
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -F _crewchief crewchief');
  });
});
