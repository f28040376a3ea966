import { abi2Level } from '@evtchn/abi-2level';
import { BIND_PIRQ_WILL_SHARE, DOMID_SELF, Errno, createPlatform, testBit, type EvtchnStatus } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import {
  ArmArchitecture,
  GICD_ENABLED,
  XENARM_ACK_TYPE_NONE,
  XENARM_ACK_TYPE_UNMASK,
  XENARM_GUEST_BOUND,
  XENARM_HID,
  XENARM_SHARABLE,
  archArm,
  type XenArmPirqOptions,
} from './index.js';

const LEVEL = 34;
const HID = 40;
const EDGE = 41;
const GRANTED = [16, 33, 34, 35, 36, 40, 41];

/** Three guests on Arm with xenarm pirqs; no guest layer: the test plays the guests' hypercalls. */
function boot(xenarm: boolean | XenArmPirqOptions = { hidIrqs: [HID], foregroundDomain: 1 }) {
  const p = createPlatform({
    arch: archArm({ xenarmPirqs: xenarm }),
    abis: [abi2Level()],
    domains: [
      { id: 0, vcpus: 1 },
      { id: 1, vcpus: 1, pirqs: GRANTED },
      { id: 2, vcpus: 1, pirqs: GRANTED },
      { id: 3, vcpus: 1, pirqs: GRANTED },
    ],
  });
  const arch = p.arch as ArmArchitecture;
  const xen = p.hypervisor;
  const pending = (dom: number, port: number): boolean => testBit(xen.domain(dom)!.sharedInfo.evtchnPending, port);
  const clear = (dom: number, port: number): void => {
    const words = xen.domain(dom)!.sharedInfo.evtchnPending;
    words[port >>> 5] = words[port >>> 5]! & ~(1 << (port & 31));
  };
  return { p, arch, xen, xa: arch.xenarm!, pending, clear };
}

