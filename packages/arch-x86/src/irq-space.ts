/*
 * A Linux x86 guest's IRQ number space: legacy IRQs, identity-mapped GSIs and dynamic
 * (event-channel, MSI) IRQs, with the three allocation policies Linux went through.
 *
 * Models the allocation behaviour of Linux drivers/xen/events.c across versions
 * (`find_unbound_irq` up to 2.6.38, `xen_allocate_irq_dynamic` in 2.6.39, and
 * `irq_alloc_descs_from` + `arch_dynirq_lower_bound` in modern kernels, SPEC §4.2), on top of
 * kernel/irq/irqdesc.c's growing descriptor space.
 */
import { Errno, XenError } from '@evtchn/core';
import type { GuestIrqSpace } from '@evtchn/core';
import { NR_IRQS_LEGACY } from './formulas.js';

/**
 * How dynamic IRQs are chosen:
 * - `scan-down` (≤ 2.6.38): from `nr_irqs - 1` down to `nr_irqs_gsi`; none free is fatal.
 * - `encroach` (2.6.39): up from `nr_irqs_gsi`; none free → fall back into the GSI range.
 * - `lower-bound` (modern): up from `arch_dynirq_lower_bound` (`gsi_top`), growing `nr_irqs`.
 */
export type DynIrqPolicy = 'scan-down' | 'encroach' | 'lower-bound';

/** Every policy, oldest first. */
export const DYN_IRQ_POLICIES: readonly DynIrqPolicy[] = ['scan-down', 'encroach', 'lower-bound'];

/** IRQ owner: no descriptor. */
export const IRQ_OWNER_FREE = 0;
/** IRQ owner: a legacy ISA IRQ (0–15), allocated at boot and never freed. */
export const IRQ_OWNER_LEGACY = 1;
/** IRQ owner: a GSI mapped by identity. */
export const IRQ_OWNER_GSI = 2;
/** IRQ owner: a dynamic IRQ (event channel, MSI, PV GSI). */
export const IRQ_OWNER_DYNAMIC = 3;

/** The fatal message of the `scan-down` policy when the dynamic range is full. */
export const SCAN_DOWN_PANIC = 'No available IRQ to bind to: increase nr_irqs!';

/**
 * Thrown, when asked for with `panicThrows`, where the modelled guest kernel panics (the
 * `scan-down` policy with no free IRQ).
 * It is a `XenError` with `errno` ENOSPC so callers that catch `XenError` see it; the
 * kernel's own message is in `panicMessage`.
 */
export class KernelPanicError extends XenError {
  /** The kernel's panic message, e.g. {@link SCAN_DOWN_PANIC}. */
  readonly panicMessage: string;

  /**
   * @param op - the kernel function that panicked
   * @param panicMessage - the panic text
   */
  constructor(op: string, panicMessage: string) {
    super(op, Errno.ENOSPC, `kernel panic: ${panicMessage}`);
    this.name = 'KernelPanicError';
    this.panicMessage = panicMessage;
  }
}

/** A GSI whose identity IRQ had already been handed out dynamically (`encroach`). */
export interface GsiClash {
  /** The GSI being set up. */
  readonly gsi: number;
  /** Its identity IRQ, already owned by a dynamic allocation. */
  readonly irq: number;
}

/** Configuration of an {@link X86GuestIrqSpace}. */
export interface X86IrqSpaceConfig {
  /** Dynamic-IRQ policy. */
  readonly policy: DynIrqPolicy;
  /** Boot-time `nr_irqs` (from `arch_probe_nr_irqs`). */
  readonly nrIrqs: number;
  /** `gsi_top` the guest sees (0 for a PV domU). */
  readonly gsiTop: number;
  /** `nr_irqs_gsi` (historic). */
  readonly nrIrqsGsi: number;
  /** Whether GSIs are identity-mapped (dom0, HVM) or allocated dynamically (PV domU). */
  readonly identityGsi: boolean;
  /** `lower-bound` only: the largest `nr_irqs` the space may grow to (default unbounded). */
  readonly maxNrIrqs?: number;
  /** `scan-down` only: throw {@link KernelPanicError} instead of returning `-ENOSPC` (default false). */
  readonly panicThrows?: boolean;
}

