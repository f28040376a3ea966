/*
 * The text summary `evtchn run` prints for a run report.
 */
import type { RunReport } from '@evtchn/sim';

/** Formats a run report as the text summary `evtchn run` prints. */
export function formatRunReport(r: RunReport): string {
  const us = (ns: number): string => (ns / 1000).toFixed(1);
  const out: string[] = [];
  out.push(`run: arch ${r.arch}, ABIs ${r.abis.join('+')}, ${us(r.durationNs)} us of virtual time, seed ${r.seed}`);
  out.push('');
  out.push('domain      abi     sent  delivered  coalesced  dropped  upcalls');
  for (const d of r.domains) {
    out.push(
      `${d.name.padEnd(10)}  ${d.abi.padEnd(6)} ${String(d.sent).padStart(5)}  ${String(d.delivered).padStart(9)}  ${String(d.coalesced).padStart(9)}  ${String(d.dropped).padStart(7)}  ${String(d.upcalls).padStart(7)}`,
    );
  }
  out.push('');
  out.push('latency, send to handler (us)');
  out.push('priority  events     p50     p99     max');
  for (const l of r.latency) {
    out.push(`${String(l.priority).padStart(8)}  ${String(l.count).padStart(6)}  ${us(l.p50).padStart(6)}  ${us(l.p99).padStart(6)}  ${us(l.max).padStart(6)}`);
  }
  const sched = r.scheduler;
  if (sched) {
    out.push('');
    out.push(`vCPUs time-sliced on ${sched.pcpus} pCPUs, slice ${us(sched.timeSliceNs)} us: ${sched.contextSwitches} context switches`);
  }
  const timers = r.domains.filter((d) => d.vtimer);
  if (timers.length) {
    out.push('');
    out.push(`virtual timer ticks (strategy ${sched?.vtimer ?? '-'}; latency in us)`);
    out.push('domain      vcpus  programmed  delivered  lost  duplicated  wrong-vcpu  pending   mean    max');
    for (const d of timers) {
      const t = d.vtimer!;
      out.push(
        `${d.name.padEnd(10)}  ${String(t.ticks).padStart(5)}  ${String(t.programmed).padStart(10)}  ${String(t.delivered).padStart(9)}  ${String(t.lost).padStart(4)}  ${String(t.duplicated).padStart(10)}  ${String(t.wrongVcpu).padStart(10)}  ${String(t.pending).padStart(7)}  ${us(t.latencyMean).padStart(6)}  ${us(t.latencyMax).padStart(6)}`,
      );
    }
  }
  const spis = r.domains.flatMap((d) => (d.spis ?? []).map((s) => [d.name, s] as const));
  if (spis.length) {
    out.push('');
    out.push('SPIs routed to guests (latency, raise to guest handler, in us)');
    out.push('name        irq  domain      raised  delivered  coalesced     p50     max');
    for (const [dom, s] of spis) {
      out.push(
        `${s.name.padEnd(10)}  ${String(s.irq).padStart(3)}  ${dom.padEnd(10)}  ${String(s.raised).padStart(6)}  ${String(s.delivered).padStart(9)}  ${String(s.coalesced).padStart(9)}  ${us(s.p50).padStart(6)}  ${us(s.max).padStart(6)}`,
      );
    }
  }
  for (const d of r.domains) {
    if (!d.procInterrupts) continue;
    out.push('');
    out.push(`/proc/interrupts of ${d.name}:`);
    out.push(d.procInterrupts.trimEnd());
  }
  return `${out.join('\n')}\n`;
}
