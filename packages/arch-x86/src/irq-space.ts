/*
 * A Linux x86 guest's IRQ number space: legacy IRQs, identity-mapped GSIs and dynamic
 * (event-channel, MSI) IRQs, with the four allocation policies Linux went through.
 *
 * Models the allocation behaviour of Linux drivers/xen/events.c across versions
 * (`find_unbound_irq` up to 2.6.38, `xen_allocate_irq_dynamic` as commit 89911501 wrote it and as
 * 2.6.39–3.16 shipped it, and `irq_alloc_descs_from` + `arch_dynirq_lower_bound` from 3.17,
 * SPEC §4.2), on top of kernel/irq/irqdesc.c's descriptor space (growing from 2.6.39).
 */
import { Errno, XenError } from '@evtchn/core';
import type { GuestIrqSpace } from '@evtchn/core';
import { NR_IRQS_LEGACY, type ProbeNrIrqsEra } from './formulas.js';
import { IrqBitmap } from './irq-bitmap.js';

/**
 * How dynamic IRQs are chosen, one policy per kernel era (see {@link DYN_IRQ_POLICY_ERAS}):
 * - `scan-down` (Linux ≤ 2.6.38, `find_unbound_irq` since commit 3a69e916 "xen: Find an
 *   unbound irq number in reverse order"): from `nr_irqs - 1` down to, not including,
 *   `nr_irqs_gsi`; none free is fatal.
 * - `encroach` (commit 89911501 "xen: events: allocate GSIs and dynamic IRQs from separate IRQ
 *   ranges", early 2011, gone again before 2.6.39 was released): up from `nr_irqs_gsi` in a
 *   fixed `nr_irqs`; none free → retry from lower starting points, into the GSI range.
 * - `alloc-from` (Linux 2.6.39–3.16, `irq_alloc_desc_from`): up from `nr_irqs_gsi` (0 for a PV
 *   domU), growing `nr_irqs` up to `IRQ_BITMAP_BITS`; no fallback.
 * - `lower-bound` (Linux 3.17+): up from `arch_dynirq_lower_bound` (`gsi_top`), growing `nr_irqs`.
 */
export type DynIrqPolicy = 'scan-down' | 'encroach' | 'alloc-from' | 'lower-bound';

/** Every policy, oldest first. */
export const DYN_IRQ_POLICIES: readonly DynIrqPolicy[] = ['scan-down', 'encroach', 'alloc-from', 'lower-bound'];

/** Where a {@link DynIrqPolicy} comes from. */
export interface DynIrqPolicyEra {
  /** The kernels (or the commit) that allocated this way. */
  readonly kernels: string;
  /** The source the behaviour is read from. */
  readonly source: string;
  /** The `arch_probe_nr_irqs` those kernels used. */
  readonly probe: ProbeNrIrqsEra;
  /** Whether `nr_irqs` grows on demand (`irq_expand_nr_irqs`, 2.6.39+). */
  readonly grows: boolean;
}

/** The kernels each policy belongs to, and the boot-time sizing they had. */
export const DYN_IRQ_POLICY_ERAS: Readonly<Record<DynIrqPolicy, DynIrqPolicyEra>> = {
  'scan-down': {
    kernels: 'Linux <= 2.6.38',
    source: 'drivers/xen/events.c find_unbound_irq (reverse scan since commit 3a69e916)',
    probe: '2.6.3x',
    grows: false,
  },
  encroach: {
    kernels: 'commit 89911501 (early 2011)',
    source: 'drivers/xen/events.c xen_allocate_irq_dynamic, commit 89911501',
    probe: '2.6.3x',
    grows: false,
  },
  'alloc-from': {
    kernels: 'Linux 2.6.39-3.16',
    source: 'drivers/xen/events.c xen_allocate_irq_dynamic, kernel/irq/irqdesc.c irq_expand_nr_irqs',
    probe: '2.6.3x',
    grows: true,
  },
  'lower-bound': {
    kernels: 'Linux 3.17+',
    source: 'drivers/xen/events/events_base.c, arch/x86/kernel/apic/io_apic.c arch_dynirq_lower_bound',
    probe: 'modern',
    grows: true,
  },
};

/** IRQ owner: no descriptor. */
export const IRQ_OWNER_FREE = 0;
/** IRQ owner: a legacy ISA IRQ (0–15), allocated at boot and never freed. */
export const IRQ_OWNER_LEGACY = 1;
/** IRQ owner: a GSI mapped by identity. */
export const IRQ_OWNER_GSI = 2;
/** IRQ owner: a dynamic IRQ (event channel, MSI, PV GSI). */
export const IRQ_OWNER_DYNAMIC = 3;

/** The fatal message of the `scan-down` (and `encroach`) policy when the dynamic range is full. */
export const SCAN_DOWN_PANIC = 'No available IRQ to bind to: increase nr_irqs!';

