import type {Duration} from './vocabulary.js';

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Parses `"30s"`, `"2m"`, `"1h30m"`, `"250ms"` or a number of milliseconds; null when invalid. */
export function parseDuration(value: Duration | undefined): number | null {
  if (value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const text = value.trim();
  if (!text) return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return null;
    total += Number(match[1]) * (UNITS[match[2]!] ?? 0);
  }
  return total;
}

/** A duration for people: `1m05s`, `42s`, `850ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
