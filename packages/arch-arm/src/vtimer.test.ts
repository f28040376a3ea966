import { RoundRobinScheduler, VirtualClock } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { ArmArchitecture } from './arm-architecture.js';
import { PPI_VIRT_TIMER } from './gic.js';
import { CNTV_CTL_ENABLE, CNTV_CTL_IMASK, CNTV_CTL_ISTATUS, GenericTimer, type VtimerStrategyName } from './vtimer.js';

describe('GenericTimer', () => {
  it('computes ISTATUS from CNTVCT = clock - CNTVOFF and drives its output by ENABLE, IMASK, ISTATUS', () => {
    const clock = new VirtualClock();
    const levels: [number, boolean][] = [];
    const t = new GenericTimer(clock, (l) => levels.push([clock.now(), l]));
    t.writeOffset(100);
    clock.runUntil(150);
    expect(t.counter()).toBe(50);
    t.writeCval(80);
    t.writeCtl(CNTV_CTL_ENABLE);
    expect(t.readCtl() & CNTV_CTL_ISTATUS).toBe(0);
    clock.runUntil(179);
    expect(levels).toEqual([]);
    clock.runUntil(180); // counter 80
    expect(levels).toEqual([[180, true]]);
    expect(t.readCtl()).toBe(CNTV_CTL_ENABLE | CNTV_CTL_ISTATUS);
    t.writeCtl(CNTV_CTL_ENABLE | CNTV_CTL_IMASK | CNTV_CTL_ISTATUS); // ISTATUS is read-only
    expect(levels).toEqual([[180, true], [180, false]]);
    expect(t.readCtl()).toBe(CNTV_CTL_ENABLE | CNTV_CTL_IMASK | CNTV_CTL_ISTATUS);
    t.writeCval(1000);
    t.writeCtl(CNTV_CTL_ENABLE);
    expect(t.readCtl() & CNTV_CTL_ISTATUS).toBe(0);
    t.writeCtl(0);
    clock.runUntil(5000);
    expect(levels).toHaveLength(2); // disabled: never fires
    expect(t.readCtl()).toBe(0);
    t.setState({ ctl: CNTV_CTL_ENABLE, cval: 0, offset: 0 });
    expect(t.asserted).toBe(true);
    expect(t.getState()).toEqual({ ctl: CNTV_CTL_ENABLE, cval: 0, offset: 0 });
  });
});

/**
 * 2 pCPUs, 3 vCPUs of domain 1, slice 1000 ns. t=0: p0 runs v0, p1 runs v1; t=1000: p0 runs v2,
 * p1 runs v0. v0's timer expires at 500; its handler does not EOI until t=1300, so v0 is switched
 * out of p0 in the middle of it and finishes on p1. v2 programs its timer for 1200 when it first
 * runs (on p0).
 */
function migrationMidHandler(strategy: VtimerStrategyName) {
  const clock = new VirtualClock();
  const scheduler = new RoundRobinScheduler(clock, { nrPcpus: 2, timeSlice: 1000 });
  const arch = new ArmArchitecture({ clock, scheduler, vtimer: strategy });
  arch.attachDomain({ id: 1, nrVcpus: 3, privileged: false, nrPirqs: 0 }, { upcall: () => {} });
  const taken: [number, number, number][] = []; // [time, vcpu, ISTATUS]
  arch.setGuestIrqHandler(1, PPI_VIRT_TIMER, (vcpu) => {
    const t = arch.guestTimer(1, vcpu);
    const ctl = t.readCtl();
    taken.push([clock.now(), vcpu, (ctl & CNTV_CTL_ISTATUS) >> 2]);
    t.writeCtl(ctl | CNTV_CTL_IMASK);
    if (vcpu !== 0) return; // v2 EOIs at once
    clock.at(1300, () => {
      // v0 is on p1 by then: the guest's registers are those of its current pCPU.
      arch.guestTimer(1, 0).writeCtl(0);
      arch.guestEoi(1, 0, PPI_VIRT_TIMER);
    });
    return 'deferred';
  });
  const booted = new Set<number>();
  scheduler.onSwitch((_p, _prev, next) => {
    if (!next || booted.has(next.vcpu)) return;
    booted.add(next.vcpu);
    const t = arch.guestTimer(1, next.vcpu);
    if (next.vcpu === 0) t.writeCval(500);
    else if (next.vcpu === 2) t.writeCval(1200);
    else return;
    t.writeCtl(CNTV_CTL_ENABLE);
  });
  for (let v = 0; v < 3; v++) scheduler.addVcpu(1, v);
  scheduler.start();
  return { clock, scheduler, arch, taken };
}