/**
 * The warning `scan-down` records when `nr_irqs_gsi > nr_irqs` and IRQ `nr_irqs - 1` is taken
 * already: 2.6.37–2.6.38 `find_unbound_irq` lands on it without scanning, its
 * `irq_alloc_desc_at` fails, and `WARN_ON(res != irq)` returns -1.
 */
export const SCAN_DOWN_WARN = 'WARN_ON(res != irq) in find_unbound_irq: IRQ nr_irqs-1 already allocated';

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
  /** Boot-time `nr_irqs` (from `arch_probe_nr_irqs` of the policy's era). */
  readonly nrIrqs: number;
  /** `gsi_top` the guest sees (0 for a PV domU). */
  readonly gsiTop: number;
  /** `nr_irqs_gsi` (historic). */
  readonly nrIrqsGsi: number;
  /** Whether GSIs are identity-mapped (dom0, HVM) or allocated dynamically (PV domU). */
  readonly identityGsi: boolean;
  /** `alloc-from` and `lower-bound`: the largest `nr_irqs` the space may grow to (default unbounded). */
  readonly maxNrIrqs?: number;
  /** `scan-down`, `encroach`: throw {@link KernelPanicError} instead of returning `-ENOSPC` (default false). */
  readonly panicThrows?: boolean;
}

