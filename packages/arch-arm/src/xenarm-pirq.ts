/*
 * Physical IRQs lent to guests as the early Xen ARM port (xenarm) did it, SPEC §7: Xen's
 * `pirq_guest_bind`/`pirq_guest_unbind`/`pirq_guest_eoi` on ARM and the level flow handler that
 * forwards a guest-bound IRQ to every bound guest. The pirq number is the physical IRQ number.
 *
 * - Bind: `-EINVAL` for an IRQ that is not an SPI of the GIC; `-EBUSY` when Xen or a routed SPI
 *   owns the line (a non-guest action), when the line is guest-bound and the new binder will not
 *   share, or when {@link XENARM_IRQ_MAX_GUESTS} guests have it. The guest action is always
 *   created shareable (the seed's `action->shareable = 1`), so the first binder's will_share
 *   does not matter to later ones. The first bind marks the descriptor GUEST_BOUND + SHARABLE
 *   and unmasks (enables) the line.
 * - Level flow: the line is acknowledged and stays active (masked) while guests handle it. Each
 *   bound guest gets the pirq, except that an IRQ flagged HID (keyboard, touch screen) goes only
 *   to the foreground domain. With ACK_TYPE_UNMASK every recipient whose pirq mask bit was clear
 *   sets it and raises the in-flight count; each guest's EOI clears its bit and the last one
 *   ends (deactivates) the line. When no guest took it (a HID line whose foreground domain has
 *   not bound it) the line is acked and left masked: nothing unmasks it again, so a line held
 *   high cannot storm. ACK_TYPE_NONE (edge lines) ends the line at once.
 * Written from the described behaviour, not from the GPL sources.
 */
import { Errno, testAndClearBit, testAndSetBit, type HypervisorLink, type PirqBackend } from '@evtchn/core';
import { GICD_ENABLED, SPI_BASE, type Gic } from './gic.js';

/** Descriptor flag: guests have the line (`IRQ_GUEST_BOUND`). */
export const XENARM_GUEST_BOUND = 1 << 0;
/** Descriptor flag: the guest action is shareable (`action->shareable`, always set on xenarm). */
export const XENARM_SHARABLE = 1 << 1;
/** Descriptor flag: a human-interface device (keyboard, touch): delivered to the foreground domain only. */
export const XENARM_HID = 1 << 2;

/** ACK type: nothing to do after the guests (edge lines). */
export const XENARM_ACK_TYPE_NONE = 0;
/** ACK type: the line stays masked until every guest that got the pirq has EOIed it (level lines). */
export const XENARM_ACK_TYPE_UNMASK = 1;

/** Most guests one line can be bound to (`IRQ_MAX_GUESTS`). */
export const XENARM_IRQ_MAX_GUESTS = 7;

/** `PHYSDEVOP_irq_status_query` flag: the guest must EOI (`XENIRQSTAT_needs_eoi`). */
const STAT_NEEDS_EOI = 1;
/** `PHYSDEVOP_irq_status_query` flag: more than one guest has the line (`XENIRQSTAT_shared`). */
const STAT_SHARED = 2;

/** Options of the xenarm pirq model. */
export interface XenArmPirqOptions {
  /** The domain HID interrupts go to (default 0). */
  readonly foregroundDomain?: number;
  /** Physical IRQs flagged HID (default none). */
  readonly hidIrqs?: readonly number[];
  /** Guests per line (default {@link XENARM_IRQ_MAX_GUESTS}). */
  readonly maxGuests?: number;
}

/** What the pirq model needs from the Arm architecture around it. */
export interface XenArmPirqHost {
  /** The physical GIC. */
  readonly gic: Gic;
  /** The hypervisor core's link (`send_guest_pirq`), once connected. */
  hypervisorLink(): HypervisorLink | undefined;
  /** Whether Xen or an SPI routed to a guest owns `irq` (a non-guest action). */
  usedOtherwise(irq: number): boolean;
  /** Whether `irq` is configured edge-triggered (otherwise it is treated as level). */
  isEdge(irq: number): boolean;
  /** Physical CPU a vCPU runs on, or -1. */
  pcpuOf(domid: number, vcpu: number): number;
}