describe('virtual-timer strategies: a vCPU migrates while its timer interrupt is in flight', () => {
  it('guest-percpu moves the PPI active state with the vCPU: the next vCPU on the old pCPU gets its expiry', () => {
    const { clock, scheduler, arch, taken } = migrationMidHandler('guest-percpu');
    clock.runUntil(999);
    expect(taken).toEqual([[500, 0, 1]]);
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 0)).toBe(true); // waiting for v0's EOI
    clock.runUntil(1000);
    expect([scheduler.current(0)?.vcpu, scheduler.current(1)?.vcpu]).toEqual([2, 0]);
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 0)).toBe(false); // saved with v0 ...
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 1)).toBe(true); // ... and restored on p1
    clock.runUntil(1200);
    expect(taken).toEqual([[500, 0, 1], [1200, 2, 1]]);
    clock.runUntil(1300);
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 1)).toBe(false); // v0's EOI deactivated it on p1
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 0)).toBe(false);
  });

  it('naive leaves the PPI active on the old pCPU: the next vCPU there loses its expiry, the EOI lands on the wrong pCPU', () => {
    const { clock, arch, taken } = migrationMidHandler('naive');
    clock.runUntil(1000);
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 0)).toBe(true); // still v0's, on p0
    clock.runUntil(1299);
    expect(taken).toEqual([[500, 0, 1]]); // v2's 1200 expiry: line high, PPI active, nothing delivered
    expect(arch.gic.isPending(PPI_VIRT_TIMER, 0)).toBe(true);
    clock.runUntil(1999);
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 0)).toBe(true); // v0's EOI deactivated p1, not p0
    expect(taken).toEqual([[500, 0, 1]]);
  });

  it('xen-owned masks with IMASK and deactivates at once: the next vCPU gets its expiry', () => {
    const { clock, arch, taken } = migrationMidHandler('xen-owned');
    clock.runUntil(999);
    expect(arch.gic.isActive(PPI_VIRT_TIMER, 0)).toBe(false);
    expect(arch.guestTimer(1, 0).readCtl() & CNTV_CTL_IMASK).toBe(CNTV_CTL_IMASK);
    clock.runUntil(1200);
    expect(taken).toEqual([[500, 0, 1], [1200, 2, 1]]);
  });
});

/** One pCPU, two vCPUs, slice 1000: started at 10 (the domain's CNTVOFF): v0 runs [10,1010), v1 [1010,2010), v0 again from 2010. */
function descheduledExpiry(strategy: VtimerStrategyName, ctl: number) {
  const clock = new VirtualClock();
  const scheduler = new RoundRobinScheduler(clock, { nrPcpus: 1, timeSlice: 1000 });
  const arch = new ArmArchitecture({ clock, scheduler, vtimer: strategy });
  clock.runUntil(10); // CNTVOFF of the domain = 10
  arch.attachDomain({ id: 1, nrVcpus: 2, privileged: false, nrPirqs: 0 }, { upcall: () => {} });
  const taken: number[] = [];
  arch.setGuestIrqHandler(1, PPI_VIRT_TIMER, (vcpu) => {
    const t = arch.guestTimer(1, vcpu);
    if (t.readCtl() & CNTV_CTL_ISTATUS) taken.push(clock.now());
    t.writeCtl(0);
  });
  scheduler.addVcpu(1, 0);
  scheduler.addVcpu(1, 1);
  scheduler.start();
  const t = arch.guestTimer(1, 0);
  t.writeCval(1490); // clock 1500, while v0 is descheduled
  t.writeCtl(ctl);
  return { clock, arch, scheduler, taken };
}

describe('xen-owned deschedule software timer', () => {
  it('an armed timer of a descheduled vCPU fires at CVAL: IMASK set in the saved CTL, PPI 27 injected, taken on schedule-in', () => {
    const { clock, arch, taken } = descheduledExpiry('xen-owned', CNTV_CTL_ENABLE);
    clock.runUntil(1010);
    const ctx = arch.vtimerContext(1, 0);
    expect(ctx.softTimer).toBeDefined();
    expect(ctx.ctl).toBe(CNTV_CTL_ENABLE);
    clock.runUntil(1500);
    expect(ctx.ctl & CNTV_CTL_IMASK).toBe(CNTV_CTL_IMASK);
    expect(arch.vgic(1).isInFlight(0, PPI_VIRT_TIMER)).toBe(true);
    expect(taken).toEqual([]);
    clock.runUntil(2010);
    expect(taken).toEqual([2010]);
    expect(ctx.softTimer).toBeUndefined();
  });

  it('masked or disabled timers arm nothing', () => {
    for (const ctl of [CNTV_CTL_ENABLE | CNTV_CTL_IMASK, 0]) {
      const { clock, arch, taken } = descheduledExpiry('xen-owned', ctl);
      clock.runUntil(1010);
      expect(arch.vtimerContext(1, 0).softTimer).toBeUndefined();
      clock.runUntil(3000);
      expect(taken).toEqual([]);
    }
  });

  it('guest-percpu delivers a descheduled expiry when the vCPU is restored (the restored line fires)', () => {
    const { clock, taken } = descheduledExpiry('guest-percpu', CNTV_CTL_ENABLE);
    clock.runUntil(2009);
    expect(taken).toEqual([]);
    clock.runUntil(2010);
    expect(taken).toEqual([2010]);
  });

  it('guest-percpu wakes a blocked vCPU at its expiry', () => {
    const { clock, scheduler, taken } = descheduledExpiry('guest-percpu', CNTV_CTL_ENABLE);
    clock.runUntil(1010);
    scheduler.block(1, 0);
    clock.runUntil(1499);
    expect(scheduler.stateOf(1, 0)).toBe('blocked');
    clock.runUntil(1500);
    expect(scheduler.stateOf(1, 0)).toBe('runnable');
    clock.runUntil(2010);
    expect(taken).toEqual([2010]);
  });

});
