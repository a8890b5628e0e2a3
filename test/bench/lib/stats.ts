/**
 * Results of the benchmark: samples per tool, targets checked against them, and the
 * table and JSON made from them.
 */

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** One tool's measurements in one case. */
export interface Series {
  tool: string;
  /** Is this crewchief (the side the targets are about)? */
  crewchief?: boolean;
  samples: number[];
  /** Why it was not measured (tool missing, failed): the row says so. */
  skipped?: string;
  /** Shown under the row (a failure after some runs, what the number includes). */
  note?: string;
  /** An informational row: no target applies to it. */
  info?: boolean;
}

/** A target: crewchief's median against a peer's (a ratio) or against a bound. */
export type Target =
  | {
      kind: 'ratio';
      /** The series compared: crewchief's row … */
      of: string;
      /** … against this peer's row, or the best of several peers. */
      against: string | readonly string[];
      /** `max`: crewchief/peer ≤ limit (lower is better); `min`: ≥ limit (higher is better). */
      bound: 'max' | 'min';
      limit: number;
      label: string;
    }
  | {kind: 'absolute'; of: string; bound: 'max' | 'min'; limit: number; label: string};

export interface Verdict {
  label: string;
  of: string;
  /** The peer (resolved, for a best-of target). */
  against?: string;
  value?: number;
  pass?: boolean;
  /** Why no verdict (a peer was skipped). */
  unknown?: string;
}

export interface CaseResult {
  id: string;
  title: string;
  unit: string;
  /** Which way is better for this unit. */
  better: 'lower' | 'higher';
  series: Series[];
  targets: Target[];
  verdicts: Verdict[];
  notes: string[];
  /** The case could not run at all. */
  skipped?: string;
}

export function newCase(
  id: string,
  title: string,
  unit: string,
  better: 'lower' | 'higher',
): CaseResult {
  return {id, title, unit, better, series: [], targets: [], verdicts: [], notes: []};
}

export function seriesOf(c: CaseResult, tool: string): Series {
  let s = c.series.find((x) => x.tool === tool);
  if (!s) {
    s = {tool, samples: []};
    c.series.push(s);
  }
  return s;
}

const usable = (s: Series | undefined): s is Series => !!s && !s.skipped && s.samples.length > 0;

/** Checks every target of a case against the medians. */
export function judge(c: CaseResult): void {
  c.verdicts = c.targets.map((t): Verdict => {
    const mine = c.series.find((s) => s.tool === t.of);
    if (!usable(mine)) return {label: t.label, of: t.of, unknown: `${t.of} was not measured`};
    const m = median(mine.samples);
    if (t.kind === 'absolute') {
      return {
        label: t.label,
        of: t.of,
        value: m,
        pass: t.bound === 'max' ? m <= t.limit : m >= t.limit,
      };
    }
    const names = typeof t.against === 'string' ? [t.against] : t.against;
    const peers = names.map((n) => c.series.find((s) => s.tool === n)).filter(usable);
    if (!peers.length) {
      return {
        label: t.label,
        of: t.of,
        unknown: `no peer measured (${names.join(', ')})`,
      };
    }
    // The strictest peer: the fastest (lower is better) or the highest throughput.
    const best = peers.reduce((a, b) => {
      const [ma, mb] = [median(a.samples), median(b.samples)];
      return (c.better === 'lower' ? mb < ma : mb > ma) ? b : a;
    });
    const ratio = m / median(best.samples);
    return {
      label: t.label,
      of: t.of,
      against: best.tool,
      value: ratio,
      pass: t.bound === 'max' ? ratio <= t.limit : ratio >= t.limit,
    };
  });
}

const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3).replace(/0$/, '');
};

const ratioText = (x: number): string =>
  !Number.isFinite(x) ? '—' : x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toFixed(4);

