import { abi2Level } from '@evtchn/abi-2level';
import { DOMID_SELF, VIRQ, VirtualClock, archNull, createPlatform } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { IRQF_PERCPU, IRQF_SHARED, IRQ_HANDLED, IrqAction, IrqDesc, IrqFlow, IrqInfo, IrqTable, LinuxGuest, XenIpi, guestLinux, type LinuxEra } from './index.js';

const handler = (): number => IRQ_HANDLED;

function boot(era: LinuxEra = 'modern') {
  const p = createPlatform({
    arch: archNull(),
    abis: [abi2Level()],
    guest: guestLinux({ fifo: false, era }),
    domains: [{ id: 1, vcpus: 2 }],
    clock: new VirtualClock(),
  });
  const pd = p.domain(1);
  const guest = pd.guest as LinuxGuest;
  const hc = pd.domain.hypercalls;
  const loopback = (): number => {
    const port = hc.allocUnbound(DOMID_SELF, DOMID_SELF);
    expect(p.hypervisor.bindLoopback(1, port)).toBe(0);
    return port;
  };
  return {
    guest,
    hc,
    loopback,
    /** The table's mark for `irq` now: 0 not known, 1 short form, 2 general. */
    mark: (irq: number) => guest.irqTable.fast[irq],
    /** Looks at the IRQ as the general path does before an event: 1 short form, 2 general. */
    qualify: (irq: number) => (guest.irqDesc(irq)!.qualifyFast(), guest.irqTable.fast[irq]),
  };
}

describe('IrqTable', () => {
  it('keeps every row when it grows, doubling', () => {
    const t = new IrqTable(2, 4);
    const desc = new IrqDesc(3, t);
    const info = new IrqInfo(3, t);
    desc.status = 0x55;
    info.isActive = 1;
    t.counts[3 * 2 + 1] = 9;
    t.ensure(4);
    expect(t.rows).toBe(8);
    t.ensure(100);
    expect(t.rows).toBe(128);
    expect(t.counts.length).toBe(256);
    expect([desc.status, info.isActive, desc.kstat[1], desc.count]).toEqual([0x55, 1, 9, 9]);
    expect(t.handler.length).toBe(128);
    expect(t.devId.length).toBe(128);
  });

  it('gives a new descriptor or info of an IRQ number a reset row (a freed one is reused memory)', () => {
    const t = new IrqTable(1);
    const chip = { name: 'dyn' };
    t.fastChip = chip;
    const old = new IrqDesc(5, t);
    const oldInfo = new IrqInfo(5, t);
    old.chip = chip;
    old.info = oldInfo;
    old.action = new IrqAction(handler, 0, 'x', 1);
    old.status = 0;
    oldInfo.isActive = 1;
    expect(old.qualifyFast()).toBe(true);
    expect([t.fast[5], t.devId[5]]).toEqual([1, 1]);
    const desc = new IrqDesc(5, t);
    const info = new IrqInfo(5, t);
    expect(desc.status).toBe(old.status);
    expect(desc.status).not.toBe(0);
    expect([info.isActive, oldInfo.isActive, t.fast[5]]).toEqual([0, 0, 0]);
  });

  it('lets stand-alone descriptors and infos keep tables of their own', () => {
    const desc = new IrqDesc(9, 3);
    const info = new IrqInfo(9);
    expect(desc.table).not.toBe(info.table);
    expect(desc.table.nrCpus).toBe(3);
    desc.info = info;
    desc.action = new IrqAction(handler, 0, 'x', 1);
    // Another table's info, or a table without a fast chip: never the short form.
    expect(desc.qualifyFast()).toBe(false);
    expect(desc.table.fast[9]).toBe(2);
    // Not even a chipless descriptor with its info in its own table (no chip is not the fast chip).
    const t = new IrqTable(1);
    const bare = new IrqDesc(2, t);
    bare.info = new IrqInfo(2, t);
    bare.action = new IrqAction(handler, 0, 'x', 1);
    expect(bare.qualifyFast()).toBe(false);
  });
});

