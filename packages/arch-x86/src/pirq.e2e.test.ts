import { describe, expect, it } from 'vitest';
import { createPlatform } from '@evtchn/core';
import { abi2Level } from '@evtchn/abi-2level';
import { archX86 } from './plugin.js';
import type { X86Architecture } from './architecture.js';
import { XENIRQSTAT_NEEDS_EOI, XENIRQSTAT_SHARED } from './xen-irq.js';

describe('x86 pirqs through the hypervisor core', () => {
  it('a level GSI shared by two domUs: both ports go pending, the line is EOI\'d after both PHYSDEVOP_eoi', () => {
    const platform = createPlatform({
      arch: archX86({ nrPcpus: 2 }),
      abis: [abi2Level()],
      domains: [
        { id: 0, vcpus: 2 },
        { id: 1, vcpus: 1, pirqs: [16] },
        { id: 2, vcpus: 1, pirqs: [16] },
      ],
    });
    const arch = platform.arch as X86Architecture;
    const xen = platform.hypervisor;
    // The toolstack maps GSI 20 into both domUs (lowest free GSI pirq: 16).
    expect(arch.mapPirq(1, { type: 'gsi', gsi: 20 })).toBe(16);
    expect(arch.mapPirq(2, { type: 'gsi', gsi: 20 })).toBe(16);
    const p1 = xen.evtchn(1).bindPirq(16, 1);
    const p2 = xen.evtchn(2).bindPirq(16, 1);
    expect(p1).toBeGreaterThan(0);
    expect(p2).toBeGreaterThan(0);
    expect(xen.physdev(1).irqStatusQuery(16)).toBe(XENIRQSTAT_NEEDS_EOI | XENIRQSTAT_SHARED);

    arch.assertGsi(20);
    expect(xen.query(1, p1)).toMatchObject({ rc: 0, pending: true });
    expect(xen.query(2, p2)).toMatchObject({ rc: 0, pending: true });
    arch.deassertGsi(20);
    const lapic = arch.irqs.lapics[arch.irqs.describe(20)!.cpu]!;
    expect(xen.physdev(1).eoi(16)).toBe(0);
    expect(lapic.eoiCount).toBe(0);
    expect(xen.physdev(2).eoi(16)).toBe(0);
    expect(lapic.eoiCount).toBe(1);

    // Closing a port unbinds the guest from the IRQ.
    expect(xen.evtchn(2).close(p2)).toBe(0);
    expect(arch.irqs.describe(20)!.nrGuests).toBe(1);
  });
});
