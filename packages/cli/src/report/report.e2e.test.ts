/*
 * The HTML reports, from Node: what `run --report` and `sweep --report` write, the data behind
 * each plot checked against the run's own report, the run unchanged by sampling, the report path
 * checked before the work, and the helpers that turn histograms into plots. The pages are opened
 * in a real browser by test/browser/report.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '@evtchn/sim';
import { main, type CliIo } from '../main.js';
import { runConfigFile } from '../run/command.js';
import { medianIntervalCoverage } from '../sweep/table.js';
import { cdfPlot, histogramPlot, plotPoints, sideBySide, type PlotSpec } from './plot-spec.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const x86 = `${root}examples/x86-dom0-fifo/platform.yaml`;
const arm = `${root}examples/arm-vtimer/platform.yaml`;
const study = `${root}packages/cli/fixtures/study/study.yaml`;
const built = existsSync(`${root}packages/cli/dist/sweep/worker.js`);

function capture(): CliIo & { text: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, text: () => out, errText: () => err };
}

/** The plots a report page draws (its inline JSON). */
function plotsOf(html: string): PlotSpec[] {
  const m = /<script type="application\/json" id="evtchn-plots">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no plot data in the page');
  return JSON.parse(m[1]!) as PlotSpec[];
}

const byId = (plots: PlotSpec[], id: string): PlotSpec => {
  const p = plots.find((x) => x.id === id);
  if (!p) throw new Error(`no plot ${id}; plots: ${plots.map((x) => x.id).join(', ')}`);
  return p;
};

async function runWithReport(config: string, args: string[] = []): Promise<{ html: string; json: RunReport; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-report-'));
  const file = join(dir, 'run.html');
  const io = capture();
  expect(await main(['run', config, '--report', file, '--json', '--no-progress', ...args], io), io.errText()).toBe(0);
  return { html: readFileSync(file, 'utf8'), json: JSON.parse(io.text()) as RunReport, file };
}

