/*
 * The 2007 Linux guest layer (the first paravirt_ops event code, arch/i386/xen/events.c of
 * Linux 2.6.23, SPEC §7), where it differs from today's drivers/xen/events:
 *   - the 2-level scan starts from the lowest pending word and bit every time (the ABI's
 *     2007 guest side, created through `createGuestSideForEra`; FIFO did not exist);
 *   - dynamic IRQs come from `find_unbound_irq`: the lowest IRQ below NR_IRQS whose bind
 *     count is 0, and the kernel panics when there is none;
 *   - every bind of an already-bound port, VIRQ or IPI adds to `irq_bindcount[irq]`, every
 *     unbind takes one away, and only the last one closes the port;
 *   - request_irq/setup_irq as in kernel/irq/manage.c of the time: no IRQ_NOREQUEST marking by
 *     the Xen code, an IRQ without a chip is `-ENOSYS`, sharing needs both actions SHARED and
 *     the same trigger type;
 *   - event and VIRQ IRQs use `handle_level_irq` (mask and ack, handlers, unmask);
 *   - one scan pass per upcall (`evtchn_upcall_pending` cleared once);
 *   - no pirqs ({@link LINUX_2007_NO_PIRQS}): a pirq bind answers `-ENOSYS`.
 * Written from the described behaviour, not from the GPL sources.
 */
import {
  Errno,
  XenError,
  type AbiGuestContext,
  type AbiGuestOps,
  type EventAbi,
  type GuestContext,
  type GuestIrqSpace,
} from '@evtchn/core';
import { IRQF_PERCPU, IRQF_SHARED } from './constants.js';
import { IrqAction, setupIrqAction, type IrqDesc, type IrqHandler } from './irq-desc.js';

/** Linux eras the guest layer models: `'modern'` (default) or `'2007'`. */
export type LinuxEra = '2007' | 'modern';

/** NR_IRQS of a 2007 i386 kernel with IO-APIC support (256 vectors minus the 32 exceptions). */
export const LINUX_2007_NR_IRQS = 224;

/** The message `find_unbound_irq` panics with when every IRQ is bound. */
export const FIND_UNBOUND_IRQ_PANIC = 'No available IRQ to bind to: increase NR_IRQS!';

/**
 * Why an era-`'2007'` guest cannot bind a pirq: the 2007 patch's own list of event kinds says
 * "4. Hardware interrupts. Not supported at present." (seed 000).
 */
export const LINUX_2007_NO_PIRQS = 'Hardware interrupts. Not supported at present.';

/** Trigger-type bits of `IRQF_*` (rising, falling, high, low): shared actions must agree on them. */
export const IRQF_TRIGGER_MASK = 0x0000000f;

/**
 * Thrown where the modelled 2007 kernel panics (`find_unbound_irq` with every IRQ bound).
 * A panic is the guest kernel dying, not a hypercall result, so it surfaces as an exception
 * carrying the kernel's message; errno is `ENOSPC`.
 */
export class GuestKernelPanic extends XenError {
  /** The kernel's panic message, e.g. {@link FIND_UNBOUND_IRQ_PANIC}. */
  readonly panicMessage: string;

  /**
   * @param op - the kernel function that panicked
   * @param panicMessage - the panic text
   */
  constructor(op: string, panicMessage: string) {
    super(op, Errno.ENOSPC, `kernel panic: ${panicMessage}`);
    this.name = 'GuestKernelPanic';
    this.panicMessage = panicMessage;
  }
}

/**
 * The 2007 guest's IRQ numbers: a fixed NR_IRQS and `irq_bindcount[]`. An IRQ is free while
 * its bind count is 0; allocation takes the lowest free one and counts the first bind.
 */
export class Linux2007IrqSpace implements GuestIrqSpace {
  /** `irq_bindcount`: binds per IRQ (0 = free). */
  readonly irqBindcount: Uint32Array;
  /** The panic message once `find_unbound_irq` ran out, else `undefined`. */
  panicMessage: string | undefined;

