/*
 * Xen's x86 physical IRQ layer: IRQ descriptors on IO-APIC lines and MSIs, per-CPU vectors,
 * physical LAPICs, and IRQs lent to guests as pirqs.
 *
 * Models the behaviour of xen/arch/x86/irq.c (irq_desc, guest actions, pirq_guest_bind /
 * unbind / eoi, ACK types, in-flight accounting, the 1 ms guest EOI timer, the per-CPU
 * pending-EOI stack, the 10000-in-10ms rate limit), xen/arch/x86/physdev.c (map_pirq order,
 * PHYSDEVOP_eoi, PHYSDEVOP_irq_status_query) and the ack behaviour of io_apic.c and msi.c,
 * as SPEC §4.4 describes them.
 */
import {
  Errno,
  XenError,
  expectSame,
  readArray,
  readArrayInto,
  readBool,
  readInt,
  readNumber,
  readObject,
  readTimer,
  snapshotPath as at,
  SnapshotError,
  writeArray,
} from '@evtchn/core';
import type { ArchDomainInfo, Clock, HypervisorLink, JsonValue, PirqBackend, TimerId } from '@evtchn/core';
import { gsiTop as computeGsiTop, NR_IRQS_LEGACY, NR_VECTORS, type IoApicConfig } from './formulas.js';
import { IoApic, type IoApicBus } from './ioapic.js';
import { Lapic, type LapicClient } from './lapic.js';
import { ISA_IRQ_VECTOR_BASE, VectorTables } from './vectors.js';

/** ACK type: nothing to do after delivery (edge IO-APIC, edge LAPIC, maskable MSI). */
export const ACK_TYPE_NONE = 0;
/** ACK type: the line is masked at delivery and unmasked when the guests EOI (XT-PIC, old-style level IO-APIC). */
export const ACK_TYPE_UNMASK = 1;
/** ACK type: the LAPIC EOI waits for the guests, on the CPU that received it (level IO-APIC, non-maskable MSI). */
export const ACK_TYPE_EOI = 2;

/** PHYSDEVOP_irq_status_query flag: the guest must PHYSDEVOP_eoi. */
export const XENIRQSTAT_NEEDS_EOI = 1;
/** PHYSDEVOP_irq_status_query flag: the IRQ is shared with other domains. */
export const XENIRQSTAT_SHARED = 2;

/** Descriptor flag: bound to guests (`IRQ_GUEST`). */
export const IRQ_GUEST = 1 << 0;
/** Descriptor flag: the hypervisor itself uses the IRQ (a non-guest action). */
export const IRQ_XEN = 1 << 1;

/** Line mask reason: no guest is bound (the line starts masked). */
export const LINE_MASK_UNBOUND = 1 << 0;
/** Line mask reason: ACK_TYPE_UNMASK delivery, until the guests EOI. */
export const LINE_MASK_ACK = 1 << 1;
/** Line mask reason: disabled by the rate limit. */
export const LINE_MASK_RATELIMIT = 1 << 2;

/** Default maximum guests sharing one IRQ (`irq_max_guests`). */
export const IRQ_MAX_GUESTS = 32;
/** Guest EOI timeout: in-flight interrupts are force-EOI'd after 1 ms. */
export const GUEST_EOI_TIMEOUT_NS = 1_000_000;
/** Rate limit: more than this many interrupts … */
export const IRQ_RATELIMIT_THRESHOLD = 10_000;
/** … within this window (10 ms) disable the IRQ for the same time. */
export const IRQ_RATELIMIT_WINDOW_NS = 10_000_000;

/** How a level-triggered IO-APIC IRQ is acknowledged (`ioapic_ack=`). */
export type IoApicAckMode = 'new' | 'old';

/** Source of an IRQ. */
export type IrqSource = 'ioapic' | 'msi';

/** A `map_pirq` request (PHYSDEVOP_map_pirq). */
export type MapPirqRequest =
  | {
      /** A GSI line. */
      readonly type: 'gsi';
      /** The GSI. */
      readonly gsi: number;
      /** The pirq to use (default: identity for the hardware domain, else the lowest free from 16). */
      readonly pirq?: number;
    }
  | {
      /** An MSI (group). */
      readonly type: 'msi';
      /**
       * Number of vectors (default 1): 1–32, rounded up to a power of two; outside that range
       * `-EDOM`, more than one without interrupt remapping `-EOPNOTSUPP` (Xen's
       * MAP_PIRQ_TYPE_MULTI_MSI).
       */
      readonly nvec?: number;
      /** Whether the device can mask its MSI (default true). */
      readonly maskable?: boolean;
      /** The first pirq to use (default: counting down from the top). */
      readonly pirq?: number;
    };

/** Options of the {@link XenIrqLayer}. */
export interface XenIrqLayerOptions {
  /** Number of physical CPUs. */
  readonly nrPcpus: number;
  /** The IO-APICs. */
  readonly ioApics: readonly IoApicConfig[];
  /** Level IO-APIC ack mode (default `'new'` → ACK_TYPE_EOI). */
  readonly ioapicAck?: IoApicAckMode;
  /** Maximum guests per shareable IRQ (default {@link IRQ_MAX_GUESTS}). */
  readonly irqMaxGuests?: number;
  /**
   * Whether `guestBind` of a pirq that nothing mapped maps it first, as if the toolstack had
   * (default false: Xen binds only mapped pirqs, an unmapped one is `-EINVAL`; SPEC §4.4). When
   * on, the hardware domain's pirq p < gsi_top maps GSI p, any other pirq gets a private
   * maskable MSI.
   */
  readonly autoMapPirqs?: boolean;
  /**
   * Whether the IOMMU remaps interrupts (`iommu_intremap`, default true): without it Xen
   * refuses multi-vector MSI with `-EOPNOTSUPP`.
   */
  readonly interruptRemapping?: boolean;
  /** Whether a domU is HVM (its PHYSDEVOP_irq_status_query of an unmapped pirq is then `-EINVAL`); default: none. */
  readonly isHvm?: (domid: number) => boolean;
  /** The virtual clock (EOI timer, rate limit). */
  readonly clock: Clock;
  /** pCPU a vCPU runs on (default `vcpu % nrPcpus`). */
  readonly processorOf?: (domid: number, vcpu: number) => number;
}

