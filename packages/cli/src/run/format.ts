/*
 * The text summary `evtchn run` prints for a run report, and its JSON form. Every table uses
 * the command line's one table style; times read in their natural unit (`20 ms`, `12.3 us`).
 */
import type { ProcInterruptsTable } from '@evtchn/guest-linux';
import { formatTable } from '../text/table.js';
import { formatDuration } from '../text/units.js';
import type { DomainRunStats, RunReport } from '@evtchn/sim';

/** Formats a run report as the text summary `evtchn run` prints. */
export function formatRunReport(r: RunReport): string {
  const t = formatDuration;
  const out: string[] = [];
  out.push(`run: arch ${r.arch}, ABIs ${r.abis.join('+')}, ${t(r.durationNs)} of virtual time, seed ${r.seed}\n`);
  out.push(
    formatTable(
      [{ header: 'domain' }, { header: 'abi' }, { header: 'sent' }, { header: 'delivered' }, { header: 'coalesced' }, { header: 'dropped' }, { header: 'upcalls' }],
      r.domains.map((d) => [d.name, d.abi, d.sent, d.delivered, d.coalesced, d.dropped, d.upcalls]),
    ),
  );
  out.push('latency, send to handler, by FIFO priority\n');
  out.push(
    formatTable(
      [{ header: 'priority' }, { header: 'events' }, { header: 'p50' }, { header: 'p99' }, { header: 'max' }],
      r.latency.map((l) => [l.priority, l.count, t(l.p50), t(l.p99), t(l.max)]),
    ),
  );
  const sched = r.scheduler;
  if (sched) out.push(`vCPUs time-sliced on ${sched.pcpus} pCPUs, slice ${t(sched.timeSliceNs)}: ${sched.contextSwitches} context switches\n`);
  const timers = r.domains.filter((d) => d.vtimer);
  if (timers.length) {
    out.push(`virtual timer ticks (strategy ${sched?.vtimer ?? '-'})\n`);
    out.push(
      formatTable(
        ['domain', 'vcpus', 'programmed', 'delivered', 'lost', 'duplicated', 'wrong-vcpu', 'pending', 'mean', 'max'].map((header) => ({ header })),
        timers.map((d) => {
          const v = d.vtimer!;
          return [d.name, v.ticks, v.programmed, v.delivered, v.lost, v.duplicated, v.wrongVcpu, v.pending, t(v.latencyMean), t(v.latencyMax)];
        }),
      ),
    );
  }
  const spis = r.domains.flatMap((d) => (d.spis ?? []).map((s) => [d.name, s] as const));
  if (spis.length) {
    out.push('SPIs routed to guests (latency: raise to guest handler)\n');
    out.push(
      formatTable(
        ['name', 'irq', 'domain', 'raised', 'delivered', 'coalesced', 'p50', 'max'].map((header) => ({ header })),
        spis.map(([dom, s]) => [s.name, s.irq, dom, s.raised, s.delivered, s.coalesced, t(s.p50), t(s.max)]),
      ),
    );
  }
  for (const d of r.domains) {
    if (!d.procInterrupts) continue;
    out.push(`/proc/interrupts of ${d.name}:\n${d.procInterrupts.trimEnd()}\n`);
  }
  return out.join('\n');
}

/** A domain of the `run --json` report: the run's counters plus `/proc/interrupts` as data. */
export type DomainRunJson = DomainRunStats & {
  /** The guest's `/proc/interrupts` as data (absent for guest layers other than Linux). */
  interrupts?: ProcInterruptsTable;
};

/** The `run --json` report: the {@link RunReport} with `/proc/interrupts` also as data. */
export type RunReportJson = Omit<RunReport, 'domains'> & {
  /** Per-domain counters. */
  domains: DomainRunJson[];
};

/**
 * The JSON form of a run report.
 * @param interruptsOf - the structured `/proc/interrupts` of a domain, if its guest gives one
 */
export function runReportJson(r: RunReport, interruptsOf: (domid: number) => ProcInterruptsTable | undefined): RunReportJson {
  return {
    ...r,
    domains: r.domains.map((d) => {
      const interrupts = interruptsOf(d.id);
      return interrupts ? { ...d, interrupts } : { ...d };
    }),
  };
}
