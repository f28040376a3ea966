import { Errno, XenError } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { GIC_SPURIOUS } from './gic.js';
import { VIRQ_ACTIVE, VIRQ_PENDING, Vgic } from './vgic.js';

function setup(nrVcpus = 2, nrLrs = 4) {
  const kicks: number[] = [];
  const deactivated: [number, number][] = [];
  const vgic = new Vgic(
    { nrVcpus, nrLrs, nrSpis: 32 },
    { kick: (v) => kicks.push(v), deactivateHw: (v, hw) => deactivated.push([v, hw]) },
  );
  return { vgic, kicks, deactivated };
}

const lrVirqs = (vgic: Vgic, vcpu: number) => vgic.listRegisters(vcpu).map((lr) => lr?.virq ?? null);

describe('Vgic injection (SPEC §5.2)', () => {
  it('ignores level=false, drops for an offline vCPU, otherwise lists the IRQ and kicks', () => {
    const { vgic, kicks } = setup();
    expect(vgic.inject(0, 20, false)).toBe('ignored');
    vgic.setOnline(1, false);
    expect(vgic.inject(1, 20)).toBe('dropped');
    expect(vgic.isInFlight(1, 20)).toBe(false);
    expect(kicks).toEqual([]);
    expect(vgic.inject(0, 20)).toBe('listed');
    expect(kicks).toEqual([0]);
    expect(lrVirqs(vgic, 0)).toEqual([20, null, null, null]);
  });

  it('an IRQ already in flight is raised again: pending+active, taken again after EOI', () => {
    const { vgic } = setup();
    vgic.inject(0, 31);
    expect(vgic.ack(0)).toBe(31);
    expect(vgic.inject(0, 31)).toBe('raised-again');
    const lr = vgic.listRegisters(0)[0]!;
    expect([lr.pending, lr.active]).toEqual([true, true]);
    expect(vgic.ack(0)).toBe(GIC_SPURIOUS); // same priority as the running one
    vgic.eoi(0, 31);
    expect(vgic.stateOf(0, 31) & (VIRQ_PENDING | VIRQ_ACTIVE)).toBe(VIRQ_PENDING);
    expect(vgic.ack(0)).toBe(31);
    vgic.eoi(0, 31);
    expect(vgic.isInFlight(0, 31)).toBe(false);
    expect(lrVirqs(vgic, 0)).toEqual([null, null, null, null]);
    // Raising it again while only pending does not duplicate it.
    vgic.inject(0, 31);
    expect(vgic.inject(0, 31)).toBe('raised-again');
    expect(vgic.inflight(0)).toEqual([31]);
  });

  it('keeps the in-flight list in priority order (ties in arrival order) and acks the most urgent', () => {
    const { vgic } = setup();
    vgic.setPriority(0, 20, 0xa0);
    vgic.setPriority(0, 21, 0x80);
    vgic.setPriority(0, 22, 0xa0);
    vgic.setPriority(0, 23, 0xc0);
    for (const v of [20, 23, 22, 21]) vgic.inject(0, v);
    expect(vgic.inflight(0)).toEqual([21, 20, 22, 23]);
    expect(vgic.ack(0)).toBe(21);
    expect(vgic.runningPriority(0)).toBe(0x80);
    expect(vgic.ack(0)).toBe(GIC_SPURIOUS);
    vgic.eoi(0, 21);
    expect(vgic.ack(0)).toBe(20);
  });

  it('list-register overflow: extra IRQs wait in the in-flight list and are loaded when an LR frees', () => {
    const { vgic } = setup(1, 2);
    expect(vgic.inject(0, 16)).toBe('listed');
    expect(vgic.inject(0, 17)).toBe('listed');
    expect(vgic.inject(0, 18)).toBe('queued');
    expect(vgic.inject(0, 19)).toBe('queued');
    expect(vgic.inflight(0)).toEqual([16, 17, 18, 19]);
    expect(lrVirqs(vgic, 0)).toEqual([16, 17]);
    const taken: number[] = [];
    for (;;) {
      const v = vgic.ack(0);
      if (v === GIC_SPURIOUS) break;
      taken.push(v);
      vgic.eoi(0, v);
    }
    expect(taken).toEqual([16, 17, 18, 19]);
    expect(vgic.inflight(0)).toEqual([]);
  });

  it('a more urgent IRQ evicts a pending-only, less urgent LR entry; active entries are never evicted', () => {
    const { vgic } = setup(1, 2);
    vgic.inject(0, 16);
    vgic.inject(0, 17);
    expect(vgic.ack(0)).toBe(16); // 16 active, 17 pending
    vgic.setPriority(0, 18, 0x40);
    expect(vgic.inject(0, 18)).toBe('listed');
    expect(lrVirqs(vgic, 0)).toEqual([16, 18]);
    expect(vgic.inflight(0)).toEqual([18, 16, 17]);
    vgic.setPriority(0, 19, 0x40);
    expect(vgic.inject(0, 19)).toBe('queued'); // nothing evictable: 16 active, 18 more urgent
    expect(vgic.ack(0)).toBe(18);
    vgic.eoi(0, 18);
    expect(lrVirqs(vgic, 0)).toEqual([16, 19]);
    expect(vgic.ack(0)).toBe(19);
    vgic.eoi(0, 19);
    vgic.eoi(0, 16);
    expect(vgic.ack(0)).toBe(17);
  });

  it('a disabled IRQ waits in the in-flight list until the guest enables it', () => {
    const { vgic, kicks } = setup();
    expect(vgic.inject(undefined, 40)).toBe('queued'); // SPIs start disabled
    expect(vgic.ack(0)).toBe(GIC_SPURIOUS);
    kicks.length = 0;
    vgic.enable(0, 40);
    expect(kicks).toEqual([0]);
    expect(vgic.ack(0)).toBe(40);
    vgic.eoi(0, 40);
    vgic.inject(0, 20);
    vgic.disable(0, 20);
    expect(lrVirqs(vgic, 0)).toEqual([null, null, null, null]);
    expect(vgic.inflight(0)).toEqual([20]);
  });

  it('routes SPIs to their target vCPU', () => {
    const { vgic } = setup(2);
    vgic.enable(0, 45);
    vgic.setSpiTarget(45, 1);
    vgic.inject(undefined, 45);
    expect(vgic.inflight(0)).toEqual([]);
    expect(vgic.inflight(1)).toEqual([45]);
    expect(() => vgic.setSpiTarget(45, 2)).toThrow(XenError);
    expect(() => vgic.inject(undefined, 64)).toThrow(XenError);
  });

  it('EOI of a HW-linked IRQ deactivates the physical one; EOI of a non-active IRQ does nothing', () => {
    const { vgic, deactivated } = setup();
    vgic.inject(1, 27, true, 27);
    vgic.eoi(1, 27); // not acked yet
    expect(deactivated).toEqual([]);
    expect(vgic.ack(1)).toBe(27);
    vgic.eoi(1, 27);
    expect(deactivated).toEqual([[1, 27]]);
    vgic.inject(1, 27); // without HW link this time
    vgic.ack(1);
    vgic.eoi(1, 27);
    expect(deactivated).toHaveLength(1);
  });

  it('guest SGIs: target list, all-but-self, self; offline targets skipped; bad SGI -EINVAL', () => {
    const { vgic } = setup(4);
    const holders = () => [0, 1, 2, 3].filter((v) => vgic.isInFlight(v, 5));
    const drain = () => {
      for (let v = 0; v < 4; v++) if (vgic.ack(v) === 5) vgic.eoi(v, 5);
    };
    expect(vgic.sendSgi(0, 5, 'list', 0b1010)).toBe(0);
    expect(holders()).toEqual([1, 3]);
    drain();
    vgic.setOnline(2, false);
    expect(vgic.sendSgi(1, 5, 'others')).toBe(0);
    expect(holders()).toEqual([0, 3]);
    drain();
    expect(vgic.sendSgi(3, 5, 'self')).toBe(0);
    expect(holders()).toEqual([3]);
    drain();
    expect(vgic.sendSgi(0, 5, 'list', 0xffff_fff0)).toBe(0); // bits past the vCPUs are ignored
    expect(holders()).toEqual([]);
    expect(vgic.sendSgi(0, 16, 'self')).toBe(-Errno.EINVAL);
    expect(vgic.sendSgi(4, 1, 'self')).toBe(-Errno.EINVAL);
  });

  it('virtual LPIs: mapped ones are injected into their vCPU, unmapped dropped', () => {
    const { vgic } = setup(2);
    expect(vgic.injectLpi(8192)).toBe('dropped');
    vgic.mapLpi(8192, 1);
    expect(vgic.injectLpi(8192)).toBe('listed');
    expect(vgic.ack(1)).toBe(8192);
    expect(() => vgic.mapLpi(100, 0)).toThrow(XenError);
  });

  it('rejects a bad list-register count', () => {
    expect(() => setup(1, 0)).toThrow(XenError);
    expect(() => setup(1, 65)).toThrow(XenError);
  });
});
