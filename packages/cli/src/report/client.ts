/*
 * The script of a report page: draws each plot of the page's data with uPlot. It runs in the
 * browser: `drawReportPlots` is inlined into the page as its source text (`String(fn)`), so it
 * must use nothing from this module's scope or from Node, only its arguments. Minimal
 * structural types stand in for the DOM's (the CLI is compiled without the DOM library).
 *
 * Each plot's container gets `data-points` (values drawn), `data-series`, `data-colors` (the
 * colour of each series with data) and, once uPlot has drawn it, `data-rendered="1"`: what a
 * test or a reader can check the page actually drew.
 */
import type { PlotSpec } from './plot-spec.js';

/** What the script needs of a DOM element. */
interface El {
  dataset: Record<string, string | undefined>;
  clientWidth: number;
  querySelector(sel: string): El | null;
}

/** What the script needs of the document. */
interface Doc {
  getElementById(id: string): El | null;
}

/** What the script needs of a canvas context (the whiskers are drawn by hand). */
interface Ctx2d {
  save(): void;
  restore(): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  strokeStyle: string;
  lineWidth: number;
}

/** What the script needs of a uPlot instance. */
interface UPlotLike {
  ctx: Ctx2d;
  data: Array<Array<number | null>>;
  valToPos(v: number, scale: string, canvasPixels?: boolean): number;
}

/** The uPlot constructor with its path builders. */
interface UPlotStatic {
  new (opts: unknown, data: unknown, target: El): UPlotLike;
  paths: { bars?: (o: unknown) => unknown; stepped?: (o: unknown) => unknown };
}

