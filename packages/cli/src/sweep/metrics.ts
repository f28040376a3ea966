/*
 * A run report flattened into named numbers, one column each in a sweep's table: totals,
 * per-domain counters, latency per FIFO priority and per-port fairness (times in ns).
 */
import type { RunReport } from '@evtchn/sim';

/** Flattens a run report into `name → number`. */
export function reportMetrics(r: RunReport): Record<string, number> {
  const m: Record<string, number> = {};
  const total = { sent: 0, delivered: 0, coalesced: 0, dropped: 0, upcalls: 0 };
  for (const d of r.domains) {
    for (const k of Object.keys(total) as (keyof typeof total)[]) {
      total[k] += d[k];
      m[`${d.name}.${k}`] = d[k];
    }
  }
  for (const [k, v] of Object.entries(total)) m[`total.${k}`] = v;
  for (const l of r.latency) {
    const p = l.priority === '-' ? '2level' : `prio${l.priority}`;
    m[`latency.${p}.count`] = l.count;
    m[`latency.${p}.p50`] = l.p50;
    m[`latency.${p}.p99`] = l.p99;
    m[`latency.${p}.max`] = l.max;
  }
  // Ports by their handler's name where they have one (stable across seeds and ABIs, unlike a
  // port number on another ABI), else by number: `port.dom0.urgent-be.waitMean`.
  for (const d of r.domains) {
    for (const p of d.ports) {
      const key = `port.${d.name}.${p.name ?? p.port}`;
      m[`${key}.sent`] = p.sent;
      m[`${key}.delivered`] = p.delivered;
      m[`${key}.coalesced`] = p.coalesced;
      m[`${key}.waitMean`] = p.waitMean;
      m[`${key}.waitMax`] = p.waitMax;
    }
  }
  if (r.scheduler) m['scheduler.contextSwitches'] = r.scheduler.contextSwitches;
  return m;
}

/** Whether a metric named by {@link reportMetrics} is a time in ns (shown with a unit, plotted on a time axis). */
export function isTimeMetric(name: string): boolean {
  return /^latency\..*\.(p50|p99|max)$/.test(name) || /^port\..*\.wait(Mean|Max)$/.test(name);
}