  /** @param nrIrqs - NR_IRQS (default {@link LINUX_2007_NR_IRQS}) */
  constructor(nrIrqs: number = LINUX_2007_NR_IRQS) {
    if (!Number.isInteger(nrIrqs) || nrIrqs < 1) throw new RangeError(`guest-linux: nrIrqs2007 must be a positive integer (got ${nrIrqs})`);
    this.irqBindcount = new Uint32Array(nrIrqs);
  }

  /** NR_IRQS: fixed at build time in 2007. */
  nrIrqs(): number {
    return this.irqBindcount.length;
  }

  /**
   * `find_unbound_irq` plus the first bind: the lowest IRQ whose bind count is 0, now 1.
   * @throws GuestKernelPanic when every IRQ is bound (the kernel panics there)
   */
  allocDynamic(): number {
    const counts = this.irqBindcount;
    for (let irq = 0; irq < counts.length; irq++) {
      if (counts[irq] === 0) {
        counts[irq] = 1;
        return irq;
      }
    }
    this.panicMessage = FIND_UNBOUND_IRQ_PANIC;
    throw new GuestKernelPanic('find_unbound_irq', FIND_UNBOUND_IRQ_PANIC);
  }

  /** Another bind of an IRQ that is already bound (`irq_bindcount[irq]++`). */
  bind(irq: number): void {
    this.irqBindcount[irq]!++;
  }

  /** One unbind (`--irq_bindcount[irq]`). @returns the binds left; 0 means tear the IRQ down */
  unbind(irq: number): number {
    const n = this.irqBindcount[irq]!;
    if (n > 0) this.irqBindcount[irq] = n - 1;
    return this.irqBindcount[irq]!;
  }

  /** The IRQ is torn down: its bind count is 0 again. */
  free(irq: number): void {
    if (irq >>> 0 === irq && irq < this.irqBindcount.length) this.irqBindcount[irq] = 0;
  }
}

/** An event ABI that can create the guest half of a past Linux era (the 2-level ABI can). */
export interface EraGuestSideFactory {
  /** Creates the guest half `era`'s Linux used. */
  createGuestSideForEra(ctx: AbiGuestContext, era: LinuxEra): AbiGuestOps;
}

/**
 * The 2007 guest's ABI: 2-level (FIFO did not exist yet), with its 2007 guest side.
 * @throws XenError (`-ENOSYS`) when the platform offers no 2-level ABI able to create it
 */
export function choose2007Abi(ctx: GuestContext): AbiGuestOps {
  const abi = ctx.abis.find((a: EventAbi) => a.name === '2level') as (EventAbi & Partial<EraGuestSideFactory>) | undefined;
  if (abi === undefined || typeof abi.createGuestSideForEra !== 'function') {
    throw new XenError(
      'guest-linux: xen_init_IRQ',
      Errno.ENOSYS,
      "era '2007' needs the 2-level ABI with a 2007 guest side (createGuestSideForEra), e.g. abi2Level()",
    );
  }
  return abi.createGuestSideForEra(ctx.abiContext, '2007');
}

/**
 * `request_irq` + `setup_irq` of 2007 for IRQ `irq`, whose descriptor is `desc` (undefined:
 * never bound, i.e. `no_irq_chip`).
 * @returns 0; `-EINVAL` SHARED without `devId`, `irq` ≥ NR_IRQS or no handler; `-ENOSYS` no
 * chip; `-EBUSY` when an action exists and not both are SHARED with the same trigger type
 * and per-CPU-ness. The first action starts the IRQ.
 */
export function requestIrq2007(
  desc: IrqDesc | undefined,
  irq: number,
  nrIrqs: number,
  handler: IrqHandler,
  flags: number,
  name: string,
  devId: unknown,
): number {
  if (flags & IRQF_SHARED && (devId === undefined || devId === null)) return -Errno.EINVAL;
  if (irq >>> 0 !== irq || irq >= nrIrqs) return -Errno.EINVAL;
  if (typeof handler !== 'function') return -Errno.EINVAL;
  if (desc === undefined || desc.chip === null) return -Errno.ENOSYS;
  // 2007's setup_irq also refused sharing between different trigger types.
  return setupIrqAction(desc, new IrqAction(handler, flags, name, devId), IRQF_TRIGGER_MASK | IRQF_PERCPU);
}