describe('xenarm pirqs on Arm (SPEC §7)', () => {
  it('is off by default: modern Xen on Arm has no pirqs', () => {
    const { arch, xen } = boot(false);
    expect(arch.xenarm).toBeUndefined();
    expect(arch.pirqs).toBeUndefined();
    expect(xen.evtchn(1).bindPirq(LEVEL, 0)).toBe(-Errno.EOPNOTSUPP);
    const on = boot(true).arch;
    expect(on.xenarm).toBeDefined();
    expect(on.pirqs).toBe(on.xenarm);
    expect(on.xenarm!.foregroundDomain).toBe(0);
  });

  it('binds a guest: GUEST_BOUND + SHARABLE (always), line unmasked, pirq port on vCPU 0', () => {
    const { arch, xen, xa } = boot();
    expect(arch.gic.stateOf(LEVEL) & GICD_ENABLED).toBe(0);
    const port = xen.evtchn(1).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE);
    expect(port).toBeGreaterThan(0);
    expect(xa.flags[LEVEL]).toBe(XENARM_GUEST_BOUND | XENARM_SHARABLE);
    expect(xa.ackType[LEVEL]).toBe(XENARM_ACK_TYPE_UNMASK);
    expect(arch.gic.stateOf(LEVEL) & GICD_ENABLED).toBe(GICD_ENABLED);
    const st: EvtchnStatus = { status: 'closed', vcpu: 0 };
    expect(xen.evtchn(1).status(DOMID_SELF, port, st)).toBe(0);
    expect(st).toMatchObject({ status: 'pirq', pirq: LEVEL, vcpu: 0 });
    // Seed 002 (xenarm pirq_guest_bind): the action is created with `action->shareable = 1`
    // whatever the first binder asked for.
    const unshared = xen.evtchn(1).bindPirq(33, 0);
    expect(unshared).toBeGreaterThan(0);
    expect(xa.flags[33]).toBe(XENARM_GUEST_BOUND | XENARM_SHARABLE);
  });

  it('refuses -EINVAL for a non-SPI and -EBUSY for lines Xen or a routed SPI owns', () => {
    const { arch, xen, xa } = boot();
    expect(xen.evtchn(1).bindPirq(16, 0)).toBe(-Errno.EINVAL);
    expect(xa.guestBind(1, 0, arch.gic.nrLines, false)).toBe(-Errno.EINVAL);
    expect(arch.requestXenIrq(35, () => {})).toBe(0);
    expect(xen.evtchn(1).bindPirq(35, BIND_PIRQ_WILL_SHARE)).toBe(-Errno.EBUSY);
    expect(arch.configureIrqType(36, 'level')).toBe(0);
    expect(arch.routeIrqToGuest(3, 36, 36)).toBe(0);
    expect(xen.evtchn(1).bindPirq(36, BIND_PIRQ_WILL_SHARE)).toBe(-Errno.EBUSY);
    // And the other way round: a guest-bound line is no longer Xen's or routable.
    expect(xen.evtchn(1).bindPirq(LEVEL, 0)).toBeGreaterThan(0);
    expect(arch.requestXenIrq(LEVEL, () => {})).toBe(-Errno.EBUSY);
    expect(arch.configureIrqType(LEVEL, 'level')).toBe(0);
    expect(arch.routeIrqToGuest(3, LEVEL, LEVEL)).toBe(-Errno.EBUSY);
  });

  it('the existing action is always shareable: only the new binder\'s will_share decides, up to the guest limit', () => {
    // Seed 002 (xenarm pirq_guest_bind): `action->shareable = 1` on creation, then
    // `if (!will_share || !action->shareable) -EBUSY` for later binders.
    const { xen } = boot({ maxGuests: 2 });
    expect(xen.evtchn(1).bindPirq(33, 0)).toBeGreaterThan(0);
    expect(xen.evtchn(2).bindPirq(33, BIND_PIRQ_WILL_SHARE)).toBeGreaterThan(0);
    expect(xen.evtchn(3).bindPirq(33, 0)).toBe(-Errno.EBUSY);
    expect(xen.evtchn(1).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE)).toBeGreaterThan(0);
    expect(xen.evtchn(2).bindPirq(LEVEL, 0)).toBe(-Errno.EBUSY);
    expect(xen.evtchn(2).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE)).toBeGreaterThan(0);
    expect(xen.evtchn(3).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE)).toBe(-Errno.EBUSY);
    // needs-EOI (level, ACK_TYPE_UNMASK) and shared.
    expect(xen.physdev(1).irqStatusQuery(LEVEL)).toBe(1 | 2);
    expect(xen.physdev(1).irqStatusQuery(33)).toBe(1 | 2);
  });

  it('level flow: every bound guest gets the pirq, in flight until each EOIs; the last EOI ends the line', () => {
    const { arch, xen, xa, pending, clear } = boot();
    const p1 = xen.evtchn(1).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE);
    const p2 = xen.evtchn(2).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE);
    arch.gic.setLine(LEVEL, true);
    expect(pending(1, p1)).toBe(true);
    expect(pending(2, p2)).toBe(true);
    expect(xa.inFlight[LEVEL]).toBe(2);
    expect(xa.isMaskedFor(1, LEVEL) && xa.isMaskedFor(2, LEVEL)).toBe(true);
    expect(arch.gic.isActive(LEVEL)).toBe(true);
    clear(1, p1);
    clear(2, p2);
    expect(xen.physdev(1).eoi(LEVEL)).toBe(0);
    expect(xen.physdev(1).eoi(LEVEL)).toBe(0); // a second EOI owes nothing
    expect(xa.inFlight[LEVEL]).toBe(1);
    expect(arch.gic.isActive(LEVEL)).toBe(true);
    expect(pending(1, p1)).toBe(false);
    // The last EOI ends the line; it is still asserted, so it fires again at once.
    expect(xen.physdev(2).eoi(LEVEL)).toBe(0);
    expect(pending(1, p1) && pending(2, p2)).toBe(true);
    expect(xa.inFlight[LEVEL]).toBe(2);
    expect(xa.sent[LEVEL]!.get(1)).toBe(2);
    // Deasserted before the EOIs: the line ends quietly.
    arch.gic.setLine(LEVEL, false);
    clear(1, p1);
    clear(2, p2);
    xen.physdev(1).eoi(LEVEL);
    xen.physdev(2).eoi(LEVEL);
    expect(xa.inFlight[LEVEL]).toBe(0);
    expect(arch.gic.isActive(LEVEL)).toBe(false);
    expect(pending(1, p1) || pending(2, p2)).toBe(false);
  });

  it('HID lines go to the foreground domain only, and follow a foreground switch', () => {
    const { arch, xen, xa, pending, clear } = boot();
    expect(xa.flags[HID]! & XENARM_HID).toBe(XENARM_HID);
    const p1 = xen.evtchn(1).bindPirq(HID, BIND_PIRQ_WILL_SHARE);
    const p2 = xen.evtchn(2).bindPirq(HID, BIND_PIRQ_WILL_SHARE);
    arch.gic.setLine(HID, true);
    arch.gic.setLine(HID, false);
    expect(pending(1, p1)).toBe(true);
    expect(pending(2, p2)).toBe(false);
    expect(xa.inFlight[HID]).toBe(1);
    clear(1, p1);
    xen.physdev(1).eoi(HID);
    expect(arch.gic.isActive(HID)).toBe(false);

    xa.setForegroundDomain(2);
    arch.gic.setLine(HID, true);
    arch.gic.setLine(HID, false);
    expect(pending(1, p1)).toBe(false);
    expect(pending(2, p2)).toBe(true);
    expect(xa.isMaskedFor(1, HID)).toBe(false);
    expect(xa.isMaskedFor(2, HID)).toBe(true);
    // A foreground domain that has not bound the line: nobody takes it, so it is acked and
    // left masked (seed 002, xenarm level_irq_handler).
    xen.physdev(2).eoi(HID);
    xa.setForegroundDomain(3);
    arch.gic.setPending(HID);
    expect(xa.inFlight[HID]).toBe(0);
    expect(arch.gic.isActive(HID)).toBe(false);
    expect(xa.isLineMasked(HID)).toBe(true);
  });

  it('a level HID line held high with no foreground binder: acked once, left masked, no storm', () => {
    // Default foregroundDomain 0, which never binds; only domUs have the line. Seed 002's
    // level_irq_handler masks and acks, and with no guest to EOI nothing unmasks it again.
    const { arch, xen, xa, pending } = boot({ hidIrqs: [HID] });
    expect(xa.foregroundDomain).toBe(0);
    const p1 = xen.evtchn(1).bindPirq(HID, BIND_PIRQ_WILL_SHARE);
    const p2 = xen.evtchn(2).bindPirq(HID, BIND_PIRQ_WILL_SHARE);
    arch.gic.setLine(HID, true); // held high: would re-fire forever if it were unmasked
    expect(xa.unclaimed[HID]).toBe(1);
    expect(xa.isLineMasked(HID)).toBe(true);
    expect(arch.gic.isActive(HID)).toBe(false);
    expect(xa.inFlight[HID]).toBe(0);
    expect(pending(1, p1) || pending(2, p2)).toBe(false);
    expect(xa.sent[HID]!.size).toBe(0);
    // The guests' EOIs (unmask notifications) do not unmask it: nobody had it in flight.
    expect(xen.physdev(1).eoi(HID)).toBe(0);
    expect(xa.isLineMasked(HID)).toBe(true);
    expect(xa.unclaimed[HID]).toBe(1);
  });

  it('edge lines are ACK_TYPE_NONE: no in-flight count, no EOI needed', () => {
    const { arch, xen, xa, pending } = boot();
    expect(arch.configureIrqType(EDGE, 'edge')).toBe(0);
    const port = xen.evtchn(1).bindPirq(EDGE, BIND_PIRQ_WILL_SHARE);
    expect(xa.ackType[EDGE]).toBe(XENARM_ACK_TYPE_NONE);
    expect(xen.physdev(1).irqStatusQuery(EDGE)).toBe(0);
    arch.gic.setLine(EDGE, true);
    expect(pending(1, port)).toBe(true);
    expect(xa.inFlight[EDGE]).toBe(0);
    expect(arch.gic.isActive(EDGE)).toBe(false);
  });

  it('closing a pirq port settles its EOI; the last guest disables the line', () => {
    const { arch, xen, xa } = boot();
    const p1 = xen.evtchn(1).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE);
    const p2 = xen.evtchn(2).bindPirq(LEVEL, BIND_PIRQ_WILL_SHARE);
    arch.gic.setLine(LEVEL, true);
    arch.gic.setLine(LEVEL, false);
    expect(xa.inFlight[LEVEL]).toBe(2);
    expect(xen.evtchn(1).close(p1)).toBe(0);
    expect(xa.inFlight[LEVEL]).toBe(1);
    expect(xa.boundGuests(LEVEL)).toEqual([2]);
    expect(xen.evtchn(2).close(p2)).toBe(0);
    expect(xa.flags[LEVEL]).toBe(0);
    expect(arch.gic.stateOf(LEVEL) & GICD_ENABLED).toBe(0);
    expect(arch.gic.isActive(LEVEL)).toBe(false);
    // Free again: an unshared bind now succeeds.
    expect(xen.evtchn(3).bindPirq(LEVEL, 0)).toBeGreaterThan(0);
  });
});
