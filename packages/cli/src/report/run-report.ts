/*
 * The HTML report of one run (`evtchn run CONFIG --report FILE.html`): latency distributions
 * per priority and per domain, per-port fairness, interrupt time per vCPU over time, the
 * waiting ports (queue depth) over time, and the tables of the text report.
 */
import type { RunDetails, RunReport } from '@evtchn/sim';
import { formatDuration } from '../text/units.js';
import { BINS_PER_DECADE, cdfPlot, histogramPlot, sideBySide, type PlotSpec } from './plot-spec.js';
import { esc, htmlTable, plotBlock, reportHtml, withData } from './page.js';

/** Time series are kept in this many intervals of the run (bounded memory, smooth enough to read). */
export const RUN_REPORT_SAMPLE_POINTS = 200;

/** What the page says about where the run came from. */
export interface RunReportSource {
  /** The configuration file, as given. */
  config: string;
}

const prioLabel = (p: number | '-'): string => (p === '-' ? '2-level ports' : `priority ${p}`);

/** The latency plots: CDF and histogram, by priority and by domain. */
function latencyPlots(d: RunDetails): Array<PlotSpec | undefined> {
  const base = { xLabel: 'latency, send to handler', xUnit: 'ns' as const, xLog: true };
  const byPrio = d.latencyByPriority.filter((g) => g.count > 0).map((g) => ({ label: prioLabel(g.priority), buckets: g.buckets }));
  const byDom = d.latencyByDomain.filter((g) => g.count > 0).map((g) => ({ label: g.name, buckets: g.buckets }));
  if (!byPrio.length) return [];
  const cdfCaption = 'Share of deliveries whose latency (first undelivered notification of a port to its handler) is at or below x; log x axis.';
  const histCaption = `Share of deliveries in each latency bin (${BINS_PER_DECADE} bins a decade); both axes logarithmic, so the tail stays visible.`;
  return [
    cdfPlot({ ...base, id: 'latency-cdf-priority', title: 'Latency CDF by FIFO priority', caption: cdfCaption }, byPrio),
    histogramPlot({ ...base, id: 'latency-hist-priority', title: 'Latency histogram by FIFO priority', caption: histCaption }, byPrio),
    cdfPlot({ ...base, id: 'latency-cdf-domain', title: 'Latency CDF by domain', caption: `${cdfCaption} By the domain that received the event.` }, byDom),
    histogramPlot({ ...base, id: 'latency-hist-domain', title: 'Latency histogram by domain', caption: histCaption }, byDom),
  ];
}

/** Per-port fairness: counts side by side, and the waits. */
function portPlots(r: RunReport): Array<PlotSpec | undefined> {
  const ports = r.domains.flatMap((d) => d.ports.map((p) => ({ label: `${d.name}:${p.port}`, ...p })));
  if (!ports.length) return [];
  const cats = ports.map((p) => p.label);
  const counts = sideBySide(
    ports.length,
    [
      { label: 'sent', values: ports.map((p) => p.sent) },
      { label: 'delivered', values: ports.map((p) => p.delivered) },
      { label: 'coalesced', values: ports.map((p) => p.coalesced) },
    ],
    0.27,
  );
  const waits = sideBySide(
    ports.length,
    [
      { label: 'mean wait', values: ports.map((p) => (p.waitMean > 0 ? p.waitMean : null)) },
      { label: 'longest wait', values: ports.map((p) => (p.waitMax > 0 ? p.waitMax : null)) },
    ],
    0.4,
  );
  return [
    {
      id: 'ports-counts',
      title: 'Per-port fairness: sent, delivered, coalesced',
      caption: 'Notifications made towards each port (domain:port), handler runs, and notifications merged into one already pending. sent = delivered + coalesced (+ pending at the end).',
      style: 'bars',
      ...counts,
      xLabel: 'port',
      xUnit: 'count',
      xCategories: cats,
      yLabel: 'notifications',
      yUnit: 'count',
    },
    {
      id: 'ports-wait',
      title: 'Per-port wait: mean and longest',
      caption: 'Time from the first undelivered notification of each port to its handler; log y axis.',
      style: 'bars',
      ...waits,
      xLabel: 'port',
      xUnit: 'count',
      xCategories: cats,
      yLabel: 'wait',
      yUnit: 'ns',
      yLog: true,
    },
  ];
}

/** Time series: interrupt share per vCPU and waiting ports per domain. */
function timePlots(d: RunDetails): Array<PlotSpec | undefined> {
  const s = d.samples;
  if (!s) return [];
  const x = s.times.map((t) => t / 1e6);
  const widths = s.times.map((t, k) => t - (k > 0 ? s.times[k - 1]! : 0));
  const share: PlotSpec = {
    id: 'vcpu-interrupt-time',
    title: 'Interrupt time per vCPU over time',
    caption: `Share of each interval (${formatDuration(widths[0] ?? 0)}) each vCPU spent handling interrupts (1 = nothing else ran: livelock).`,
    style: 'line',
    x,
    xLabel: 'virtual time',
    xUnit: 'ms',
    yLabel: 'interrupt time / interval',
    yUnit: 'share',
    series: s.vcpus.map((v) => ({ label: `${v.name} vCPU ${v.vcpu}`, values: v.interruptNs.map((ns, k) => (widths[k]! > 0 ? ns / widths[k]! : null)) })),
  };
  const ports = s.waiting.filter((w) => w.kind !== 'words');
  const words = s.waiting.filter((w) => w.kind === 'words');
  const waiting = [...new Set(ports.map((w) => w.domain))].map(
    (dom): PlotSpec => ({
      id: `queue-depth-${dom}`,
      title: `Waiting ports over time: ${ports.find((w) => w.domain === dom)!.name}`,
      caption:
        'Peak number of ports in each interval that were notified and whose handler had not run yet, and on FIFO per priority (the depth of that priority’s queues).',
      style: 'line',
      x,
      xLabel: 'virtual time',
      xUnit: 'ms',
      yLabel: 'waiting ports (peak)',
      yUnit: 'count',
      series: ports.filter((w) => w.domain === dom).map((w) => ({ label: w.kind === 'priority' ? `priority ${w.priority}` : 'all ports', values: w.peak })),
    }),
  );
  const pendingWords: PlotSpec | undefined = words.length
    ? {
        id: 'pending-words',
        title: '2-level pending selector words over time',
        caption: 'Peak number of selector words (bits of evtchn_pending_sel) with a waiting port in each interval, per 2-level domain.',
        style: 'line',
        x,
        xLabel: 'virtual time',
        xUnit: 'ms',
        yLabel: 'pending words (peak)',
        yUnit: 'count',
        series: words.map((w) => ({ label: w.name, values: w.peak })),
      }
    : undefined;
  return [share, ...waiting, pendingWords];
}

