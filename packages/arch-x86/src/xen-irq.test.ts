import { describe, expect, it } from 'vitest';
import { Errno, VirtualClock, type HypervisorLink } from '@evtchn/core';
import {
  ACK_TYPE_EOI,
  ACK_TYPE_NONE,
  ACK_TYPE_UNMASK,
  GUEST_EOI_TIMEOUT_NS,
  IRQ_RATELIMIT_THRESHOLD,
  IRQ_RATELIMIT_WINDOW_NS,
  XENIRQSTAT_NEEDS_EOI,
  XENIRQSTAT_SHARED,
  XenIrqLayer,
  type IoApicAckMode,
} from './xen-irq.js';

/** A fake hypervisor: records every `send_guest_pirq`. */
class FakeLink implements HypervisorLink {
  readonly sent: [number, number][] = [];
  sendGuestPirq(domid: number, pirq: number): number {
    this.sent.push([domid, pirq]);
    return 1;
  }
  raiseVirq(): void {}
}

function machine(
  opts: { ioapicAck?: IoApicAckMode; irqMaxGuests?: number; autoMapPirqs?: boolean; interruptRemapping?: boolean; isHvm?: (d: number) => boolean } = {},
) {
  const clock = new VirtualClock();
  const x = new XenIrqLayer({ nrPcpus: 2, ioApics: [{ id: 0, gsiBase: 0, pins: 24 }], clock, ...opts });
  const link = new FakeLink();
  x.connect(link);
  x.attachDomain({ id: 0, nrVcpus: 2, privileged: true, nrPirqs: 64 });
  x.attachDomain({ id: 1, nrVcpus: 2, privileged: false, nrPirqs: 64 });
  x.attachDomain({ id: 2, nrVcpus: 1, privileged: false, nrPirqs: 64 });
  return { clock, x, link };
}

/** dom1 and dom2 share GSI `gsi`; returns their pirqs. */
function share(x: XenIrqLayer, gsi: number): [number, number] {
  const p1 = x.mapPirq(1, { type: 'gsi', gsi });
  const p2 = x.mapPirq(2, { type: 'gsi', gsi });
  expect(x.guestBind(1, 0, p1, true)).toBe(0);
  expect(x.guestBind(2, 0, p2, true)).toBe(0);
  return [p1, p2];
}

