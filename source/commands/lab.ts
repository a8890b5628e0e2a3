/**
 * `crewchief lab SITE [--dir DIR]`: the site's simulated twin behind real SSH. Starts a
 * bastion and a target sshd on loopback, writes an ssh config (ProxyJump through the
 * bastion), a known_hosts and a profile into DIR, says what to run next, and stays in
 * the foreground until Ctrl-C or SIGTERM, when it stops both sshd.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {startLab} from '../lab/site.js';
import {listProfiles, profilePath} from '../runbook/load.js';
import {UsageError} from '../services/exit.js';
import {onInterrupt} from '../services/interrupt.js';
import {shellQuote} from '../transport/shell.js';

export interface LabFlags {
  dir?: string;
  /** The demo profile to start from (default: the site's `*-demo` profile). */
  profile?: string;
  /** Simulated seconds per real second (default: the demo profile's). */
  speed?: string;
}

/** A word for a command line to copy: quoted only when the shell needs it. */
const q = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : shellQuote(word));

/** The site's demo profile: the one named, or the first `*-demo` for the site. */
function demoProfile(site: string, name: string | undefined): string {
  if (name) return profilePath(name);
  const found = listProfiles().find((p) => p.site === site && p.name.endsWith('-demo'));
  if (!found)
    throw new UsageError(
      `no demo profile for site "${site}" (a profile named *-demo with site: ${site})`,
    );
  return found.file;
}

export async function lab(
  args: readonly string[],
  flags: LabFlags,
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
): Promise<number> {
  const site = args[0];
  if (!site || args.length > 1)
    throw new UsageError('lab expects one SITE: crewchief lab rubin [--dir DIR]');
  const speed = flags.speed === undefined ? undefined : Number(flags.speed);
  if (speed !== undefined && !(speed > 0))
    throw new UsageError(`--speed expects a positive number, not "${flags.speed}"`);
  const demo = demoProfile(site, flags.profile);
  const dir = flags.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `crewchief-lab-${site}-`));
  const running = await startLab({demoProfile: demo, dir, ...(speed ? {speed} : {})});
  write(
    [
      `crewchief lab: ${site} over real SSH through a bastion, against its simulated site`,
      `  bastion  sshd on 127.0.0.1:${running.bastion.port} (pid ${running.bastion.pid})`,
      `  target   sshd on 127.0.0.1:${running.target.port} (pid ${running.target.pid}), reached through the bastion (ProxyJump)`,
      `  files    ${running.dir}: profile.yaml, ssh_config, known_hosts, id_ed25519, bastion.log, target.log`,
      '',
      'Run the site in another terminal:',
      `  crewchief run ${q(site)} --profile ${q(running.profileFile)}`,
      '',
      `Log in to the target by hand: ssh -F ${q(running.sshConfig)} target`,
      'Ctrl-C stops both sshd.',
    ].join('\n'),
  );
  const signal = await new Promise<string>((resolve) => {
    const off = onInterrupt((s) => {
      off();
      resolve(s);
    });
  });
  await running.stop();
  write(`crewchief lab: ${signal}: stopped the bastion and target sshd`);
  return 0;
}
