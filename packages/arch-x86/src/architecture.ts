/*
 * The x86 architecture plugin's platform-wide instance: ties the hypervisor's physical IRQ
 * layer (IO-APICs, LAPICs, vectors, pirqs) to per-domain upcall delivery and hands each
 * guest its IRQ number space.
 *
 * Models the x86 parts of Xen (xen/arch/x86/irq.c, hvm/irq.c) and of Linux
 * (arch/x86/kernel/apic/io_apic.c, drivers/xen/events) that SPEC §4 names.
 */
import { ClockedVcpuRunner, readArray, readObject, snapshotPath, VirtualClock } from '@evtchn/core';
import type {
  ArchDomainInfo,
  Architecture,
  Clock,
  GuestIrqSpaceOptions,
  JsonValue,
  HypervisorLink,
  PirqBackend,
  UpcallSink,
  VcpuRunner,
} from '@evtchn/core';
import {
  archProbeNrIrqs,
  compileTimeNrIrqs,
  irqBitmapBits,
  gsiTop as computeGsiTop,
  MAX_IO_APICS,
  nrIrqsGsi,
  type IoApicConfig,
} from './formulas.js';
import { DYN_IRQ_POLICY_ERAS, X86GuestIrqSpace, type DynIrqPolicy } from './irq-space.js';
import { DEFAULT_CALLBACK_GSI, DomainUpcall, HVM_VIOAPIC_PINS, type UpcallMode } from './upcall.js';
import { XenIrqLayer, type IoApicAckMode, type MapPirqRequest } from './xen-irq.js';

/** The default machine: one 24-pin IO-APIC at GSI 0. */
export const DEFAULT_IO_APICS: readonly IoApicConfig[] = [{ id: 0, gsiBase: 0, pins: 24 }];

/** Default `CONFIG_NR_CPUS` used for the compile-time `NR_IRQS`. */
export const DEFAULT_CONFIG_NR_CPUS = 64;

/** Options of {@link X86Architecture} and `archX86`. */
export interface ArchX86Options {
  /** Physical CPUs (default 4). */
  readonly nrPcpus?: number;
  /** IO-APICs of the machine (default {@link DEFAULT_IO_APICS}). */
  readonly ioApics?: readonly IoApicConfig[];
  /** Whether the guest kernels have MSI (`CONFIG_PCI_MSI`, default true). */
  readonly msi?: boolean;
  /** Upcall delivery, for every domain or chosen per domain (default `'callback-vector'`). */
  readonly upcallMode?: UpcallMode | ((info: ArchDomainInfo) => UpcallMode);
  /** Dynamic-IRQ policy of the guests' IRQ spaces (default `'lower-bound'`). */
  readonly dynIrqPolicy?: DynIrqPolicy;
  /** `nr_cpu_ids` for every guest (default: the guest's own CPU count). */
  readonly nrCpuIds?: number;
  /** `CONFIG_NR_CPUS` of the guest kernels (default {@link DEFAULT_CONFIG_NR_CPUS}). */
  readonly configNrCpus?: number;
  /** `MAX_IO_APICS` of the guest kernels (default 128). */
  readonly maxIoApics?: number;
  /**
   * `alloc-from`, `lower-bound`: the largest `nr_irqs` a guest's space may grow to (default:
   * `IRQ_BITMAP_BITS` = `NR_IRQS + 8196` for `alloc-from`, unbounded for `lower-bound`).
   */
  readonly maxNrIrqs?: number;
  /** `scan-down`, `encroach`: throw `KernelPanicError` instead of returning -ENOSPC (default false). */
  readonly panicThrows?: boolean;
  /** Maximum guests sharing a pirq (default 32). */
  readonly irqMaxGuests?: number;
  /** Level IO-APIC ack mode (default `'new'`: ACK_TYPE_EOI; `'old'`: ACK_TYPE_UNMASK). */
  readonly ioapicAck?: IoApicAckMode;
  /** Whether binding an unmapped pirq maps it first (default false: `-EINVAL`; see `XenIrqLayerOptions`). */
  readonly autoMapPirqs?: boolean;
  /** Whether the IOMMU remaps interrupts (default true; without it multi-vector MSI is `-EOPNOTSUPP`). */
  readonly interruptRemapping?: boolean;
  /** Callback GSI in `gsi` upcall mode (default 28). */
  readonly callbackGsi?: number;
  /** GSIs of an HVM guest's virtual IO-APIC (default 48). */
  readonly hvmGsis?: number;
  /** The virtual clock (EOI timer, rate limit); default: a private clock nobody advances. */
  readonly clock?: Clock;
  /**
   * The vCPU runner that takes the guests' upcalls (a platform passes its own); default: a
   * timed runner on the architecture's clock.
   */
  readonly runner?: VcpuRunner;
  /** pCPU a vCPU runs on (default `vcpu % nrPcpus`). */
  readonly processorOf?: (domid: number, vcpu: number) => number;
}

