/**
 * The overview's chart as data for a server-rendered SVG (no script): one small bar chart per
 * series, each on its own scale, the last `days` UTC days oldest first. The same numbers go in a
 * table beside it as the text alternative.
 */
export interface Bar {
  day: string;
  n: number;
  x: number;
  y: number;
  height: number;
}

export interface Series {
  kind: string;
  label: string;
  total: number;
  max: number;
  bars: Bar[];
}

export const CHART = { width: 300, height: 60, gap: 2 } as const;

/** The `days` UTC dates up to `today`, as YYYY-MM-DD, oldest first. */
export function lastDays(days: number, today = new Date()): string[] {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

export function dailySeries(
  rows: { day: string; kind: string; n: number }[],
  kinds: { kind: string; label: string }[],
  days: string[],
): Series[] {
  const slot = CHART.width / days.length;
  return kinds.map(({ kind, label }) => {
    const counts = days.map((day) => rows.filter((r) => r.kind === kind && r.day === day).reduce((s, r) => s + r.n, 0));
    const max = Math.max(0, ...counts);
    const bars = days.map((day, i) => {
      const n = counts[i] ?? 0;
      // Every day with something shows at least a sliver; an empty day shows nothing.
      const height = max === 0 || n === 0 ? 0 : Math.max(1, Math.round((n / max) * CHART.height));
      return { day, n, x: Math.round(i * slot * 10) / 10, y: CHART.height - height, height };
    });
    return { kind, label, total: counts.reduce((s, n) => s + n, 0), max, bars };
  });
}

/** Bar width in the SVG's units. */
export const barWidth = (days: number) => Math.max(1, Math.round((CHART.width / days - CHART.gap) * 10) / 10);
