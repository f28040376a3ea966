/*
 * The event-channel hypercall interface (EVTCHNOP_*), as one domain calls it. Every method
 * returns `0` or a non-negative result on success and `-errno` on failure, exactly like Xen,
 * and never throws for bad guest input.
 */
import type { EvtchnStatusName } from '../xen.js';

/** Output of `EVTCHNOP_status` (filled in by {@link EventChannelOps.status}). */
export interface EvtchnStatus {
  /** Channel status. */
  status: EvtchnStatusName;
  /** Notify vCPU. */
  vcpu: number;
  /** Remote domain (unbound, interdomain). */
  dom?: number;
  /** Remote port (interdomain). */
  port?: number;
  /** The pirq (pirq). */
  pirq?: number;
  /** The VIRQ (virq). */
  virq?: number;
}

/**
 * The EVTCHNOP_* hypercalls issued by one calling domain. Results that Xen returns in the
 * argument struct (a port, the link bits) are returned directly when non-negative.
 */
export interface EventChannelOps {
  /** The calling domain. */
  readonly caller: number;
  /** EVTCHNOP_alloc_unbound (6): new UNBOUND port in `dom` that `remoteDom` may bind. @returns port or -errno */
  allocUnbound(dom: number, remoteDom: number): number;
  /** EVTCHNOP_bind_interdomain (0). @returns local port or -errno */
  bindInterdomain(remoteDom: number, remotePort: number): number;
  /** EVTCHNOP_bind_virq (1). @returns port or -errno */
  bindVirq(virq: number, vcpu: number): number;
  /** EVTCHNOP_bind_pirq (2); `flags` bit 0 = BIND_PIRQ__WILL_SHARE. @returns port or -errno */
  bindPirq(pirq: number, flags: number): number;
  /** EVTCHNOP_bind_ipi (7). @returns port or -errno */
  bindIpi(vcpu: number): number;
  /** EVTCHNOP_close (3). @returns 0 or -errno */
  close(port: number): number;
  /** EVTCHNOP_send (4). @returns 0 or -errno */
  send(port: number): number;
  /** EVTCHNOP_status (5); fills `out`. @returns 0 or -errno */
  status(dom: number, port: number, out: EvtchnStatus): number;
  /** EVTCHNOP_bind_vcpu (8). @returns 0 or -errno */
  bindVcpu(port: number, vcpu: number): number;
  /** EVTCHNOP_unmask (9). @returns 0 or -errno */
  unmask(port: number): number;
  /** EVTCHNOP_reset (10). @returns 0 or -errno */
  reset(dom: number): number;
  /** EVTCHNOP_reset_cont (14). @returns 0 or -errno */
  resetCont(dom: number): number;
  /** EVTCHNOP_init_control (11). @returns link bits (17) or -errno */
  initControl(controlGfn: number, offset: number, vcpu: number): number;
  /** EVTCHNOP_expand_array (12). @returns 0 or -errno */
  expandArray(arrayGfn: number): number;
  /** EVTCHNOP_set_priority (13). @returns 0 or -errno */
  setPriority(port: number, priority: number): number;
}

/** PHYSDEVOP_* hypercalls used by guests for physical IRQs, as one domain calls them. */
export interface PhysdevOps {
  /** PHYSDEVOP_eoi (12). @returns 0 or -errno */
  eoi(pirq: number): number;
  /** PHYSDEVOP_irq_status_query (5). @returns flags (XENIRQSTAT_needs_eoi 1, _shared 2) or -errno */
  irqStatusQuery(pirq: number): number;
}
