import { DOMID_SELF, type EvtchnStatus } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { GUESTS, SHARED_LINE, TOUCH_LINE, bootXenarm, formatXenarm, runXenarm } from './xenarm.js';

describe('xenarm pirq example', () => {
  it('binds each pirq lazily at request_irq: WILL_SHARE, CPU 0, unmasked, unmask notification sent', () => {
    const s = bootXenarm();
    const xa = s.arch.xenarm!;
    for (const id of GUESTS) {
      const guest = s.guests.get(id)!;
      const { shared } = s.irqs.get(id)!;
      const port = guest.evtchnFromIrq(shared);
      expect(port).toBeGreaterThan(0);
      expect(guest.abiName).toBe('2level');
      expect(guest.irqInfo(shared)!.cpu).toBe(0);
      expect(guest.abi.isMasked(port)).toBe(false);
      // irq_status_query said the level line needs an EOI: the guest sends it (the unmask notification).
      expect(guest.irqInfo(shared)!.pirqFlags & 1).toBe(1);
    }
    // Both guests bound the line with WILL_SHARE, so the second bind was accepted.
    expect(xa.boundGuests(SHARED_LINE)).toEqual([...GUESTS]);
    expect(xa.boundGuests(TOUCH_LINE)).toEqual([...GUESTS]);
  });

  it('binds nothing before request_irq starts the IRQ', async () => {
    const { abi2Level } = await import('@evtchn/abi-2level');
    const { archArm } = await import('@evtchn/arch-arm');
    const { createPlatform } = await import('@evtchn/core');
    const { guestLinux, IRQ_HANDLED, IRQF_SHARED } = await import('@evtchn/guest-linux');
    const p = createPlatform({
      arch: archArm({ xenarmPirqs: true }),
      abis: [abi2Level()],
      guest: guestLinux({ fifo: false }),
      domains: [{ id: 1, vcpus: 1, pirqs: [SHARED_LINE] }, { id: 2, vcpus: 1, pirqs: [SHARED_LINE] }],
    });
    const g1 = p.domain(1).guest as import('@evtchn/guest-linux').LinuxGuest;
    const g2 = p.domain(2).guest as import('@evtchn/guest-linux').LinuxGuest;
    const irq = g1.bindPirqGsiToIrq(SHARED_LINE, SHARED_LINE, true, 'xenarm-level');
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(g1.evtchnFromIrq(irq)).toBe(0);
    expect(p.hypervisor.domain(1)!.pirqToPort.has(SHARED_LINE)).toBe(false);
    expect(g1.requestIrq(irq, () => IRQ_HANDLED, IRQF_SHARED, 'a', 'a')).toBe(0);
    const port = g1.evtchnFromIrq(irq);
    expect(port).toBeGreaterThan(0);
    const st: EvtchnStatus = { status: 'closed', vcpu: 9 };
    expect(p.hypervisor.evtchn(1).status(DOMID_SELF, port, st)).toBe(0);
    expect(st).toMatchObject({ status: 'pirq', pirq: SHARED_LINE, vcpu: 0 });
    // A probing bind (not shareable) asks without WILL_SHARE: refused on a shared line.
    const probe = g2.bindPirqGsiToIrq(SHARED_LINE, SHARED_LINE, false, 'probe');
    expect(g2.requestIrq(probe, () => IRQ_HANDLED, 0, 'probe', null)).toBe(0);
    expect(g2.evtchnFromIrq(probe)).toBe(0);
  });

  it('shares the level line: both guests receive it, the device owner handles it, the last EOI ends the line', () => {
    const rows = runXenarm();
    expect(rows[0]).toMatchObject({ received: [1, 2], handledBy: 1, inFlightAfter: 0 });
    expect(rows[1]).toMatchObject({ received: [1, 2], handledBy: 2, inFlightAfter: 0 });
  });

  it('sends the HID line to the foreground domain only, following the switch', () => {
    const rows = runXenarm();
    expect(rows[2]).toMatchObject({ foreground: 1, received: [1], handledBy: 1, inFlightAfter: 0 });
    expect(rows[3]).toMatchObject({ foreground: 2, received: [2], handledBy: 2, inFlightAfter: 0, maskedAfter: false });
  });

  it('a touch with no foreground binder (dom0) is acked and the line left masked: no storm while it is held high', () => {
    // Seed 002 (xenarm level_irq_handler): mask + ack; with no guest to EOI, nothing unmasks it.
    const rows = runXenarm();
    expect(rows[4]).toMatchObject({ foreground: 0, received: [], handledBy: undefined, inFlightAfter: 0, maskedAfter: true });
    const s = bootXenarm();
    const xa = s.arch.xenarm!;
    xa.setForegroundDomain(0);
    s.touch(); // the controller holds the line high: nobody handles it
    expect(s.take()).toEqual([]);
    expect(xa.unclaimed[TOUCH_LINE]).toBe(1);
    expect(xa.isLineMasked(TOUCH_LINE)).toBe(true);
  });

  it('the action is always shareable: a guest that bound without WILL_SHARE does not stop a sharing one', async () => {
    // Seed 002 (xenarm pirq_guest_bind): `action->shareable = 1`; only the new binder's will_share counts.
    const { abi2Level } = await import('@evtchn/abi-2level');
    const { archArm } = await import('@evtchn/arch-arm');
    const { createPlatform } = await import('@evtchn/core');
    const { guestLinux, IRQ_HANDLED, IRQF_SHARED } = await import('@evtchn/guest-linux');
    const p = createPlatform({
      arch: archArm({ xenarmPirqs: true }),
      abis: [abi2Level()],
      guest: guestLinux({ fifo: false }),
      domains: [{ id: 1, vcpus: 1, pirqs: [SHARED_LINE] }, { id: 2, vcpus: 1, pirqs: [SHARED_LINE] }],
    });
    const g1 = p.domain(1).guest as import('@evtchn/guest-linux').LinuxGuest;
    const g2 = p.domain(2).guest as import('@evtchn/guest-linux').LinuxGuest;
    const probe = g1.bindPirqGsiToIrq(SHARED_LINE, SHARED_LINE, false, 'probe');
    expect(g1.requestIrq(probe, () => IRQ_HANDLED, 0, 'probe', null)).toBe(0);
    expect(g1.evtchnFromIrq(probe)).toBeGreaterThan(0);
    const shared = g2.bindPirqGsiToIrq(SHARED_LINE, SHARED_LINE, true, 'xenarm-level');
    expect(g2.requestIrq(shared, () => IRQ_HANDLED, IRQF_SHARED, 'dev', 'dev')).toBe(0);
    expect(g2.evtchnFromIrq(shared)).toBeGreaterThan(0);
    expect((p.arch as import('@evtchn/arch-arm').ArmArchitecture).xenarm!.boundGuests(SHARED_LINE)).toEqual([1, 2]);
  });

  it('counts in-flight guests while they have not EOIed yet', () => {
    const s = bootXenarm();
    const xa = s.arch.xenarm!;
    // Guest 2 has the IRQ disabled: its pirq stays pending and un-EOIed while guest 1 is done.
    const g2 = s.guests.get(2)!;
    g2.disableIrq(s.irqs.get(2)!.shared);
    s.raiseDevice(1);
    s.settle();
    expect(s.take().map(([d]) => d)).toEqual([1]);
    expect(xa.isMaskedFor(2, SHARED_LINE)).toBe(true);
    expect(xa.inFlight[SHARED_LINE]).toBe(1);
    expect(s.arch.gic.isActive(SHARED_LINE)).toBe(true);
  });

  it('prints who received what', () => {
    const out = formatXenarm(runXenarm());
    expect(out).toMatch(/line 34: device of d1\s+d1\s+d1,d2\s+d1\s+0/);
    expect(out).toMatch(/line 40: touch \(HID\)\s+d2\s+d2\s+d2\s+0\s+open/);
    expect(out).toMatch(/line 40: touch \(HID\)\s+d0\s+-\s+-\s+0\s+masked/);
  });
});