/** What a guest may add when it asks {@link X86Architecture.createGuestIrqSpace} for its space. */
export interface X86GuestIrqSpaceOptions extends GuestIrqSpaceOptions {
  /** Whether a non-privileged guest is HVM (identity GSIs); default: its upcall mode is not `pv`. */
  readonly hvm?: boolean;
  /** Overrides the platform's dynamic-IRQ policy. */
  readonly policy?: DynIrqPolicy;
}

/** The x86 `Architecture`. */
export class X86Architecture implements Architecture {
  /** `'x86'`. */
  readonly name = 'x86';
  /** The hypervisor's physical IRQ layer (IO-APICs, LAPICs, vectors, pirqs). */
  readonly irqs: XenIrqLayer;
  /** Physical IRQs for guests. */
  readonly pirqs: PirqBackend;
  /** `gsi_top` of the machine. */
  readonly gsiTop: number;
  /** The guest kernels' compile-time `NR_IRQS`. */
  readonly compileTimeNrIrqs: number;
  /** The clock the EOI timer and rate limit run on. */
  readonly clock: Clock;
  /** Takes the guests' upcalls when their vCPUs can. */
  readonly runner: VcpuRunner;

  private readonly opts: ArchX86Options;
  private readonly domains = new Map<number, DomainUpcall>();

  /**
   * @param options - machine and policy options
   * @param clock - the platform clock (overrides `options.clock`)
   */
  constructor(options: ArchX86Options = {}, clock?: Clock) {
    this.opts = options;
    this.clock = clock ?? options.clock ?? new VirtualClock();
    this.runner = options.runner ?? new ClockedVcpuRunner(this.clock);
    const ioApics = options.ioApics ?? DEFAULT_IO_APICS;
    this.gsiTop = computeGsiTop(ioApics);
    this.compileTimeNrIrqs = compileTimeNrIrqs({
      nrCpus: options.configNrCpus ?? DEFAULT_CONFIG_NR_CPUS,
      ioApic: true,
      msi: options.msi ?? true,
      maxIoApics: options.maxIoApics ?? MAX_IO_APICS,
    });
    this.irqs = new XenIrqLayer({
      nrPcpus: options.nrPcpus ?? 4,
      ioApics,
      ioapicAck: options.ioapicAck,
      irqMaxGuests: options.irqMaxGuests,
      autoMapPirqs: options.autoMapPirqs,
      interruptRemapping: options.interruptRemapping,
      isHvm: (domid) => (this.domains.get(domid)?.mode ?? this.defaultMode()) !== 'pv',
      clock: this.clock,
      processorOf: options.processorOf,
    });
    this.pirqs = this.irqs;
  }

  /** Connects the hypervisor core. */
  connect(link: HypervisorLink): void {
    this.irqs.connect(link);
  }

  /** Creates the domain's pirq table and upcall path. */
  attachDomain(info: ArchDomainInfo, sink: UpcallSink): void {
    this.irqs.attachDomain(info);
    const mode = typeof this.opts.upcallMode === 'function' ? this.opts.upcallMode(info) : (this.opts.upcallMode ?? 'callback-vector');
    this.domains.set(info.id, new DomainUpcall(info, sink, mode, this.runner, this.opts.callbackGsi ?? DEFAULT_CALLBACK_GSI));
  }

