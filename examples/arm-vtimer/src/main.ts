/*
 * Example: the Arm virtual timer handed to time-sliced vCPUs, three ways (SPEC §5.3).
 *
 * Two pCPUs, three vCPUs (two in domain 1, one in domain 2, created at different times so their
 * CNTVOFF differ) rotated by a round-robin scheduler. Each guest runs a periodic tick the way
 * Linux's arch timer driver does: on the virtual-timer interrupt it checks ISTATUS (no: not its
 * interrupt), sets IMASK, does its tick work (which takes virtual CPU time, so a time slice can
 * end in the middle of it), then programs the next deadline, clears IMASK and returns, which
 * EOIs the virtual PPI. A deadline that is already past when the next one is programmed is
 * skipped, as Linux's periodic tick does: its interrupt never came, and it counts as lost.
 *
 * For every strategy the example counts the expiries programmed, delivered, delivered to the
 * wrong vCPU, lost, duplicated, and the delivery latency. Run: `pnpm --filter
 * @evtchn/example-arm-vtimer start`.
 */
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import {
  ArmArchitecture,
  CNTV_CTL_ENABLE,
  CNTV_CTL_IMASK,
  CNTV_CTL_ISTATUS,
  PPI_VIRT_TIMER,
  VTIMER_STRATEGIES,
  type VtimerStrategyName,
} from '@evtchn/arch-arm';
import { RoundRobinScheduler, VirtualClock, type TimerId } from '@evtchn/core';

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

/** Per-vCPU counts. */
export interface VcpuCounts {
  /** `d<domid>v<vcpu>`. */
  readonly name: string;
  /** Deadlines the periodic tick asked for, up to the horizon. */
  programmed: number;
  /** Deadlines whose interrupt reached this vCPU (first time). */
  delivered: number;
  /** Timer interrupts this vCPU took while its own timer had not fired (ISTATUS clear). */
  wrongVcpu: number;
  /** Deadlines whose interrupt never came (skipped, or still undelivered at the end). */
  lost: number;
  /** Deadlines whose interrupt reached this vCPU more than once. */
  duplicated: number;
  /** Delivery latencies (ns after the deadline). */
  readonly latencies: number[];
}

/** One row of the comparison. */
export interface VtimerRow {
  /** Strategy. */
  readonly strategy: VtimerStrategyName;
  /** Sum over vCPUs of {@link VcpuCounts.programmed}. */
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

interface GuestTick {
  readonly domid: number;
  readonly vcpu: number;
  readonly period: number;
  readonly counts: VcpuCounts;
  /** Deadline currently programmed, in the guest's virtual count; -1 before boot / after stop. */
  deadline: number;
  deliveredCurrent: boolean;
  booted: boolean;
  /** Remaining tick-handler work while descheduled, or 0. */
  remaining: number;
  workTimer: TimerId | undefined;
  workDue: number;
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

  const ticks: GuestTick[] = s.periods.map((period, i) => {
    const domid = i < nr1 ? 1 : 2;
    const vcpu = i < nr1 ? i : i - nr1;
    return {
      domid,
      vcpu,
      period,
      counts: { name: `d${domid}v${vcpu}`, programmed: 0, delivered: 0, wrongVcpu: 0, lost: 0, duplicated: 0, latencies: [] },
      deadline: -1,
      deliveredCurrent: false,
      booted: false,
      remaining: 0,
      workTimer: undefined,
      workDue: 0,
    };
  });
  const tickOf = (domid: number, vcpu: number) => ticks.find((t) => t.domid === domid && t.vcpu === vcpu)!;
  const resident = (t: GuestTick) => scheduler.processorOf(t.domid, t.vcpu) >= 0;

  // Guest CPU time for the tick handler passes only while the vCPU is on a pCPU.
  const armWork = (t: GuestTick) => {
    if (t.remaining <= 0 || t.workTimer !== undefined || !resident(t)) return;
    t.workDue = clock.now() + t.remaining;
    t.workTimer = clock.at(t.workDue, () => {
      t.workTimer = undefined;
      t.remaining = 0;
      finishTick(t);
    });
  };

