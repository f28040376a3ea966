/*
 * Linux on arm64's IRQ number space as the Xen event-channel layer sees it
 * (kernel/irq/irqdesc.c with SPARSE_IRQ; arch/arm64 NR_IRQS = 64): `nr_irqs` starts at 64 and
 * grows as descriptors are allocated, up to IRQ_BITMAP_BITS = NR_IRQS + 8196; IRQ 0 is never
 * handed out, dynamic IRQs take the lowest free number(s).
 */
import { Errno, type GuestIrqSpace } from '@evtchn/core';

/** arm64's `NR_IRQS`: the initial `nr_irqs`. */
export const ARM64_NR_IRQS = 64;
/** Linux's `IRQ_BITMAP_BITS` with SPARSE_IRQ: the most IRQ numbers there can be. */
export const ARM64_IRQ_BITMAP_BITS = ARM64_NR_IRQS + 8196;

/** The arm64 guest IRQ space (see the module comment). */
export class ArmGuestIrqSpace implements GuestIrqSpace {
  private readonly used = new Uint8Array(ARM64_IRQ_BITMAP_BITS);
  private size = ARM64_NR_IRQS;

  /** Current `nr_irqs`. */
  nrIrqs(): number {
    return this.size;
  }

  /** Lowest free IRQ from 1. @returns IRQ or -ENOSPC */
  allocDynamic(): number {
    return this.allocDynamicRange(1);
  }

  /** Lowest run of `count` free IRQs from 1. @returns first IRQ or -ENOSPC / -EINVAL */
  allocDynamicRange(count: number): number {
    if (!Number.isInteger(count) || count < 1) return -Errno.EINVAL;
    let run = 0;
    for (let irq = 1; irq < this.used.length; irq++) {
      run = this.used[irq] ? 0 : run + 1;
      if (run === count) {
        const first = irq - count + 1;
        this.used.fill(1, first, irq + 1);
        if (irq + 1 > this.size) this.size = irq + 1;
        return first;
      }
    }
    return -Errno.ENOSPC;
  }

  /** Frees an IRQ number (`nr_irqs` never shrinks). */
  free(irq: number): void {
    if (Number.isInteger(irq) && irq > 0 && irq < this.used.length) this.used[irq] = 0;
  }
}
