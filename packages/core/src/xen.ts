/*
 * Constants of Xen's public interface (xen/include/public/event_channel.h and xen.h, both
 * MIT-style licensed): operation numbers, channel states, status codes, VIRQ numbers.
 */

/** `DOMID_SELF`: "the calling domain" in domain-id fields. */
export const DOMID_SELF = 0x7ff0;
/** Largest value a 16-bit domain-id field holds. */
export const DOMID_MASK = 0xffff;

/** Event-channel operation numbers (`EVTCHNOP_*`). */
export const EVTCHNOP = {
  bind_interdomain: 0,
  bind_virq: 1,
  bind_pirq: 2,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  bind_ipi: 7,
  bind_vcpu: 8,
  unmask: 9,
  reset: 10,
  init_control: 11,
  expand_array: 12,
  set_priority: 13,
  reset_cont: 14,
} as const;

/** Name of an `EVTCHNOP_*` operation. */
export type EvtchnOpName = keyof typeof EVTCHNOP;

/** Hypervisor-internal channel states (`ECS_*`), as Xen's debug dump prints them (`s=`). */
export const ECS = {
  FREE: 0,
  RESERVED: 1,
  UNBOUND: 2,
  INTERDOMAIN: 3,
  PIRQ: 4,
  VIRQ: 5,
  IPI: 6,
} as const;

/** Status codes reported by `EVTCHNOP_status` (`EVTCHNSTAT_*`). */
export const EVTCHNSTAT = {
  closed: 0,
  unbound: 1,
  interdomain: 2,
  pirq: 3,
  virq: 4,
  ipi: 5,
} as const;

/** Name of an `EVTCHNSTAT_*` status. */
export type EvtchnStatusName = keyof typeof EVTCHNSTAT;

/** `BIND_PIRQ__WILL_SHARE` flag of `EVTCHNOP_bind_pirq`. */
export const BIND_PIRQ_WILL_SHARE = 1;

/** Number of VIRQs (`NR_VIRQS`). */
export const NR_VIRQS = 24;

/** VIRQ numbers (`VIRQ_*`). */
export const VIRQ = {
  TIMER: 0,
  DEBUG: 1,
  CONSOLE: 2,
  DOM_EXC: 3,
  TBUF: 4,
  DEBUGGER: 6,
  XENOPROF: 7,
  CON_RING: 8,
  PCPU_STATE: 9,
  MEM_EVENT: 10,
  ARGO: 11,
  ENOMEM: 12,
  XENPMU: 13,
  ARCH_0: 16,
  ARCH_1: 17,
  ARCH_2: 18,
  ARCH_3: 19,
  ARCH_4: 20,
  ARCH_5: 21,
  ARCH_6: 22,
  ARCH_7: 23,
} as const;

/** How a VIRQ is routed: to one vCPU, to the domain, or to the one global handler domain. */
export type VirqKind = 'per-vcpu' | 'per-domain' | 'global';

/**
 * Kind of a VIRQ number. Undefined numbers count as global, as in Xen.
 * @param virq - a VIRQ number below {@link NR_VIRQS}
 */
export function virqKind(virq: number): VirqKind {
  switch (virq) {
    case VIRQ.TIMER:
    case VIRQ.DEBUG:
    case VIRQ.XENOPROF:
    case VIRQ.XENPMU:
      return 'per-vcpu';
    case VIRQ.ARGO:
      return 'per-domain';
    default:
      return 'global';
  }
}

/** Link bits reported by a successful `EVTCHNOP_init_control` (`EVTCHN_FIFO_LINK_BITS`). */
export const EVTCHN_FIFO_LINK_BITS = 17;

/** Size of a guest page in bytes. */
export const PAGE_SIZE = 4096;
/** 32-bit words per guest page. */
export const PAGE_WORDS = 1024;
