/*
 * A run report flattened into named numbers, one column each in a sweep's table: totals,
 * per-domain counters and latency per FIFO priority (times in ns).
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
  if (r.scheduler) m['scheduler.contextSwitches'] = r.scheduler.contextSwitches;
  return m;
}