/**
 * The guest's IRQ number space implementing one {@link DynIrqPolicy}.
 *
 * Failure modes (allocation never throws by default, as the `GuestIrqSpace` contract asks):
 * `scan-down` and `encroach` return `-ENOSPC` and record the kernel's panic message in
 * {@link X86GuestIrqSpace.panicMessage} (Linux panics there; a guest layer treats the guest as
 * crashed; with `panicThrows` it throws {@link KernelPanicError} instead); `scan-down` with
 * `nr_irqs_gsi > nr_irqs` returns the kernel's own `-1` once IRQ `nr_irqs - 1` is taken and
 * records {@link SCAN_DOWN_WARN} in {@link X86GuestIrqSpace.warnings}; `alloc-from` and
 * `lower-bound` return `-ENOMEM` past their cap. `irqForGsi` returns `-EEXIST` and records a
 * {@link GsiClash} when the GSI's identity IRQ was given out dynamically (the kernels of commit
 * 89911501 failed there: "Unable to allocate to IRQ").
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
  /** Number of dynamic IRQs handed out below `nr_irqs_gsi` (`encroach` fallback). */
  encroached = 0;
  /** The guest kernel's panic message once `scan-down`/`encroach` ran out ({@link SCAN_DOWN_PANIC}), else `undefined`. */
  panicMessage: string | undefined;
  /** Kernel warnings (`WARN_ON`) in order, e.g. {@link SCAN_DOWN_WARN}. */
  readonly warnings: string[] = [];

  private size: number;
  private readonly maxNrIrqs: number;
  private readonly panicThrows: boolean;
  private owner: Uint8Array;
  /** The IRQs whose owner is not `IRQ_OWNER_FREE`, for searches that skip the taken ones. */
  private readonly taken: IrqBitmap;

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
    this.taken = new IrqBitmap(this.owner.length);
    for (let i = 0; i < NR_IRQS_LEGACY && i < this.size; i++) this.setOwner(i, IRQ_OWNER_LEGACY);
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

  /** Allocates one dynamic IRQ. @returns IRQ, or -ENOSPC (the kernel panicked), -1 (it warned), -ENOMEM */
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
      case 'alloc-from':
        return this.growingFrom(this.identityGsi ? this.nrIrqsGsi : 0, count);
      case 'lower-bound':
        return this.growingFrom(this.dynamicLowerBound(), count);
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
      if (!this.grows() || gsi + 1 > this.maxNrIrqs) return -Errno.ENOMEM;
      this.grow(gsi + 1);
    }
    const owner = this.owner[gsi]!;
    if (owner === IRQ_OWNER_DYNAMIC) {
      this.clashes.push({ gsi, irq: gsi });
      return -Errno.EEXIST;
    }
    this.setOwner(gsi, IRQ_OWNER_GSI);
    return gsi;
  }

  /** Releases an IRQ (legacy IRQs stay allocated, as in Linux). */
  free(irq: number): void {
    if (irq < NR_IRQS_LEGACY || irq >= this.size) return;
    this.setOwner(irq, IRQ_OWNER_FREE);
  }

  /** Every write of an owner goes here, so that {@link X86GuestIrqSpace.taken} follows. */
  private setOwner(irq: number, owner: number): void {
    this.owner[irq] = owner;
    if (owner === IRQ_OWNER_FREE) this.taken.clear(irq);
    else this.taken.set(irq);
  }

  private isFreeRun(first: number, count: number): boolean {
    return this.lastTakenIn(first, count) < 0;
  }

  private take(first: number, count: number): number {
    for (let i = first; i < first + count; i++) this.setOwner(i, IRQ_OWNER_DYNAMIC);
    return first;
  }

  /** Lowest free run of `count` in [from, limit). @returns first IRQ or -1 */
  private findUp(from: number, limit: number, count: number): number {
    // Candidates are free IRQs only; a run that meets a taken IRQ resumes after it.
    for (let irq = this.taken.nextFree(Math.max(from, 0)); irq + count <= limit; ) {
      const blocked = this.lastTakenIn(irq, count);
      if (blocked < 0) return irq;
      irq = this.taken.nextFree(blocked + 1);
    }
    return -1;
  }

  /** The highest taken IRQ of [first, first + count), or -1 when the run is free. */
  private lastTakenIn(first: number, count: number): number {
    for (let i = first + count - 1; i >= first; i--) if (this.taken.has(i)) return i;
    return -1;
  }

  /** Whether `nr_irqs` grows on demand (`irq_expand_nr_irqs`, 2.6.39+). */
  private grows(): boolean {
    return DYN_IRQ_POLICY_ERAS[this.policy].grows;
  }

  private panic(op: string): number {
    this.panicMessage ??= SCAN_DOWN_PANIC;
    if (this.panicThrows) throw new KernelPanicError(op, SCAN_DOWN_PANIC);
    return -Errno.ENOSPC;
  }

  /**
   * ≤ 2.6.38 `find_unbound_irq`: top-down while `irq > bottom`, so `bottom` itself is never
   * handed out; `bottom == nr_irqs` or reaching `bottom` panics. With `bottom > nr_irqs` the
   * loop never runs and the code lands on `nr_irqs - 1` unchecked: free, it is taken; taken,
   * the descriptor allocation fails and the kernel warns and returns -1.
   */
  private scanDown(count: number): number {
    const bottom = this.identityGsi ? this.nrIrqsGsi : NR_IRQS_LEGACY;
    if (bottom === this.size) return this.panic('find_unbound_irq');
    if (bottom > this.size) {
      const irq = this.size - count;
      if (irq >= 0 && this.isFreeRun(irq, count)) return this.take(irq, count);
      this.warnings.push(SCAN_DOWN_WARN);
      return -1;
    }
    // The highest free run ending at or below nr_irqs - 1 and starting above `bottom`: a run
    // that meets a taken IRQ can only end below it.
    for (let end = this.taken.prevFree(this.size - 1); end - count + 1 > bottom; ) {
      const blocked = this.lastTakenIn(end - count + 1, count);
      if (blocked < 0) return this.take(end - count + 1, count);
      end = this.taken.prevFree(blocked - 1);
    }
    return this.panic('find_unbound_irq');
  }

  /**
   * Commit 89911501 `xen_allocate_irq_dynamic`: `irq_alloc_desc_from(first)` in the fixed
   * `nr_irqs`, `first` = `nr_irqs_gsi` for dom0/HVM (0 for a PV domU). When that finds nothing
   * and `first > NR_IRQS_LEGACY`, it retries from `max(16, first - 16)` ("eating into GSI
   * space"), so the first fallback IRQs are `gsi_top … nr_irqs_gsi - 1`, which no GSI uses, and
   * later ones are identity IRQs of GSIs not set up yet. Nothing free even from 16 panics.
   * ASSUMPTION: the commit's code was not found in the sources searched; the step of
   * `NR_IRQS_LEGACY` and the final panic are this model's reading of it (docs/guides/x86-irq-eras.md).
   */
  private encroach(count: number): number {
    let first = this.identityGsi ? this.nrIrqsGsi : 0;
    for (;;) {
      const irq = this.findUp(first, this.size, count);
      if (irq >= 0) {
        if (this.identityGsi && irq < this.nrIrqsGsi) this.encroached += count;
        return this.take(irq, count);
      }
      if (first <= NR_IRQS_LEGACY) return this.panic('xen_allocate_irq_dynamic');
      first = Math.max(NR_IRQS_LEGACY, first - NR_IRQS_LEGACY);
    }
  }

  /**
   * `irq_alloc_descs_from(from)` with a growing space (2.6.39+): the lowest free run at or above
   * `from` anywhere in the descriptor bitmap; past `nr_irqs` it grows `nr_irqs` to the run's end
   * (`irq_expand_nr_irqs`), up to the cap.
   */
  private growingFrom(from: number, count: number): number {
    let irq = this.findUp(from, this.size, count);
    if (irq < 0) {
      // The run starts at the first free IRQ of the free tail, or at `from` past the end.
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
      this.taken.grow(cap);
    }
    this.size = newSize;
  }
}
