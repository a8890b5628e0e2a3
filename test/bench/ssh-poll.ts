/**
 * What a watch's poll costs over SSH, side by side in one run against a loopback sshd:
 *
 *   pooled        crewchief's ssh transport: one connection, a channel per poll
 *   ssh fresh     `ssh -F cfg target CMD`: a new connection (handshake, auth) per poll
 *   ControlMaster `ssh -o ControlPath=… target CMD` through an already open master
 *
 * The poll is the Rubin one: `grep -c federations durability.log` on a 10 000-line file.
 *
 *   npx tsx test/bench/ssh-poll.ts [polls]
 */
import {execFile} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {promisify} from 'node:util';
import {createSshTransport} from '../../source/transport/ssh/index.js';
import {runToText} from '../../source/transport/types.js';
import {startSshLab} from '../harness/sshd.js';

const exec = promisify(execFile);
const POLLS = Number(process.argv[2] ?? 30);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

async function time(fn: () => Promise<string>, expected: string): Promise<number> {
  const started = performance.now();
  const out = await fn();
  const elapsed = performance.now() - started;
  if (out.trim() !== expected)
    throw new Error(`poll answered ${JSON.stringify(out)}, not ${expected}`);
  return elapsed;
}

async function main(): Promise<void> {
  const lab = await startSshLab({aliases: 0});
  const controlPath = join(lab.dir, 'cm-%C');
  try {
    const lines: string[] = [];
    let federations = 0;
    for (let i = 0; i < 10_000; i++) {
      if (i % 97 === 0) {
        federations++;
        lines.push(
          `2026-11-22T01:${String(i % 60).padStart(2, '0')} durability: federations aligned ${i}`,
        );
      } else {
        lines.push(`2026-11-22T01:${String(i % 60).padStart(2, '0')} durability: sample ${i} ok`);
      }
    }
    writeFileSync(join(lab.dir, 'durability.log'), `${lines.join('\n')}\n`);
    const expected = String(federations);
    const command = `cd ${lab.dir} && grep -c federations durability.log`;
    const ssh = ['-F', lab.configFile];

    const transport = createSshTransport({
      configFile: lab.configFile,
      userConfig: false,
      agentSocket: false,
    });
    const pooled = async (): Promise<string> =>
      (await runToText(transport, {host: {name: 'target'}, command})).stdout;
    const fresh = async (): Promise<string> =>
      (await exec('ssh', [...ssh, 'target', command])).stdout;
    const viaMaster = async (): Promise<string> =>
      (
        await exec('ssh', [
          ...ssh,
          '-o',
          `ControlPath=${controlPath}`,
          '-o',
          'ControlMaster=no',
          'target',
          command,
        ])
      ).stdout;

    // Open the long-lived connections first; their setup is not part of a poll.
    await exec('ssh', [
      ...ssh,
      '-o',
      'ControlMaster=yes',
      '-o',
      `ControlPath=${controlPath}`,
      '-o',
      'ControlPersist=yes',
      '-f',
      '-N',
      'target',
    ]);
    await time(pooled, expected);
    await time(viaMaster, expected);
    await time(fresh, expected);

    const samples: Record<string, number[]> = {pooled: [], 'ssh fresh': [], ControlMaster: []};
    // Interleaved, so every method sees the same machine load.
    for (let i = 0; i < POLLS; i++) {
      samples['pooled']?.push(await time(pooled, expected));
      samples['ssh fresh']?.push(await time(fresh, expected));
      samples['ControlMaster']?.push(await time(viaMaster, expected));
    }
    await transport.close();
    await exec('ssh', [...ssh, '-o', `ControlPath=${controlPath}`, '-O', 'exit', 'target']).catch(
      () => undefined,
    );

    const pooledMedian = median(samples['pooled'] ?? []);
    console.log(
      `${POLLS} polls of \`grep -c federations durability.log\` (10 000 lines, ${federations} matches) on a loopback OpenSSH sshd\n`,
    );
    console.log('method          median ms   p90 ms   min ms   vs pooled');
    for (const [name, xs] of Object.entries(samples)) {
      const m = median(xs);
      console.log(
        `${name.padEnd(15)} ${m.toFixed(2).padStart(9)} ${percentile(xs, 90)
          .toFixed(2)
          .padStart(8)} ${Math.min(...xs)
          .toFixed(2)
          .padStart(8)}   ${(m / pooledMedian).toFixed(1).padStart(6)}x`,
      );
    }
    const freshRatio = median(samples['ssh fresh'] ?? []) / pooledMedian;
    const masterRatio = median(samples['ControlMaster'] ?? []) / pooledMedian;
    console.log(
      `\npooled vs fresh ssh: ${freshRatio.toFixed(1)}x (goal >= 50x) ${freshRatio >= 50 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `pooled vs ControlMaster: ${masterRatio.toFixed(1)}x (goal > 1x) ${masterRatio > 1 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await lab.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
