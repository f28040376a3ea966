import { describe, expect, it } from 'vitest';
import { Errno, XenError } from '@evtchn/core';
import {
  IRQ_OWNER_DYNAMIC,
  IRQ_OWNER_GSI,
  KernelPanicError,
  SCAN_DOWN_PANIC,
  X86GuestIrqSpace,
  type DynIrqPolicy,
} from './irq-space.js';

const dom0 = (policy: DynIrqPolicy, nrIrqs: number, gsiTop = 24, maxNrIrqs?: number): X86GuestIrqSpace =>
  new X86GuestIrqSpace({ policy, nrIrqs, gsiTop, nrIrqsGsi: Math.max(16, gsiTop + 16), identityGsi: true, maxNrIrqs });

const drain = (s: X86GuestIrqSpace, n: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(s.allocDynamic());
  return out;
};

describe('scan-down (≤ 2.6.38)', () => {
  it('hands out nr_irqs-1 down to nr_irqs_gsi, then the kernel panics (-ENOSPC + message)', () => {
    const s = dom0('scan-down', 48); // nr_irqs_gsi = 40
    expect(drain(s, 8)).toEqual([47, 46, 45, 44, 43, 42, 41, 40]);
    expect(s.panicMessage).toBeUndefined();
    expect(s.allocDynamic()).toBe(-Errno.ENOSPC);
    expect(s.panicMessage).toBe(SCAN_DOWN_PANIC);
    expect(SCAN_DOWN_PANIC).toBe('No available IRQ to bind to: increase nr_irqs!');
  });

  it('throws KernelPanicError (a XenError) when asked to', () => {
    const s = new X86GuestIrqSpace({ policy: 'scan-down', nrIrqs: 41, gsiTop: 24, nrIrqsGsi: 40, identityGsi: true, panicThrows: true });
    expect(s.allocDynamic()).toBe(40);
    let err: unknown;
    try {
      s.allocDynamic();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelPanicError);
    expect(err).toBeInstanceOf(XenError);
    expect((err as KernelPanicError).panicMessage).toBe(SCAN_DOWN_PANIC);
    expect((err as Error).message).toContain(SCAN_DOWN_PANIC);
  });

  it('reuses a freed IRQ', () => {
    const s = dom0('scan-down', 48);
    drain(s, 8);
    s.free(44);
    expect(s.allocDynamic()).toBe(44);
  });

  it('panics at once when nr_irqs_gsi >= nr_irqs', () => {
    const s = dom0('scan-down', 512, 504);
    expect(s.allocDynamic()).toBe(-Errno.ENOSPC);
    expect(s.panicMessage).toBe(SCAN_DOWN_PANIC);
  });
});

describe('encroach (2.6.39)', () => {
  it('goes up from nr_irqs_gsi, then eats into the GSI range; a later GSI set-up clashes', () => {
    const s = dom0('encroach', 44); // nr_irqs_gsi = 40: 4 dynamic IRQs
    expect(s.irqForGsi(16)).toBe(16); // a device set up at boot
    expect(drain(s, 4)).toEqual([40, 41, 42, 43]);
    expect(s.encroached).toBe(0);
    expect(drain(s, 2)).toEqual([17, 18]); // 16 is taken by its GSI
    expect(s.encroached).toBe(2);
    expect(s.ownerOf(17)).toBe(IRQ_OWNER_DYNAMIC);
    expect(s.clashes).toEqual([]);
    expect(s.irqForGsi(17)).toBe(-Errno.EEXIST);
    expect(s.irqForGsi(19)).toBe(19);
    expect(s.clashes).toEqual([{ gsi: 17, irq: 17 }]);
  });

  it('-ENOMEM when even the GSI range is full', () => {
    const s = dom0('encroach', 44);
    const got = drain(s, 4 + 24); // 40..43, then 16..39
    expect(new Set(got).size).toBe(28);
    expect(s.allocDynamic()).toBe(-Errno.ENOMEM);
  });
});

describe('lower-bound (modern)', () => {
  it('starts at gsi_top and grows nr_irqs on demand', () => {
    const s = dom0('lower-bound', 28);
    expect(s.dynamicLowerBound()).toBe(24);
    expect(drain(s, 4)).toEqual([24, 25, 26, 27]);
    expect(s.nrIrqs()).toBe(28);
    expect(s.allocDynamic()).toBe(28);
    expect(s.nrIrqs()).toBe(29);
    expect(s.irqForGsi(23)).toBe(23);
    expect(s.clashes).toEqual([]);
  });

  it('-ENOMEM past the cap', () => {
    const s = dom0('lower-bound', 28, 24, 30);
    expect(drain(s, 6)).toEqual([24, 25, 26, 27, 28, 29]);
    expect(s.allocDynamic()).toBe(-Errno.ENOMEM);
  });

  it('gives every GSI its identity IRQ even when nr_irqs_gsi >= nr_irqs', () => {
    const s = dom0('lower-bound', 512, 504);
    expect(drain(s, 100)[99]).toBe(603);
    expect(s.irqForGsi(503)).toBe(503);
    expect(s.ownerOf(503)).toBe(IRQ_OWNER_GSI);
  });

  it('contiguous ranges for MSI groups', () => {
    const s = dom0('lower-bound', 40);
    expect(s.allocDynamic()).toBe(24);
    s.free(24);
    expect(s.allocDynamic()).toBe(24);
    expect(s.allocDynamicRange(4)).toBe(25);
    expect(s.allocDynamicRange(0)).toBe(-Errno.EINVAL);
  });
});

describe('GSIs', () => {
  it('identity for dom0: legacy IRQs are fixed, unknown GSIs are -EINVAL', () => {
    const s = dom0('lower-bound', 100);
    expect(s.irqForGsi(4)).toBe(4);
    expect(s.irqForGsi(20)).toBe(20);
    expect(s.irqForGsi(20)).toBe(20);
    expect(s.irqForGsi(24)).toBe(-Errno.EINVAL);
    s.free(4); // legacy IRQs stay
    expect(s.allocDynamic()).toBe(24);
  });

  it('dynamic for a PV domU (no GSIs; legacy IRQs still reserved)', () => {
    const s = new X86GuestIrqSpace({ policy: 'lower-bound', nrIrqs: 48, gsiTop: 0, nrIrqsGsi: 16, identityGsi: false });
    expect(s.irqForGsi(20)).toBe(16);
    expect(s.allocDynamic()).toBe(17);
  });
});
