/*
 * Models the Arm generic timer's EL1 virtual timer (Arm ARM D11 "The Generic Timer":
 * CNTV_CTL_EL0, CNTV_CVAL_EL0, CNTVCT_EL0 = physical count - CNTVOFF_EL2) on the virtual clock,
 * one per physical CPU, and three ways a hypervisor can hand it to the vCPUs time-sliced on that
 * CPU (SPEC §5.3):
 *  - `xen-owned`: what Xen ships (xen/arch/arm/vtimer.c, time.c): the PPI is Xen's own IRQ; the
 *    handler masks the timer with IMASK and injects virtual PPI 27 into `current`; on deschedule
 *    a software timer stands in for the hardware one.
 *  - `guest-percpu`: the seed's IRQ_GUEST|IRQ_PER_CPU proposal: the PPI is a guest IRQ delivered
 *    to whichever vCPU is resident, linked (HW bit) to the virtual PPI so the guest's EOI
 *    deactivates it, and its pending/active state is switched with the vCPU.
 *  - `naive`: the same guest IRQ without switching the PPI state, for contrast.
 * One counter tick is one ns of virtual time.
 */
import type { Clock, TimerId, TimerRecord, VcpuRef } from '@evtchn/core';
import { PPI_VIRT_TIMER, type Gic } from './gic.js';

/** CNTV_CTL.ENABLE: the timer is enabled. */
export const CNTV_CTL_ENABLE = 1 << 0;
/** CNTV_CTL.IMASK: the timer's interrupt output is masked. */
export const CNTV_CTL_IMASK = 1 << 1;
/** CNTV_CTL.ISTATUS (read-only): the timer condition is met (CNTVCT >= CVAL, while enabled). */
export const CNTV_CTL_ISTATUS = 1 << 2;
/** The writable bits of CNTV_CTL. */
export const CNTV_CTL_WRITABLE = CNTV_CTL_ENABLE | CNTV_CTL_IMASK;

/** The virtual-timer registers a guest running on a CPU accesses directly (they are not trapped). */
export interface GuestVirtualTimer {
  /** CNTVCT: the virtual count. */
  counter(): number;
  /** CNTV_CTL with ISTATUS computed. */
  readCtl(): number;
  /** Writes ENABLE and IMASK. */
  writeCtl(value: number): void;
  /** CNTV_CVAL. */
  readCval(): number;
  /** Writes CNTV_CVAL. */
  writeCval(value: number): void;
}

/** Snapshot of a {@link GenericTimer}. */
export interface GenericTimerState {
  /** ENABLE and IMASK. */
  readonly ctl: number;
  /** Compare value. */
  readonly cval: number;
  /** CNTVOFF. */
  readonly offset: number;
}

/**
 * One CPU's virtual timer. Its interrupt output (the level of the virtual-timer PPI) is
 * asserted while ENABLE is set, IMASK clear and CNTVCT >= CVAL.
 */
export class GenericTimer implements GuestVirtualTimer {
  private ctl = 0;
  private cval = 0;
  private offset = 0;
  private level = false;
  private wake: TimerId | undefined;

  /**
   * @param clock - the virtual clock (the system counter)
   * @param output - called when the interrupt output changes level
   */
  constructor(
    private readonly clock: Clock,
    private readonly output: (asserted: boolean) => void,
  ) {}

  /** CNTVCT = clock - CNTVOFF. */
  counter(): number {
    return this.clock.now() - this.offset;
  }

  /** CNTV_CTL with ISTATUS. */
  readCtl(): number {
    return this.ctl | (this.conditionMet() ? CNTV_CTL_ISTATUS : 0);
  }

  /** Writes ENABLE and IMASK (ISTATUS is read-only). */
  writeCtl(value: number): void {
    this.ctl = value & CNTV_CTL_WRITABLE;
    this.evaluate();
  }

  /** CNTV_CVAL. */
  readCval(): number {
    return this.cval;
  }

  /** Writes CNTV_CVAL. */
  writeCval(value: number): void {
    this.cval = value;
    this.evaluate();
  }

  /** CNTVOFF_EL2 (hypervisor only). */
  readOffset(): number {
    return this.offset;
  }

