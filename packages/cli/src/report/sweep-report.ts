/*
 * The HTML comparison report of a sweep (`evtchn sweep STUDY --report FILE.html`, or `evtchn
 * sweep merge … --report FILE.html` on merged shards): for each parameter combination the
 * median of each metric across seeds with its 95 % interval, as plots and tables.
 */
import { formatDuration } from '../text/units.js';
import { isTimeMetric } from '../sweep/metrics.js';
import type { SweepRow } from '../sweep/run-one.js';
import { medianIntervalCoverage, medianIntervalIndices, summarise, type GroupSummary } from '../sweep/table.js';
import { sideBySide, type PlotSpec } from './plot-spec.js';
import { esc, htmlTable, plotBlock, reportHtml, withData } from './page.js';

/** What the page says about the sweep. */
export interface SweepReportSource {
  /** The study's name or file. */
  title: string;
  /** The metrics plotted first (the study's `compare`, or the defaults). */
  compare: readonly string[];
}


/** A parameter value as a reader wants it: `["fifo"]` → `fifo`, `["2level","fifo"]` → `2level+fifo`. */
function showValue(v: unknown): string {
  if (typeof v === 'string' && v.startsWith('[')) {
    try {
      const arr = JSON.parse(v) as unknown;
      if (Array.isArray(arr) && arr.every((x) => typeof x !== 'object')) return arr.join('+');
    } catch {
      // not JSON: shown as it is
    }
  }
  return v === undefined ? '-' : String(v);
}

/**
 * How the groups are laid out in a plot: one series per value of the first parameter that
 * varies (e.g. the ABI), and the other parameters (and the configuration, when there are
 * several) along x, so the series' intervals stand side by side for each combination.
 */
function layout(groups: readonly GroupSummary[]): { seriesOf: (g: GroupSummary) => string; categoryOf: (g: GroupSummary) => string } {
  const names = [...new Set(groups.flatMap((g) => Object.keys(g.params)))];
  const varies = (k: string): boolean => new Set(groups.map((g) => JSON.stringify(g.params[k]))).size > 1;
  const split = names.find(varies);
  const configs = new Set(groups.map((g) => g.config)).size > 1;
  const rest = names.filter((k) => k !== split && varies(k));
  return {
    seriesOf: (g) => (split ? `${split} = ${showValue(g.params[split])}` : 'median'),
    categoryOf: (g) => [...(configs ? [g.config] : []), ...rest.map((k) => `${k} = ${showValue(g.params[k])}`)].join(', ') || 'all runs',
  };
}

/** One metric's plot: medians with their intervals, by parameter combination. */
function metricPlot(metric: string, index: number, groups: readonly GroupSummary[]): PlotSpec {
  const { seriesOf, categoryOf } = layout(groups);
  const seriesNames = [...new Set(groups.map(seriesOf))];
  const cats = [...new Set(groups.map(categoryOf))];
  const cell = (s: string, c: string): GroupSummary | undefined => groups.find((g) => seriesOf(g) === s && categoryOf(g) === c);
  const laid = sideBySide(
    cats.length,
    seriesNames.map((s) => ({
      label: s,
      values: cats.map((c) => cell(s, c)?.metrics[metric]?.median ?? null),
      low: cats.map((c) => cell(s, c)?.metrics[metric]?.low ?? null),
      high: cats.map((c) => cell(s, c)?.metrics[metric]?.high ?? null),
    })),
    0.18,
  );
  return {
    id: `metric-${index}`,
    title: metric,
    caption: 'Median across seeds (dot) and its 95 % interval of the median (whiskers) for each parameter combination.',
    style: 'interval',
    ...laid,
    xLabel: 'parameters',
    xUnit: 'count',
    xCategories: cats,
    yLabel: metric,
    yUnit: isTimeMetric(metric) ? 'ns' : 'count',
  };
}

/** The interval method, for the page (and the reader who wants to check it). */
function methodNote(n: number): string {
  const [lo, hi] = medianIntervalIndices(n);
  const coverage = (medianIntervalCoverage(n) * 100).toFixed(1);
  const exact =
    n >= 6
      ? `with ${n} seeds: x(${lo + 1}) and x(${hi + 1}), coverage ${coverage} %`
      : `with ${n} seed(s) no interval reaches 95 %: the smallest and the largest value are shown (coverage ${coverage} %)`;
  return (
    '<p class="note">Each figure is the median across seeds of one metric for one parameter combination, with a distribution-free 95 % confidence ' +
    'interval for the median from order statistics: the sorted values x(j) and x(n−j+1), with the largest j such that ' +
    `P(j ≤ B ≤ n−j) ≥ 0.95 for B ~ Binomial(n, 1/2) (${esc(exact)}). It assumes only that the seeds give independent runs.</p>`
  );
}

/** The comparison report of a sweep's rows as a self-contained HTML page. */
export function sweepReportHtml(rows: readonly SweepRow[], source: SweepReportSource): string {
  const groups = summarise(rows);
  const metrics = [...new Set(groups.flatMap((g) => Object.keys(g.metrics)))];
  const compare = source.compare.filter((m) => metrics.includes(m));
  const plots = withData(compare.map((m, i) => metricPlot(m, i, groups)));
  const n = groups.length ? Math.max(...groups.flatMap((g) => Object.values(g.metrics).map((s) => s.n))) : 0;
  const paramNames = [...new Set(groups.flatMap((g) => Object.keys(g.params)))];
  const show = (m: string, v: number): string => (isTimeMetric(m) ? formatDuration(v) : String(Math.round(v * 100) / 100));
  const cell = (g: GroupSummary, m: string): string => {
    const s = g.metrics[m];
    return s ? `${show(m, s.median)} [${show(m, s.low)}, ${show(m, s.high)}]` : '-';
  };
  const head = (g: GroupSummary): string[] => [g.config, ...paramNames.map((p) => showValue(g.params[p]))];
  const body = [
    `<p class="meta">${rows.length} runs in ${groups.length} parameter combination(s), ${n} seed(s) each.</p>`,
    methodNote(n),
    plots.length ? `<h2>Compared metrics</h2>\n${plots.map(plotBlock).join('\n')}` : '',
    '<h2>Tables</h2>',
    htmlTable(['config', ...paramNames, ...compare], groups.map((g) => [...head(g), ...compare.map((m) => cell(g, m))]), 'Median [95 % interval of the median] of the compared metrics'),
    htmlTable(
      ['metric', ...groups.map((g) => head(g).join(' '))],
      metrics.map((m) => [m, ...groups.map((g) => cell(g, m))]),
      'Every metric: median [95 % interval of the median], one column per parameter combination',
    ),
  ].join('\n');
  return reportHtml({ title: `evtchn sweep report: ${source.title}`, body, plots });
}
