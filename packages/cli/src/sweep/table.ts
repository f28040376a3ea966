/*
 * A sweep's results: rows as JSON lines and CSV, shards merged back into the full table, and
 * the comparison across seeds (median and a 95 % interval for the median per group).
 */
import { ConfigError } from '@evtchn/core';
import type { SweepRow } from './run-one.js';

/** Columns of a table: every key, in order of first appearance over the rows (sorted by run). */
export function columnsOf(rows: readonly SweepRow[]): string[] {
  const cols = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) cols.add(k);
  return [...cols];
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rows as CSV, one header line. */
export function toCsv(rows: readonly SweepRow[]): string {
  const cols = columnsOf(rows);
  return [cols.map(csvCell).join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

/** The rows as JSON lines. */
export function toJsonLines(rows: readonly SweepRow[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** Parses JSON lines back into rows. */
export function fromJsonLines(text: string, source: string): SweepRow[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as SweepRow;
      } catch (e) {
        throw new ConfigError(`${source}:${i + 1}: not a JSON line: ${(e as Error).message}`);
      }
    });
}

/**
 * Joins the rows of several shards: every run of the grid exactly once, in run order.
 * @throws ConfigError when a run is missing, twice, or the shards come from different grids
 */
export function mergeRows(shards: readonly { source: string; rows: readonly SweepRow[] }[]): SweepRow[] {
  const all = shards.flatMap((s) => s.rows.map((r) => ({ r, source: s.source })));
  if (all.length === 0) throw new ConfigError('sweep merge: no rows to merge');
  const total = all[0]!.r.runs;
  const byRun = new Map<number, { r: SweepRow; source: string }>();
  for (const x of all) {
    if (x.r.runs !== total) throw new ConfigError(`${x.source}: a grid of ${String(x.r.runs)} runs, another shard has ${String(total)}`);
    const i = Number(x.r.run);
    const seen = byRun.get(i);
    if (seen) throw new ConfigError(`run ${i} is in both ${seen.source} and ${x.source}`);
    byRun.set(i, x);
  }
  const missing: number[] = [];
  for (let i = 0; i < Number(total); i++) if (!byRun.has(i)) missing.push(i);
  if (missing.length) throw new ConfigError(`sweep merge: ${missing.length} of ${String(total)} runs missing (e.g. run ${missing[0]}): a shard is missing or unfinished`);
  return [...byRun.keys()].sort((a, b) => a - b).map((i) => byRun.get(i)!.r);
}

/** Median of sorted numbers. */
function median(xs: readonly number[]): number {
  const n = xs.length;
  return n % 2 ? xs[(n - 1) / 2]! : (xs[n / 2 - 1]! + xs[n / 2]!) / 2;
}

/** log(n choose k), for the binomial tail. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/**
 * A distribution-free 95 % confidence interval for the median of `n` samples: the order
 * statistics x(j) and x(n-j+1) with the largest j such that P(j <= B <= n-j) >= 0.95 for
 * B ~ Binomial(n, 1/2). With fewer than 6 samples no such interval exists: min and max.
 * @returns 0-based indices into the sorted samples
 */
export function medianIntervalIndices(n: number): [number, number] {
  let best = 1;
  for (let j = 1; j <= Math.floor(n / 2); j++) {
    let tail = 0; // P(B < j) = P(B <= j - 1)
    for (let k = 0; k < j; k++) tail += Math.exp(logChoose(n, k) - n * Math.LN2);
    if (1 - 2 * tail >= 0.95) best = j;
    else break;
  }
  return [best - 1, n - best];
}

/**
 * The probability that the interval of {@link medianIntervalIndices} holds the true median:
 * P(j <= B <= n-j) for B ~ Binomial(n, 1/2), the interval being x(j)..x(n-j+1).
 */
export function medianIntervalCoverage(n: number): number {
  if (n <= 0) return 0;
  const j = medianIntervalIndices(n)[0] + 1;
  let tail = 0;
  for (let k = 0; k < j; k++) tail += Math.exp(logChoose(n, k) - n * Math.LN2);
  return 1 - 2 * tail;
}

/** Median and 95 % interval of one metric in one group. */
export interface MetricSummary {
  /** Samples (seeds). */
  n: number;
  /** Median across seeds. */
  median: number;
  /** Lower end of the 95 % interval of the median. */
  low: number;
  /** Upper end. */
  high: number;
}

/** One group of a comparison: a configuration with one set of parameter values, across seeds. */
export interface GroupSummary {
  /** Configuration. */
  config: string;
  /** Parameter values (`param.*` columns). */
  params: Record<string, unknown>;
  /** Each numeric metric. */
  metrics: Record<string, MetricSummary>;
}

const HEAD = new Set(['run', 'runs', 'config', 'seed']);

/** Groups the rows by configuration and parameters and summarises every metric across seeds. */
export function summarise(rows: readonly SweepRow[]): GroupSummary[] {
  const groups = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.config, ...Object.entries(r).filter(([k]) => k.startsWith('param.'))]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const params = Object.fromEntries(Object.entries(first).filter(([k]) => k.startsWith('param.')).map(([k, v]) => [k.slice(6), v]));
    const metrics: Record<string, MetricSummary> = {};
    for (const col of columnsOf(g)) {
      if (HEAD.has(col) || col.startsWith('param.')) continue;
      const xs = g.map((r) => r[col]).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
      if (!xs.length) continue;
      const [lo, hi] = medianIntervalIndices(xs.length);
      metrics[col] = { n: xs.length, median: median(xs), low: xs[lo]!, high: xs[hi]! };
    }
    return { config: String(first.config), params, metrics };
  });
}
