import { describe, expect, it } from 'vitest';
import { Errno, XenError } from '@evtchn/core';
import {
  IRQ_OWNER_DYNAMIC,
  IRQ_OWNER_GSI,
  KernelPanicError,
  SCAN_DOWN_PANIC,
  SCAN_DOWN_WARN,
  X86GuestIrqSpace,
  type DynIrqPolicy,
} from './irq-space.js';
import { X86Architecture } from './architecture.js';

const dom0 = (policy: DynIrqPolicy, nrIrqs: number, gsiTop = 24, maxNrIrqs?: number): X86GuestIrqSpace =>
  new X86GuestIrqSpace({ policy, nrIrqs, gsiTop, nrIrqsGsi: Math.max(16, gsiTop + 16), identityGsi: true, maxNrIrqs });

const drain = (s: X86GuestIrqSpace, n: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(s.allocDynamic());
  return out;
};

describe('scan-down (Linux <= 2.6.38 find_unbound_irq)', () => {
  // Linux 2.6.38 drivers/xen/events.c find_unbound_irq: bottom = get_nr_hw_irqs() (nr_irqs_gsi),
  // `for (irq = nr_irqs-1; irq > bottom; irq--)`, `if (irq == bottom) goto no_irqs` (panic).
  it('hands out nr_irqs-1 down to nr_irqs_gsi+1 (never nr_irqs_gsi itself), then the kernel panics', () => {
    const s = dom0('scan-down', 48); // nr_irqs_gsi = 40
    expect(drain(s, 7)).toEqual([47, 46, 45, 44, 43, 42, 41]);
    expect(s.panicMessage).toBeUndefined();
    expect(s.allocDynamic()).toBe(-Errno.ENOSPC);
    expect(s.ownerOf(40)).not.toBe(IRQ_OWNER_DYNAMIC);
    expect(s.panicMessage).toBe(SCAN_DOWN_PANIC);
    expect(SCAN_DOWN_PANIC).toBe('No available IRQ to bind to: increase nr_irqs!');
  });

  it('throws KernelPanicError (a XenError) when asked to', () => {
    const s = new X86GuestIrqSpace({ policy: 'scan-down', nrIrqs: 42, gsiTop: 24, nrIrqsGsi: 40, identityGsi: true, panicThrows: true });
    expect(s.allocDynamic()).toBe(41);
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
    drain(s, 7);
    s.free(44);
    expect(s.allocDynamic()).toBe(44);
  });

  it('panics at once when nr_irqs_gsi == nr_irqs', () => {
    const s = dom0('scan-down', 40); // nr_irqs_gsi = 40
    expect(s.allocDynamic()).toBe(-Errno.ENOSPC);
    expect(s.panicMessage).toBe(SCAN_DOWN_PANIC);
  });

  it('nr_irqs_gsi > nr_irqs: IRQ nr_irqs-1 once, then WARN and -1, no panic', () => {
    // 2.6.37-2.6.38 find_unbound_irq: the loop body never runs (irq = nr_irqs-1 > bottom fails),
    // irq != bottom, so irq_alloc_desc_at(nr_irqs-1): the first time it succeeds, the next time
    // it fails and `if (WARN_ON(res != irq)) return -1;`.
    const s = dom0('scan-down', 512, 504); // nr_irqs_gsi = 520 > 512
    expect(s.allocDynamic()).toBe(511);
    expect(s.warnings).toEqual([]);
    expect(s.allocDynamic()).toBe(-1);
    expect(s.allocDynamic()).toBe(-1);
    expect(s.warnings).toEqual([SCAN_DOWN_WARN, SCAN_DOWN_WARN]);
    expect(s.panicMessage).toBeUndefined();
    s.free(511);
    expect(s.allocDynamic()).toBe(511);
  });

  it('the upstream example: a 3-vCPU PV domU gets timer0 at IRQ 295 ... callfunc0 at 292', () => {
    // Commit 3a69e916 "xen: Find an unbound irq number in reverse order" (Linux 2.6.36-era
    // drivers/xen/events.c): /proc/interrupts of a 3-vCPU PV domU shows 295 timer0, 294
    // spinlock0, 293 resched0, 292 callfunc0. nr_irqs is 2.6.3x arch_probe_nr_irqs
    // (2.6.39 arch/x86/kernel/apic/io_apic.c): min(256*3, 16 + 8*3 + 16*16) = 296.
    const arch = new X86Architecture({ nrPcpus: 3, upcallMode: 'pv', dynIrqPolicy: 'scan-down' });
    const domU = arch.createGuestIrqSpace({ domid: 1, nrCpus: 3, privileged: false });
    expect(domU.nrIrqs()).toBe(296);
    const [timer0, spinlock0, resched0, callfunc0] = drain(domU, 4);
    expect({ timer0, spinlock0, resched0, callfunc0 }).toEqual({ timer0: 295, spinlock0: 294, resched0: 293, callfunc0: 292 });
    // The modern arch_probe_nr_irqs would have given 64 (top IRQ 63), not the kernel's 296.
    const modern = arch.createGuestIrqSpace({ domid: 2, nrCpus: 3, privileged: false, policy: 'lower-bound' });
    expect(modern.nrIrqs()).toBe(64);
  });
});