/** A guest action: the guests an IRQ is bound to. */
class GuestAction {
  readonly ackType: number;
  readonly shareable: boolean;
  nrGuests = 0;
  readonly guestDom: Int32Array;
  readonly guestPirq: Int32Array;
  inFlight = 0;
  eoiTimer: TimerId = 0;
  /** CPUs holding a pending EOI of this IRQ (ACK_TYPE_EOI). */
  readonly eoiCpus: Uint8Array;

  constructor(ackType: number, shareable: boolean, maxGuests: number, nrPcpus: number) {
    this.ackType = ackType;
    this.shareable = shareable;
    this.guestDom = new Int32Array(maxGuests);
    this.guestPirq = new Int32Array(maxGuests);
    this.eoiCpus = new Uint8Array(nrPcpus);
  }
}

/** One Xen IRQ descriptor. */
class IrqDesc {
  flags = 0;
  lineMask = LINE_MASK_UNBOUND;
  action: GuestAction | null = null;
  cpu = 0;
  vector = 0;
  /** Interrupts taken. */
  count = 0;
  /** Interrupts taken with no guest (or the hypervisor's own). */
  unhandled = 0;
  rlCount = 0;
  rlStart = 0;
  rateLimited = false;
  moveTo = -1;
  msiMaskable = true;
  msiPending = false;
  /** First IRQ of the MSI group and its size. */
  groupFirst: number;
  groupSize = 1;
  /** Domains that map a pirq to this IRQ. */
  mapCount = 0;
  eoiTimerFn: () => void = () => {};

  constructor(
    readonly irq: number,
    readonly source: IrqSource,
    readonly gsi: number,
    readonly ioapic: IoApic | undefined,
    readonly pin: number,
    readonly level: boolean,
  ) {
    this.groupFirst = irq;
  }
}

/** A domain's pirq table. */
class DomainPirqs {
  readonly pirqToIrq: Int32Array;
  /** Per pirq: the guest has an interrupt in flight that it has not EOI'd (`pirq->masked`). */
  readonly masked: Uint8Array;
  readonly irqToPirq = new Map<number, number>();

  constructor(readonly info: ArchDomainInfo) {
    this.pirqToIrq = new Int32Array(info.nrPirqs).fill(-1);
    this.masked = new Uint8Array(info.nrPirqs);
  }
}

/** Snapshot of an IRQ for inspection. */
export interface IrqInfo {
  /** The IRQ. */
  readonly irq: number;
  /** Where it comes from. */
  readonly source: IrqSource;
  /** Its GSI (-1 for MSI). */
  readonly gsi: number;
  /** Level-triggered. */
  readonly level: boolean;
  /** ACK type of its guest action (or the one it would get). */
  readonly ackType: number;
  /** `IRQ_*` flags. */
  readonly flags: number;
  /** Guests bound. */
  readonly nrGuests: number;
  /** Guests with an interrupt not yet EOI'd. */
  readonly inFlight: number;
  /** Whether the line (RTE or MSI mask) is masked. */
  readonly lineMasked: boolean;
  /** Whether the rate limit disabled it. */
  readonly rateLimited: boolean;
  /** Whether the 1 ms EOI timer is armed. */
  readonly eoiTimerArmed: boolean;
  /** Target CPU. */
  readonly cpu: number;
  /** Vector on that CPU. */
  readonly vector: number;
  /** Interrupts taken. */
  readonly count: number;
}

const NO_TIMER: TimerId = 0;

/**
 * The hypervisor's x86 IRQ layer and its `PirqBackend`. Physical interrupts are raised
 * with {@link XenIrqLayer.assertGsi}, {@link XenIrqLayer.pulseGsi} and
 * {@link XenIrqLayer.fireMsi}; guest-bound ones reach event channels through the
 * `HypervisorLink`.
 */
export class XenIrqLayer implements PirqBackend {
  /** Physical local APICs, one per pCPU. */
  readonly lapics: readonly Lapic[];
  /** The IO-APICs. */
  readonly ioapics: readonly IoApic[];
  /** The physical CPUs' vector tables. */
  readonly vectors: VectorTables;
  /** `gsi_top` of the machine. */
  readonly gsiTop: number;
  /** Interrupts that hit a free vector. */
  spurious = 0;
  /** Guest interrupts dropped because no hypervisor is connected. */
  droppedNoLink = 0;

  private readonly opts: XenIrqLayerOptions;
  private readonly clock: Clock;
  private readonly maxGuests: number;
  private readonly descs: (IrqDesc | undefined)[] = [];
  private readonly domains = new Map<number, DomainPirqs>();
  private link: HypervisorLink | undefined;
  private depth = 0;
  private readonly rlList: IrqDesc[] = [];
  private readonly triggerOverride = new Map<number, boolean>();
  private readonly rlTimerFn = (): void => this.rateLimitExpired();
  private rlTimer: TimerId = NO_TIMER;
  private readonly eoiStackIrq: Int32Array;
  private readonly eoiStackReady: Uint8Array;
  private readonly eoiStackTop: Int32Array;

  /** @param opts - machine and policy options */
  constructor(opts: XenIrqLayerOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.maxGuests = opts.irqMaxGuests ?? IRQ_MAX_GUESTS;
    this.vectors = new VectorTables(opts.nrPcpus);
    this.gsiTop = computeGsiTop(opts.ioApics);
    const client: LapicClient = {
      interrupt: (cpu, vector) => this.doIrq(cpu, vector),
      levelEoi: (_cpu, vector) => {
        for (const a of this.ioapics) a.eoi(vector);
      },
    };
    const lapics: Lapic[] = [];
    for (let cpu = 0; cpu < opts.nrPcpus; cpu++) lapics.push(new Lapic(cpu, client));
    this.lapics = lapics;
    const bus: IoApicBus = { deliver: (dest, vector, level) => this.lapics[dest]?.accept(vector, level) };
    this.ioapics = opts.ioApics.map((c) => new IoApic(c, bus));
    this.eoiStackIrq = new Int32Array(opts.nrPcpus * NR_VECTORS);
    this.eoiStackReady = new Uint8Array(opts.nrPcpus * NR_VECTORS);
    this.eoiStackTop = new Int32Array(opts.nrPcpus);
  }

