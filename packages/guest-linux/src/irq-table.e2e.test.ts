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
  return { guest, loopback, fast: (irq: number) => guest.irqTable.fast[irq] };
}

describe('IrqTable', () => {
  it('keeps every row when it grows, doubling', () => {
    const t = new IrqTable(2, 4);
    const desc = new IrqDesc(3, t);
    const info = new IrqInfo(3, t);
    desc.status = 0x55;
    info.port = 77;
    info.isActive = 1;
    t.counts[3 * 2 + 1] = 9;
    t.ensure(4);
    expect(t.rows).toBe(8);
    t.ensure(100);
    expect(t.rows).toBe(128);
    expect(t.counts.length).toBe(256);
    expect([desc.status, info.port, info.isActive, desc.kstat[1], desc.count]).toEqual([0x55, 77, 1, 9, 9]);
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
    oldInfo.port = 12;
    oldInfo.isActive = 1;
    expect(t.fast[5]).toBe(1);
    const desc = new IrqDesc(5, t);
    const info = new IrqInfo(5, t);
    expect(desc.status).toBe(old.status);
    expect(desc.status).not.toBe(0);
    expect([info.port, info.isActive, oldInfo.port]).toEqual([0, 0, 0]);
    expect([t.fast[5], t.handler[5], t.devId[5]]).toEqual([0, null, undefined]);
  });

  it('lets stand-alone descriptors and infos keep tables of their own', () => {
    const desc = new IrqDesc(9, 3);
    const info = new IrqInfo(9);
    expect(desc.table).not.toBe(info.table);
    expect(desc.table.nrCpus).toBe(3);
    desc.info = info;
    // Another table's info, or a table without a fast chip: never the short form.
    expect(desc.table.fast[9]).toBe(0);
  });
});

describe('which IRQs take the event path short form', () => {
  it('an event channel on the dynamic chip with one action does, from request_irq to unbind', () => {
    const e = boot();
    const irq = e.guest.bindEvtchnToIrq(e.loopback());
    expect(e.fast(irq)).toBe(0); // no action yet
    expect(e.guest.requestIrq(irq, handler, IRQF_SHARED, 'a', 'a')).toBe(0);
    expect(e.fast(irq)).toBe(1);
    expect(e.guest.irqTable.handler[irq]).toBe(handler);
    expect(e.guest.irqTable.devId[irq]).toBe('a');
    // A second action: the general path runs the chain.
    expect(e.guest.requestIrq(irq, handler, IRQF_SHARED, 'b', 'b')).toBe(0);
    expect(e.fast(irq)).toBe(0);
    // Removing the second (not the head) leaves one action again.
    expect(e.guest.freeIrq(irq, 'b')).toBe('b');
    expect(e.fast(irq)).toBe(1);
    expect(e.guest.requestIrq(irq, handler, IRQF_SHARED, 'c', 'c')).toBe(0);
    // Removing the head: 'c' alone is left.
    expect(e.guest.freeIrq(irq, 'a')).toBe('a');
    expect(e.fast(irq)).toBe(1);
    expect(e.guest.irqTable.devId[irq]).toBe('c');
    e.guest.unbindFromIrqhandler(irq, 'c');
    expect(e.fast(irq)).toBe(0);
    expect(e.guest.irqTable.handler[irq]).toBeNull();
  });

  it('a VIRQ on the dynamic chip does; late-EOI channels, IPIs and per-CPU VIRQs do not', () => {
    const e = boot();
    const virq = e.guest.bindVirqToIrqhandler(VIRQ.DEBUG, 0, handler, 0, 'debug', undefined);
    expect(virq).toBeGreaterThanOrEqual(0);
    expect(e.fast(virq)).toBe(1);
    const late = e.guest.bindEvtchnToIrqhandlerLateeoi(e.loopback(), handler, 0, 'late', undefined);
    expect(e.fast(late)).toBe(0);
    const ipi = e.guest.bindIpiToIrqhandler(XenIpi.RESCHEDULE, 1, handler, 0, 'ipi', undefined);
    expect(e.fast(ipi)).toBe(0);
    const timer = e.guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, handler, IRQF_PERCPU, 'timer', undefined);
    expect(timer).toBeGreaterThanOrEqual(0);
    expect(e.fast(timer)).toBe(0);
  });

  it('a descriptor whose flow or chip changes leaves it', () => {
    const e = boot();
    const irq = e.guest.bindEvtchnToIrqhandler(e.loopback(), handler, 0, 'a', undefined);
    const desc = e.guest.irqDesc(irq)!;
    expect(e.fast(irq)).toBe(1);
    desc.flow = IrqFlow.FASTEOI;
    expect(e.fast(irq)).toBe(0);
    desc.flow = IrqFlow.EDGE;
    expect(e.fast(irq)).toBe(1);
    const chip = desc.chip;
    desc.chip = { name: 'other' };
    expect(e.fast(irq)).toBe(0);
    desc.chip = chip;
    const info = desc.info;
    desc.info = null;
    expect(e.fast(irq)).toBe(0);
    // An info whose port and active flag live elsewhere than the short form reads them.
    desc.info = new IrqInfo(irq);
    expect(e.fast(irq)).toBe(0);
    desc.info = new IrqInfo(irq + 1, e.guest.irqTable);
    expect(e.fast(irq)).toBe(0);
    desc.info = info;
    expect(e.fast(irq)).toBe(1);
  });

  it("the 2007 era's level-flow event IRQs never do", () => {
    const e = boot('2007');
    const irq = e.guest.bindEvtchnToIrqhandler(e.loopback(), handler, 0, 'a', undefined);
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(e.guest.irqDesc(irq)!.flow).toBe(IrqFlow.LEVEL);
    expect(e.fast(irq)).toBe(0);
  });
});