describe('encroach (commit 89911501, early 2011)', () => {
  // Commit 89911501 "xen: events: allocate GSIs and dynamic IRQs from separate IRQ ranges",
  // drivers/xen/events.c xen_allocate_irq_dynamic: irq_alloc_desc_from(nr_irqs_gsi) in a fixed
  // nr_irqs, then retries lower. The step (16) and the final panic are this model's documented
  // assumption (the commit's code was not found; docs/guides/x86-irq-eras.md).
  it('goes up from nr_irqs_gsi, then retries 16 lower each time; first fallbacks avoid real GSIs', () => {
    // gsi_top 24, nr_irqs_gsi 40, nr_irqs 44: 4 dynamic IRQs above the GSIs.
    const s = dom0('encroach', 44);
    expect(s.irqForGsi(16)).toBe(16); // a device set up at boot
    expect(drain(s, 4)).toEqual([40, 41, 42, 43]);
    expect(s.encroached).toBe(0);
    // Retry from max(16, 40 - 16) = 24: IRQs 24..39 are below nr_irqs_gsi but no GSI uses them.
    expect(drain(s, 16)).toEqual(Array.from({ length: 16 }, (_, i) => 24 + i));
    expect(s.encroached).toBe(16);
    // Retry from 16: 16 is taken by its GSI, so 17, 18 (identity IRQs of GSIs not set up yet).
    expect(drain(s, 2)).toEqual([17, 18]);
    expect(s.encroached).toBe(18);
    expect(s.ownerOf(17)).toBe(IRQ_OWNER_DYNAMIC);
    expect(s.clashes).toEqual([]);
    expect(s.irqForGsi(17)).toBe(-Errno.EEXIST);
    expect(s.irqForGsi(19)).toBe(19);
    expect(s.clashes).toEqual([{ gsi: 17, irq: 17 }]);
  });

  it('the kernel panics when even the GSI range is full (no growing nr_irqs before 2.6.39)', () => {
    const s = dom0('encroach', 44);
    const got = drain(s, 4 + 24); // 40..43, then 24..39, then 16..23
    expect(new Set(got).size).toBe(28);
    expect(s.nrIrqs()).toBe(44);
    expect(s.allocDynamic()).toBe(-Errno.ENOSPC);
    expect(s.panicMessage).toBe(SCAN_DOWN_PANIC);
  });

  it('a PV domU allocates from 0 (the legacy IRQs are taken) and has no fallback', () => {
    const s = new X86GuestIrqSpace({ policy: 'encroach', nrIrqs: 18, gsiTop: 0, nrIrqsGsi: 16, identityGsi: false });
    expect(drain(s, 2)).toEqual([16, 17]);
    expect(s.allocDynamic()).toBe(-Errno.ENOSPC);
    expect(s.encroached).toBe(0);
  });
});

describe('alloc-from (Linux 2.6.39-3.16)', () => {
  // 2.6.39 drivers/xen/events.c xen_allocate_irq_dynamic: irq_alloc_desc_from(first = nr_irqs_gsi
  // for dom0/HVM, 0 for a PV domU); kernel/irq/irqdesc.c irq_alloc_descs grows nr_irqs with
  // irq_expand_nr_irqs up to IRQ_BITMAP_BITS (kernel/irq/internals.h: NR_IRQS + 8196).
  it('starts at nr_irqs_gsi, grows nr_irqs, never touches the GSI range', () => {
    const s = dom0('alloc-from', 44); // nr_irqs_gsi = 40
    expect(drain(s, 4)).toEqual([40, 41, 42, 43]);
    expect(s.allocDynamic()).toBe(44);
    expect(s.nrIrqs()).toBe(45);
    expect(s.encroached).toBe(0);
    expect(s.irqForGsi(23)).toBe(23);
    expect(s.clashes).toEqual([]);
  });

  it('nr_irqs_gsi > nr_irqs (the seed machine): 520.. with no clash', () => {
    const s = dom0('alloc-from', 512, 504);
    const got = drain(s, 100);
    expect(got[0]).toBe(520);
    expect(got[99]).toBe(619);
    expect(s.nrIrqs()).toBe(620);
    expect(s.irqForGsi(503)).toBe(503);
    expect(s.clashes).toEqual([]);
  });

  it('-ENOMEM past IRQ_BITMAP_BITS; a PV domU starts at 0 (first free: 16)', () => {
    const s = dom0('alloc-from', 44, 24, 46);
    expect(drain(s, 6)).toEqual([40, 41, 42, 43, 44, 45]);
    expect(s.allocDynamic()).toBe(-Errno.ENOMEM);
    const pv = new X86GuestIrqSpace({ policy: 'alloc-from', nrIrqs: 17, gsiTop: 0, nrIrqsGsi: 16, identityGsi: false });
    expect(drain(pv, 3)).toEqual([16, 17, 18]);
    expect(pv.nrIrqs()).toBe(19);
  });
});

describe('lower-bound (Linux 3.17+)', () => {
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
