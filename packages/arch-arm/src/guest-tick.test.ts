import { RoundRobinScheduler, VirtualClock } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { ArmArchitecture } from './arm-architecture.js';
import { PPI_VIRT_TIMER } from './gic.js';
import { PeriodicTickModel, sumTickCounts, type PeriodicTickOptions } from './guest-tick.js';
import { CNTV_CTL_ENABLE, type VtimerStrategyName } from './vtimer.js';

const noUpcalls = { upcall: () => {} };

function machine(strategy: VtimerStrategyName, nrPcpus: number, vcpus: number, timeSlice = 1000) {
  const clock = new VirtualClock();
  const scheduler = new RoundRobinScheduler(clock, { nrPcpus, timeSlice });
  const arch = new ArmArchitecture({ clock, scheduler, vtimer: strategy });
  arch.attachDomain({ id: 1, nrVcpus: vcpus, privileged: false, nrPirqs: 0 }, noUpcalls);
  const model = (opts: Partial<PeriodicTickOptions> = {}) => new PeriodicTickModel({ arch, scheduler, clock, ...opts });
  const start = () => {
    for (let v = 0; v < vcpus; v++) scheduler.addVcpu(1, v);
    scheduler.start();
  };
  return { clock, scheduler, arch, model, start };
}

describe('PeriodicTickModel', () => {
  it('a vCPU alone on its pCPU gets every deadline once, on time', () => {
    const m = machine('xen-owned', 1, 1);
    const delivered: number[] = [];
    const ticks = m.model({ handlerWork: 100, onDelivery: (_c, latency) => delivered.push(latency) });
    ticks.add(1, 0, 700);
    m.start();
    m.clock.runUntil(7_050);
    ticks.finish();
    const [c] = ticks.counts;
    expect(c).toMatchObject({ name: 'd1v0', programmed: 10, delivered: 10, lost: 0, duplicated: 0, wrongVcpu: 0, pending: 0 });
    expect(c!.latencies).toEqual(new Array(10).fill(0));
    expect(delivered).toEqual(c!.latencies);
  });

  it('boots a tick at once on a vCPU that is already running, one period ahead', () => {
    const m = machine('guest-percpu', 1, 1);
    m.start();
    m.clock.runUntil(250);
    const ticks = m.model();
    const c = ticks.add(1, 0, 1000);
    expect(c.programmed).toBe(1);
    const timer = m.arch.guestTimer(1, 0);
    expect(timer.readCval()).toBe(timer.counter() + 1000);
    expect(timer.readCtl()).toBe(CNTV_CTL_ENABLE);
    expect(() => ticks.add(1, 0, 500)).toThrow(RangeError);
    expect(() => ticks.add(1, 1, 0)).toThrow(RangeError);
  });

  it('handler work progresses only while the vCPU runs; deadlines passed meanwhile are skipped and lost', () => {
    // 1 pCPU, 2 vCPUs, slice 1000: v0 runs [0,1000), [2000,3000), [4000,5000).
    const m = machine('xen-owned', 1, 2);
    const ticks = m.model({ handlerWork: 500 });
    ticks.add(1, 0, 900);
    m.start();
    m.clock.runUntil(4_600);
    // 900: handled, 100 ns of work before the switch, the rest from 2000 to 2400 → 1800 skipped,
    // 2700 programmed and handled, 300 ns then 200 ns from 4000 → 3600 skipped, 4500 handled.
    const c = ticks.counts[0]!;
    expect(c.delivered).toBe(3);
    expect(c.latencies).toEqual([0, 0, 0]);
    expect(c.lost).toBe(2);
    expect(c.programmed).toBe(5);
    ticks.finish();
    expect(c.programmed).toBe(c.delivered + c.lost + c.pending);
  });

  it('handler work that ends exactly as the slice does is finished when the vCPU runs again', () => {
    const m = machine('xen-owned', 1, 2);
    const ticks = m.model({ handlerWork: 50 });
    ticks.add(1, 0, 950);
    m.start();
    m.clock.runUntil(1500);
    // Handled at 950, its work due at 1000, when the slice ends (the switch comes first).
    expect(m.arch.handlingIrq(1, 0)).toBe(PPI_VIRT_TIMER);
    m.clock.runUntil(2500);
    // Done at 2000: 1900 is skipped, 2850 programmed.
    expect(m.arch.handlingIrq(1, 0)).toBe(-1);
    expect(ticks.counts[0]).toMatchObject({ programmed: 3, delivered: 1, lost: 1 });
  });

  it('counts a timer interrupt taken while its own timer has not fired as wrong-vCPU', () => {
    const m = machine('xen-owned', 1, 1);
    const ticks = m.model();
    ticks.add(1, 0, 10_000);
    m.start();
    m.clock.runUntil(100);
    m.arch.injectVirq(1, 0, PPI_VIRT_TIMER);
    expect(ticks.counts[0]).toMatchObject({ wrongVcpu: 1, delivered: 0 });
    expect(m.arch.handlingIrq(1, 0)).toBe(-1); // not deferred: EOIed at once
  });

  it('finish settles the outstanding deadline: overdue beyond the grace is lost, otherwise pending', () => {
    for (const [grace, lost, pending] of [
      [0, 1, 0],
      [5000, 0, 1],
    ] as const) {
      const m = machine('guest-percpu', 1, 1);
      const ticks = m.model({ handlerWork: 100 });
      ticks.add(1, 0, 1000);
      m.start();
      // The guest stalls: its handler never finishes because the vCPU's timer IRQ is masked.
      m.arch.vgic(1).disable(0, PPI_VIRT_TIMER);
      m.clock.runUntil(3000);
      ticks.finish(grace);
      expect(ticks.counts[0]).toMatchObject({ programmed: 1, delivered: 0, lost, pending });
      ticks.finish(0);
      expect(ticks.counts[0]).toMatchObject({ lost, pending });
    }
  });

  it.each(['guest-percpu', 'xen-owned'] as const)(
    '%s: 3 time-sliced vCPUs on 2 pCPUs get every deadline exactly once',
    (strategy) => {
      const m = machine(strategy, 2, 3, 1_000_000);
      const ticks = m.model({ handlerWork: 150_000, horizon: 30_000_000 });
      [1_300_000, 1_700_000, 2_300_000].forEach((p, v) => ticks.add(1, v, p));
      m.start();
      m.clock.runUntil(40_000_000);
      ticks.finish();
      const t = ticks.totals();
      expect(t.programmed).toBeGreaterThan(40);
      expect(t).toMatchObject({ delivered: t.programmed, lost: 0, duplicated: 0, wrongVcpu: 0, pending: 0 });
      expect(t.latencyMax).toBeLessThanOrEqual(1_000_000);
      expect(t.latencyMax).toBeGreaterThan(0);
    },
  );

  it('naive: the same schedule loses deadlines', () => {
    const m = machine('naive', 2, 3, 1_000_000);
    const ticks = m.model({ handlerWork: 150_000, horizon: 30_000_000 });
    [1_300_000, 1_700_000, 2_300_000].forEach((p, v) => ticks.add(1, v, p));
    m.start();
    m.clock.runUntil(40_000_000);
    ticks.finish();
    const t = ticks.totals();
    expect(t.lost).toBeGreaterThan(0);
    expect(t.delivered + t.lost).toBe(t.programmed);
  });
});

describe('sumTickCounts', () => {
  it('adds counts and merges latencies', () => {
    const base = { domid: 1, period: 1, programmed: 0, delivered: 0, wrongVcpu: 0, lost: 0, duplicated: 0, pending: 0 };
    const t = sumTickCounts([
      { ...base, name: 'a', vcpu: 0, programmed: 3, delivered: 2, lost: 1, latencies: [10, 30] },
      { ...base, name: 'b', vcpu: 1, programmed: 2, delivered: 1, pending: 1, duplicated: 4, wrongVcpu: 5, latencies: [50] },
    ]);
    expect(t).toEqual({ programmed: 5, delivered: 3, wrongVcpu: 5, lost: 1, duplicated: 4, pending: 1, latencyMean: 30, latencyMax: 50 });
    expect(sumTickCounts([])).toMatchObject({ latencyMean: 0, latencyMax: 0, programmed: 0 });
  });
});