describe('evtchn run --report', () => {
  it('writes one self-contained page: uPlot, the script and the data inline, nothing loaded', async () => {
    const { html } = await runWithReport(x86, ['--duration', '5ms']);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Nothing to load: no src or href attributes, no CSS imports or urls.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(/);
    expect(html).toContain('uPlot');
    expect(html).toContain('drawReportPlots');
    // The tables of the text report.
    for (const caption of ['Domains', 'Latency, send to handler, by FIFO priority', 'vCPUs', 'Ports']) expect(html).toContain(`<caption>${caption}</caption>`);
    expect(html).toContain('/proc/interrupts of dom0');
  });

  it('draws the run it reports: latency by priority and domain, ports, interrupt time and queue depth', async () => {
    const { html, json } = await runWithReport(x86, ['--duration', '5ms']);
    const plots = plotsOf(html);
    for (const p of plots) expect(plotPoints(p), p.id).toBeGreaterThan(0);
    // Latency CDFs end at 1 for every priority and every domain, one series each.
    const cdf = byId(plots, 'latency-cdf-priority');
    expect(cdf.series.map((s) => s.label)).toEqual(json.latency.map((l) => `priority ${l.priority}`));
    for (const s of cdf.series) expect(s.values.at(-1)).toBe(1);
    expect(cdf.xLog).toBe(true);
    const domains = json.domains.filter((d) => d.delivered > 0).map((d) => d.name);
    expect(byId(plots, 'latency-cdf-domain').series.map((s) => s.label)).toEqual(domains);
    // Histogram shares sum to 1 per series.
    for (const s of byId(plots, 'latency-hist-domain').series) expect(s.values.reduce<number>((a, v) => a + (v ?? 0), 0)).toBeCloseTo(1, 9);
    // Port bars: exactly the report's per-port counts.
    const ports = byId(plots, 'ports-counts');
    const rows = json.domains.flatMap((d) => d.ports);
    expect(ports.xCategories).toEqual(json.domains.flatMap((d) => d.ports.map((p) => `${d.name}:${p.port}`)));
    for (const [i, key] of (['sent', 'delivered', 'coalesced'] as const).entries())
      expect(ports.series[i]!.values.filter((v) => v !== null)).toEqual(rows.map((r) => r[key]));
    // Interrupt time per vCPU: the shares over the intervals add up to each vCPU's total.
    const share = byId(plots, 'vcpu-interrupt-time');
    expect(share.x).toHaveLength(200);
    const vcpus = json.domains.flatMap((d) => d.vcpus.map((v) => ({ label: `${d.name} vCPU ${v.vcpu}`, ns: v.interruptNs })));
    expect(share.series.map((s) => s.label)).toEqual(vcpus.map((v) => v.label));
    const width = json.durationNs / 200;
    share.series.forEach((s, i) => expect(s.values.reduce<number>((a, v) => a + (v ?? 0) * width, 0)).toBeCloseTo(vcpus[i]!.ns, 3));
    // Queue depth: a plot per domain, all ports and each FIFO priority of its ports.
    const dom0 = byId(plots, 'queue-depth-0');
    expect(dom0.series.map((s) => s.label)).toEqual(['all ports', ...json.latency.map((l) => `priority ${l.priority}`).filter((l) => dom0.series.some((s) => s.label === l))]);
    expect(Math.max(...dom0.series[0]!.values.map((v) => v ?? 0))).toBeGreaterThan(0);
  });

  it('shows 2-level pending selector words for 2-level guests (the Arm example on 2-level)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-report-'));
    const config = join(dir, 'arm-2level.yaml');
    writeFileSync(config, readFileSync(arm, 'utf8').replace('guest: { name: linux }', 'guest: { name: linux, fifo: false }'));
    const { html, json } = await runWithReport(config, ['--duration', '20ms']);
    const plots = plotsOf(html);
    expect(json.domains.every((d) => d.abi === '2level')).toBe(true);
    expect(byId(plots, 'latency-cdf-priority').series.map((s) => s.label)).toEqual(['2-level ports']);
    expect(plotPoints(byId(plots, 'pending-words'))).toBeGreaterThan(0);
    expect(html).toContain('<caption>Virtual timer ticks (strategy xen-owned)</caption>');
  });

  it('leaves the run unchanged: the same JSON report with and without --report', async () => {
    for (const config of [x86, arm]) {
      const plain = capture();
      expect(await main(['run', config, '--duration', '5ms', '--json', '--no-progress'], plain)).toBe(0);
      const { json } = await runWithReport(config, ['--duration', '5ms']);
      expect(json).toEqual(JSON.parse(plain.text()));
    }
  });

  it('composes with the text output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-report-'));
    const io = capture();
    expect(await main(['run', x86, '--duration', '1ms', '--report', join(dir, 'r.html'), '--no-progress'], io)).toBe(0);
    expect(io.text()).toMatch(/^run: arch x86/);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('evtchn run report');
  });

  it('refuses a path it cannot write before running, and leaves no file when the run fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-report-'));
    const io = capture();
    expect(await main(['run', x86, '--report', join(dir, 'missing', 'r.html'), '--no-progress'], io)).toBe(2);
    expect(io.errText()).toMatch(/^evtchn: --report .*missing\/r\.html: cannot write the report: ENOENT/);
    expect(io.text()).toBe('');
    expect((await main(['run', x86, '--report', dir, '--no-progress'], capture()))).toBe(2);
    // A configuration the model refuses at set-up: the report file it had created is removed.
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'arch: { name: x86 }\ndomains: [{ id: 0, vcpus: 1 }]\nworkloads: [{ type: ipi, domain: 0, from: 0, to: 0, rate: 10 }]\nguest: false\n');
    const r = join(dir, 'bad.html');
    const code = await main(['run', bad, '--report', r, '--no-progress'], capture());
    expect(code).toBe(2);
    expect(existsSync(r)).toBe(false);
  });

  it('keeps the time series in a fixed number of intervals, whatever the duration', async () => {
    const short = await runConfigFile(x86, { duration: '1ms', samplePoints: 50 });
    const long = await runConfigFile(x86, { duration: '10ms', samplePoints: 50 });
    for (const { sim } of [short, long]) {
      const s = sim.details().samples!;
      expect(s.times).toHaveLength(50);
      for (const v of s.vcpus) expect(v.interruptNs).toHaveLength(50);
      for (const w of s.waiting) expect(w.peak).toHaveLength(50);
    }
    expect((await runConfigFile(x86, { duration: '1ms' })).sim.details().samples).toBeUndefined();
  });
});