/** The table: one block per case, crewchief first, a ratio and a verdict per target. */
export function renderTable(cases: readonly CaseResult[]): string {
  const rows: string[][] = [
    ['case / tool', 'runs', 'median', 'min–max', 'crewchief/peer', 'target', 'verdict'],
  ];
  const blocks: number[] = [];
  for (const c of cases) {
    blocks.push(rows.length);
    rows.push([`${c.title} [${c.unit}]`, '', '', '', '', '', c.skipped ? 'SKIPPED' : '']);
    if (c.skipped) {
      rows.push([`  ${c.skipped}`, '', '', '', '', '', '']);
      continue;
    }
    for (const s of c.series) {
      const verdicts = c.verdicts.filter(
        (v) => v.against === s.tool || (!v.against && v.of === s.tool && !v.unknown),
      );
      const unknown = c.verdicts.filter((v) => v.unknown && targetNames(c, v).includes(s.tool));
      const base = [
        `  ${s.tool}${s.info ? ' (info)' : ''}`,
        s.skipped ? '0' : String(s.samples.length),
        s.skipped || !s.samples.length ? '—' : fmt(median(s.samples)),
        s.skipped || !s.samples.length
          ? '—'
          : `${fmt(Math.min(...s.samples))}–${fmt(Math.max(...s.samples))}`,
      ];
      if (s.skipped) {
        rows.push([...base, '', '', 'SKIPPED']);
        rows.push([`    ${clip(s.skipped)}`, '', '', '', '', '', '']);
        continue;
      }
      const ratio = !s.crewchief && !s.info ? ratioOf(c, s) : undefined;
      if (!verdicts.length && !unknown.length) {
        rows.push([...base, ratio === undefined ? '' : ratioText(ratio), '', '']);
      }
      verdicts.forEach((v, i) => {
        rows.push([
          ...(i === 0 ? base : ['', '', '', '']),
          v.against ? ratioText(v.value ?? Number.NaN) : '',
          v.label,
          v.pass ? 'PASS' : 'FAIL',
        ]);
      });
      for (const v of unknown) rows.push([...base, '', v.label, 'n/a']);
      if (s.note) rows.push([`    ${clip(s.note)}`, '', '', '', '', '', '']);
    }
    for (const note of c.notes) rows.push([`  · ${note}`, '', '', '', '', '', '']);
  }
  // Long first-column notes do not widen the table: they run across it.
  const isNote = (r: string[]): boolean => r.slice(1).every((x) => x === '');
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.filter((r) => i > 0 || !isNote(r)).map((r) => r[i]!.length)),
  );
  const right = new Set([1, 2, 3, 4]);
  const line = (r: string[]): string =>
    isNote(r)
      ? r[0]!
      : r
          .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd();
  const out: string[] = [];
  rows.forEach((r, i) => {
    if (i === 0) {
      out.push(line(r));
      out.push(widths.map((w) => '─'.repeat(w)).join('  '));
      return;
    }
    if (blocks.includes(i) && i > 1) out.push('');
    out.push(line(r));
  });
  return out.join('\n');
}

const clip = (text: string, max = 160): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

function targetNames(c: CaseResult, v: Verdict): string[] {
  const t = c.targets.find((x) => x.label === v.label && x.of === v.of);
  if (!t) return [];
  if (t.kind === 'absolute') return [t.of];
  return typeof t.against === 'string' ? [t.against] : [...t.against];
}

/** crewchief's median over this peer's, for rows without a target of their own. */
function ratioOf(c: CaseResult, peer: Series): number | undefined {
  const mine = c.series.find((s) => s.crewchief && !s.info);
  if (!usable(mine) || !usable(peer)) return undefined;
  return median(mine.samples) / median(peer.samples);
}

/** The results as JSON: medians and min–max next to the raw samples. */
export function toJson(
  cases: readonly CaseResult[],
  meta: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...meta,
    cases: cases.map((c) => ({
      id: c.id,
      title: c.title,
      unit: c.unit,
      better: c.better,
      ...(c.skipped ? {skipped: c.skipped} : {}),
      series: c.series.map((s) => ({
        tool: s.tool,
        ...(s.crewchief ? {crewchief: true} : {}),
        ...(s.info ? {info: true} : {}),
        runs: s.samples.length,
        ...(s.samples.length
          ? {
              median: median(s.samples),
              min: Math.min(...s.samples),
              max: Math.max(...s.samples),
            }
          : {}),
        ...(s.skipped ? {skipped: s.skipped} : {}),
        ...(s.note ? {note: s.note} : {}),
        samples: s.samples.map((x) => Math.round(x * 1000) / 1000),
      })),
      verdicts: c.verdicts,
      notes: c.notes,
    })),
  };
}