/** The xenarm pirq backend (see the module comment); the core calls it as the architecture's `pirqs`. */
export class XenArmPirqs implements PirqBackend {
  /** Domain that receives HID interrupts. */
  foregroundDomain: number;
  /** Guests per line. */
  readonly maxGuests: number;
  /** Per line: `XENARM_*` descriptor flags. */
  readonly flags: Uint8Array;
  /** Per line: guests that got the pirq and have not EOIed it yet. */
  readonly inFlight: Uint8Array;
  /** Per line: `XENARM_ACK_TYPE_*`, fixed at the first bind. */
  readonly ackType: Uint8Array;
  /** Per line: times it was forwarded to each domain (`domid → count`), for observers. */
  readonly sent: Map<number, number>[];
  /** Per line: times it fired with no guest to take it (and was left masked), for observers. */
  readonly unclaimed: Uint32Array;

  private readonly guests: number[][];
  private readonly pirqMasks = new Map<number, Uint32Array>();

  /**
   * @param host - the architecture around the model
   * @param options - foreground domain, HID lines, guest limit
   */
  constructor(
    private readonly host: XenArmPirqHost,
    options: XenArmPirqOptions = {},
  ) {
    const n = host.gic.nrLines;
    this.foregroundDomain = options.foregroundDomain ?? 0;
    this.maxGuests = options.maxGuests ?? XENARM_IRQ_MAX_GUESTS;
    this.flags = new Uint8Array(n);
    this.inFlight = new Uint8Array(n);
    this.ackType = new Uint8Array(n);
    this.unclaimed = new Uint32Array(n);
    this.guests = Array.from({ length: n }, () => []);
    this.sent = Array.from({ length: n }, () => new Map<number, number>());
    for (const irq of options.hidIrqs ?? []) this.setHid(irq, true);
  }

  /** Makes `domid` the foreground domain (the one HID interrupts go to). */
  setForegroundDomain(domid: number): void {
    this.foregroundDomain = domid;
  }

  /** Flags (or unflags) `irq` as a human-interface device. @returns 0 or -EINVAL */
  setHid(irq: number, hid: boolean): number {
    if (!this.isSpi(irq)) return -Errno.EINVAL;
    if (hid) this.flags[irq]! |= XENARM_HID;
    else this.flags[irq]! &= ~XENARM_HID;
    return 0;
  }

  /** Whether guests have `irq`. */
  isGuestBound(irq: number): boolean {
    return this.isSpi(irq) && (this.flags[irq]! & XENARM_GUEST_BOUND) !== 0;
  }

  /** Domains bound to `irq`, in bind order. */
  boundGuests(irq: number): readonly number[] {
    return this.guests[irq] ?? [];
  }

  /** Whether `domid`'s pirq mask bit for `irq` is set (it got the pirq and has not EOIed). */
  isMaskedFor(domid: number, irq: number): boolean {
    const m = this.pirqMasks.get(domid);
    return m !== undefined && this.isSpi(irq) && (m[irq >>> 5]! & (1 << (irq & 31))) !== 0;
  }

  /** Whether the line is masked (disabled at the distributor), e.g. after nobody took it. */
  isLineMasked(irq: number): boolean {
    return this.isSpi(irq) && (this.host.gic.stateOf(irq) & GICD_ENABLED) === 0;
  }

  /** `pirq_guest_bind`. @returns 0, -EINVAL or -EBUSY (see the module comment) */
  guestBind(domid: number, vcpu: number, pirq: number, willShare: boolean): number {
    if (!this.isSpi(pirq)) return -Errno.EINVAL;
    if (this.host.usedOtherwise(pirq)) return -Errno.EBUSY;
    const guests = this.guests[pirq]!;
    const flags = this.flags[pirq]!;
    if (flags & XENARM_GUEST_BOUND) {
      // The existing action is always shareable: only the new binder's will_share decides.
      if (!willShare) return -Errno.EBUSY;
      if (guests.length >= this.maxGuests) return -Errno.EBUSY;
    } else {
      this.flags[pirq] = (flags & XENARM_HID) | XENARM_GUEST_BOUND | XENARM_SHARABLE;
      this.inFlight[pirq] = 0;
      const edge = this.host.isEdge(pirq);
      this.ackType[pirq] = edge ? XENARM_ACK_TYPE_NONE : XENARM_ACK_TYPE_UNMASK;
      if (!edge) this.host.gic.configure(pirq, true);
      this.setAffinity(domid, pirq, vcpu);
      this.host.gic.enable(pirq);
    }
    guests.push(domid);
    return 0;
  }