describe('plot data from histograms', () => {
  const buckets: Array<[number, number]> = [
    [0, 1],
    [10, 2],
    [100, 1],
  ];
  it('a CDF over the union of the groups’ values', () => {
    const p = cdfPlot({ id: 'c', title: '', caption: '', xLabel: '', xUnit: 'ns' }, [
      { label: 'a', buckets },
      { label: 'b', buckets: [[10, 1]] },
    ]);
    // 0 ns is drawn at 1 ns on the log axis.
    expect(p.x).toEqual([1, 10, 100]);
    expect(p.series.map((s) => s.values)).toEqual([
      [0.25, 0.75, 1],
      [0, 1, 1],
    ]);
  });

  it('a histogram re-binned ten bins a decade, empty bins between the first and last null', () => {
    const p = histogramPlot({ id: 'h', title: '', caption: '', xLabel: '', xUnit: 'ns' }, [
      { label: 'a', buckets },
      { label: 'b', buckets: [[12, 3]] },
    ]);
    // Bins 0 (1 ns) to 20 (100 ns), each a tenth of a decade; 10 and 12 ns are both in bin 10.
    expect(p.x).toHaveLength(21);
    expect(p.x[0]).toBeCloseTo(10 ** 0.05, 12);
    expect(p.x[20]).toBeCloseTo(10 ** 2.05, 9);
    const at = (s: number): Array<[number, number | null]> => p.series[s]!.values.flatMap((v, i) => (v === null ? [] : [[i, v] as [number, number]]));
    expect(at(0)).toEqual([
      [0, 0.25],
      [10, 0.5],
      [20, 0.25],
    ]);
    expect(at(1)).toEqual([[10, 1]]);
  });

  it('series side by side over categories', () => {
    const laid = sideBySide(2, [{ label: 'a', values: [1, 2], low: [0, 1], high: [2, 3] }, { label: 'b', values: [3, null] }], 0.2);
    expect(laid.x).toEqual([-0.1, 0.1, 0.9, 1.1]);
    expect(laid.series).toEqual([
      { label: 'a', values: [1, null, 2, null], low: [0, null, 1, null], high: [2, null, 3, null] },
      { label: 'b', values: [null, 3, null, null] },
    ]);
  });
});

describe('the 95 % interval of the median', () => {
  it('states its coverage: P(j <= B <= n-j) for B ~ Binomial(n, 1/2)', () => {
    // n = 30, x(10)..x(21): 0.9572 (binomial table: P(B <= 9) = 0.02139 for n = 30, p = 1/2).
    expect(medianIntervalCoverage(30)).toBeCloseTo(0.9572, 4);
    // Fewer than 6 seeds: min..max, 1 - 2 / 2^n.
    expect(medianIntervalCoverage(5)).toBeCloseTo(1 - 2 / 32, 12);
    expect(medianIntervalCoverage(6)).toBeCloseTo(1 - 2 / 64, 12);
  });
});

describe.skipIf(!built)('evtchn sweep --report', () => {
  it('writes the comparison: a plot per compared metric with medians and intervals, and the tables', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-sweep-report-'));
    const file = join(dir, 'sweep.html');
    const io = capture();
    expect(await main(['sweep', study, '--out', dir, '--jobs', '1', '--no-progress', '--report', file], io), io.errText()).toBe(0);
    const html = readFileSync(file, 'utf8');
    const plots = plotsOf(html);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Array<{ params: Record<string, unknown>; metrics: Record<string, { median: number; low: number; high: number }> }>;
    expect(plots.map((p) => p.title)).toEqual(expect.arrayContaining(['latency.2level.p99', 'latency.prio3.p99', 'total.delivered']));
    const delivered = plots.find((p) => p.title === 'total.delivered')!;
    // One series per ABI, the rates along x.
    expect(delivered.series.map((s) => s.label)).toEqual(['abis = 2level', 'abis = fifo']);
    expect(delivered.xCategories).toEqual(['workloads[0].rate = 20000', 'workloads[0].rate = 80000']);
    const drawn = delivered.series.flatMap((s) => s.values.map((v, i) => [v, s.low![i], s.high![i]])).filter(([v]) => v !== null);
    expect(drawn.sort()).toEqual(summary.map((g) => [g.metrics['total.delivered']!.median, g.metrics['total.delivered']!.low, g.metrics['total.delivered']!.high]).sort());
    expect(html).toContain('distribution-free 95 % confidence interval for the median');
    expect(html).toContain('with 3 seed(s) no interval reaches 95 %');
  }, 120_000);

  it('is refused with --shard, and written by sweep merge from the shards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evtchn-sweep-report-'));
    const io = capture();
    expect(await main(['sweep', study, '--shard', '1/2', '--report', join(dir, 'x.html'), '--no-progress'], io)).toBe(2);
    expect(io.errText()).toMatch(/--report compares the whole grid/);
    for (const s of ['1/2', '2/2']) expect(await main(['sweep', study, '--shard', s, '--out', dir, '--jobs', '1', '--no-progress'], capture())).toBe(0);
    const merged = capture();
    expect(await main(['sweep', 'merge', dir, '--report', join(dir, 'merged.html'), '--json'], merged), merged.errText()).toBe(0);
    expect(JSON.parse(merged.text())).toHaveProperty('groups');
    expect(plotsOf(readFileSync(join(dir, 'merged.html'), 'utf8')).length).toBeGreaterThan(0);
  }, 120_000);
});
