import { describe, expect, it } from 'vitest';
import { IoApic, RTE_REMOTE_IRR } from './ioapic.js';
import { Lapic, type LapicClient } from './lapic.js';

/** A CPU whose handler records vectors and EOIs only when told to. */
function cpu(autoEoi: boolean) {
  const taken: number[] = [];
  const ioapics: IoApic[] = [];
  const client: LapicClient = {
    interrupt: (_id, v) => {
      taken.push(v);
      if (autoEoi) lapic.eoi();
    },
    levelEoi: (_id, v) => ioapics.forEach((a) => a.eoi(v)),
  };
  const lapic = new Lapic(0, client);
  const ioapic = new IoApic({ id: 0, gsiBase: 0, pins: 24 }, { deliver: (_d, v, level) => lapic.accept(v, level) });
  ioapics.push(ioapic);
  return { taken, lapic, ioapic };
}

describe('LAPIC', () => {
  it('an in-service vector blocks its own class and below until EOI', () => {
    const { taken, lapic } = cpu(false);
    lapic.accept(0x51, false);
    lapic.accept(0x52, false);
    lapic.accept(0x41, false);
    expect(taken).toEqual([0x51]);
    lapic.accept(0x61, false);
    expect(taken).toEqual([0x51, 0x61]);
    expect(lapic.eoi()).toBe(0x61);
    expect(taken).toEqual([0x51, 0x61]);
    expect(lapic.eoi()).toBe(0x51);
    expect(taken).toEqual([0x51, 0x61, 0x52]); // 0x41 is below the in-service 0x52
    expect(lapic.eoi()).toBe(0x52);
    expect(taken).toEqual([0x51, 0x61, 0x52, 0x41]);
    expect(lapic.highestInService()).toBe(0x41);
  });

  it('state round-trips', () => {
    const { lapic } = cpu(false);
    lapic.accept(0x51, true);
    const other = cpu(false).lapic;
    other.setState(lapic.getState());
    expect(other.isInService(0x51)).toBe(true);
  });
});

describe('IO-APIC', () => {
  it('a level line fires once, sets remote IRR, and fires again after EOI while still asserted', () => {
    const { taken, lapic, ioapic } = cpu(false);
    ioapic.program(20, 0x61, 0, true, false);
    ioapic.assert(20);
    ioapic.assert(20);
    expect(taken).toEqual([0x61]);
    expect(ioapic.low[20]! & RTE_REMOTE_IRR).not.toBe(0);
    lapic.eoi(); // broadcast EOI: remote IRR clears, the line is still high
    expect(taken).toEqual([0x61, 0x61]);
    ioapic.deassert(20);
    lapic.eoi();
    expect(taken).toEqual([0x61, 0x61]);
    expect(ioapic.remoteIrr(20)).toBe(false);
  });

  it('a masked level line fires on unmask; a masked edge is lost', () => {
    const { taken, lapic, ioapic } = cpu(false);
    ioapic.program(20, 0x61, 0, true, true);
    ioapic.program(4, 0x34, 0, false, true);
    ioapic.assert(20);
    ioapic.assert(4);
    ioapic.deassert(4);
    expect(taken).toEqual([]);
    ioapic.setMasked(4, false);
    expect(taken).toEqual([]);
    ioapic.setMasked(20, false);
    expect(taken).toEqual([0x61]);
    ioapic.deassert(20);
    lapic.eoi();
    expect(taken).toEqual([0x61]);
  });

  it('an edge line fires on each rising edge only', () => {
    const { taken, ioapic } = cpu(true);
    ioapic.program(4, 0x34, 0, false, false);
    ioapic.assert(4);
    ioapic.assert(4);
    ioapic.deassert(4);
    ioapic.assert(4);
    expect(taken).toEqual([0x34, 0x34]);
  });
});