  /** Writes CNTVOFF_EL2 (hypervisor only). */
  writeOffset(value: number): void {
    this.offset = value;
    this.evaluate();
  }

  private readonly wakeFn = (): void => {
    this.wake = undefined;
    this.evaluate();
  };

  /**
   * Snapshot: the registers, the output level and the armed wake-up as a `TimerRecord` (or
   * `null`), unlike {@link GenericTimer.getState}, which saves the registers only.
   */
  snapshot(): { ctl: number; cval: number; offset: number; level: boolean; wake: TimerRecord | null } {
    const rec = this.wake !== undefined ? this.clock.timerRecord?.(this.wake) : undefined;
    if (this.wake !== undefined && !rec) throw new Error('the clock cannot save a generic timer wake-up');
    return { ctl: this.ctl, cval: this.cval, offset: this.offset, level: this.level, wake: rec ? { at: rec.at, seq: rec.seq } : null };
  }

  /**
   * Restores {@link GenericTimer.snapshot} as it was, without evaluating (the output line's
   * level is the interrupt controller's own state) and re-arming the wake-up in its place.
   */
  restoreSnapshot(s: { ctl: number; cval: number; offset: number; level: boolean; wake: TimerRecord | null }): void {
    this.ctl = s.ctl & CNTV_CTL_WRITABLE;
    this.cval = s.cval;
    this.offset = s.offset;
    this.level = s.level;
    this.wake = undefined;
    if (s.wake) {
      if (!this.clock.rearm) throw new Error('the clock cannot re-arm saved timers');
      this.wake = this.clock.rearm(s.wake, this.wakeFn);
    }
  }

  /** Whether the interrupt output is asserted. */
  get asserted(): boolean {
    return this.level;
  }

  /** Register snapshot. */
  getState(): GenericTimerState {
    return { ctl: this.ctl, cval: this.cval, offset: this.offset };
  }

  /** Restores a register snapshot. */
  setState(s: GenericTimerState): void {
    this.ctl = s.ctl & CNTV_CTL_WRITABLE;
    this.cval = s.cval;
    this.offset = s.offset;
    this.evaluate();
  }

  private conditionMet(): boolean {
    return (this.ctl & CNTV_CTL_ENABLE) !== 0 && this.counter() >= this.cval;
  }

  private evaluate(): void {
    if (this.wake !== undefined) {
      this.clock.cancel(this.wake);
      this.wake = undefined;
    }
    const enabled = (this.ctl & CNTV_CTL_ENABLE) !== 0;
    const met = this.conditionMet();
    const level = met && (this.ctl & CNTV_CTL_IMASK) === 0;
    if (enabled && !met) this.wake = this.clock.at(this.cval + this.offset, this.wakeFn);
    if (level !== this.level) {
      this.level = level;
      this.output(level);
    }
  }
}

/** Name of a virtual-timer delivery strategy (SPEC §5.3). */
export type VtimerStrategyName = 'guest-percpu' | 'xen-owned' | 'naive';

/** Every strategy name, in the order the comparison prints them. */
export const VTIMER_STRATEGIES: readonly VtimerStrategyName[] = ['guest-percpu', 'xen-owned', 'naive'];

/** A vCPU's saved virtual-timer state (Xen's `struct vtimer` plus the seed's saved PPI state). */
export interface VtimerContext {
  /** Saved CNTV_CTL (ENABLE, IMASK). */
  ctl: number;
  /** Saved CNTV_CVAL. */
  cval: number;
  /** Saved physical PPI pending latch (`guest-percpu` only). */
  ppiPending: boolean;
  /** Saved physical PPI active state (`guest-percpu` only). */
  ppiActive: boolean;
  /** Software timer armed while descheduled, if any. */
  softTimer: TimerId | undefined;
}

/** What the virtual-timer strategies need from the architecture. */
export interface VtimerHost {
  /** The virtual clock. */
  readonly clock: Clock;
  /** The physical GIC. */
  readonly gic: Gic;
  /** The vCPU resident on `pcpu`, or `undefined` while idle runs. */
  current(pcpu: number): VcpuRef | undefined;
  /** CNTVOFF of a domain. */
  cntvoff(domid: number): number;
  /** Injects virtual PPI 27 into a vCPU, HW-linked to physical PPI `hwIrq` (or -1), and kicks it. */
  injectTimer(domid: number, vcpu: number, hwIrq: number): void;
  /** Wakes a blocked vCPU (no injection). */
  wake(domid: number, vcpu: number): void;
}

