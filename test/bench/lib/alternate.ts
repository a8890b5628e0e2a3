/** Runs the tools of a case in turns. */
import {median, seriesOf, type CaseResult} from './stats.js';

/**
 * Runs each tool once per round, the order rotating every round, so each sees the same
 * machine. A tool that fails is noted and left out of the rounds after; its samples so
 * far stay. `collect` may file a run's samples under other rows (one run, two cases).
 */
export async function alternate(
  c: CaseResult,
  runners: Record<string, (round: number) => Promise<number[]>>,
  rounds: number,
  collect?: (tool: string, samples: number[]) => void,
  /** A counter read around every run (sshd's CPU seconds): its deltas are noted per tool. */
  meter?: {name: string; read: () => number; per?: (tool: string) => number},
): Promise<void> {
  const names = Object.keys(runners);
  const stopped = new Set<string>();
  const used = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      const series = seriesOf(c, name);
      if (series.skipped || stopped.has(name)) continue;
      try {
        const before = meter?.read();
        const samples = await runners[name]!(round);
        if (meter && before !== undefined) {
          await new Promise((r) => setTimeout(r, 200)); // let the server reap its sessions
          const list = used.get(name) ?? [];
          list.push((meter.read() - before) / (meter.per?.(name) ?? 1));
          used.set(name, list);
        }
        if (collect) collect(name, samples);
        else series.samples.push(...samples);
      } catch (error) {
        const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
        process.stderr.write(`  ${name}: ${message}\n`);
        stopped.add(name);
        if (series.samples.length) series.note = `failed in round ${round + 1}: ${message}`;
        else series.skipped = `failed: ${message}`;
      }
    }
  }
  if (meter && used.size) {
    const parts = [...used].map(([tool, xs]) => `${tool} ${(median(xs) * 1000).toFixed(1)} ms`);
    c.notes.push(`${meter.name} (median per run): ${parts.join('; ')}`);
  }
}