describe('which IRQs take the event path short form', () => {
  it('an event channel on the dynamic chip with one action does, from request_irq to unbind', () => {
    const e = boot();
    const irq = e.guest.bindEvtchnToIrq(e.loopback());
    expect(e.qualify(irq)).toBe(2); // no action yet
    expect(e.guest.requestIrq(irq, handler, IRQF_SHARED, 'a', 'a')).toBe(0);
    expect(e.mark(irq)).toBe(0); // changed: looked at again before the next event
    expect(e.qualify(irq)).toBe(1);
    expect(e.guest.irqTable.handler[irq]).toBe(handler);
    expect(e.guest.irqTable.devId[irq]).toBe('a');
    // A second action (appended behind the head): off at once, and the general path runs the chain.
    expect(e.guest.requestIrq(irq, handler, IRQF_SHARED, 'b', 'b')).toBe(0);
    expect(e.mark(irq)).toBe(0);
    expect(e.qualify(irq)).toBe(2);
    // Removing the second (not the head) leaves one action again.
    expect(e.guest.freeIrq(irq, 'b')).toBe('b');
    expect(e.mark(irq)).toBe(0);
    expect(e.qualify(irq)).toBe(1);
    expect(e.guest.requestIrq(irq, handler, IRQF_SHARED, 'c', 'c')).toBe(0);
    expect(e.qualify(irq)).toBe(2);
    // Removing the head: 'c' alone is left.
    expect(e.guest.freeIrq(irq, 'a')).toBe('a');
    expect(e.mark(irq)).toBe(0);
    expect(e.qualify(irq)).toBe(1);
    expect(e.guest.irqTable.devId[irq]).toBe('c');
    e.guest.unbindFromIrqhandler(irq, 'c');
    expect(e.mark(irq)).toBe(0);
    // The table lets go of the handler and devId of a freed action.
    expect([e.guest.irqTable.handler[irq], e.guest.irqTable.devId[irq]]).toEqual([null, undefined]);
  });

  it('is decided by the first event after a change', () => {
    const e = boot();
    const port = e.loopback();
    let runs = 0;
    const irq = e.guest.bindEvtchnToIrqhandler(port, () => (runs++, IRQ_HANDLED), 0, 'a', undefined);
    expect(e.mark(irq)).toBe(0);
    e.hc.send(port);
    e.guest.upcall(0);
    expect([runs, e.mark(irq)]).toEqual([1, 1]);
    e.hc.send(port);
    e.guest.upcall(0);
    expect([runs, e.mark(irq)]).toEqual([2, 1]);
  });

  it('a VIRQ on the dynamic chip does; late-EOI channels, IPIs and per-CPU VIRQs do not', () => {
    const e = boot();
    const virq = e.guest.bindVirqToIrqhandler(VIRQ.DEBUG, 0, handler, 0, 'debug', undefined);
    expect(virq).toBeGreaterThanOrEqual(0);
    expect(e.qualify(virq)).toBe(1);
    const late = e.guest.bindEvtchnToIrqhandlerLateeoi(e.loopback(), handler, 0, 'late', undefined);
    expect(e.qualify(late)).toBe(2);
    const ipi = e.guest.bindIpiToIrqhandler(XenIpi.RESCHEDULE, 1, handler, 0, 'ipi', undefined);
    expect(e.qualify(ipi)).toBe(2);
    const timer = e.guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, handler, IRQF_PERCPU, 'timer', undefined);
    expect(timer).toBeGreaterThanOrEqual(0);
    expect(e.qualify(timer)).toBe(2);
  });

  it('a descriptor whose flow, chip or info changes leaves it at once', () => {
    const e = boot();
    const irq = e.guest.bindEvtchnToIrqhandler(e.loopback(), handler, 0, 'a', undefined);
    const desc = e.guest.irqDesc(irq)!;
    expect(e.qualify(irq)).toBe(1);
    desc.flow = IrqFlow.FASTEOI;
    expect(e.mark(irq)).toBe(0);
    expect(e.qualify(irq)).toBe(2);
    desc.flow = IrqFlow.EDGE;
    expect(e.qualify(irq)).toBe(1);
    const chip = desc.chip;
    desc.chip = { name: 'other' };
    expect(e.mark(irq)).toBe(0);
    expect(e.qualify(irq)).toBe(2);
    desc.chip = chip;
    expect(e.qualify(irq)).toBe(1);
    const info = desc.info;
    desc.info = null;
    expect(e.mark(irq)).toBe(0);
    expect(e.qualify(irq)).toBe(2);
    // An info whose active flag lives elsewhere than the short form reads it.
    desc.info = new IrqInfo(irq);
    expect(e.qualify(irq)).toBe(2);
    desc.info = new IrqInfo(irq + 1, e.guest.irqTable);
    expect(e.qualify(irq)).toBe(2);
    desc.info = info;
    expect(e.qualify(irq)).toBe(1);
  });

  it("the 2007 era's level-flow event IRQs never do", () => {
    const e = boot('2007');
    const irq = e.guest.bindEvtchnToIrqhandler(e.loopback(), handler, 0, 'a', undefined);
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(e.guest.irqDesc(irq)!.flow).toBe(IrqFlow.LEVEL);
    expect(e.qualify(irq)).toBe(2);
  });
});
