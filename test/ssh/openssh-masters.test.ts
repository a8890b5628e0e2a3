/**
 * ControlMasters do not outlive crewchief (issue 15), against a real sshd and the built
 * CLI: a run using the OpenSSH transport killed with `kill -9` leaves no master process
 * and no socket behind, and masters that a crewchief without that tie left (started
 * before, or where `setpriv` is missing) are ended by the next start.
 */
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {cli, waitFor, waitForEntry} from '../helpers/cli.js';
import {tempDir, writeMachine} from '../helpers/fixtures.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

let lab: SshLab;
let dir: string;
let machine: string;
let profile: string;
/** The same, with a run that ends at once. */
let quickProfile: string;

beforeAll(async () => {
  lab = await startSshLab({aliases: 0});
  dir = tempDir('cc-masters-');
  machine = writeMachine(
    dir,
    'masters',
    `export default site({id: 'masters', title: 'masters', phases: [phase({id: 'p', title: 'p', steps: [
      command({id: 'wait', title: 'wait on the host', run: 'echo started; sleep \${nap}', on: 'target'}),
    ]})]});`,
  );
  const write = (name: string, nap: number): string => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(
      file,
      [
        'site: masters',
        'transport: ssh',
        'ssh:',
        '  client: openssh',
        `  config: ${lab.configFile}`,
        'hosts:',
        '  target: {}',
        'variables:',
        `  nap: "${nap}"`,
        '',
      ].join('\n'),
    );
    return file;
  };
  profile = write('masters', 60);
  quickProfile = write('masters-quick', 0);
});

afterAll(async () => {
  await lab?.close();
  if (dir) fs.rmSync(dir, {recursive: true, force: true});
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid of the master listening on a socket (`ssh -O check`), if one answers. */
function masterPid(socket: string): number | undefined {
  const check = spawnSync(
    'ssh',
    ['-F', '/dev/null', '-o', `ControlPath=${socket}`, '-O', 'check', 'x'],
    {
      encoding: 'utf8',
    },
  );
  const match = /pid=(\d+)/.exec(check.stderr);
  return match ? Number(match[1]) : undefined;
}

/** Master sockets under a session directory's socket directories. */
const socketsIn = (parent: string): string[] =>
  fs
    .readdirSync(parent)
    .filter((name) => name.startsWith('.ssh-'))
    .flatMap((name) =>
      fs
        .readdirSync(path.join(parent, name))
        .filter((f) => f.startsWith('cm-'))
        .map((f) => path.join(parent, name, f)),
    );

describe('ControlMasters after kill -9 (real sshd, built CLI)', {timeout: 90_000}, () => {
  it('a run killed -9 leaves no master process and no socket behind', async () => {
    const sessions = fs.mkdtempSync(path.join(dir, 's-'));
    const journal = path.join(sessions, 'killed.jsonl');
    const run = cli(
      ['run', machine, '--profile', profile, '--plain', '--yes', '--journal', journal],
      {
        state: dir,
      },
    );
    await waitForEntry(journal, (e) => e.type === 'output' && /started/.test(JSON.stringify(e)));
    const [socket] = socketsIn(sessions);
    expect(socket).toBeDefined();
    const pid = masterPid(socket!);
    expect(pid).toBeGreaterThan(0);

    run.kill('SIGKILL');
    await run;
    // the master goes with it, and takes its socket along
    await waitFor(() => !alive(pid!), 20_000);
    await waitFor(() => !fs.existsSync(socket!), 20_000);
    expect(masterPid(socket!)).toBeUndefined();
  });

  it('the next start ends masters a dead crewchief left, and removes their directory', async () => {
    const sessions = fs.mkdtempSync(path.join(dir, 's-'));
    // What a crewchief killed -9 without the tie leaves: a socket directory naming it as
    // owner (a pid that has exited), and a master that outlived it.
    const stale = path.join(sessions, '.ssh-0123abcd');
    fs.mkdirSync(stale, {mode: 0o700});
    const gone = spawnSync('true').pid;
    fs.writeFileSync(path.join(stale, 'owner'), `${gone}\n`);
    const socket = path.join(stale, 'cm-0123456789ab');
    execFileSync('ssh', [
      '-F',
      lab.configFile,
      '-o',
      'BatchMode=yes',
      '-M',
      '-N',
      '-f',
      '-o',
      'ControlPersist=yes',
      '-S',
      socket,
      'target',
    ]);
    const pid = masterPid(socket);
    expect(pid).toBeGreaterThan(0);

    const journal = path.join(sessions, 'next.jsonl');
    const next = await cli(
      ['run', machine, '--profile', quickProfile, '--plain', '--yes', '--journal', journal],
      {state: dir},
    );
    expect(next.exitCode, next.all).toBe(0);
    await waitFor(() => !alive(pid!), 20_000);
    expect(fs.existsSync(stale)).toBe(false);
    // the driver is told, in the journal
    expect(fs.readFileSync(journal, 'utf8')).toContain(
      `ended 1 ssh master left by crewchief (pid ${gone}), which is gone`,
    );
  });
});