  /**
   * Snapshot hook: the physical IRQ layer (LAPICs, IO-APICs, pirqs) and each domain's upcall
   * path (attach order).
   */
  getState(): JsonValue {
    return { irqs: this.irqs.getState(), domains: [...this.domains.values()].map((d) => d.getState()) };
  }

  /** Restores {@link X86Architecture.getState} into an architecture with the same domains. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    this.irqs.setState(o.irqs ?? null, 'irqs');
    const doms = [...this.domains.values()];
    readArray(o.domains, 'domains', doms.length).forEach((d, i) => doms[i]!.setState(d, snapshotPath('domains', i)));
  }

  /** Unbinds the domain's pirqs and drops its upcall path. */
  detachDomain(domid: number): void {
    this.irqs.detachDomain(domid);
    this.domains.delete(domid);
    this.runner.detach(domid);
  }

  /**
   * Requests the event-channel upcall per the domain's mode; the runner runs the guest's
   * handler later, so a physical interrupt handler or another domain's hypercall never runs
   * guest code.
   */
  deliverUpcall(domid: number, vcpu: number): void {
    this.domains.get(domid)?.deliver(vcpu);
  }

  /** A domain's upcall state (virtual LAPICs, counters), or `undefined`. */
  upcallState(domid: number): DomainUpcall | undefined {
    return this.domains.get(domid);
  }

  /**
   * The guest's IRQ number space: `nr_irqs` from the policy's kernel era's `arch_probe_nr_irqs`
   * with the guest's `nr_cpu_ids`; identity GSIs for the hardware domain (the machine's IO-APICs) and HVM
   * guests (their virtual IO-APIC), none for a PV domU.
   */
  createGuestIrqSpace(opts: X86GuestIrqSpaceOptions): X86GuestIrqSpace {
    const hvm = opts.hvm ?? (this.domains.get(opts.domid)?.mode ?? this.defaultMode()) !== 'pv';
    const identityGsi = opts.privileged || hvm;
    const top = opts.privileged ? this.gsiTop : hvm ? (this.opts.hvmGsis ?? HVM_VIOAPIC_PINS) : 0;
    const nrCpuIds = this.opts.nrCpuIds ?? opts.nrCpus;
    const policy = opts.policy ?? this.opts.dynIrqPolicy ?? 'lower-bound';
    const era = DYN_IRQ_POLICY_ERAS[policy];
    return new X86GuestIrqSpace({
      policy,
      nrIrqs: archProbeNrIrqs({ nrIrqs: this.compileTimeNrIrqs, nrCpuIds, gsiTop: top, msi: this.opts.msi ?? true, era: era.probe }),
      gsiTop: top,
      nrIrqsGsi: nrIrqsGsi(top),
      identityGsi,
      // 2.6.39–3.16 grow up to IRQ_BITMAP_BITS; the modern space is left unbounded unless capped.
      maxNrIrqs: this.opts.maxNrIrqs ?? (policy === 'alloc-from' ? irqBitmapBits(this.compileTimeNrIrqs) : undefined),
      panicThrows: this.opts.panicThrows,
    });
  }

  /** PHYSDEVOP_map_pirq (see `XenIrqLayer.mapPirq`). @returns pirq or -errno */
  mapPirq(domid: number, req: MapPirqRequest): number {
    return this.irqs.mapPirq(domid, req);
  }

  /** Raises a GSI line. @throws XenError for an unknown GSI */
  assertGsi(gsi: number): void {
    this.irqs.assertGsi(gsi);
  }

  /** Lowers a GSI line. @throws XenError for an unknown GSI */
  deassertGsi(gsi: number): void {
    this.irqs.deassertGsi(gsi);
  }

  /** An edge on a GSI line. @throws XenError for an unknown GSI */
  pulseGsi(gsi: number): void {
    this.irqs.pulseGsi(gsi);
  }

  /** Fires the MSI of Xen IRQ `irq`. @throws XenError when it is not an MSI */
  fireMsi(irq: number): void {
    this.irqs.fireMsi(irq);
  }

  private defaultMode(): UpcallMode {
    return typeof this.opts.upcallMode === 'string' ? this.opts.upcallMode : 'callback-vector';
  }
}