describe('map_pirq order', () => {
  it('hardware domain: pirq = GSI; others: GSIs up from 16, MSIs down from the top', () => {
    const { x } = machine();
    expect(x.mapPirq(0, { type: 'gsi', gsi: 20 })).toBe(20);
    expect(x.mapPirq(1, { type: 'gsi', gsi: 20 })).toBe(16);
    expect(x.mapPirq(1, { type: 'gsi', gsi: 20 })).toBe(16); // already mapped
    expect(x.mapPirq(1, { type: 'gsi', gsi: 5 })).toBe(17);
    expect(x.mapPirq(1, { type: 'msi' })).toBe(63);
    expect(x.mapPirq(1, { type: 'msi', nvec: 4 })).toBe(59);
    expect(x.mapPirq(1, { type: 'gsi', gsi: 24 })).toBe(-Errno.EINVAL);
    expect(x.mapPirq(9, { type: 'gsi', gsi: 1 })).toBe(-Errno.ESRCH);
    // The same GSI is one Xen IRQ for both domains.
    expect(x.irqOfPirq(0, 20)).toBe(20);
    expect(x.irqOfPirq(1, 16)).toBe(20);
  });

  it('multi-vector MSI: count rounded up to a power of two, > 32 -EDOM, without interrupt remapping -EOPNOTSUPP', () => {
    // Xen 4.x xen/arch/x86/physdev.c physdev_map_pirq, MAP_PIRQ_TYPE_MULTI_MSI:
    // `entry_nr <= 0 || entry_nr > 32` → -EDOM; `entry_nr != 1 && !iommu_intremap` → -EOPNOTSUPP;
    // then entry_nr is rounded up to a power of two.
    const { x } = machine();
    expect(x.mapPirq(1, { type: 'msi', nvec: 3 })).toBe(60); // 4 pirqs: 60..63
    expect(x.irqOfPirq(1, 63)).toBeGreaterThanOrEqual(0);
    expect(x.describe(x.irqOfPirq(1, 60))!.vector % 4).toBe(0);
    expect(x.mapPirq(1, { type: 'msi', nvec: 17 })).toBe(28); // 32 pirqs: 28..59
    expect(x.mapPirq(1, { type: 'msi', nvec: 33 })).toBe(-Errno.EDOM);
    expect(x.mapPirq(1, { type: 'msi', nvec: 0 })).toBe(-Errno.EDOM);
    expect(x.mapPirq(1, { type: 'msi', nvec: 1.5 })).toBe(-Errno.EINVAL);
    const noIr = machine({ interruptRemapping: false }).x;
    expect(noIr.mapPirq(1, { type: 'msi', nvec: 2 })).toBe(-Errno.EOPNOTSUPP);
    expect(noIr.mapPirq(1, { type: 'msi', nvec: 33 })).toBe(-Errno.EDOM);
    expect(noIr.mapPirq(1, { type: 'msi', nvec: 1 })).toBe(63);
  });

  it('an MSI group is contiguous IRQs with an aligned vector block, unmapped as a whole', () => {
    const { x } = machine();
    const first = x.mapPirq(1, { type: 'msi', nvec: 4 });
    const irqs = [0, 1, 2, 3].map((i) => x.irqOfPirq(1, first + i));
    expect(irqs.map((i) => i - irqs[0]!)).toEqual([0, 1, 2, 3]);
    const vectors = irqs.map((i) => x.describe(i)!.vector);
    expect(vectors[0]! % 4).toBe(0);
    expect(vectors.map((v) => v - vectors[0]!)).toEqual([0, 1, 2, 3]);
    expect(x.guestBind(1, 0, first + 1, false)).toBe(0);
    expect(x.unmapPirq(1, first)).toBe(-Errno.EBUSY);
    x.guestUnbind(1, first + 1);
    expect(x.unmapPirq(1, first)).toBe(0);
    expect(irqs.map((i) => x.describe(i))).toEqual([undefined, undefined, undefined, undefined]);
    expect(x.irqOfPirq(1, first + 3)).toBe(-1);
  });
});

describe('pirqGuestBind', () => {
  it('sharing needs WILL_SHARE on both sides', () => {
    const { x } = machine();
    const p1 = x.mapPirq(1, { type: 'gsi', gsi: 20 });
    const p2 = x.mapPirq(2, { type: 'gsi', gsi: 20 });
    expect(x.guestBind(1, 0, p1, false)).toBe(0);
    expect(x.guestBind(2, 0, p2, true)).toBe(-Errno.EBUSY);
    x.guestUnbind(1, p1);
    expect(x.guestBind(1, 0, p1, true)).toBe(0);
    expect(x.guestBind(2, 0, p2, false)).toBe(-Errno.EBUSY);
    expect(x.guestBind(2, 0, p2, true)).toBe(0);
    expect(x.describe(20)!.nrGuests).toBe(2);
  });

  it('at most irqMaxGuests guests', () => {
    const { x } = machine({ irqMaxGuests: 2 });
    const [, ] = share(x, 20);
    const p0 = x.mapPirq(0, { type: 'gsi', gsi: 20 });
    expect(x.guestBind(0, 0, p0, true)).toBe(-Errno.EBUSY);
  });

  it('-EBUSY for an IRQ the hypervisor uses; -EINVAL for a pirq never mapped (the default: no implicit mapping)', () => {
    // Xen 4.x xen/arch/x86/irq.c pirq_guest_bind: no IRQ behind the pirq → -EINVAL (SPEC §4.4).
    const { x } = machine();
    x.reserveGsiForXen(4);
    expect(x.guestBind(0, 0, x.mapPirq(0, { type: 'gsi', gsi: 4 }), false)).toBe(-Errno.EBUSY);
    expect(x.guestBind(1, 0, 30, false)).toBe(-Errno.EINVAL);
    expect(x.guestBind(1, 0, 64, false)).toBe(-Errno.EINVAL);
  });

  it('with autoMapPirqs (opt-in) maps a granted pirq as the toolstack would, so binding it succeeds', () => {
    const { x } = machine({ autoMapPirqs: true });
    expect(x.guestBind(1, 0, 30, false)).toBe(0);
    expect(x.describe(x.irqOfPirq(1, 30))!.source).toBe('msi');
    expect(x.guestBind(0, 0, 9, false)).toBe(0);
    expect(x.irqOfPirq(0, 9)).toBe(9);
  });

  it('the first binder moves the IRQ to its vCPU\'s pCPU; bind_vcpu moves it again', () => {
    const { x, link } = machine();
    const p = x.mapPirq(1, { type: 'gsi', gsi: 5 });
    expect(x.guestBind(1, 1, p, false)).toBe(0);
    expect(x.describe(5)!.cpu).toBe(1);
    x.pulseGsi(5);
    expect(x.lapics[1]!.eoiCount).toBe(1);
    x.setAffinity(1, p, 0);
    expect(x.describe(5)!.cpu).toBe(0);
    x.pulseGsi(5);
    expect(x.lapics[0]!.eoiCount).toBe(1);
    expect(link.sent).toEqual([[1, p], [1, p]]);
  });
});

