/*
 * What a report plot shows, as data: built in Node from a run's or a sweep's results, written
 * into the page as JSON, drawn in the browser by the page's script (client.ts) with uPlot. The
 * page draws exactly these numbers; nothing is computed again in the browser.
 */

/** How a value on an axis reads: a time in ns, a share (0…1), a plain count or a category. */
export type PlotUnit = 'ns' | 'share' | 'count' | 'ms';

/** One series of a plot, aligned with the plot's `x` (`null`: no value there). */
export interface PlotSeries {
  /** Legend label. */
  label: string;
  /** One value per x (`null` where the series has none). */
  values: Array<number | null>;
  /** Lower ends of intervals (style `interval`). */
  low?: Array<number | null>;
  /** Upper ends of intervals (style `interval`). */
  high?: Array<number | null>;
}

/** One plot of a report. */
export interface PlotSpec {
  /** Element id (unique in the page). */
  id: string;
  /** Heading above the plot. */
  title: string;
  /** A sentence under the title: what is drawn and how to read it. */
  caption: string;
  /** Lines, steps (a CDF), bars, or points with interval whiskers. */
  style: 'line' | 'step' | 'bars' | 'interval';
  /** The x values, ascending. */
  x: number[];
  /** x axis label. */
  xLabel: string;
  /** x unit. */
  xUnit: PlotUnit;
  /** Logarithmic x axis. */
  xLog?: boolean;
  /** Names of categorical x values: x = 0, 1, … (or in between, for series side by side) name `xCategories[Math.round(x)]`. */
  xCategories?: string[];
  /** y axis label. */
  yLabel: string;
  /** y unit. */
  yUnit: PlotUnit;
  /** Logarithmic y axis. */
  yLog?: boolean;
  /** The series. */
  series: PlotSeries[];
}

/** Values drawn in a plot (non-null y values of all series), as the page reports it in `data-points`. */
export function plotPoints(spec: PlotSpec): number {
  let n = 0;
  for (const s of spec.series) for (const v of s.values) if (v !== null && Number.isFinite(v)) n++;
  return n;
}

/** A histogram's buckets: `[lowest value, count]`, ascending. */
export type Buckets = ReadonlyArray<readonly [number, number]>;

/** Latencies on a log axis start at 1 ns (a 0 ns latency is drawn at 1 ns). */
const atLeast1 = (v: number): number => (v < 1 ? 1 : v);

/**
 * The CDF of several histograms on one x axis (the union of their bucket values): for each x,
 * the share of each histogram's values at or below x.
 */
export function cdfPlot(base: Omit<PlotSpec, 'x' | 'series' | 'style' | 'yUnit' | 'yLabel'>, groups: ReadonlyArray<{ label: string; buckets: Buckets }>): PlotSpec {
  const xs = [...new Set(groups.flatMap((g) => g.buckets.map(([v]) => atLeast1(v))))].sort((a, b) => a - b);
  const series = groups.map((g) => {
    const total = g.buckets.reduce((s, [, c]) => s + c, 0);
    const values: number[] = [];
    let seen = 0;
    let i = 0;
    for (const x of xs) {
      while (i < g.buckets.length && atLeast1(g.buckets[i]![0]) <= x) seen += g.buckets[i++]![1];
      values.push(total > 0 ? seen / total : 0);
    }
    return { label: g.label, values };
  });
  return { ...base, style: 'step', x: xs, series, yLabel: 'share at or below', yUnit: 'share' };
}

/** Bins per decade of a report's latency histograms. */
export const BINS_PER_DECADE = 10;

/**
 * Histograms re-binned into {@link BINS_PER_DECADE} logarithmic bins per decade (the model's
 * 1.6 % buckets are too fine to read), as the share of each group's values in each bin; x is
 * the geometric middle of the bin, empty bins (from the first occupied one to the last) are
 * `null`: the y axis is logarithmic, and the line breaks there.
 */
export function histogramPlot(base: Omit<PlotSpec, 'x' | 'series' | 'style' | 'yUnit' | 'yLabel'>, groups: ReadonlyArray<{ label: string; buckets: Buckets }>): PlotSpec {
  const binOf = (v: number): number => Math.floor(Math.log10(atLeast1(v)) * BINS_PER_DECADE + 1e-9);
  const perGroup = groups.map((g) => {
    const total = g.buckets.reduce((s, [, c]) => s + c, 0);
    const bins = new Map<number, number>();
    for (const [v, c] of g.buckets) bins.set(binOf(v), (bins.get(binOf(v)) ?? 0) + c);
    return { label: g.label, total, bins };
  });
  // Every bin from the first to the last occupied one: an empty bin is a gap, not a line across it.
  const used = perGroup.flatMap((g) => [...g.bins.keys()]);
  const all = used.length ? Array.from({ length: Math.max(...used) - Math.min(...used) + 1 }, (_, i) => Math.min(...used) + i) : [];
  const x = all.map((b) => 10 ** ((b + 0.5) / BINS_PER_DECADE));
  const series = perGroup.map((g) => ({ label: g.label, values: all.map((b) => (g.bins.has(b) && g.total > 0 ? g.bins.get(b)! / g.total : null)) }));
  return { ...base, style: 'line', x, series, yLabel: 'share of events per bin', yUnit: 'share', yLog: true };
}

/**
 * Series side by side over categories: category `c` of series `s` (of `n`) is drawn at
 * `c + (s - (n - 1) / 2) * width`, so bars or interval whiskers of a category stand in a group.
 * @returns the x values and each series' values aligned with them
 */
export function sideBySide(
  categories: number,
  series: ReadonlyArray<{ label: string; values: ReadonlyArray<number | null>; low?: ReadonlyArray<number | null>; high?: ReadonlyArray<number | null> }>,
  width: number,
): { x: number[]; series: PlotSeries[] } {
  const n = series.length;
  const x: number[] = [];
  for (let c = 0; c < categories; c++) for (let s = 0; s < n; s++) x.push(c + (s - (n - 1) / 2) * width);
  const out = series.map((s, si) => {
    const at = (arr: ReadonlyArray<number | null> | undefined): Array<number | null> =>
      x.map((_, i) => (i % n === si ? (arr?.[Math.floor(i / n)] ?? null) : null));
    const ps: PlotSeries = { label: s.label, values: at(s.values) };
    if (s.low) ps.low = at(s.low);
    if (s.high) ps.high = at(s.high);
    return ps;
  });
  return { x, series: out };
}
