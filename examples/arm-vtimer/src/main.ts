/*
 * Example: the Arm virtual timer handed to time-sliced vCPUs, three ways (SPEC §5.3).
 *
 * Two pCPUs, three vCPUs (two in domain 1, one in domain 2, created at different times so their
 * CNTVOFF differ) rotated by a round-robin scheduler. Each guest runs a periodic tick the way
 * Linux's arch timer driver does: on the virtual-timer interrupt it checks ISTATUS (no: not its
 * interrupt), sets IMASK, does its tick work (which takes virtual CPU time, so a time slice can
 * end in the middle of it), then programs the next deadline, clears IMASK and returns, which
 * EOIs the virtual PPI. A deadline that is already past when the next one is programmed is
 * skipped, as Linux's periodic tick does: its interrupt never came, and it counts as lost. That
 * guest is `PeriodicTickModel` from `@evtchn/arch-arm` (also what `evtchn run` uses for `vtimer`
 * workloads).
 *
 * For every strategy the example counts the expiries programmed, delivered, delivered to the
 * wrong vCPU, lost, duplicated, and the delivery latency. Run: `pnpm --filter
 * @evtchn/example-arm-vtimer start`.
 */
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import {
  ArmArchitecture,
  PeriodicTickModel,
  VTIMER_STRATEGIES,
  type VcpuTickCounts,
  type VtimerStrategyName,
} from '@evtchn/arch-arm';
import { RoundRobinScheduler, VirtualClock } from '@evtchn/core';

/** Parameters of one run. Times in ns. */
export interface VtimerScenario {
  /** Physical CPUs (default 2). */
  readonly nrPcpus: number;
  /** Scheduler time slice (default 1 ms). */
  readonly timeSlice: number;
  /** Tick period of each vCPU; one vCPU per entry (default 1.3 ms, 1.7 ms, 2.3 ms). */
  readonly periods: readonly number[];
  /** vCPUs of domain 1; the rest belong to domain 2 (default 2). */
  readonly domain1Vcpus: number;
  /** Virtual CPU time the guest's tick handler takes (default 150 µs). */
  readonly handlerWork: number;
  /** Guests stop re-arming after this time (default 80 ms). */
  readonly horizon: number;
  /** Extra time run after the horizon so late deliveries can land (default 10 slices). */
  readonly drain: number;
  /** When domain 2 is created (so its CNTVOFF differs; default 123 456 ns). */
  readonly domain2CreatedAt: number;
}

/** The default scenario. */
export const DEFAULT_SCENARIO: VtimerScenario = {
  nrPcpus: 2,
  timeSlice: 1_000_000,
  periods: [1_300_000, 1_700_000, 2_300_000],
  domain1Vcpus: 2,
  handlerWork: 150_000,
  horizon: 80_000_000,
  drain: 10_000_000,
  domain2CreatedAt: 123_456,
};

/** Per-vCPU counts (those of `PeriodicTickModel`). */
export type VcpuCounts = Readonly<VcpuTickCounts>;

/** One row of the comparison. */
export interface VtimerRow {
  /** Strategy. */
  readonly strategy: VtimerStrategyName;
  /** Sum over vCPUs of `programmed`. */
  readonly programmed: number;
  /** Sum of delivered. */
  readonly delivered: number;
  /** Sum of wrong-vCPU deliveries. */
  readonly wrongVcpu: number;
  /** Sum of lost. */
  readonly lost: number;
  /** Sum of duplicated. */
  readonly duplicated: number;
  /** Mean delivery latency in ns (0 when nothing was delivered). */
  readonly latencyMean: number;
  /** Largest delivery latency in ns. */
  readonly latencyMax: number;
  /** Per-vCPU detail. */
  readonly vcpus: readonly VcpuCounts[];
  /** Context switches the scheduler made. */
  readonly contextSwitches: number;
}

/** Runs the scenario under one strategy and returns its row. */
export function runVtimerScenario(strategy: VtimerStrategyName, scenario: Partial<VtimerScenario> = {}): VtimerRow {
  const s: VtimerScenario = { ...DEFAULT_SCENARIO, ...scenario };
  const clock = new VirtualClock();
  const scheduler = new RoundRobinScheduler(clock, { nrPcpus: s.nrPcpus, timeSlice: s.timeSlice });
  const arch = new ArmArchitecture({ clock, scheduler, vtimer: strategy });

  const nr1 = Math.min(s.domain1Vcpus, s.periods.length);
  const nr2 = s.periods.length - nr1;
  const noUpcalls = { upcall: () => {} };
  arch.attachDomain({ id: 1, nrVcpus: nr1, privileged: false, nrPirqs: 0 }, noUpcalls);
  if (nr2 > 0) {
    clock.runUntil(s.domain2CreatedAt);
    arch.attachDomain({ id: 2, nrVcpus: nr2, privileged: false, nrPirqs: 0 }, noUpcalls);
  }

  const ticks = new PeriodicTickModel({ arch, scheduler, clock, handlerWork: s.handlerWork, horizon: s.horizon });
  const vcpus = s.periods.map((period, i) => (i < nr1 ? ticks.add(1, i, period) : ticks.add(2, i - nr1, period)));
  for (const v of vcpus) scheduler.addVcpu(v.domid, v.vcpu);
  scheduler.start();
  clock.runUntil(s.horizon + s.drain);
  scheduler.stop();
  // Every deadline is due by now: one whose interrupt has not arrived is lost.
  ticks.finish();

  const t = ticks.totals();
  return {
    strategy,
    programmed: t.programmed,
    delivered: t.delivered,
    wrongVcpu: t.wrongVcpu,
    lost: t.lost,
    duplicated: t.duplicated,
    latencyMean: t.latencyMean,
    latencyMax: t.latencyMax,
    vcpus,
    contextSwitches: scheduler.contextSwitches,
  };
}

/** Runs the scenario under every strategy. */
export function runAllStrategies(scenario: Partial<VtimerScenario> = {}): VtimerRow[] {
  return VTIMER_STRATEGIES.map((name) => runVtimerScenario(name, scenario));
}

/** Formats rows as a fixed-width table (latencies in µs). */
export function formatTable(rows: readonly VtimerRow[]): string {
  const head = ['strategy', 'programmed', 'delivered', 'wrong vCPU', 'lost', 'duplicated', 'latency mean µs', 'latency max µs'];
  const body = rows.map((r) => [
    r.strategy,
    String(r.programmed),
    String(r.delivered),
    String(r.wrongVcpu),
    String(r.lost),
    String(r.duplicated),
    (r.latencyMean / 1000).toFixed(1),
    (r.latencyMax / 1000).toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Runs every strategy on the default scenario and prints the table. */
export function main(): void {
  const rows = runAllStrategies();
  const s = DEFAULT_SCENARIO;
  console.log(
    `Arm virtual timer: ${s.nrPcpus} pCPUs, ${s.periods.length} vCPUs, slice ${s.timeSlice / 1000} µs, ` +
      `periods ${s.periods.map((p) => p / 1000).join('/')} µs, tick work ${s.handlerWork / 1000} µs, ${s.horizon / 1e6} ms\n`,
  );
  console.log(formatTable(rows));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