  /**
   * The pirq layer's state as JSON: the physical LAPICs and IO-APICs, every IRQ descriptor's
   * dynamic fields and guest action (its EOI timer as a `TimerRecord`), each domain's in-flight
   * pirqs, the pending-EOI stacks and the rate-limit list and timer. Which IRQs exist and which
   * pirqs map to them is structure the restoring platform re-creates (its toolstack maps the
   * same pirqs); `setState` checks it matches.
   */
  getState(): JsonValue {
    if (this.depth > 0) throw new Error('the x86 IRQ layer cannot be saved inside an interrupt handler');
    const rec = (id: TimerId): JsonValue => {
      if (id === NO_TIMER) return null;
      const r = this.clock.timerRecord?.(id);
      if (!r) throw new Error('the clock cannot save an x86 IRQ-layer timer');
      return { at: r.at, seq: r.seq };
    };
    return {
      lapics: this.lapics.map((l) => ({ ...l.getState(), eoiCount: l.eoiCount })),
      ioapics: this.ioapics.map((a) => ({ ...a.getState(), fired: [...a.fired] })),
      spurious: this.spurious,
      droppedNoLink: this.droppedNoLink,
      descs: this.descs.flatMap((d) =>
        d === undefined
          ? []
          : [
              {
                irq: d.irq,
                gsi: d.gsi,
                flags: d.flags,
                lineMask: d.lineMask,
                cpu: d.cpu,
                vector: d.vector,
                count: d.count,
                unhandled: d.unhandled,
                rlCount: d.rlCount,
                rlStart: d.rlStart,
                rateLimited: d.rateLimited,
                moveTo: d.moveTo,
                msiMaskable: d.msiMaskable,
                msiPending: d.msiPending,
                mapCount: d.mapCount,
                action: d.action
                  ? {
                      nrGuests: d.action.nrGuests,
                      guestDom: [...d.action.guestDom],
                      guestPirq: [...d.action.guestPirq],
                      inFlight: d.action.inFlight,
                      eoiTimer: rec(d.action.eoiTimer),
                      eoiCpus: [...d.action.eoiCpus],
                    }
                  : null,
              },
            ],
      ),
      domains: [...this.domains].map(([id, d]) => ({ id, masked: writeArray(d.masked), pirqToIrq: [...d.pirqToIrq] })),
      eoiStackIrq: writeArray(this.eoiStackIrq),
      eoiStackReady: writeArray(this.eoiStackReady),
      eoiStackTop: writeArray(this.eoiStackTop),
      rlList: this.rlList.map((d) => d.irq),
      rlTimer: rec(this.rlTimer),
    };
  }

  /** Restores {@link XenIrqLayer.getState} (see there); `path` names the layer in errors. */
  setState(state: JsonValue, path = 'irqs'): void {
    const o = readObject(state, path);
    const lapics = readArray(o.lapics, at(path, 'lapics'), this.lapics.length);
    lapics.forEach((l, i) => {
      const p = at(at(path, 'lapics'), i);
      const lo = readObject(l, p);
      const lapic = this.lapics[i]!;
      for (const k of ['irr', 'isr', 'tmr'] as const) readArrayInto(readArray(lo[k], at(p, k), lapic[k].length), at(p, k), lapic[k]);
      lapic.eoiCount = readInt(lo.eoiCount, at(p, 'eoiCount'), 0);
    });
    const ioapics = readArray(o.ioapics, at(path, 'ioapics'), this.ioapics.length);
    ioapics.forEach((a, i) => {
      const p = at(at(path, 'ioapics'), i);
      const ao = readObject(a, p);
      const io = this.ioapics[i]!;
      for (const k of ['low', 'high', 'lines', 'fired'] as const) readArrayInto(readArray(ao[k], at(p, k), io[k].length), at(p, k), io[k]);
    });
    this.spurious = readInt(o.spurious, at(path, 'spurious'), 0);
    this.droppedNoLink = readInt(o.droppedNoLink, at(path, 'droppedNoLink'), 0);
    const descs = this.descs.filter((d): d is IrqDesc => d !== undefined);
    const saved = readArray(o.descs, at(path, 'descs'), descs.length);
    saved.forEach((s, i) => {
      const p = at(at(path, 'descs'), i);
      const so = readObject(s, p);
      const d = descs[i]!;
      expectSame(so.irq, at(p, 'irq'), d.irq);
      expectSame(so.gsi, at(p, 'gsi'), d.gsi);
      d.flags = readInt(so.flags, at(p, 'flags'), 0);
      d.lineMask = readInt(so.lineMask, at(p, 'lineMask'), 0);
      d.cpu = readInt(so.cpu, at(p, 'cpu'), 0, this.lapics.length - 1);
      d.vector = readInt(so.vector, at(p, 'vector'), 0, NR_VECTORS - 1);
      d.count = readInt(so.count, at(p, 'count'), 0);
      d.unhandled = readInt(so.unhandled, at(p, 'unhandled'), 0);
      d.rlCount = readInt(so.rlCount, at(p, 'rlCount'), 0);
      d.rlStart = readNumber(so.rlStart, at(p, 'rlStart'));
      d.rateLimited = readBool(so.rateLimited, at(p, 'rateLimited'));
      d.moveTo = readInt(so.moveTo, at(p, 'moveTo'), -1);
      d.msiMaskable = readBool(so.msiMaskable, at(p, 'msiMaskable'));
      d.msiPending = readBool(so.msiPending, at(p, 'msiPending'));
      d.mapCount = readInt(so.mapCount, at(p, 'mapCount'), 0);
      const ap = at(p, 'action');
      if ((so.action === null) !== (d.action === null))
        throw new SnapshotError(ap, d.action ? 'expected a guest action (the IRQ is bound in the platform being restored into)' : 'expected null (the IRQ has no guest action)');
      if (d.action && so.action !== null) {
        const a = d.action;
        const ao = readObject(so.action, ap);
        a.nrGuests = readInt(ao.nrGuests, at(ap, 'nrGuests'), 0, this.maxGuests);
        readArrayInto(readArray(ao.guestDom, at(ap, 'guestDom'), a.guestDom.length), at(ap, 'guestDom'), a.guestDom);
        readArrayInto(readArray(ao.guestPirq, at(ap, 'guestPirq'), a.guestPirq.length), at(ap, 'guestPirq'), a.guestPirq);
        a.inFlight = readInt(ao.inFlight, at(ap, 'inFlight'), 0);
        readArrayInto(readArray(ao.eoiCpus, at(ap, 'eoiCpus'), a.eoiCpus.length), at(ap, 'eoiCpus'), a.eoiCpus);
        const t = readTimer(ao.eoiTimer, at(ap, 'eoiTimer'));
        a.eoiTimer = t ? this.rearm(t, d.eoiTimerFn) : NO_TIMER;
      }
    });
    const doms = [...this.domains];
    readArray(o.domains, at(path, 'domains'), doms.length).forEach((s, i) => {
      const p = at(at(path, 'domains'), i);
      const so = readObject(s, p);
      const [id, d] = doms[i]!;
      expectSame(so.id, at(p, 'id'), id);
      const map = readArray(so.pirqToIrq, at(p, 'pirqToIrq'), d.pirqToIrq.length);
      map.forEach((irq, pirq) => expectSame(irq, at(at(p, 'pirqToIrq'), pirq), d.pirqToIrq[pirq]!));
      readArrayInto(so.masked, at(p, 'masked'), d.masked);
    });
    readArrayInto(o.eoiStackIrq, at(path, 'eoiStackIrq'), this.eoiStackIrq);
    readArrayInto(o.eoiStackReady, at(path, 'eoiStackReady'), this.eoiStackReady);
    readArrayInto(o.eoiStackTop, at(path, 'eoiStackTop'), this.eoiStackTop);
    const rl = readArray(o.rlList, at(path, 'rlList')).map((irq, i) => {
      const d = this.descs[readInt(irq, at(at(path, 'rlList'), i), 0)];
      if (!d) throw new SnapshotError(at(at(path, 'rlList'), i), `no IRQ ${String(irq)}`);
      return d;
    });
    this.rlList.length = 0;
    this.rlList.push(...rl);
    const t = readTimer(o.rlTimer, at(path, 'rlTimer'));
    this.rlTimer = t ? this.rearm(t, this.rlTimerFn) : NO_TIMER;
  }

