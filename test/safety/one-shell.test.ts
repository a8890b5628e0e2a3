/**
 * Issue 11 #12: local and demo commands ran under /bin/sh (dash) while targets used the
 * login shell, so bash syntax that worked on a host failed in the demo. Now one shell:
 * bash where the machine has it, else sh, the same here, over SSH, and for SSH probes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {createLocalTransport} from '../../source/transport/local.js';
import {localShell, SHELL_RULE} from '../../source/transport/shell.js';
import {runToText, type HostSpec, type Transport} from '../../source/transport/types.js';
import {labTransport} from '../harness/ssh-lab.js';
import {startSshLab, type SshLab} from '../harness/sshd.js';

// bash only: [[ ]], arrays, $'…' quoting, ${var^^}; $0 names the shell that ran it.
const BASHISMS = `a=(x y); v=word; [[ $v == w* ]] && printf '%s|%s|%s|%s\\n' "\${a[1]}" "\${v^^}" $'t\\x41b' "$0"`;
const EXPECTED = 'y|WORD|tAb|bash\n';

const ask = async (t: Transport, host: HostSpec | 'local', probe?: true) => {
  const r = await runToText(t, {
    host,
    command: BASHISMS,
    timeoutMs: 30_000,
    ...(probe ? {probe} : {}),
  });
  return r.stdout + r.stderr;
};

describe('a local command', () => {
  it("does not run the driver's ~/.bashrc, even when crewchief was started without SHLVL", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-bashrc-'));
    fs.writeFileSync(path.join(home, '.bashrc'), 'echo "BASHRC RAN"\n');
    const saved = process.env['SHLVL'];
    delete process.env['SHLVL'];
    try {
      const local = createLocalTransport({env: {HOME: home}});
      const r = await runToText(local, {
        host: 'local',
        command: 'echo "home $HOME"',
        timeoutMs: 30_000,
      });
      expect(r.stdout).toBe(`home ${home}\n`);
    } finally {
      if (saved === undefined) delete process.env['SHLVL'];
      else process.env['SHLVL'] = saved;
      fs.rmSync(home, {recursive: true, force: true});
    }
  });
});

describe('one shell', () => {
  let lab: SshLab;
  beforeAll(async () => {
    lab = await startSshLab({aliases: 0});
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
  });

  it('this machine has bash, so commands here run under bash', async () => {
    expect(localShell()).toBe('bash');
    expect(SHELL_RULE).toMatch(/bash .* else sh/);
    const local = createLocalTransport();
    expect(await ask(local, 'local')).toBe(EXPECTED);
    // a profile host run locally (the simulated sites) too
    expect(await ask(local, {name: 'sim-host'})).toBe(EXPECTED);
    await local.close();
  });

  it('over SSH, commands and probes run under the same shell', async () => {
    const ssh = labTransport(lab);
    const target: HostSpec = {name: 'target'};
    expect(await ask(ssh, target)).toBe(EXPECTED);
    expect(await ask(ssh, target, true)).toBe(EXPECTED);
    await ssh.close();
  }, 60_000);
});
