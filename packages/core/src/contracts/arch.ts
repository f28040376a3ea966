/*
 * The architecture contract: how an event-channel upcall reaches a vCPU (x86 callback vector,
 * ARM vGIC event PPI), physical IRQs lent to guests (pirqs), and the guest's IRQ number space.
 */
import type { JsonValue } from './snapshot.js';
import * as Tokens from '../tokens.js';

/** What the architecture is told about a domain when it is created. */
export interface ArchDomainInfo {
  /** Domain id. */
  readonly id: number;
  /** Number of vCPUs. */
  readonly nrVcpus: number;
  /** Whether the domain is the hardware/control domain. */
  readonly privileged: boolean;
  /** Number of pirqs the domain has (`nr_pirqs`). */
  readonly nrPirqs: number;
}

/** Receives upcalls delivered by the architecture: the guest's interrupt entry for events. */
export interface UpcallSink {
  /**
   * The vCPU took the event-channel interrupt: run the guest's upcall handler on it.
   * @returns `false` when the handler yielded its slice (`VcpuRunner.shouldYield`) and must be
   *   called again to continue, with the interrupt still in service; anything else when done
   */
  upcall(vcpu: number): boolean | void;
}

/**
 * Xen's physical-IRQ backend for guests (`pirq_guest_bind` and friends, SPEC §4.4). Absent on
 * architectures without pirqs, where EVTCHNOP_bind_pirq returns `-EOPNOTSUPP`.
 */
export interface PirqBackend {
  /** `pirqGuestBind(v, pirq, willShare)`. @returns 0 or -errno */
  guestBind(domid: number, vcpu: number, pirq: number, willShare: boolean): number;
  /** Undoes a guest bind (EVTCHNOP_close of a PIRQ port, domain destruction). */
  guestUnbind(domid: number, pirq: number): void;
  /** Moves the physical IRQ's affinity to the pCPU running `vcpu` (EVTCHNOP_bind_vcpu of a PIRQ port). */
  setAffinity(domid: number, pirq: number, vcpu: number): void;
  /** PHYSDEVOP_eoi. @returns 0 or -errno */
  eoi(domid: number, pirq: number): number;
  /** PHYSDEVOP_irq_status_query. @returns flags (needs-EOI 1, shared 2) or -errno */
  irqStatusQuery(domid: number, pirq: number): number;
}

/** Options a guest layer passes when it asks for its IRQ number space. */
export interface GuestIrqSpaceOptions {
  /** Domain id. */
  readonly domid: number;
  /** Number of CPUs of the guest. */
  readonly nrCpus: number;
  /** Whether the guest is the hardware domain (GSIs identity-mapped) or an HVM guest. */
  readonly privileged: boolean;
}

/**
 * The guest kernel's IRQ number space (Linux's arch part: `nr_irqs`, GSIs, dynamic IRQs).
 * Allocation failures return a negative errno (or -1 where Linux returns -1).
 */
export interface GuestIrqSpace {
  /** Current size of the IRQ number space (`nr_irqs`). */
  nrIrqs(): number;
  /** Allocates an IRQ number for an event channel. @returns IRQ or negative errno */
  allocDynamic(): number;
  /** Allocates `count` contiguous IRQ numbers (MSI groups). @returns first IRQ or negative errno */
  allocDynamicRange?(count: number): number;
  /** IRQ number for a GSI (identity on x86 dom0/HVM). @returns IRQ or negative errno */
  irqForGsi?(gsi: number): number;
  /** Releases an IRQ number. */
  free(irq: number): void;
}

/**
 * What the hypervisor core offers an architecture: the way back from a physical interrupt
 * (or a virtual timer) to event channels.
 */
export interface HypervisorLink {
  /**
   * A physical IRQ fired for a guest: set the port bound to `pirq` in `domid` pending on its
   * notify vCPU (Xen's `send_guest_pirq`). Does nothing when no port is bound.
   * @returns the port made pending, or 0 when none is bound
   */
  sendGuestPirq(domid: number, pirq: number): number;
  /** Raises a VIRQ for a domain (per-vCPU VIRQs on `vcpu`, others on vCPU 0's binding). */
  raiseVirq(domid: number, virq: number, vcpu: number): void;
}

/** An architecture plugin's platform-wide instance. */
export interface Architecture {
  /** `'x86'`, `'arm'`, … */
  readonly name: string;
  /** Called once by the hypervisor core when it is built, before any domain exists. */
  connect?(link: HypervisorLink): void;
  /** Per-domain set-up (virtual interrupt controller, …). */
  attachDomain(info: ArchDomainInfo, sink: UpcallSink): void;
  /** Per-domain tear-down. */
  detachDomain(domid: number): void;
  /**
   * Requests the event-channel upcall on a vCPU (x86: callback vector in the vLAPIC IRR;
   * ARM: the domain's event PPI, 31 for a domU, pending in the vGIC) and tells the platform's
   * `VcpuRunner`, which runs the guest's handler when the vCPU can take it. Never runs guest
   * code itself: the caller may be another domain's hypercall.
   */
  deliverUpcall(domid: number, vcpu: number): void;
  /** Physical IRQs for guests; absent where the architecture has none. */
  readonly pirqs?: PirqBackend;
  /** Creates the guest's IRQ number space. */
  createGuestIrqSpace(opts: GuestIrqSpaceOptions): GuestIrqSpace;
  /**
   * Snapshot hook (optional; see the "Snapshots and migration" guide): the architecture's state
   * (interrupt controllers, pirq layer, its timers as `TimerRecord`s) as JSON. Without it a
   * platform on this architecture cannot be snapshotted.
   */
  getState?(): JsonValue;
  /** Restores {@link Architecture.getState} into an architecture with the same domains; throws naming the bad field. */
  setState?(state: JsonValue): void;
}

/** Token for {@link Architecture}. */
export const Architecture: typeof Tokens.Architecture = Tokens.Architecture;