  // The cntvoff of each domain: counts are relative to the domain's creation.
  const offsetOf = (domid: number) => (domid === 1 ? 0 : s.domain2CreatedAt);
  const horizonCount = (t: GuestTick) => s.horizon - offsetOf(t.domid);

  const program = (t: GuestTick, deadline: number) => {
    const timer = arch.guestTimer(t.domid, t.vcpu);
    if (deadline > horizonCount(t)) {
      t.deadline = -1;
      timer.writeCtl(0);
      return;
    }
    t.counts.programmed++;
    t.deadline = deadline;
    t.deliveredCurrent = false;
    timer.writeCval(deadline);
    timer.writeCtl(CNTV_CTL_ENABLE);
  };

  const finishTick = (t: GuestTick) => {
    const timer = arch.guestTimer(t.domid, t.vcpu);
    let next = t.deadline + t.period;
    // Linux's periodic tick: a deadline already in the past is skipped; its interrupt was lost.
    while (next <= timer.counter() && next <= horizonCount(t)) {
      t.counts.programmed++;
      t.counts.lost++;
      next += t.period;
    }
    program(t, next);
    arch.guestEoi(t.domid, t.vcpu, PPI_VIRT_TIMER);
  };

  const onTimerIrq = (domid: number, vcpu: number): 'deferred' | void => {
    const t = tickOf(domid, vcpu);
    const timer = arch.guestTimer(domid, vcpu);
    const ctl = timer.readCtl();
    if (!(ctl & CNTV_CTL_ISTATUS)) {
      t.counts.wrongVcpu++;
      return; // IRQ_NONE: not this vCPU's timer
    }
    timer.writeCtl(ctl | CNTV_CTL_IMASK);
    if (t.deliveredCurrent) {
      t.counts.duplicated++;
    } else {
      t.deliveredCurrent = true;
      t.counts.delivered++;
      t.counts.latencies.push(timer.counter() - t.deadline);
    }
    t.remaining = s.handlerWork;
    armWork(t);
    return 'deferred';
  };
  for (const domid of nr2 > 0 ? [1, 2] : [1]) arch.setGuestIrqHandler(domid, PPI_VIRT_TIMER, (v) => onTimerIrq(domid, v));

  scheduler.onSwitch((_pcpu, prev, next) => {
    if (prev) {
      const t = tickOf(prev.domid, prev.vcpu);
      if (t.workTimer !== undefined) {
        clock.cancel(t.workTimer);
        t.workTimer = undefined;
        t.remaining = t.workDue - clock.now();
      }
    }
    if (next) {
      const t = tickOf(next.domid, next.vcpu);
      if (!t.booted) {
        t.booted = true;
        program(t, arch.guestTimer(t.domid, t.vcpu).counter() + t.period);
      }
      armWork(t);
    }
  });

  for (const t of ticks) scheduler.addVcpu(t.domid, t.vcpu);
  scheduler.start();
  clock.runUntil(s.horizon + s.drain);
  scheduler.stop();

  for (const t of ticks) {
    // A programmed deadline whose interrupt has not arrived by the end is lost too.
    if (t.deadline >= 0 && !t.deliveredCurrent) t.counts.lost++;
  }
  const vcpus = ticks.map((t) => t.counts);
  const sum = (f: (c: VcpuCounts) => number) => vcpus.reduce((a, c) => a + f(c), 0);
  const lat = vcpus.flatMap((c) => c.latencies);
  return {
    strategy,
    programmed: sum((c) => c.programmed),
    delivered: sum((c) => c.delivered),
    wrongVcpu: sum((c) => c.wrongVcpu),
    lost: sum((c) => c.lost),
    duplicated: sum((c) => c.duplicated),
    latencyMean: lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : 0,
    latencyMax: lat.length ? Math.max(...lat) : 0,
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