describe('sharing one line between two guests, per ACK type', () => {
  it('ACK_TYPE_EOI (level IO-APIC, new ack): the LAPIC EOI waits for both guests', () => {
    const { x, link } = machine();
    const [p1, p2] = share(x, 20);
    expect(x.describe(20)!.ackType).toBe(ACK_TYPE_EOI);
    const lapic = x.lapics[0]!;
    const ioapic = x.findIoApic(20)!;
    x.assertGsi(20);
    expect(link.sent).toEqual([[1, p1], [2, p2]]);
    expect(x.describe(20)!.inFlight).toBe(2);
    expect(lapic.isInService(x.describe(20)!.vector)).toBe(true);
    expect(x.pendingEoiDepth(0)).toBe(1);
    x.deassertGsi(20);
    expect(x.eoi(1, p1)).toBe(0);
    expect(x.eoi(1, p1)).toBe(0); // a second EOI does nothing
    expect(x.describe(20)!.inFlight).toBe(1);
    expect(lapic.eoiCount).toBe(0);
    expect(ioapic.remoteIrr(20)).toBe(true);
    expect(x.eoi(2, p2)).toBe(0);
    expect(lapic.eoiCount).toBe(1);
    expect(ioapic.remoteIrr(20)).toBe(false);
    expect(x.pendingEoiDepth(0)).toBe(0);
    expect(link.sent.length).toBe(2);
  });

  it('ACK_TYPE_EOI: a line still asserted fires again once both have EOI\'d', () => {
    const { x, link } = machine();
    const [p1, p2] = share(x, 20);
    x.assertGsi(20);
    x.eoi(2, p2);
    expect(link.sent.length).toBe(2);
    x.eoi(1, p1);
    expect(link.sent.length).toBe(4);
    expect(x.describe(20)!.count).toBe(2);
  });

  it('ACK_TYPE_UNMASK (level IO-APIC, old ack): masked at once, unmasked after both EOI', () => {
    const { x, link } = machine({ ioapicAck: 'old' });
    const [p1, p2] = share(x, 20);
    expect(x.describe(20)!.ackType).toBe(ACK_TYPE_UNMASK);
    x.assertGsi(20);
    expect(x.describe(20)!.lineMasked).toBe(true);
    expect(x.lapics[0]!.eoiCount).toBe(1); // the LAPIC is EOI'd at delivery
    expect(x.findIoApic(20)!.remoteIrr(20)).toBe(false);
    x.eoi(1, p1);
    expect(x.describe(20)!.lineMasked).toBe(true);
    expect(link.sent.length).toBe(2);
    x.eoi(2, p2); // unmask: the line is still high, so it fires again
    expect(link.sent.length).toBe(4);
    expect(x.describe(20)!.lineMasked).toBe(true);
    x.deassertGsi(20);
    x.eoi(1, p1);
    x.eoi(2, p2);
    expect(x.describe(20)!.lineMasked).toBe(false);
    expect(link.sent.length).toBe(4);
  });

  it('ACK_TYPE_NONE (edge): EOI\'d at the LAPIC at once, nothing in flight, no EOI needed', () => {
    const { x, link } = machine();
    const [p1, p2] = share(x, 5);
    expect(x.describe(5)!.ackType).toBe(ACK_TYPE_NONE);
    x.pulseGsi(5);
    x.pulseGsi(5);
    expect(link.sent).toEqual([[1, p1], [2, p2], [1, p1], [2, p2]]);
    expect(x.lapics[0]!.eoiCount).toBe(2);
    expect(x.describe(5)!.inFlight).toBe(0);
    expect(x.isGuestMasked(1, p1)).toBe(false);
    // needs_eoi is set whatever the ACK type (Xen xen/arch/x86/physdev.c PHYSDEVOP_irq_status_query).
    expect(x.irqStatusQuery(1, p1)).toBe(XENIRQSTAT_NEEDS_EOI | XENIRQSTAT_SHARED);
  });

  it('MSI: maskable is ACK_TYPE_NONE, non-maskable ACK_TYPE_EOI', () => {
    const { x, link } = machine();
    const pm = x.mapPirq(1, { type: 'msi' });
    const pn = x.mapPirq(1, { type: 'msi', maskable: false });
    expect(x.describe(x.irqOfPirq(1, pm))!.ackType).toBe(ACK_TYPE_NONE);
    expect(x.describe(x.irqOfPirq(1, pn))!.ackType).toBe(ACK_TYPE_EOI);
    // Both report needs_eoi: a guest without the pirq_eoi_map must always EOI.
    expect(x.irqStatusQuery(1, pm)).toBe(XENIRQSTAT_NEEDS_EOI);
    expect(x.irqStatusQuery(1, pn)).toBe(XENIRQSTAT_NEEDS_EOI);
    x.guestBind(1, 0, pn, false);
    const irq = x.irqOfPirq(1, pn);
    x.fireMsi(irq);
    expect(link.sent).toEqual([[1, pn]]);
    expect(x.lapics[0]!.isInService(x.describe(irq)!.vector)).toBe(true);
    x.eoi(1, pn);
    expect(x.lapics[0]!.highestInService()).toBe(-1);
  });

  it('unbinding a guest with an interrupt in flight counts as its EOI', () => {
    const { x } = machine();
    const [p1, p2] = share(x, 20);
    x.assertGsi(20);
    x.deassertGsi(20);
    x.eoi(1, p1);
    x.guestUnbind(2, p2);
    expect(x.lapics[0]!.eoiCount).toBe(1);
    x.guestUnbind(1, p1);
    expect(x.describe(20)!.lineMasked).toBe(true);
  });
});

