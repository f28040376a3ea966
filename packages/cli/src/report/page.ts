/*
 * A self-contained report page: one HTML file with uPlot's script and style, the page's own
 * script and the plots' data inline, so it opens from disk, offline, anywhere, and can be
 * mailed or kept as a CI artefact. It loads nothing.
 *
 * uPlot (MIT, ~50 KB minified, no dependencies) draws the plots: it is small enough to inline
 * in every report, draws on a canvas with log axes, steps and bars, and is kept up to date.
 * Its files are read from the installed `uplot` package (a dependency of this package) when a
 * report is written, so the page carries the exact version installed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { drawReportPlots } from './client.js';
import { plotPoints, type PlotSpec } from './plot-spec.js';

/** Escapes text for HTML content and attribute values. */
export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Text of a file of the `uplot` package (its `dist/` script or style). */
function uplotAsset(file: string): string {
  const require = createRequire(import.meta.url);
  return readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
}

/** An HTML table; cells are escaped; numeric cells align right. */
export function htmlTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean>>, caption?: string): string {
  const cell = (v: string | number | boolean, tag: 'td' | 'th'): string => `<${tag}${typeof v === 'number' ? ' class="num"' : ''}>${esc(v)}</${tag}>`;
  return (
    `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((v) => cell(v, 'td')).join('')}</tr>`).join('')}</tbody></table>`
  );
}

/** A plot's place in the page: its heading, caption and the element the script draws into. */
export function plotBlock(spec: PlotSpec): string {
  return (
    `<figure class="plot-block"><figcaption><h3>${esc(spec.title)}</h3><p>${esc(spec.caption)}</p></figcaption>` +
    `<div class="plot" id="${esc(spec.id)}" data-expected-points="${plotPoints(spec)}"></div></figure>`
  );
}

/** Keeps only the plots with something to draw (a plot without data would be an empty frame). */
export function withData(specs: ReadonlyArray<PlotSpec | undefined>): PlotSpec[] {
  return specs.filter((s): s is PlotSpec => s !== undefined && plotPoints(s) > 0);
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
h3 { font-size: 15px; margin: 0; } figure { margin: 16px 0 24px; } figcaption p { margin: 2px 0 8px; color: #555; }
.meta { color: #555; } table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; } td.num { text-align: right; }
caption { text-align: left; font-weight: 600; padding: 4px 0; } pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
.note { background: #f4f8ff; border-left: 3px solid #1f77b4; padding: 6px 10px; }
`;

/** What a report page holds. */
export interface ReportPage {
  /** `<title>` and heading. */
  title: string;
  /** The page's HTML body (headings, plot blocks from {@link plotBlock}, tables). */
  body: string;
  /** The plots the script draws (each needs its {@link plotBlock} in the body). */
  plots: PlotSpec[];
}

/** The whole page as one self-contained HTML document. */
export function reportHtml(page: ReportPage): string {
  const script = `(${String(drawReportPlots)})(uPlot, document, JSON.parse(document.getElementById('evtchn-plots').textContent), window.devicePixelRatio || 1);`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="evtchn">
<title>${esc(page.title)}</title>
<style>${uplotAsset('uPlot.min.css')}</style>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(page.title)}</h1>
${page.body}
<script type="application/json" id="evtchn-plots">${scriptJson(page.plots)}</script>
<script>${uplotAsset('uPlot.iife.min.js').replace(/<\/script/gi, '<\\/script')}</script>
<script>${script.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}
