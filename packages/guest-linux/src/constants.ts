/*
 * Constants of Linux's Xen event-channel IRQ layer and of the generic IRQ core it plugs
 * into. Models the numbers of drivers/xen/events/events_internal.h and events_base.c
 * (irq types, mask reasons, pirq flags), include/linux/interrupt.h (IRQF_*, irqreturn_t)
 * and include/xen/events.h (late-EOI flags). Values follow Linux so that dumps read alike.
 */

/** Binding type of an IRQ (`enum xen_irq_type`). */
export const IrqType = {
  /** Allocated but not bound to anything yet. */
  UNBOUND: 0,
  /** A physical IRQ lent by the hypervisor (pirq). */
  PIRQ: 1,
  /** A virtual IRQ raised by the hypervisor (VIRQ_*). */
  VIRQ: 2,
  /** An inter-processor interrupt of this guest. */
  IPI: 3,
  /** A plain event channel (interdomain, loopback, unbound port). */
  EVTCHN: 4,
} as const;

/** Value of {@link IrqType}. */
export type IrqTypeValue = (typeof IrqType)[keyof typeof IrqType];

/** Mask reason: masked by the IRQ chip's mask/disable (driver or IRQ core). */
export const MASK_REASON_EXPLICIT = 1 << 0;
/** Mask reason: masked for the duration of an affinity change or retrigger. */
export const MASK_REASON_TEMPORARY = 1 << 1;
/** Mask reason: a late-EOI IRQ was acked and waits for its driver's `lateEoi`. */
export const MASK_REASON_EOI_PENDING = 1 << 2;

/** pirq flag: the hypervisor wants PHYSDEVOP_eoi after each interrupt. */
export const PIRQ_NEEDS_EOI = 1 << 0;
/** pirq flag: the pirq may be shared with other domains (bound with WILL_SHARE). */
export const PIRQ_SHAREABLE = 1 << 1;
/** pirq flag: a non-first vector of a multi-vector MSI group. */
export const PIRQ_MSI_GROUP = 1 << 2;

/** `XENIRQSTAT_needs_eoi`: PHYSDEVOP_irq_status_query says the pirq needs PHYSDEVOP_eoi. */
export const XENIRQSTAT_NEEDS_EOI = 1 << 0;
/** `XENIRQSTAT_shared`: the pirq is shared with another domain. */
export const XENIRQSTAT_SHARED = 1 << 1;

/** `IRQF_SHARED`: the IRQ may be shared by several actions, each with its own `devId`. */
export const IRQF_SHARED = 0x00000080;
/** `IRQF_PERCPU`: the IRQ is per-CPU (timer VIRQ, IPIs). */
export const IRQF_PERCPU = 0x00000400;
/** `IRQF_NOBALANCING`: keep the IRQ out of affinity balancing. */
export const IRQF_NOBALANCING = 0x00000800;
/** `IRQF_NO_SUSPEND`: keep the IRQ enabled across suspend. */
export const IRQF_NO_SUSPEND = 0x00004000;
/** `IRQF_FORCE_RESUME`: re-enable the IRQ on resume even if `IRQF_NO_SUSPEND` is set. */
export const IRQF_FORCE_RESUME = 0x00008000;
/** `IRQF_EARLY_RESUME`: resume the IRQ early (IPIs). */
export const IRQF_EARLY_RESUME = 0x00020000;

/**
 * Handler results as a const enum (see {@link IrqStatusBit} for why).
 * @internal
 */
export const enum IrqReturnCode {
  NONE = 0,
  HANDLED = 1,
}

/** Handler result: the interrupt was not from this device. */
export const IRQ_NONE: number = IrqReturnCode.NONE;
/** Handler result: the interrupt was handled. */
export const IRQ_HANDLED: number = IrqReturnCode.HANDLED;
/** Handler result type (`irqreturn_t`). */
export type IrqReturn = number;

/** `XEN_EOI_FLAG_SPURIOUS`: the late EOI reports an event that had no work (storm guard). */
export const XEN_EOI_FLAG_SPURIOUS = 1 << 0;