describe('PHYSDEVOP_eoi and irq_status_query', () => {
  it('-EINVAL for a pirq out of range or never mapped (eoi); needs_eoi always, shared when shared', () => {
    // Xen 4.x xen/arch/x86/physdev.c: PHYSDEVOP_eoi of a pirq with no pirq_info → -EINVAL;
    // PHYSDEVOP_irq_status_query sets XENIRQSTAT_needs_eoi unconditionally, XENIRQSTAT_shared
    // when pirq_shared(); only an HVM domain's query of an unmapped pirq is -EINVAL.
    const { x } = machine();
    expect(x.eoi(1, 64)).toBe(-Errno.EINVAL);
    expect(x.eoi(1, -1)).toBe(-Errno.EINVAL);
    expect(x.eoi(1, 40)).toBe(-Errno.EINVAL);
    expect(x.irqStatusQuery(1, 64)).toBe(-Errno.EINVAL);
    expect(x.irqStatusQuery(1, 40)).toBe(XENIRQSTAT_NEEDS_EOI);
    const hvm = machine({ isHvm: (d) => d === 1 }).x;
    expect(hvm.irqStatusQuery(1, 40)).toBe(-Errno.EINVAL);
    expect(hvm.irqStatusQuery(0, 40)).toBe(XENIRQSTAT_NEEDS_EOI);
    expect(hvm.irqStatusQuery(2, 40)).toBe(XENIRQSTAT_NEEDS_EOI);
    const p1 = x.mapPirq(1, { type: 'gsi', gsi: 20 });
    expect(x.irqStatusQuery(1, p1)).toBe(XENIRQSTAT_NEEDS_EOI);
    x.guestBind(1, 0, p1, true);
    const p2 = x.mapPirq(2, { type: 'gsi', gsi: 20 });
    x.guestBind(2, 0, p2, true);
    expect(x.irqStatusQuery(1, p1)).toBe(XENIRQSTAT_NEEDS_EOI | XENIRQSTAT_SHARED);
    expect(x.eoi(1, p1)).toBe(0); // mapped, nothing in flight
    x.guestUnbind(1, p1);
    expect(x.unmapPirq(1, p1)).toBe(0);
    expect(x.eoi(1, p1)).toBe(-Errno.EINVAL);
  });
});