/**
 * The guest's IRQ number space implementing one {@link DynIrqPolicy}.
 *
 * Failure modes (allocation never throws by default, as the `GuestIrqSpace` contract asks):
 * `scan-down` returns `-ENOSPC` and records the kernel's panic message in
 * {@link X86GuestIrqSpace.panicMessage} (Linux panics there; a guest layer treats the guest as
 * crashed; with `panicThrows` it throws {@link KernelPanicError} instead); `encroach` and
 * `lower-bound` return `-ENOMEM`. `irqForGsi` returns `-EEXIST` and records a {@link GsiClash}
 * when the GSI's identity IRQ was given out dynamically (2.6.39 panicked there: "Unable to
 * allocate to IRQ").
 */
export class X86GuestIrqSpace implements GuestIrqSpace {
  /** The policy. */
  readonly policy: DynIrqPolicy;
  /** `gsi_top` of this guest. */
  readonly gsiTop: number;
  /** `nr_irqs_gsi` of this guest. */
  readonly nrIrqsGsi: number;
  /** Whether GSIs map by identity. */
  readonly identityGsi: boolean;
  /** Clashes detected by `irqForGsi`, in order. */
  readonly clashes: GsiClash[] = [];
  /** Number of dynamic IRQs handed out from the GSI range (`encroach` fallback). */
  encroached = 0;
  /** The guest kernel's panic message once `scan-down` ran out ({@link SCAN_DOWN_PANIC}), else `undefined`. */
  panicMessage: string | undefined;

  private size: number;
  private readonly maxNrIrqs: number;
  private readonly panicThrows: boolean;
  private owner: Uint8Array;

  /** @param cfg - the space's configuration */
  constructor(cfg: X86IrqSpaceConfig) {
    this.policy = cfg.policy;
    this.gsiTop = cfg.gsiTop;
    this.nrIrqsGsi = cfg.nrIrqsGsi;
    this.identityGsi = cfg.identityGsi;
    this.size = cfg.nrIrqs;
    this.maxNrIrqs = cfg.maxNrIrqs ?? Number.POSITIVE_INFINITY;
    this.panicThrows = cfg.panicThrows ?? false;
    this.owner = new Uint8Array(Math.max(cfg.nrIrqs, NR_IRQS_LEGACY, 64));
    for (let i = 0; i < NR_IRQS_LEGACY && i < this.size; i++) this.owner[i] = IRQ_OWNER_LEGACY;
  }

  /** Current `nr_irqs`. */
  nrIrqs(): number {
    return this.size;
  }

  /**
   * `arch_dynirq_lower_bound`: where `lower-bound` starts searching (`gsi_top`, or 0 when the
   * guest has no GSIs; the legacy IRQs are taken anyway).
   */
  dynamicLowerBound(): number {
    return this.identityGsi ? this.gsiTop : 0;
  }

  /** Owner of an IRQ number (`IRQ_OWNER_*`). */
  ownerOf(irq: number): number {
    return irq >= 0 && irq < this.owner.length ? this.owner[irq]! : IRQ_OWNER_FREE;
  }

