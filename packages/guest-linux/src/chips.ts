/*
 * The Xen IRQ chips of Linux's drivers/xen/events/events_base.c: `xen-dyn` (event channels,
 * VIRQs), `xen-dyn-lateeoi` (event channels whose driver signals the end of an event
 * itself), `xen-pirq` (physical IRQs, bound lazily at startup) and `xen-percpu` (per-CPU
 * VIRQs and IPIs). Chips translate the IRQ core's mask/ack/eoi into mask reasons and ABI
 * operations on the IRQ's port.
 */
import {
  MASK_REASON_EOI_PENDING,
  MASK_REASON_EXPLICIT,
  MASK_REASON_TEMPORARY,
} from './constants.js';
import type { IrqChip, IrqDesc } from './irq-desc.js';
import type { IrqInfo } from './irq-info.js';

/** What the Xen chips need from the event layer they belong to. */
export interface XenChipHost {
  /** Adds a mask reason; the first reason masks the port in the ABI. */
  doMask(info: IrqInfo, reason: number): void;
  /** Removes a mask reason; when none is left the port is unmasked in the ABI. */
  doUnmask(info: IrqInfo, reason: number): void;
  /** Clears the port's pending bit (guest side of the ABI). */
  clearEvtchn(port: number): void;
  /** Sets the port's pending bit (guest side of the ABI). */
  setEvtchn(port: number): void;
  /** Moves the IRQ to the best CPU of `cpus` (`set_affinity_irq`). @returns 0 or a negative value */
  setAffinityIrq(desc: IrqDesc, cpus: readonly number[]): number;
  /** Binds a pirq's port at startup (`startup_pirq`). */
  startupPirq(info: IrqInfo): void;
  /** Closes a pirq's port at shutdown (`shutdown_pirq`). */
  shutdownPirq(info: IrqInfo): void;
  /** Ends a pirq event: clear pending, PHYSDEVOP_eoi when the pirq needs it (`eoi_pirq`). */
  eoiPirq(info: IrqInfo): void;
}

/** Ends the handling of an event of `info`: not active any more, pending cleared (`event_handler_exit`). */
function eventHandlerExit(host: XenChipHost, info: IrqInfo): void {
  info.isActive = 0;
  host.clearEvtchn(info.port);
}

/** Shared part of the event-channel chips: mask/unmask with reason EXPLICIT, affinity, retrigger. */
abstract class XenEvtchnChip implements IrqChip {
  /** Chip name. */
  abstract readonly name: string;

  /** @param host - the event layer */
  constructor(protected readonly host: XenChipHost) {}

  /** `enable_dynirq`: drop the EXPLICIT mask reason. */
  enable(desc: IrqDesc): void {
    const info = desc.info;
    if (info !== null && info.port !== 0) this.host.doUnmask(info, MASK_REASON_EXPLICIT);
  }

  /** `disable_dynirq`: add the EXPLICIT mask reason. */
  disable(desc: IrqDesc): void {
    const info = desc.info;
    if (info !== null && info.port !== 0) this.host.doMask(info, MASK_REASON_EXPLICIT);
  }

  /** Same as `disable`. */
  mask(desc: IrqDesc): void {
    this.disable(desc);
  }

  /** Same as `enable`. */
  unmask(desc: IrqDesc): void {
    this.enable(desc);
  }

  /** `ack_dynirq`: the event is over (not active), its pending bit cleared. */
  ack(desc: IrqDesc): void {
    const info = desc.info;
    if (info !== null && info.port !== 0) eventHandlerExit(this.host, info);
  }

  /** `mask_ack_dynirq`: mask EXPLICIT, then ack. */
  maskAck(desc: IrqDesc): void {
    this.disable(desc);
    this.ack(desc);
  }

  /** `retrigger_dynirq`: with a TEMPORARY mask, set the port pending again, then unmask. @returns 1 */
  retrigger(desc: IrqDesc): number {
    const info = desc.info;
    if (info === null || info.port === 0) return 0;
    this.host.doMask(info, MASK_REASON_TEMPORARY);
    this.host.setEvtchn(info.port);
    this.host.doUnmask(info, MASK_REASON_TEMPORARY);
    return 1;
  }
}

/** `xen-dyn`: event channels and non-per-CPU VIRQs, edge flow. */
export class XenDynChip extends XenEvtchnChip {
  /** `'xen-dyn'`. */
  readonly name = 'xen-dyn';

  /** `set_affinity_irq`: rebind the port to the CPU with the fewest channels among `cpus`. */
  setAffinity(desc: IrqDesc, cpus: readonly number[]): number {
    return this.host.setAffinityIrq(desc, cpus);
  }
}

/**
 * `xen-dyn-lateeoi`: event channels whose driver calls `lateEoi` when it is done. The ack
 * masks the port (EOI_PENDING) and leaves the IRQ active, so further events are neither
 * raised nor handled until the late EOI.
 */
export class XenLateEoiChip extends XenEvtchnChip {
  /** `'xen-dyn-lateeoi'`. */
  readonly name = 'xen-dyn-lateeoi';

  /** `lateeoi_ack_dynirq`: mask EOI_PENDING, clear pending, stay active. */
  override ack(desc: IrqDesc): void {
    const info = desc.info;
    if (info === null || info.port === 0) return;
    this.host.doMask(info, MASK_REASON_EOI_PENDING);
    this.host.clearEvtchn(info.port);
  }

  /** `lateeoi_mask_ack_dynirq`: mask EXPLICIT, end the event. */
  override maskAck(desc: IrqDesc): void {
    const info = desc.info;
    if (info === null || info.port === 0) return;
    this.host.doMask(info, MASK_REASON_EXPLICIT);
    eventHandlerExit(this.host, info);
  }

  /** `set_affinity_irq`. */
  setAffinity(desc: IrqDesc, cpus: readonly number[]): number {
    return this.host.setAffinityIrq(desc, cpus);
  }
}

/** `xen-percpu`: per-CPU VIRQs and IPIs, percpu flow; no affinity changes. */
export class XenPercpuChip extends XenEvtchnChip {
  /** `'xen-percpu'`. */
  readonly name = 'xen-percpu';
}

/**
 * `xen-pirq`: physical IRQs. The port is bound at startup (EVTCHNOP_bind_pirq) and closed at
 * shutdown; ack and eoi clear the pending bit and send PHYSDEVOP_eoi when the pirq needs it.
 */
export class XenPirqChip extends XenEvtchnChip {
  /** `'xen-pirq'`. */
  readonly name = 'xen-pirq';

  /** `startup_pirq`: bind the port if needed, unmask EXPLICIT, EOI. */
  startup(desc: IrqDesc): void {
    if (desc.info !== null) this.host.startupPirq(desc.info);
  }

  /** `shutdown_pirq`: mask, forget and close the port. */
  shutdown(desc: IrqDesc): void {
    if (desc.info !== null) this.host.shutdownPirq(desc.info);
  }

  /** `eoi_pirq`. */
  override ack(desc: IrqDesc): void {
    if (desc.info !== null) this.host.eoiPirq(desc.info);
  }

  /** `eoi_pirq`. */
  eoi(desc: IrqDesc): void {
    if (desc.info !== null) this.host.eoiPirq(desc.info);
  }

  /** `mask_ack_pirq`: mask EXPLICIT, then EOI. */
  override maskAck(desc: IrqDesc): void {
    this.disable(desc);
    if (desc.info !== null) this.host.eoiPirq(desc.info);
  }

  /** `set_affinity_irq`. */
  setAffinity(desc: IrqDesc, cpus: readonly number[]): number {
    return this.host.setAffinityIrq(desc, cpus);
  }
}