describe('the 1 ms EOI timer', () => {
  it('force-EOIs a guest that never EOIs, 1 ms after the last delivery', () => {
    const { x, clock } = machine();
    const [p1, p2] = share(x, 20);
    x.assertGsi(20);
    x.deassertGsi(20);
    x.eoi(1, p1);
    expect(x.describe(20)!.eoiTimerArmed).toBe(true);
    clock.runUntil(GUEST_EOI_TIMEOUT_NS - 1);
    expect(x.describe(20)!.inFlight).toBe(1);
    expect(x.lapics[0]!.eoiCount).toBe(0);
    clock.runUntil(GUEST_EOI_TIMEOUT_NS);
    expect(x.describe(20)!.inFlight).toBe(0);
    expect(x.isGuestMasked(2, p2)).toBe(false);
    expect(x.lapics[0]!.eoiCount).toBe(1);
    expect(x.describe(20)!.eoiTimerArmed).toBe(false);
  });

  it('is cancelled when every guest EOIs in time', () => {
    const { x, clock } = machine({ ioapicAck: 'old' });
    const [p1, p2] = share(x, 20);
    x.assertGsi(20);
    x.deassertGsi(20);
    x.eoi(1, p1);
    x.eoi(2, p2);
    expect(x.describe(20)!.eoiTimerArmed).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('UNMASK: the timer unmasks the line', () => {
    const { x, clock } = machine({ ioapicAck: 'old' });
    share(x, 20);
    x.assertGsi(20);
    x.deassertGsi(20);
    expect(x.describe(20)!.lineMasked).toBe(true);
    clock.runUntil(GUEST_EOI_TIMEOUT_NS);
    expect(x.describe(20)!.lineMasked).toBe(false);
  });
});

describe('the rate limit', () => {
  it('more than 10000 interrupts within 10 ms disable the IRQ for 10 ms', () => {
    const { x, link, clock } = machine();
    const p = x.mapPirq(1, { type: 'gsi', gsi: 5 });
    x.guestBind(1, 0, p, false);
    for (let i = 0; i < IRQ_RATELIMIT_THRESHOLD; i++) x.pulseGsi(5);
    expect(link.sent.length).toBe(IRQ_RATELIMIT_THRESHOLD);
    expect(x.describe(5)!.rateLimited).toBe(false);
    x.pulseGsi(5); // the 10001st within the window
    expect(link.sent.length).toBe(IRQ_RATELIMIT_THRESHOLD);
    expect(x.describe(5)!.rateLimited).toBe(true);
    expect(x.describe(5)!.lineMasked).toBe(true);
    x.pulseGsi(5);
    expect(link.sent.length).toBe(IRQ_RATELIMIT_THRESHOLD);
    clock.runUntil(IRQ_RATELIMIT_WINDOW_NS - 1);
    expect(x.describe(5)!.rateLimited).toBe(true);
    clock.runUntil(IRQ_RATELIMIT_WINDOW_NS);
    expect(x.describe(5)!.rateLimited).toBe(false);
    expect(x.describe(5)!.lineMasked).toBe(false);
    x.pulseGsi(5);
    expect(link.sent.length).toBe(IRQ_RATELIMIT_THRESHOLD + 1);
  });

  it('the same number spread over more than 10 ms is not limited', () => {
    const { x, link, clock } = machine();
    const p = x.mapPirq(1, { type: 'gsi', gsi: 5 });
    x.guestBind(1, 0, p, false);
    for (let i = 0; i < IRQ_RATELIMIT_THRESHOLD; i++) x.pulseGsi(5);
    clock.runUntil(IRQ_RATELIMIT_WINDOW_NS);
    for (let i = 0; i < 5; i++) x.pulseGsi(5);
    expect(link.sent.length).toBe(IRQ_RATELIMIT_THRESHOLD + 5);
    expect(x.describe(5)!.rateLimited).toBe(false);
  });
});
