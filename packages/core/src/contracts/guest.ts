/*
 * The guest OS contract: the layer inside a domain that turns event channels into IRQs
 * (Linux's drivers/xen/events), booted by the platform in every domain that has one.
 */
import * as Tokens from '../tokens.js';
import type { EventBus } from '../bus.js';
import type { AbiGuestContext, EventAbi } from './abi.js';
import type { GuestIrqSpace, UpcallSink } from './arch.js';
import type { EventChannelOps, PhysdevOps } from './hypercalls.js';
import type { Clock, VcpuRunner } from './sim.js';
import type { JsonValue } from './snapshot.js';

/** Everything a guest layer is given when it boots in a domain. */
export interface GuestContext {
  /** Domain id. */
  readonly domid: number;
  /** Number of CPUs (vCPUs). */
  readonly nrCpus: number;
  /** Whether this is the hardware/control domain. */
  readonly privileged: boolean;
  /** Name of the architecture (`'x86'`, `'arm'`). */
  readonly arch: string;
  /** Event-channel hypercalls issued by this guest. */
  readonly hypercalls: EventChannelOps;
  /** PHYSDEVOP hypercalls, where the architecture has pirqs. */
  readonly physdev?: PhysdevOps;
  /** The ABIs the platform offers, in preference order; the guest picks one at boot. */
  readonly abis: readonly EventAbi[];
  /** What the guest half of an ABI needs (shared-info, memory, hypercalls). */
  readonly abiContext: AbiGuestContext;
  /** The guest's IRQ number space. */
  readonly irqSpace: GuestIrqSpace;
  /**
   * The domain's clock (jiffies, late-EOI delays): `now()` is the running vCPU's time, and its
   * timers die with the domain.
   */
  readonly clock: Clock;
  /**
   * The platform's vCPU runner: guest code charges its work here and checks
   * `shouldYield()` between steps of long loops. Absent outside a platform (the guest then
   * charges nothing and never yields).
   */
  readonly runner?: VcpuRunner;
  /** The platform's event bus. */
  readonly bus: EventBus;
  /**
   * Xen's `xen_force_evtchn_callback`: has the hypervisor deliver the event upcall to `vcpu` now
   * if its upcall-pending flag is set. A PV guest does this when it re-enables interrupts after
   * setting that flag itself (the 2-level local unmask path), else the event would wait for the
   * next notification that happens to raise an upcall.
   */
  readonly forceEventCallback?: (vcpu: number) => void;
}

/** A booted guest layer in one domain. */
export interface GuestOs extends UpcallSink {
  /** Name of the guest layer, e.g. `'linux'`. */
  readonly name: string;
  /** Name of the ABI the guest chose at boot. */
  readonly abiName: string;
  /** `/proc/interrupts`-style rendering of the guest's IRQs. */
  procInterrupts(): string;
  /**
   * The guest layer's state for a platform snapshot (IRQ tables, port map, masks, its armed
   * timers as `TimerRecord`s). Optional: a platform whose guest layer lacks it cannot be
   * snapshotted, and says so.
   */
  getState?(): JsonValue;
  /** Restores {@link GuestOs.getState} into a guest booted on the restored platform. */
  setState?(state: JsonValue): void;
  /**
   * Migration, source side: the guest suspends itself before the toolstack saves it (Linux's
   * `xen_suspend` up to `SCHEDOP_shutdown(SHUTDOWN_suspend)`). Optional: a guest layer without
   * {@link GuestOs.resume} cannot be migrated.
   */
  suspend?(): void;
  /**
   * Migration, destination side: the guest's memory (this object) now runs in a new domain
   * with fresh event-channel state; `ctx` is that domain's context. The guest re-attaches to
   * it and runs its resume path (Linux's `xen_irq_resume`), rebinding what the kernel itself
   * owns and leaving the rest to its drivers.
   */
  resume?(ctx: GuestContext): void;
}

/** A guest-layer plugin: boots a {@link GuestOs} in a domain. */
export interface GuestOsFactory {
  /** Name of the guest layer. */
  readonly name: string;
  /** Boots the guest layer. Throws `XenError` when the hypervisor refuses something essential. */
  create(ctx: GuestContext): GuestOs;
}

/** Token for {@link GuestOsFactory}. */
export const GuestOsFactory: typeof Tokens.GuestOsFactory = Tokens.GuestOsFactory;
/** Token for the {@link GuestOs} instance of a domain (domain scope). */
export const GuestOs: typeof Tokens.GuestOs = Tokens.GuestOs;