/**
 * The descriptor's status bits as a const enum, for the event path: tsc writes the values into
 * the code that uses them. An imported `const` costs V8 a module-variable load and a hole check
 * (5 bytes of bytecode) at every use, and the event path must fit V8's inlining budget of 920
 * bytecode bytes (bench/README.md, optimisation 9). The `IRQD_*`/`IRQS_*`/`IRQ_*` constants
 * below are the public names of the same bits.
 * @internal
 */
export const enum IrqStatusBit {
  DISABLED = 1 << 0,
  MASKED = 1 << 1,
  INPROGRESS = 1 << 2,
  STARTED = 1 << 3,
  PENDING = 1 << 4,
  REPLAY = 1 << 5,
  PER_CPU = 1 << 6,
  NOREQUEST = 1 << 7,
}

/** Descriptor state: disabled (`IRQD_IRQ_DISABLED`, depth > 0). */
export const IRQD_DISABLED: number = IrqStatusBit.DISABLED;
/** Descriptor state: masked at the chip (`IRQD_IRQ_MASKED`). */
export const IRQD_MASKED: number = IrqStatusBit.MASKED;
/** Descriptor state: handlers are running (`IRQD_IRQ_INPROGRESS`). */
export const IRQD_INPROGRESS: number = IrqStatusBit.INPROGRESS;
/** Descriptor state: started (`IRQD_IRQ_STARTED`). */
export const IRQD_STARTED: number = IrqStatusBit.STARTED;
/** Descriptor state: an interrupt arrived while it could not run; replay it (`IRQS_PENDING`). */
export const IRQS_PENDING: number = IrqStatusBit.PENDING;
/** Descriptor state: a pending interrupt is being replayed (`IRQS_REPLAY`). */
export const IRQS_REPLAY: number = IrqStatusBit.REPLAY;
/** Descriptor setting: per-CPU IRQ (`IRQ_PER_CPU`). */
export const IRQ_PER_CPU: number = IrqStatusBit.PER_CPU;
/** Descriptor setting: `request_irq` refuses this IRQ (`IRQ_NOREQUEST`). */
export const IRQ_NOREQUEST: number = IrqStatusBit.NOREQUEST;

/** x86 Xen IPIs (`enum ipi_vector`). */
export const XenIpi = {
  /** Reschedule another CPU. */
  RESCHEDULE: 0,
  /** Run a function on other CPUs. */
  CALL_FUNCTION: 1,
  /** Run a function on one CPU. */
  CALL_FUNCTION_SINGLE: 2,
  /** Paravirtual spinlock kick. */
  SPIN_UNLOCK: 3,
  /** irq_work. */
  IRQ_WORK: 4,
  /** NMI emulation. */
  NMI: 5,
} as const;

/** Number of Xen IPIs on x86 (`XEN_NR_IPIS`). */
export const XEN_NR_IPIS_X86 = 6;
/** Number of Xen IPIs on ARM (one placeholder). */
export const XEN_NR_IPIS_ARM = 1;

/**
 * The port→IRQ table's row geometry as a const enum (see {@link IrqStatusBit} for why).
 * @internal
 */
export const enum EvtchnRow {
  SHIFT = 10,
  SIZE = 1 << SHIFT,
  MASK = SIZE - 1,
}

/** Entries per row of the port→IRQ table (`EVTCHN_PER_ROW` with 4 KiB pages of int). */
export const EVTCHN_PER_ROW: number = EvtchnRow.SIZE;

/** Default `HZ` of the modelled kernel (a jiffy is 4 ms). */
export const DEFAULT_HZ = 250;
/** Jiffies the upcall loop may run before it defers EOIs (`event_loop_timeout`). */
export const EVENT_LOOP_TIMEOUT_JIFFIES = 2;
/** Jiffies a deferred EOI waits (`event_eoi_delay`). */
export const EVENT_EOI_DELAY_JIFFIES = 10;
/**
 * The upcall loop's deadline check as a const enum (see {@link IrqStatusBit} for why).
 * @internal
 */
export const enum EventLoop {
  CHECK_INTERVAL = 256,
  CHECK_MASK = CHECK_INTERVAL - 1,
}

/** Handled events between two deadline checks of the upcall loop. */
export const EVENT_LOOP_CHECK_INTERVAL: number = EventLoop.CHECK_INTERVAL;
/** Default spurious-event threshold before late EOIs are delayed. */
export const DEFAULT_SPURIOUS_THRESHOLD = 1;