/** Draws every plot of `specs` into the element of the same id. Runs in the browser. */
export function drawReportPlots(uPlot: UPlotStatic, doc: Doc, specs: PlotSpec[], pixelRatio: number): void {
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#393b79', '#bcbd22'];
  const sig = (v: number): string => {
    if (v >= 100) return String(Math.round(v));
    return v.toFixed(v >= 10 ? 1 : 2).replace(/\.?0+$/, '');
  };
  const fmtNs = (ns: number): string => {
    const a = Math.abs(ns);
    if (a >= 1e9) return `${sig(ns / 1e9)} s`;
    if (a >= 1e6) return `${sig(ns / 1e6)} ms`;
    if (a >= 1e3) return `${sig(ns / 1e3)} us`;
    return `${sig(ns)} ns`;
  };
  const fmt = (unit: string, v: number | null): string => {
    if (v === null || v === undefined || !Number.isFinite(v)) return '-';
    if (unit === 'ns') return fmtNs(v);
    if (unit === 'share') return v >= 0.01 || v === 0 ? `${sig(v * 100)} %` : `${(v * 100).toPrecision(2)} %`;
    if (unit === 'ms') return `${sig(v)} ms`;
    return Math.abs(v) >= 1e6 ? v.toExponential(2) : String(Math.round(v * 100) / 100);
  };
  for (const spec of specs) {
    const el = doc.getElementById(spec.id);
    if (!el) continue;
    const cats = spec.xCategories;
    const fmtX = (v: number | null): string => (cats ? (v === null ? '-' : (cats[Math.round(v)] ?? '')) : fmt(spec.xUnit, v));
    let points = 0;
    for (const s of spec.series) for (const v of s.values) if (v !== null && Number.isFinite(v)) points++;
    const n = spec.series.length;
    const bars = spec.style === 'bars' && uPlot.paths.bars ? uPlot.paths.bars({ size: [Math.min(0.9, 0.8 / n), 60], align: 0 }) : undefined;
    const stepped = spec.style === 'step' && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    const series = spec.series.map((s, i) => {
      const color = palette[i % palette.length]!;
      return {
        label: s.label,
        stroke: color,
        width: spec.style === 'interval' ? 0 : 1.5,
        fill: spec.style === 'bars' ? `${color}cc` : undefined,
        spanGaps: spec.style === 'step',
        paths: spec.style === 'interval' ? () => null : (bars ?? stepped),
        points: { show: spec.style === 'interval' || (spec.style === 'line' && spec.x.length <= 60), size: spec.style === 'interval' ? 9 : 4, fill: color },
        value: (_u: unknown, v: number | null) => fmt(spec.yUnit, v),
      };
    });
    const drawWhiskers = (u: UPlotLike): void => {
      const ctx = u.ctx;
      ctx.save();
      spec.series.forEach((s, si) => {
        if (!s.low || !s.high) return;
        ctx.strokeStyle = palette[si % palette.length]!;
        ctx.lineWidth = 2 * pixelRatio;
        ctx.beginPath();
        spec.x.forEach((x, i) => {
          const lo = s.low![i];
          const hi = s.high![i];
          if (lo === null || hi === null || lo === undefined || hi === undefined) return;
          const px = u.valToPos(x, 'x', true);
          const w = 6 * pixelRatio;
          const ylo = u.valToPos(lo, 'y', true);
          const yhi = u.valToPos(hi, 'y', true);
          ctx.moveTo(px, ylo);
          ctx.lineTo(px, yhi);
          ctx.moveTo(px - w, ylo);
          ctx.lineTo(px + w, ylo);
          ctx.moveTo(px - w, yhi);
          ctx.lineTo(px + w, yhi);
        });
        ctx.stroke();
      });
      ctx.restore();
    };
    // Interval plots: the y range must hold the whiskers, not only the medians.
    let yRange: [number, number] | undefined;
    if (spec.style === 'interval') {
      const all = spec.series.flatMap((s) => [...s.values, ...(s.low ?? []), ...(s.high ?? [])]).filter((v): v is number => v !== null && Number.isFinite(v));
      const lo = Math.min(...all);
      const hi = Math.max(...all);
      const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.1 || 1;
      yRange = [Math.max(0, lo - pad), hi + pad];
    }
    const opts = {
      width: Math.max(320, el.clientWidth || 900),
      height: 300,
      pxAlign: 0,
      legend: { show: true },
      cursor: { points: { show: true } },
      scales: {
        x: cats ? { time: false, range: [-0.5, cats.length - 0.5] } : { time: false, distr: spec.xLog ? 3 : 1 },
        // A CDF spans 0..1; other linear axes start at 0 and end a little above the largest value.
        y: yRange
          ? { range: yRange }
          : spec.yLog
            ? { distr: 3 }
            : { range: spec.style === 'step' && spec.yUnit === 'share' ? [0, 1] : (_u: unknown, _min: number, max: number) => [0, max > 0 ? max * 1.05 : 1] },
      },
      axes: [
        {
          label: spec.xLabel,
          values: (_u: unknown, splits: Array<number | null>) => splits.map((v) => (v === null ? '' : fmtX(v))),
          ...(cats ? { splits: () => cats.map((_, i) => i), rotate: cats.length > 8 ? -40 : 0, size: cats.length > 8 ? 90 : 50 } : {}),
        },
        { label: spec.yLabel, size: 80, values: (_u: unknown, splits: Array<number | null>) => splits.map((v) => (v === null ? '' : fmt(spec.yUnit, v))) },
      ],
      series: [{ label: spec.xLabel, value: (_u: unknown, v: number | null) => fmtX(v) }, ...series],
      hooks: {
        draw: [
          (u: UPlotLike) => {
            if (spec.style === 'interval') drawWhiskers(u);
            el.dataset.rendered = '1';
          },
        ],
      },
    };
    el.dataset.points = String(points);
    el.dataset.series = String(n);
    el.dataset.colors = spec.series.map((s, i) => (s.values.some((v) => v !== null) ? palette[i % palette.length] : '')).join(',');
    new uPlot(opts, [spec.x, ...spec.series.map((s) => s.values)], el);
  }
}