  /** `pirq_guest_unbind`: an EOI still owed is settled; the last guest disables the line. */
  guestUnbind(domid: number, pirq: number): void {
    if (!this.isSpi(pirq)) return;
    const guests = this.guests[pirq]!;
    const at = guests.indexOf(domid);
    if (at < 0) return;
    guests.splice(at, 1);
    this.eoi(domid, pirq);
    if (guests.length === 0) {
      this.flags[pirq]! &= XENARM_HID;
      this.inFlight[pirq] = 0;
      this.host.gic.disable(pirq);
      this.endLine(pirq);
    }
  }

  /** Targets the line at the pCPU running `vcpu` (when it runs). */
  setAffinity(domid: number, pirq: number, vcpu: number): void {
    if (!this.isSpi(pirq)) return;
    const p = this.host.pcpuOf(domid, vcpu);
    if (p >= 0) this.host.gic.setTarget(pirq, p);
  }

  /**
   * The guest's EOI (PHYSDEVOP_eoi, the unmask notification): if its pirq mask bit was set,
   * clear it; the last guest in flight ends the line. @returns 0 or -EINVAL
   */
  eoi(domid: number, pirq: number): number {
    if (!this.isSpi(pirq)) return -Errno.EINVAL;
    const m = this.pirqMasks.get(domid);
    if (m === undefined || !testAndClearBit(m, pirq)) return 0;
    const n = this.inFlight[pirq]!;
    if (n === 0) return 0;
    this.inFlight[pirq] = n - 1;
    if (n === 1) this.endLine(pirq);
    return 0;
  }

  /** PHYSDEVOP_irq_status_query: needs-EOI for ACK_TYPE_UNMASK lines, shared for more than one guest. @returns flags or -EINVAL */
  irqStatusQuery(_domid: number, pirq: number): number {
    if (!this.isSpi(pirq)) return -Errno.EINVAL;
    if (!(this.flags[pirq]! & XENARM_GUEST_BOUND)) return 0;
    let f = this.ackType[pirq] === XENARM_ACK_TYPE_UNMASK ? STAT_NEEDS_EOI : 0;
    if (this.guests[pirq]!.length > 1) f |= STAT_SHARED;
    return f;
  }

  /**
   * The level flow for a guest-bound line Xen has acknowledged (priority dropped, still
   * active): mark every recipient in flight, then send each one the pirq. The line ends at the
   * last EOI; a level line nobody took is acked and left masked; an edge line ends now.
   */
  handleIrq(_cpu: number, irq: number): void {
    const guests = this.guests[irq]!;
    const hid = (this.flags[irq]! & XENARM_HID) !== 0;
    const unmask = this.ackType[irq] === XENARM_ACK_TYPE_UNMASK;
    const fg = this.foregroundDomain;
    if (unmask) {
      for (const d of guests) {
        if (hid && d !== fg) continue;
        if (!testAndSetBit(this.maskOf(d), irq)) this.inFlight[irq]!++;
      }
    }
    // Marked first: a guest that runs and EOIs at once must not end the line before the others got it.
    const inFlight = this.inFlight[irq]!;
    const sent = this.sent[irq]!;
    const link = this.host.hypervisorLink();
    for (const d of [...guests]) {
      if (hid && d !== fg) continue;
      sent.set(d, (sent.get(d) ?? 0) + 1);
      link?.sendGuestPirq(d, irq);
    }
    if (unmask && inFlight === 0) {
      // Nobody took it: acked and never unmasked (the seed's level_irq_handler).
      this.unclaimed[irq]!++;
      this.host.gic.disable(irq);
      this.endLine(irq);
    } else if (!unmask) this.endLine(irq);
  }

  private endLine(irq: number): void {
    const gic = this.host.gic;
    gic.deactivate(gic.targetOf(irq), irq);
  }

  private maskOf(domid: number): Uint32Array {
    let m = this.pirqMasks.get(domid);
    if (m === undefined) {
      m = new Uint32Array((this.flags.length + 31) >>> 5);
      this.pirqMasks.set(domid, m);
    }
    return m;
  }

  private isSpi(irq: number): boolean {
    return Number.isInteger(irq) && irq >= SPI_BASE && irq < this.flags.length;
  }
}