/**
 * A virtual-timer delivery strategy. The architecture calls these with the pCPU's IRQs masked
 * (`save`/`restore`) or from its IRQ handler after the priority drop (`physicalIrq`).
 */
export interface VtimerStrategy {
  /** Strategy name. */
  readonly name: VtimerStrategyName;
  /** What a saved vCPU's soft timer does when it fires (a snapshot re-arms it with this). */
  softTimerFired(vcpu: VcpuRef, ctx: VtimerContext): () => void;
  /**
   * The physical virtual-timer PPI was acknowledged on `pcpu`.
   * @returns true when the hypervisor deactivates it now, false when the guest's EOI will
   */
  physicalIrq(pcpu: number, timer: GenericTimer): boolean;
  /** Context switch out: save `vcpu`'s state from `pcpu`. */
  save(pcpu: number, timer: GenericTimer, vcpu: VcpuRef, ctx: VtimerContext): void;
  /** Context switch in: load `vcpu`'s state onto `pcpu`. */
  restore(pcpu: number, timer: GenericTimer, vcpu: VcpuRef, ctx: VtimerContext): void;
}

function saveRegisters(timer: GenericTimer, ctx: VtimerContext): void {
  ctx.ctl = timer.readCtl() & CNTV_CTL_WRITABLE;
  ctx.cval = timer.readCval();
  timer.writeCtl(0);
}

function armed(ctx: VtimerContext): boolean {
  return (ctx.ctl & CNTV_CTL_ENABLE) !== 0 && (ctx.ctl & CNTV_CTL_IMASK) === 0;
}

function cancelSoftTimer(host: VtimerHost, ctx: VtimerContext): void {
  if (ctx.softTimer !== undefined) host.clock.cancel(ctx.softTimer);
  ctx.softTimer = undefined;
}

/** Xen's shipped design (see the module comment). */
export class XenOwnedVtimer implements VtimerStrategy {
  /** Strategy name. */
  readonly name = 'xen-owned' as const;

  /**
   * @param host - architecture services
   * @param contextOf - a vCPU's saved context
   */
  constructor(
    private readonly host: VtimerHost,
    private readonly contextOf: (vcpu: VcpuRef) => VtimerContext | undefined,
  ) {}

  /** Masks the timer with IMASK and injects virtual PPI 27 into `current`; ignored while idle runs. */
  physicalIrq(pcpu: number, timer: GenericTimer): boolean {
    const cur = this.host.current(pcpu);
    if (!cur) return true;
    const ctx = this.contextOf(cur);
    if (!ctx) return true;
    const ctl = timer.readCtl();
    ctx.ctl = ctl & CNTV_CTL_WRITABLE;
    timer.writeCtl(ctl | CNTV_CTL_IMASK);
    this.host.injectTimer(cur.domid, cur.vcpu, -1);
    return true;
  }

  /** Saves CTL/CVAL, disables the timer, and stands a software timer in for an armed one. */
  save(_pcpu: number, timer: GenericTimer, vcpu: VcpuRef, ctx: VtimerContext): void {
    saveRegisters(timer, ctx);
    if (!armed(ctx)) return;
    ctx.softTimer = this.host.clock.at(ctx.cval + this.host.cntvoff(vcpu.domid), this.softTimerFired(vcpu, ctx));
  }

  /** Xen's soft timer: masks the saved timer and injects the virtual PPI. */
  softTimerFired(vcpu: VcpuRef, ctx: VtimerContext): () => void {
    return () => {
      ctx.softTimer = undefined;
      ctx.ctl |= CNTV_CTL_IMASK;
      this.host.injectTimer(vcpu.domid, vcpu.vcpu, -1);
    };
  }