  /** Number of IRQs currently owned by dynamic allocations. */
  dynamicCount(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.owner[i] === IRQ_OWNER_DYNAMIC) n++;
    return n;
  }

  /** Allocates one dynamic IRQ. @returns IRQ, or -ENOSPC (`scan-down`, the kernel panicked) / -ENOMEM */
  allocDynamic(): number {
    return this.allocDynamicRange(1);
  }

  /**
   * Allocates `count` contiguous dynamic IRQs (MSI groups).
   * @returns the first IRQ or a negative errno (`-EINVAL` for a bad count)
   */
  allocDynamicRange(count: number): number {
    if (!Number.isInteger(count) || count < 1) return -Errno.EINVAL;
    switch (this.policy) {
      case 'scan-down':
        return this.scanDown(count);
      case 'encroach':
        return this.encroach(count);
      case 'lower-bound':
        return this.lowerBound(count);
    }
  }

  /**
   * The IRQ of a GSI: identity for dom0/HVM (allocating its descriptor), dynamic for a PV domU.
   * @returns IRQ, `-EINVAL` for a GSI the guest does not have, `-EEXIST` on a clash, `-ENOMEM`
   */
  irqForGsi(gsi: number): number {
    if (!this.identityGsi) return this.allocDynamic();
    if (!Number.isInteger(gsi) || gsi < 0 || gsi >= this.gsiTop) return -Errno.EINVAL;
    if (gsi < NR_IRQS_LEGACY) return gsi;
    if (gsi >= this.size) {
      if (this.policy !== 'lower-bound' || gsi + 1 > this.maxNrIrqs) return -Errno.ENOMEM;
      this.grow(gsi + 1);
    }
    const owner = this.owner[gsi]!;
    if (owner === IRQ_OWNER_DYNAMIC) {
      this.clashes.push({ gsi, irq: gsi });
      return -Errno.EEXIST;
    }
    this.owner[gsi] = IRQ_OWNER_GSI;
    return gsi;
  }

  /** Releases an IRQ (legacy IRQs stay allocated, as in Linux). */
  free(irq: number): void {
    if (irq < NR_IRQS_LEGACY || irq >= this.size) return;
    this.owner[irq] = IRQ_OWNER_FREE;
  }

  private isFreeRun(first: number, count: number): boolean {
    for (let i = first; i < first + count; i++) if (this.owner[i] !== IRQ_OWNER_FREE) return false;
    return true;
  }

  private take(first: number, count: number): number {
    for (let i = first; i < first + count; i++) this.owner[i] = IRQ_OWNER_DYNAMIC;
    return first;
  }

  /** Lowest free run of `count` in [from, limit). @returns first IRQ or -1 */
  private findUp(from: number, limit: number, count: number): number {
    for (let irq = Math.max(from, 0); irq + count <= limit; irq++) {
      if (this.isFreeRun(irq, count)) return irq;
    }
    return -1;
  }

  private scanDown(count: number): number {
    const floor = this.identityGsi ? this.nrIrqsGsi : NR_IRQS_LEGACY;
    for (let irq = this.size - count; irq >= floor; irq--) {
      if (this.isFreeRun(irq, count)) return this.take(irq, count);
    }
    this.panicMessage ??= SCAN_DOWN_PANIC;
    if (this.panicThrows) throw new KernelPanicError('find_unbound_irq', SCAN_DOWN_PANIC);
    return -Errno.ENOSPC;
  }

  private encroach(count: number): number {
    // Only dom0/HVM see GSIs and so start above them; a PV domU allocates from the bottom.
    const first = this.identityGsi ? this.nrIrqsGsi : 0;
    let irq = this.findUp(first, this.size, count);
    if (irq >= 0) return this.take(irq, count);
    if (first <= NR_IRQS_LEGACY) return -Errno.ENOMEM;
    // "Out of dynamic IRQ space and eating into GSI space": IRQs below nr_irqs_gsi are
    // identity IRQs of GSIs that no device has set up yet.
    irq = this.findUp(NR_IRQS_LEGACY, this.size, count);
    if (irq < 0) return -Errno.ENOMEM;
    this.encroached += count;
    return this.take(irq, count);
  }

  private lowerBound(count: number): number {
    const from = this.dynamicLowerBound();
    let irq = this.findUp(from, this.size, count);
    if (irq < 0) {
      // Grow the descriptor space: the run starts at the first free IRQ at the top.
      irq = Math.max(from, this.size);
      while (irq > from && this.owner[irq - 1] === IRQ_OWNER_FREE) irq--;
      if (irq + count > this.maxNrIrqs) return -Errno.ENOMEM;
      this.grow(irq + count);
    }
    return this.take(irq, count);
  }

  private grow(newSize: number): void {
    if (newSize > this.owner.length) {
      let cap = this.owner.length;
      while (cap < newSize) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.owner);
      this.owner = next;
    }
    this.size = newSize;
  }
}