  private rearm(record: { at: number; seq: number }, fn: () => void): TimerId {
    if (!this.clock.rearm) throw new Error('the clock cannot re-arm saved timers');
    return this.clock.rearm(record, fn);
  }

  /** Connects the hypervisor core (the way back into event channels). */
  connect(link: HypervisorLink): void {
    this.link = link;
  }

  /** Whether a physical interrupt handler is running (guests must not run now). */
  get inInterrupt(): boolean {
    return this.depth > 0;
  }

  // ---- domains and map_pirq -------------------------------------------------------------

  /** Creates a domain's pirq table. */
  attachDomain(info: ArchDomainInfo): void {
    this.domains.set(info.id, new DomainPirqs(info));
  }

  /** Unbinds and unmaps every pirq of a domain and forgets it. */
  detachDomain(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    for (let pirq = 0; pirq < d.pirqToIrq.length; pirq++) {
      if (d.pirqToIrq[pirq]! < 0) continue;
      this.guestUnbind(domid, pirq);
      this.unmapPirq(domid, pirq);
    }
    this.domains.delete(domid);
  }

  /**
   * PHYSDEVOP_map_pirq: gives a domain a pirq for a GSI or an MSI (group). Order: pirqs 0–15
   * are legacy; GSIs take the lowest free pirq from 16 (the hardware domain: pirq = GSI);
   * MSIs take the highest free run from the top, of `nvec` rounded up to a power of two.
   * @returns the (first) pirq or -errno (-ESRCH no domain, -EINVAL bad request, -EDOM MSI count
   *   outside 1–32, -EOPNOTSUPP multi-vector MSI without interrupt remapping, -ENOSPC, -EEXIST)
   */
  mapPirq(domid: number, req: MapPirqRequest): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    const nrPirqs = d.pirqToIrq.length;
    if (req.type === 'gsi') {
      const desc = this.gsiDesc(req.gsi);
      if (typeof desc === 'number') return desc;
      const existing = d.irqToPirq.get(desc.irq);
      if (existing !== undefined) return req.pirq === undefined || req.pirq === existing ? existing : -Errno.EEXIST;
      const pirq = req.pirq ?? (d.info.privileged ? req.gsi : this.freePirqUp(d, 1));
      if (pirq < 0) return pirq;
      if (!Number.isInteger(pirq) || pirq >= nrPirqs) return -Errno.EINVAL;
      if (d.pirqToIrq[pirq]! >= 0) return -Errno.EEXIST;
      this.bindMap(d, pirq, desc);
      return pirq;
    }
    const wanted = req.nvec ?? 1;
    if (!Number.isInteger(wanted)) return -Errno.EINVAL;
    // Xen's physdev_map_pirq (MAP_PIRQ_TYPE_MULTI_MSI): range, then remapping, then round up.
    if (wanted < 1 || wanted > 32) return -Errno.EDOM;
    if (wanted > 1 && !(this.opts.interruptRemapping ?? true)) return -Errno.EOPNOTSUPP;
    let nvec = 1;
    while (nvec < wanted) nvec <<= 1;
    const first = req.pirq ?? this.freePirqDown(d, nvec);
    if (first < 0) return first;
    if (!Number.isInteger(first) || first + nvec > nrPirqs) return -Errno.EINVAL;
    for (let i = 0; i < nvec; i++) if (d.pirqToIrq[first + i]! >= 0) return -Errno.EEXIST;
    const descs = this.createMsi(nvec, req.maskable ?? true);
    if (typeof descs === 'number') return descs;
    for (let i = 0; i < nvec; i++) this.bindMap(d, first + i, descs[i]!);
    return first;
  }

  /**
   * PHYSDEVOP_unmap_pirq. Unmapping the first pirq of an MSI group unmaps the whole group.
   * @returns 0 or -errno (-EBUSY while a guest has it bound)
   */
  unmapPirq(domid: number, pirq: number): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= d.pirqToIrq.length) return -Errno.EINVAL;
    const irq = d.pirqToIrq[pirq]!;
    if (irq < 0) return -Errno.EINVAL;
    const desc = this.descs[irq]!;
    const group: IrqDesc[] = [];
    if (desc.source === 'msi' && desc.groupFirst === irq) {
      for (let i = 0; i < desc.groupSize; i++) group.push(this.descs[irq + i]!);
    } else group.push(desc);
    for (const g of group) if (this.isBoundBy(g, domid)) return -Errno.EBUSY;
    for (const g of group) {
      const p = d.irqToPirq.get(g.irq);
      if (p === undefined) continue;
      d.irqToPirq.delete(g.irq);
      d.pirqToIrq[p] = -1;
      d.masked[p] = 0;
      g.mapCount--;
    }
    if (desc.source === 'msi') {
      const whole: IrqDesc[] = [];
      for (let i = 0; i < desc.groupSize; i++) whole.push(this.descs[desc.groupFirst + i]!);
      if (whole.every((g) => g.mapCount === 0 && !g.action)) this.destroyMsiGroup(whole);
    }
    return 0;
  }

  /** The Xen IRQ a domain's pirq maps to, or -1. */
  irqOfPirq(domid: number, pirq: number): number {
    const d = this.domains.get(domid);
    if (!d || pirq < 0 || pirq >= d.pirqToIrq.length) return -1;
    return d.pirqToIrq[pirq]!;
  }

  /** Whether the guest has an un-EOI'd interrupt on `pirq` (`pirq->masked`). */
  isGuestMasked(domid: number, pirq: number): boolean {
    const d = this.domains.get(domid);
    return d !== undefined && pirq >= 0 && pirq < d.masked.length && d.masked[pirq] === 1;
  }

  /**
   * Declares a GSI's trigger mode before it is first mapped (default: ISA GSIs 0–15 edge,
   * PCI GSIs level, as ACPI's defaults).
   * @throws XenError EINVAL for an unknown GSI, EBUSY once the GSI has a descriptor
   */
  setGsiTrigger(gsi: number, level: boolean): void {
    if (!this.findIoApic(gsi)) throw new XenError('setGsiTrigger', Errno.EINVAL, `no IO-APIC has GSI ${gsi}`);
    if (this.descs[gsi]) throw new XenError('setGsiTrigger', Errno.EBUSY, `GSI ${gsi} is already set up`);
    this.triggerOverride.set(gsi, level);
  }

  /**
   * Marks an IRQ as used by the hypervisor itself (e.g. its serial line), so that guests get
   * `-EBUSY`. Creates the GSI's descriptor if needed.
   * @throws XenError for an unknown GSI
   */
  reserveGsiForXen(gsi: number): void {
    const desc = this.gsiDesc(gsi);
    if (typeof desc === 'number') throw new XenError('reserveGsiForXen', desc, `GSI ${gsi}`);
    desc.flags |= IRQ_XEN;
    desc.lineMask &= ~LINE_MASK_UNBOUND;
    this.applyMask(desc);
  }

  // ---- PirqBackend ----------------------------------------------------------------------

  /** `pirq_guest_bind`. @returns 0 or -errno */
  guestBind(domid: number, vcpu: number, pirq: number, willShare: boolean): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= d.pirqToIrq.length) return -Errno.EINVAL;
    let irq = d.pirqToIrq[pirq]!;
    if (irq < 0 && (this.opts.autoMapPirqs ?? false)) {
      const req: MapPirqRequest =
        d.info.privileged && pirq < this.gsiTop ? { type: 'gsi', gsi: pirq, pirq } : { type: 'msi', pirq };
      if (this.mapPirq(domid, req) >= 0) irq = d.pirqToIrq[pirq]!;
    }
    const desc = irq >= 0 ? this.descs[irq] : undefined;
    if (!desc) return -Errno.EINVAL;
    if (desc.flags & IRQ_XEN) return -Errno.EBUSY;
    let action = desc.action;
    if (!action) {
      action = new GuestAction(this.ackTypeOf(desc), willShare, this.maxGuests, this.opts.nrPcpus);
      desc.action = action;
      desc.flags |= IRQ_GUEST;
      const a = action;
      desc.eoiTimerFn = () => this.eoiTimerExpired(desc, a);
      this.retarget(desc, this.pcpuOf(domid, vcpu));
    } else if (!willShare || !action.shareable) {
      return -Errno.EBUSY;
    }
    if (action.nrGuests >= (action.shareable ? this.maxGuests : 1)) return -Errno.EBUSY;
    action.guestDom[action.nrGuests] = domid;
    action.guestPirq[action.nrGuests] = pirq;
    action.nrGuests++;
    d.masked[pirq] = 0;
    if (desc.lineMask & LINE_MASK_UNBOUND) {
      desc.lineMask &= ~LINE_MASK_UNBOUND;
      this.applyMask(desc);
    }
    return 0;
  }

  /** `pirq_guest_unbind`: drops the guest; its in-flight interrupt counts as EOI'd. */
  guestUnbind(domid: number, pirq: number): void {
    const d = this.domains.get(domid);
    if (!d || pirq < 0 || pirq >= d.pirqToIrq.length) return;
    const irq = d.pirqToIrq[pirq]!;
    const desc = irq >= 0 ? this.descs[irq] : undefined;
    const action = desc?.action;
    if (!desc || !action) return;
    let i = 0;
    while (i < action.nrGuests && !(action.guestDom[i] === domid && action.guestPirq[i] === pirq)) i++;
    if (i === action.nrGuests) return;
    for (let j = i + 1; j < action.nrGuests; j++) {
      action.guestDom[j - 1] = action.guestDom[j]!;
      action.guestPirq[j - 1] = action.guestPirq[j]!;
    }
    action.nrGuests--;
    if (d.masked[pirq] === 1) {
      d.masked[pirq] = 0;
      if (action.ackType !== ACK_TYPE_NONE && --action.inFlight === 0) this.completeGuestEoi(desc, action);
    }
    if (action.nrGuests > 0) return;
    if (action.eoiTimer !== NO_TIMER) this.clock.cancel(action.eoiTimer);
    if (action.inFlight > 0) {
      action.inFlight = 0;
      this.completeGuestEoi(desc, action);
    }
    desc.action = null;
    desc.flags &= ~IRQ_GUEST;
    desc.lineMask = (desc.lineMask | LINE_MASK_UNBOUND) & ~LINE_MASK_ACK;
    this.applyMask(desc);
  }

  /** Moves a guest-bound IRQ to the pCPU running `vcpu` (EVTCHNOP_bind_vcpu of a PIRQ port). */
  setAffinity(domid: number, pirq: number, vcpu: number): void {
    const irq = this.irqOfPirq(domid, pirq);
    const desc = irq >= 0 ? this.descs[irq] : undefined;
    if (!desc || !(desc.flags & IRQ_GUEST)) return;
    this.retarget(desc, this.pcpuOf(domid, vcpu));
  }

  /**
   * PHYSDEVOP_eoi: the guest is done with `pirq`. Acts only when it had the interrupt in
   * flight; the last guest to EOI unmasks the line (UNMASK) or EOIs the LAPIC of each CPU
   * that received it (EOI).
   * @returns 0 or -EINVAL (pirq out of range, or not mapped: Xen's `pirq_info` is NULL)
   */
  eoi(domid: number, pirq: number): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= d.pirqToIrq.length) return -Errno.EINVAL;
    const irq = d.pirqToIrq[pirq]!;
    if (irq < 0) return -Errno.EINVAL;
    if (d.masked[pirq] === 0) return 0;
    d.masked[pirq] = 0;
    const desc = irq >= 0 ? this.descs[irq] : undefined;
    const action = desc?.action;
    if (!desc || !action || action.ackType === ACK_TYPE_NONE) return 0;
    if (--action.inFlight === 0) this.completeGuestEoi(desc, action);
    return 0;
  }

  /**
   * PHYSDEVOP_irq_status_query. A guest that does not use the `pirq_eoi_map` must always EOI,
   * so Xen sets {@link XENIRQSTAT_NEEDS_EOI} whatever the ACK type (which only decides what the
   * EOI does), plus {@link XENIRQSTAT_SHARED} when more than one guest is bound.
   * @returns the flags; -EINVAL pirq out of range, or unmapped for an HVM domain
   */
  irqStatusQuery(domid: number, pirq: number): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= d.pirqToIrq.length) return -Errno.EINVAL;
    const irq = d.pirqToIrq[pirq]!;
    if (irq < 0 && !d.info.privileged && this.opts.isHvm?.(domid)) return -Errno.EINVAL;
    const desc = irq >= 0 ? this.descs[irq] : undefined;
    let flags = XENIRQSTAT_NEEDS_EOI;
    if (desc?.action && desc.action.nrGuests > 1) flags |= XENIRQSTAT_SHARED;
    return flags;
  }

  // ---- raising physical interrupts -------------------------------------------------------

  /**
   * Raises a GSI line (a level line stays asserted until {@link XenIrqLayer.deassertGsi}).
   * @throws XenError EINVAL for a GSI no IO-APIC has
   */
  assertGsi(gsi: number): void {
    const a = this.ioapicOf('assertGsi', gsi);
    a.assert(gsi - a.gsiBase);
  }

  /**
   * Lowers a GSI line.
   * @throws XenError EINVAL for a GSI no IO-APIC has
   */
  deassertGsi(gsi: number): void {
    const a = this.ioapicOf('deassertGsi', gsi);
    a.deassert(gsi - a.gsiBase);
  }

  /**
   * An edge on a GSI line: assert then deassert.
   * @throws XenError EINVAL for a GSI no IO-APIC has
   */
  pulseGsi(gsi: number): void {
    const a = this.ioapicOf('pulseGsi', gsi);
    a.assert(gsi - a.gsiBase);
    a.deassert(gsi - a.gsiBase);
  }

  /**
   * A device writes its MSI message for Xen IRQ `irq` (held pending while masked).
   * @throws XenError EINVAL when `irq` is not an MSI
   */
  fireMsi(irq: number): void {
    const desc = this.descs[irq];
    if (!desc || desc.source !== 'msi') throw new XenError('fireMsi', Errno.EINVAL, `IRQ ${irq} is not an MSI`);
    if (desc.msiMaskable && desc.lineMask !== 0) {
      desc.msiPending = true;
      return;
    }
    this.lapics[desc.cpu]!.accept(desc.vector, false);
  }

  // ---- inspection ------------------------------------------------------------------------

  /** Snapshot of an IRQ, or `undefined` when it has no descriptor. */
  describe(irq: number): IrqInfo | undefined {
    const desc = this.descs[irq];
    if (!desc) return undefined;
    return {
      irq,
      source: desc.source,
      gsi: desc.gsi,
      level: desc.level,
      ackType: desc.action?.ackType ?? this.ackTypeOf(desc),
      flags: desc.flags,
      nrGuests: desc.action?.nrGuests ?? 0,
      inFlight: desc.action?.inFlight ?? 0,
      lineMasked: this.isLineMasked(desc),
      rateLimited: desc.rateLimited,
      eoiTimerArmed: (desc.action?.eoiTimer ?? NO_TIMER) !== NO_TIMER,
      cpu: desc.cpu,
      vector: desc.vector,
      count: desc.count,
    };
  }

  /** Number of un-EOI'd entries on a CPU's pending-EOI stack. */
  pendingEoiDepth(cpu: number): number {
    return this.eoiStackTop[cpu]!;
  }

  /** The IO-APIC and pin of a GSI, or `undefined`. */
  findIoApic(gsi: number): IoApic | undefined {
    for (const a of this.ioapics) if (a.hasGsi(gsi)) return a;
    return undefined;
  }

  // ---- internals -------------------------------------------------------------------------

  private ioapicOf(op: string, gsi: number): IoApic {
    const a = this.findIoApic(gsi);
    if (!a) throw new XenError(op, Errno.EINVAL, `no IO-APIC has GSI ${gsi}`);
    return a;
  }

  private pcpuOf(domid: number, vcpu: number): number {
    const cpu = this.opts.processorOf ? this.opts.processorOf(domid, vcpu) : vcpu % this.opts.nrPcpus;
    return cpu >= 0 && cpu < this.opts.nrPcpus ? cpu : 0;
  }

  private ackTypeOf(desc: IrqDesc): number {
    if (desc.source === 'msi') return desc.msiMaskable ? ACK_TYPE_NONE : ACK_TYPE_EOI;
    if (!desc.level) return ACK_TYPE_NONE;
    return (this.opts.ioapicAck ?? 'new') === 'new' ? ACK_TYPE_EOI : ACK_TYPE_UNMASK;
  }

  private isBoundBy(desc: IrqDesc, domid: number): boolean {
    const a = desc.action;
    if (!a) return false;
    for (let i = 0; i < a.nrGuests; i++) if (a.guestDom[i] === domid) return true;
    return false;
  }

  private bindMap(d: DomainPirqs, pirq: number, desc: IrqDesc): void {
    d.pirqToIrq[pirq] = desc.irq;
    d.irqToPirq.set(desc.irq, pirq);
    desc.mapCount++;
  }

  private freePirqUp(d: DomainPirqs, count: number): number {
    const n = d.pirqToIrq.length;
    for (let p = NR_IRQS_LEGACY; p + count <= n; p++) {
      let free = true;
      for (let i = 0; i < count && free; i++) free = d.pirqToIrq[p + i]! < 0;
      if (free) return p;
    }
    return -Errno.ENOSPC;
  }

  private freePirqDown(d: DomainPirqs, count: number): number {
    for (let p = d.pirqToIrq.length - count; p >= NR_IRQS_LEGACY; p--) {
      let free = true;
      for (let i = 0; i < count && free; i++) free = d.pirqToIrq[p + i]! < 0;
      if (free) return p;
    }
    return -Errno.ENOSPC;
  }

  /** The descriptor of a GSI (IRQ = GSI in Xen), created on first use. */
  private gsiDesc(gsi: number): IrqDesc | number {
    if (!Number.isInteger(gsi)) return -Errno.EINVAL;
    const a = this.findIoApic(gsi);
    if (!a) return -Errno.EINVAL;
    const existing = this.descs[gsi];
    if (existing) return existing;
    const pin = gsi - a.gsiBase;
    const level = this.triggerOverride.get(gsi) ?? gsi >= NR_IRQS_LEGACY;
    let vector: number;
    if (gsi < NR_IRQS_LEGACY) {
      vector = ISA_IRQ_VECTOR_BASE + gsi;
      this.vectors.assignFixed(0, vector, gsi);
    } else {
      vector = this.vectors.assign(0, gsi);
      if (vector < 0) return vector;
    }
    const desc = new IrqDesc(gsi, 'ioapic', gsi, a, pin, level);
    desc.vector = vector;
    this.descs[gsi] = desc;
    a.program(pin, vector, 0, level, true);
    return desc;
  }

  private createMsi(nvec: number, maskable: boolean): IrqDesc[] | number {
    const base = Math.max(NR_IRQS_LEGACY, this.gsiTop);
    let first = base;
    for (;;) {
      let free = true;
      for (let i = 0; i < nvec && free; i++) free = this.descs[first + i] === undefined;
      if (free) break;
      first++;
    }
    const irqs: number[] = [];
    for (let i = 0; i < nvec; i++) irqs.push(first + i);
    const vector = this.vectors.assignBlock(0, irqs);
    if (vector < 0) return vector;
    const out: IrqDesc[] = [];
    for (let i = 0; i < nvec; i++) {
      const desc = new IrqDesc(first + i, 'msi', -1, undefined, -1, false);
      desc.vector = vector + i;
      desc.msiMaskable = maskable;
      desc.groupFirst = first;
      desc.groupSize = nvec;
      this.descs[first + i] = desc;
      out.push(desc);
    }
    return out;
  }

  private destroyMsiGroup(group: readonly IrqDesc[]): void {
    for (const g of group) {
      this.vectors.release(g.cpu, g.vector);
      this.descs[g.irq] = undefined;
    }
  }

  private isLineMasked(desc: IrqDesc): boolean {
    if (desc.ioapic) return desc.ioapic.isMasked(desc.pin);
    return desc.msiMaskable && desc.lineMask !== 0;
  }

  /** Applies the mask reasons to the RTE or the MSI mask bit (non-maskable MSIs cannot be masked). */
  private applyMask(desc: IrqDesc): void {
    const masked = desc.lineMask !== 0;
    if (desc.ioapic) {
      desc.ioapic.setMasked(desc.pin, masked);
    } else if (!masked && desc.msiPending) {
      desc.msiPending = false;
      this.lapics[desc.cpu]!.accept(desc.vector, false);
    }
  }

  /** Moves an IRQ (or its MSI group) to `cpu`; deferred while an EOI is pending for it. */
  private retarget(desc: IrqDesc, cpu: number): void {
    if (cpu === desc.cpu) return;
    if (this.onEoiStack(desc.irq)) {
      desc.moveTo = cpu;
      return;
    }
    if (desc.source === 'msi' && desc.groupSize > 1) {
      const group: IrqDesc[] = [];
      const irqs: number[] = [];
      for (let i = 0; i < desc.groupSize; i++) {
        group.push(this.descs[desc.groupFirst + i]!);
        irqs.push(desc.groupFirst + i);
      }
      const v = this.vectors.assignBlock(cpu, irqs);
      if (v < 0) return;
      for (let i = 0; i < group.length; i++) {
        const g = group[i]!;
        this.vectors.release(g.cpu, g.vector);
        g.cpu = cpu;
        g.vector = v + i;
      }
      return;
    }
    let vector: number;
    if (desc.source === 'ioapic' && desc.gsi < NR_IRQS_LEGACY) {
      vector = desc.vector;
      this.vectors.assignFixed(cpu, vector, desc.irq);
    } else {
      vector = this.vectors.assign(cpu, desc.irq);
      if (vector < 0) return;
    }
    this.vectors.release(desc.cpu, desc.vector);
    desc.cpu = cpu;
    desc.vector = vector;
    desc.ioapic?.retarget(desc.pin, vector, cpu);
  }

  private onEoiStack(irq: number): boolean {
    for (let cpu = 0; cpu < this.opts.nrPcpus; cpu++) {
      const base = cpu * NR_VECTORS;
      for (let i = 0; i < this.eoiStackTop[cpu]!; i++) if (this.eoiStackIrq[base + i] === irq) return true;
    }
    return false;
  }

  /** The physical interrupt handler (`do_IRQ`) for `vector` taken on `cpu`. */
  private doIrq(cpu: number, vector: number): void {
    const lapic = this.lapics[cpu]!;
    const irq = this.vectors.irqAt(cpu, vector);
    this.depth++;
    try {
      const desc = irq >= 0 ? this.descs[irq] : undefined;
      if (!desc) {
        this.spurious++;
        lapic.eoi();
        return;
      }
      desc.count++;
      const action = desc.action;
      if (!action) {
        desc.unhandled++;
        lapic.eoi();
        return;
      }
      if (desc.rlCount++ >= IRQ_RATELIMIT_THRESHOLD) {
        const now = this.clock.now();
        if (now < desc.rlStart + IRQ_RATELIMIT_WINDOW_NS) {
          this.rateLimit(desc);
          lapic.eoi();
          return;
        }
        desc.rlCount = 0;
        desc.rlStart = now;
      }
      this.deliverToGuests(desc, action, cpu, lapic);
    } finally {
      this.depth--;
    }
  }

  /** `__do_IRQ_guest`: ack per ACK type, mark each guest's pirq, send it, arm the EOI timer. */
  private deliverToGuests(desc: IrqDesc, action: GuestAction, cpu: number, lapic: Lapic): void {
    const ack = action.ackType;
    if (ack === ACK_TYPE_NONE) {
      lapic.eoi();
    } else if (ack === ACK_TYPE_UNMASK) {
      desc.lineMask |= LINE_MASK_ACK;
      this.applyMask(desc);
      lapic.eoi();
    } else {
      const base = cpu * NR_VECTORS;
      const top = this.eoiStackTop[cpu]!;
      this.eoiStackIrq[base + top] = desc.irq;
      this.eoiStackReady[base + top] = 0;
      this.eoiStackTop[cpu] = top + 1;
      action.eoiCpus[cpu] = 1;
    }
    const link = this.link;
    for (let i = 0; i < action.nrGuests; i++) {
      const domid = action.guestDom[i]!;
      const pirq = action.guestPirq[i]!;
      if (ack !== ACK_TYPE_NONE) {
        const d = this.domains.get(domid)!;
        if (d.masked[pirq] === 0) {
          d.masked[pirq] = 1;
          action.inFlight++;
        }
      }
      if (link) link.sendGuestPirq(domid, pirq);
      else this.droppedNoLink++;
    }
    if (ack === ACK_TYPE_NONE) return;
    if (action.eoiTimer !== NO_TIMER) this.clock.cancel(action.eoiTimer);
    action.eoiTimer = this.clock.after(GUEST_EOI_TIMEOUT_NS, desc.eoiTimerFn);
    if (action.inFlight === 0) this.completeGuestEoi(desc, action);
  }

  /** Every guest has EOI'd: unmask the line (UNMASK) or EOI on the CPUs that received it (EOI). */
  private completeGuestEoi(desc: IrqDesc, action: GuestAction): void {
    if (action.eoiTimer !== NO_TIMER) {
      this.clock.cancel(action.eoiTimer);
      action.eoiTimer = NO_TIMER;
    }
    if (action.ackType === ACK_TYPE_UNMASK) {
      desc.lineMask &= ~LINE_MASK_ACK;
      this.applyMask(desc);
    } else if (action.ackType === ACK_TYPE_EOI) {
      for (let cpu = 0; cpu < this.opts.nrPcpus; cpu++) {
        if (action.eoiCpus[cpu] === 0) continue;
        action.eoiCpus[cpu] = 0;
        const base = cpu * NR_VECTORS;
        for (let i = 0; i < this.eoiStackTop[cpu]!; i++) if (this.eoiStackIrq[base + i] === desc.irq) this.eoiStackReady[base + i] = 1;
        this.flushEoi(cpu);
      }
    }
  }

  /** Pops ready entries off a CPU's pending-EOI stack, EOI-ing its LAPIC for each. */
  private flushEoi(cpu: number): void {
    const base = cpu * NR_VECTORS;
    let top = this.eoiStackTop[cpu]!;
    while (top > 0 && this.eoiStackReady[base + top - 1] === 1) {
      top--;
      this.eoiStackTop[cpu] = top;
      const desc = this.descs[this.eoiStackIrq[base + top]!];
      this.lapics[cpu]!.eoi();
      if (desc && desc.moveTo >= 0 && !this.onEoiStack(desc.irq)) {
        const to = desc.moveTo;
        desc.moveTo = -1;
        this.retarget(desc, to);
      }
      top = this.eoiStackTop[cpu]!;
    }
  }

  /** The 1 ms EOI timer: force-EOI every guest still holding the interrupt. */
  private eoiTimerExpired(desc: IrqDesc, action: GuestAction): void {
    action.eoiTimer = NO_TIMER;
    if (desc.action !== action || action.ackType === ACK_TYPE_NONE) return;
    for (let i = 0; i < action.nrGuests; i++) {
      const d = this.domains.get(action.guestDom[i]!)!;
      const pirq = action.guestPirq[i]!;
      if (d.masked[pirq] === 1) {
        d.masked[pirq] = 0;
        action.inFlight--;
      }
    }
    if (action.inFlight === 0) this.completeGuestEoi(desc, action);
  }

  private rateLimit(desc: IrqDesc): void {
    desc.lineMask |= LINE_MASK_RATELIMIT;
    this.applyMask(desc);
    if (desc.rateLimited) return;
    desc.rateLimited = true;
    if (this.rlList.length === 0) this.rlTimer = this.clock.after(IRQ_RATELIMIT_WINDOW_NS, this.rlTimerFn);
    this.rlList.push(desc);
  }

  private rateLimitExpired(): void {
    this.rlTimer = NO_TIMER;
    const now = this.clock.now();
    const list = this.rlList.splice(0);
    for (const desc of list) {
      desc.rateLimited = false;
      desc.rlCount = 0;
      desc.rlStart = now;
      desc.lineMask &= ~LINE_MASK_RATELIMIT;
      this.applyMask(desc);
    }
  }
}