  /** Stops the software timer and restores the registers (an expired, unmasked timer fires at once). */
  restore(_pcpu: number, timer: GenericTimer, vcpu: VcpuRef, ctx: VtimerContext): void {
    cancelSoftTimer(this.host, ctx);
    timer.writeOffset(this.host.cntvoff(vcpu.domid));
    timer.writeCval(ctx.cval);
    timer.writeCtl(ctx.ctl);
  }
}

/**
 * The seed's IRQ_GUEST|IRQ_PER_CPU design (`switchPpiState = true`) and, without switching the
 * PPI state, the naive variant. Both deliver the physical PPI to the resident vCPU with the HW
 * bit set, so the guest's EOI deactivates the physical PPI on whatever CPU the vCPU is then on.
 */
export class GuestPerCpuVtimer implements VtimerStrategy {
  /** Strategy name. */
  readonly name: 'guest-percpu' | 'naive';

  /**
   * @param host - architecture services
   * @param switchPpiState - save/restore the physical PPI's pending and active state with the vCPU
   */
  constructor(
    private readonly host: VtimerHost,
    private readonly switchPpiState: boolean,
  ) {
    this.name = switchPpiState ? 'guest-percpu' : 'naive';
  }

  /** Injects virtual PPI 27, HW-linked, into the resident vCPU; the physical PPI stays active until the guest's EOI. */
  physicalIrq(pcpu: number): boolean {
    const cur = this.host.current(pcpu);
    if (!cur) return true;
    this.host.injectTimer(cur.domid, cur.vcpu, PPI_VIRT_TIMER);
    return false;
  }

  /** Saves the timer registers (and, switching, the PPI state, which is then cleared on this CPU). */
  save(pcpu: number, timer: GenericTimer, vcpu: VcpuRef, ctx: VtimerContext): void {
    saveRegisters(timer, ctx);
    if (this.switchPpiState) {
      const gic = this.host.gic;
      ctx.ppiActive = gic.isActive(PPI_VIRT_TIMER, pcpu);
      ctx.ppiPending = gic.isPending(PPI_VIRT_TIMER, pcpu);
      gic.clearActive(PPI_VIRT_TIMER, pcpu);
      gic.clearPending(PPI_VIRT_TIMER, pcpu);
    }
    // A blocked vCPU must still wake when its timer expires; the restore then raises the PPI.
    if (armed(ctx)) ctx.softTimer = this.host.clock.at(ctx.cval + this.host.cntvoff(vcpu.domid), this.softTimerFired(vcpu, ctx));
  }

  /** The wake-up of a blocked vCPU whose timer expired. */
  softTimerFired(vcpu: VcpuRef, ctx: VtimerContext): () => void {
    return () => {
      ctx.softTimer = undefined;
      this.host.wake(vcpu.domid, vcpu.vcpu);
    };
  }

  /** Restores the PPI state (switching) before the registers, so a restored active state blocks a re-fire. */
  restore(pcpu: number, timer: GenericTimer, vcpu: VcpuRef, ctx: VtimerContext): void {
    cancelSoftTimer(this.host, ctx);
    if (this.switchPpiState) {
      const gic = this.host.gic;
      if (ctx.ppiActive) gic.setActive(PPI_VIRT_TIMER, pcpu);
      if (ctx.ppiPending) gic.setPending(PPI_VIRT_TIMER, pcpu);
      ctx.ppiActive = false;
      ctx.ppiPending = false;
    }
    timer.writeOffset(this.host.cntvoff(vcpu.domid));
    timer.writeCval(ctx.cval);
    timer.writeCtl(ctx.ctl);
  }
}

/** Creates the strategy object for a name. */
export function createVtimerStrategy(
  name: VtimerStrategyName,
  host: VtimerHost,
  contextOf: (vcpu: VcpuRef) => VtimerContext | undefined,
): VtimerStrategy {
  switch (name) {
    case 'xen-owned':
      return new XenOwnedVtimer(host, contextOf);
    case 'guest-percpu':
      return new GuestPerCpuVtimer(host, true);
    case 'naive':
      return new GuestPerCpuVtimer(host, false);
  }
}

/** A fresh, disabled vCPU timer context. */
export function newVtimerContext(): VtimerContext {
  return { ctl: 0, cval: 0, ppiPending: false, ppiActive: false, softTimer: undefined };
}