/** The tables of the text report, as HTML. */
function tables(r: RunReport): string {
  const t = formatDuration;
  const out: string[] = [];
  out.push(
    htmlTable(
      ['domain', 'abi', 'sent', 'delivered', 'coalesced', 'dropped', 'upcalls'],
      r.domains.map((d) => [d.name, d.abi, d.sent, d.delivered, d.coalesced, d.dropped, d.upcalls]),
      'Domains',
    ),
  );
  out.push(
    htmlTable(
      ['priority', 'events', 'p50', 'p99', 'max'],
      r.latency.map((l) => [l.priority, l.count, t(l.p50), t(l.p99), t(l.max)]),
      'Latency, send to handler, by FIFO priority',
    ),
  );
  out.push(
    htmlTable(
      ['domain', 'vcpu', 'upcalls', 'interrupt time', 'share', 'longest upcall', 'livelocked'],
      r.domains.flatMap((d) => d.vcpus.map((v) => [d.name, v.vcpu, v.upcalls, t(v.interruptNs), `${(v.interruptShare * 100).toFixed(2)} %`, t(v.longestUpcallNs), v.livelocked ? 'yes' : 'no'])),
      'vCPUs',
    ),
  );
  out.push(
    htmlTable(
      ['domain', 'port', 'sent', 'delivered', 'coalesced', 'mean wait', 'longest wait'],
      r.domains.flatMap((d) => d.ports.map((p) => [d.name, p.port, p.sent, p.delivered, p.coalesced, t(p.waitMean), t(p.waitMax)])),
      'Ports',
    ),
  );
  const sched = r.scheduler;
  if (sched) out.push(`<p>vCPUs time-sliced on ${sched.pcpus} pCPUs, slice ${esc(t(sched.timeSliceNs))}: ${sched.contextSwitches} context switches.</p>`);
  const timers = r.domains.filter((d) => d.vtimer);
  if (timers.length)
    out.push(
      htmlTable(
        ['domain', 'vcpus', 'programmed', 'delivered', 'lost', 'duplicated', 'wrong-vcpu', 'pending', 'mean', 'max'],
        timers.map((d) => {
          const v = d.vtimer!;
          return [d.name, v.ticks, v.programmed, v.delivered, v.lost, v.duplicated, v.wrongVcpu, v.pending, t(v.latencyMean), t(v.latencyMax)];
        }),
        `Virtual timer ticks (strategy ${sched?.vtimer ?? '-'})`,
      ),
    );
  const spis = r.domains.flatMap((d) => (d.spis ?? []).map((s) => [d.name, s] as const));
  if (spis.length)
    out.push(
      htmlTable(
        ['name', 'irq', 'domain', 'raised', 'delivered', 'coalesced', 'p50', 'max'],
        spis.map(([dom, s]) => [s.name, s.irq, dom, s.raised, s.delivered, s.coalesced, t(s.p50), t(s.max)]),
        'SPIs routed to guests (latency: raise to guest handler)',
      ),
    );
  for (const d of r.domains) if (d.procInterrupts) out.push(`<h3>/proc/interrupts of ${esc(d.name)}</h3><pre>${esc(d.procInterrupts.trimEnd())}</pre>`);
  return out.join('\n');
}

/** The report of one run as a self-contained HTML page. */
export function runReportHtml(r: RunReport, details: RunDetails, source: RunReportSource): string {
  const [latency, ports, time] = [withData(latencyPlots(details)), withData(portPlots(r)), withData(timePlots(details))];
  const section = (title: string, plots: PlotSpec[]): string => (plots.length ? `<h2>${esc(title)}</h2>\n${plots.map(plotBlock).join('\n')}` : '');
  const body = [
    `<p class="meta">${esc(source.config)}: arch ${esc(r.arch)}, ABIs ${esc(r.abis.join('+'))}, ${esc(formatDuration(r.durationNs))} of virtual time, seed ${r.seed}.</p>`,
    r.stopped ? `<p class="note">The run stopped at ${esc(formatDuration(r.stopped.atNs))} of virtual time: ${esc(r.stopped.error)}. The figures are those up to then.</p>` : '',
    section('Latency', latency),
    section('Fairness between ports', ports),
    section('Over time', time),
    '<h2>Tables</h2>',
    tables(r),
  ].join('\n');
  return reportHtml({ title: `evtchn run report: ${source.config}`, body, plots: [...latency, ...ports, ...time] });
}
