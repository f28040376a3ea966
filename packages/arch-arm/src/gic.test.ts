import { XenError } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { GIC_PRI_IDLE, GIC_SPURIOUS, Gic, irqClass } from './gic.js';

describe('irqClass', () => {
  it('maps IDs to SGI/PPI/SPI/special/eSPI/LPI (SPEC §5.1)', () => {
    const cases: [number, string][] = [
      [0, 'sgi'], [15, 'sgi'], [16, 'ppi'], [27, 'ppi'], [31, 'ppi'], [32, 'spi'], [1019, 'spi'],
      [1020, 'special'], [1023, 'special'], [1024, 'reserved'], [4095, 'reserved'], [4096, 'espi'],
      [5119, 'espi'], [5120, 'reserved'], [8191, 'reserved'], [8192, 'lpi'], [65535, 'lpi'], [-1, 'reserved'], [1.5, 'reserved'],
    ];
    for (const [id, cls] of cases) expect([id, irqClass(id)]).toEqual([id, cls]);
  });
});

describe('Gic', () => {
  it('returns spurious 1023 when nothing is pending, enabled and inactive', () => {
    const gic = new Gic({ nrCpus: 2, nrLines: 64 });
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS);
    gic.setPending(40);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS); // disabled
    gic.enable(40);
    expect(gic.acknowledge(0)).toBe(40);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS); // active now
  });

  it('banks SGIs and PPIs per CPU', () => {
    const gic = new Gic({ nrCpus: 2, nrLines: 64 });
    gic.enable(20, 1);
    gic.setPending(20, 0);
    gic.setPending(20, 1);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS); // CPU 0's copy is disabled
    expect(gic.acknowledge(1)).toBe(20);
    expect(gic.isActive(20, 1)).toBe(true);
    expect(gic.isActive(20, 0)).toBe(false);
    expect(gic.isPending(20, 0)).toBe(true);
  });

  it('delivers an SPI only to its target CPU', () => {
    const gic = new Gic({ nrCpus: 2, nrLines: 64 });
    gic.enable(33);
    gic.setTarget(33, 1);
    gic.setPending(33);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS);
    expect(gic.acknowledge(1)).toBe(33);
    expect(() => gic.setTarget(5, 1)).toThrow(XenError);
  });

  it('acknowledges by priority and lets only higher priority preempt; EOI drops, deactivate ends', () => {
    const gic = new Gic({ nrCpus: 1, nrLines: 64 });
    for (const [id, pri] of [[40, 0xa0], [41, 0x80], [42, 0xa0]] as const) {
      gic.enable(id);
      gic.setPriority(id, pri);
    }
    gic.setPending(40);
    expect(gic.acknowledge(0)).toBe(40);
    expect(gic.runningPriority(0)).toBe(0xa0);
    gic.setPending(42); // same priority: must wait
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS);
    gic.setPending(41); // higher priority: preempts
    expect(gic.acknowledge(0)).toBe(41);
    gic.eoi(0, 41);
    gic.deactivate(0, 41);
    gic.eoi(0, 40); // priority drop only: 40 stays active
    expect(gic.runningPriority(0)).toBe(GIC_PRI_IDLE);
    expect(gic.isActive(40)).toBe(true);
    expect(gic.acknowledge(0)).toBe(42);
    gic.setPending(40);
    gic.eoi(0, 42);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS); // 40 pending but still active
    gic.deactivate(0, 40);
    expect(gic.acknowledge(0)).toBe(40);
  });

  it('level interrupts follow the line; edges latch', () => {
    const gic = new Gic({ nrCpus: 1, nrLines: 64 });
    gic.enable(27, 0); // timer PPI: level
    gic.setLine(27, true, 0);
    expect(gic.isPending(27, 0)).toBe(true);
    gic.setLine(27, false, 0);
    expect(gic.isPending(27, 0)).toBe(false);
    gic.configure(40, false);
    gic.enable(40);
    gic.setLine(40, true);
    gic.setLine(40, false);
    expect(gic.isPending(40)).toBe(true); // the edge latched
    // A level interrupt still asserted after acknowledge is active and pending.
    gic.setLine(27, true, 0);
    expect(gic.acknowledge(0)).toBe(27);
    expect(gic.isActive(27, 0) && gic.isPending(27, 0)).toBe(true);
  });

  it('sends SGIs to a target list, all others, or self', () => {
    const gic = new Gic({ nrCpus: 4, nrLines: 32 });
    for (let c = 0; c < 4; c++) gic.enable(3, c);
    const pending = () => [0, 1, 2, 3].map((c) => gic.isPending(3, c));
    gic.sendSgi(1, 3, 'list', 0b1001);
    expect(pending()).toEqual([true, false, false, true]);
    for (let c = 0; c < 4; c++) gic.clearPending(3, c);
    gic.sendSgi(1, 3, 'others');
    expect(pending()).toEqual([true, false, true, true]);
    for (let c = 0; c < 4; c++) gic.clearPending(3, c);
    gic.sendSgi(2, 3, 'self');
    expect(pending()).toEqual([false, false, true, false]);
    expect(() => gic.sendSgi(0, 16, 'self')).toThrow(XenError);
  });

  it('LPIs: configured ones are delivered to their target, have no active state; unconfigured are dropped', () => {
    const gic = new Gic({ nrCpus: 2, nrLines: 32 });
    gic.raiseLpi(8200);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS);
    gic.configureLpi(8200, { target: 1, priority: 0x90 });
    gic.raiseLpi(8200);
    expect(gic.acknowledge(0)).toBe(GIC_SPURIOUS);
    expect(gic.acknowledge(1)).toBe(8200);
    gic.raiseLpi(8200); // no active state: pending again is deliverable once the priority drops
    gic.eoi(1, 8200);
    expect(gic.acknowledge(1)).toBe(8200);
    expect(() => gic.configureLpi(100)).toThrow(XenError);
  });

  it('calls the CPU handler when an interrupt is signalled, not while masked, not nested', () => {
    const gic = new Gic({ nrCpus: 2, nrLines: 64 });
    const taken: string[] = [];
    gic.setCpuHandler((cpu) => {
      for (;;) {
        const id = gic.acknowledge(cpu);
        if (id === GIC_SPURIOUS) break;
        taken.push(`${cpu}:${id}`);
        if (id === 40) gic.setPending(41); // raised while handling: picked up by the same loop
        gic.eoi(cpu, id);
        gic.deactivate(cpu, id);
      }
    });
    gic.enable(40);
    gic.enable(41);
    gic.setPending(40);
    expect(taken).toEqual(['0:40', '0:41']);
    gic.maskCpu(0);
    gic.setPending(40);
    expect(taken).toHaveLength(2);
    gic.unmaskCpu(0);
    expect(taken).toEqual(['0:40', '0:41', '0:40', '0:41']);
  });

  it('a handler that acknowledges nothing does not spin', () => {
    const gic = new Gic({ nrCpus: 1, nrLines: 64 });
    let calls = 0;
    gic.setCpuHandler(() => calls++);
    gic.enable(40);
    gic.setPending(40);
    expect(calls).toBe(1);
  });

  it('getState/setState round-trips', () => {
    const a = new Gic({ nrCpus: 2, nrLines: 64 });
    a.enable(40);
    a.setTarget(40, 1);
    a.setPending(40);
    a.setPriority(41, 0x30);
    a.configureLpi(9000, { target: 1 });
    a.raiseLpi(9000);
    expect(a.acknowledge(1)).toBe(40); // equal priority: the lower ID wins
    const b = new Gic({ nrCpus: 2, nrLines: 64 });
    b.setState(a.getState());
    expect(b.getState()).toEqual(a.getState());
    expect(b.runningPriority(1)).toBe(a.runningPriority(1));
    expect(b.acknowledge(1)).toBe(GIC_SPURIOUS); // 40 is being handled; LPI 9000 has the same priority
    expect(() => new Gic({ nrCpus: 1, nrLines: 32 }).setState(a.getState())).toThrow(XenError);
  });

  it('rejects bad sizes and IDs', () => {
    expect(() => new Gic({ nrCpus: 0 })).toThrow(XenError);
    expect(() => new Gic({ nrCpus: 1, nrLines: 1021 })).toThrow(XenError);
    const gic = new Gic({ nrCpus: 1, nrLines: 64 });
    expect(() => gic.enable(64)).toThrow(XenError);
    expect(() => gic.enable(20, 1)).toThrow(XenError);
  });
});
