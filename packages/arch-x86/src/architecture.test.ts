import { describe, expect, it } from 'vitest';
import { container } from 'tsyringe';
import { Architecture, Clock, Errno, VirtualClock, type HypervisorLink, type UpcallSink } from '@evtchn/core';

const ENOMEM = -Errno.ENOMEM;
import { X86Architecture } from './architecture.js';
import { archX86 } from './plugin.js';
import { HYPERVISOR_CALLBACK_VECTOR } from './vectors.js';
import { XENIRQSTAT_NEEDS_EOI } from './xen-irq.js';

/** A guest whose upcall handler records its nesting depth and runs a per-call action. */
class RecordingSink implements UpcallSink {
  readonly calls: number[] = [];
  depth = 0;
  maxDepth = 0;
  onUpcall: ((vcpu: number, n: number) => void) | undefined;
  upcall(vcpu: number): void {
    this.depth++;
    this.maxDepth = Math.max(this.maxDepth, this.depth);
    this.calls.push(vcpu);
    this.onUpcall?.(vcpu, this.calls.length);
    this.depth--;
  }
}

const dom = (id: number, nrVcpus = 2, privileged = false) => ({ id, nrVcpus, privileged, nrPirqs: 64 });

/** Runs the architecture's clock long enough for every raised upcall to be taken. */
const settle = (arch: X86Architecture): void => arch.clock.runUntil(arch.clock.now() + 1_000_000);

describe('archX86 plugin', () => {
  it('registers the Architecture in a child container, on the platform clock', () => {
    const c = container.createChildContainer();
    const clock = new VirtualClock();
    c.register(Clock, { useValue: clock });
    archX86({ nrPcpus: 2 }).register(c);
    const arch = c.resolve<X86Architecture>(Architecture);
    expect(arch).toBeInstanceOf(X86Architecture);
    expect(arch.name).toBe('x86');
    expect(arch.clock).toBe(clock);
    expect(c.resolve(Architecture)).toBe(arch);
    expect(archX86().name).toBe('arch-x86');
    expect(archX86().kind).toBe('arch');
  });
});

describe('upcall delivery', () => {
  it('callback vector: sets 0xF3 in the vCPU\'s vLAPIC; a re-request during the handler runs after it', () => {
    const arch = new X86Architecture({ upcallMode: 'callback-vector' });
    const sink = new RecordingSink();
    arch.attachDomain(dom(1), sink);
    const vlapic = arch.upcallState(1)!.vlapics[1]!;
    sink.onUpcall = (vcpu, n) => {
      expect(vlapic.isInService(HYPERVISOR_CALLBACK_VECTOR)).toBe(true);
      if (n === 1) {
        arch.deliverUpcall(1, vcpu);
        expect(vlapic.isRequested(HYPERVISOR_CALLBACK_VECTOR)).toBe(true);
      }
    };
    arch.deliverUpcall(1, 1);
    // Delivery only requests the vector; the vCPU takes it when the runner runs it.
    expect(sink.calls).toEqual([]);
    expect(vlapic.isRequested(HYPERVISOR_CALLBACK_VECTOR)).toBe(true);
    settle(arch);
    expect(sink.calls).toEqual([1, 1]);
    expect(sink.maxDepth).toBe(1);
    expect(vlapic.isInService(HYPERVISOR_CALLBACK_VECTOR)).toBe(false);
    expect(vlapic.isRequested(HYPERVISOR_CALLBACK_VECTOR)).toBe(false);
  });

  it('GSI/INTx: only vCPU 0 gets it; the level line re-fires after EOI when re-asserted', () => {
    const arch = new X86Architecture({ upcallMode: 'gsi' });
    const sink = new RecordingSink();
    arch.attachDomain(dom(1), sink);
    const up = arch.upcallState(1)!;
    arch.deliverUpcall(1, 1);
    settle(arch);
    expect(sink.calls).toEqual([]);
    expect(up.droppedNotVcpu0).toBe(1);
    sink.onUpcall = (_v, n) => {
      if (n === 1) arch.deliverUpcall(1, 0);
    };
    arch.deliverUpcall(1, 0);
    settle(arch);
    expect(sink.calls).toEqual([0, 0]);
    expect(sink.maxDepth).toBe(1);
    expect(up.vioapic!.remoteIrr(up.callbackGsi)).toBe(false);
    expect(up.vioapic!.lines[up.callbackGsi]).toBe(0);
  });

  it('PV: direct callback, never re-entered', () => {
    const arch = new X86Architecture({ upcallMode: 'pv' });
    const sink = new RecordingSink();
    arch.attachDomain(dom(1), sink);
    sink.onUpcall = (vcpu, n) => {
      if (n < 3) arch.deliverUpcall(1, vcpu);
    };
    arch.deliverUpcall(1, 0);
    expect(sink.calls).toEqual([]);
    settle(arch);
    expect(sink.calls).toEqual([0, 0, 0]);
    expect(sink.maxDepth).toBe(1);
  });

  it('the mode can be chosen per domain', () => {
    const arch = new X86Architecture({ upcallMode: (info) => (info.privileged ? 'pv' : 'callback-vector') });
    arch.attachDomain(dom(0, 1, true), new RecordingSink());
    arch.attachDomain(dom(1), new RecordingSink());
    expect(arch.upcallState(0)!.mode).toBe('pv');
    expect(arch.upcallState(1)!.mode).toBe('callback-vector');
  });
});

describe('line → pirq → guest port → upcall → PHYSDEVOP_eoi', () => {
  it('guests run after the physical handler, and the line is EOI\'d only after both guests EOI', () => {
    const clock = new VirtualClock();
    const arch = new X86Architecture({ nrPcpus: 2, upcallMode: 'callback-vector' }, clock);
    const sinks = new Map<number, RecordingSink>();
    const portOf = new Map<string, number>();
    // The fake hypervisor: a pirq's port goes pending and the upcall is marked at once.
    const link: HypervisorLink = {
      sendGuestPirq(domid, pirq) {
        arch.deliverUpcall(domid, 0);
        return portOf.get(`${domid}:${pirq}`) ?? 0;
      },
      raiseVirq() {},
    };
    arch.connect(link);
    const lineEoisSeen: number[] = [];
    for (const id of [1, 2]) {
      const sink = new RecordingSink();
      sinks.set(id, sink);
      arch.attachDomain(dom(id), sink);
      const pirq = arch.mapPirq(id, { type: 'gsi', gsi: 20 });
      portOf.set(`${id}:${pirq}`, 5);
      expect(arch.pirqs.guestBind(id, 0, pirq, true)).toBe(0);
      sink.onUpcall = () => {
        // A guest never runs inside the hypervisor's interrupt handler.
        expect(arch.irqs.inInterrupt).toBe(false);
        expect(arch.pirqs.irqStatusQuery(id, pirq) & XENIRQSTAT_NEEDS_EOI).toBe(XENIRQSTAT_NEEDS_EOI);
        lineEoisSeen.push(arch.irqs.lapics[0]!.eoiCount);
        arch.deassertGsi(20);
        expect(arch.pirqs.eoi(id, pirq)).toBe(0);
      };
    }
    arch.assertGsi(20);
    // The physical handler returned before either guest ran.
    expect(sinks.get(1)!.calls).toEqual([]);
    settle(arch);
    expect(sinks.get(1)!.calls).toEqual([0]);
    expect(sinks.get(2)!.calls).toEqual([0]);
    // When each guest ran, the LAPIC had not been EOI'd; it was after the second guest's EOI.
    expect(lineEoisSeen).toEqual([0, 0]);
    expect(arch.irqs.lapics[0]!.eoiCount).toBe(1);
    expect(arch.irqs.describe(20)!.inFlight).toBe(0);
  });
});

describe('guest IRQ spaces', () => {
  const seed = { nrPcpus: 2, ioApics: Array.from({ length: 21 }, (_, i) => ({ id: i, gsiBase: 24 * i, pins: 24 })) };

  it('dom0 with 2 vCPUs and 504 GSIs: nr_irqs 512 <= nr_irqs_gsi 520', () => {
    const arch = new X86Architecture(seed);
    const s = arch.createGuestIrqSpace({ domid: 0, nrCpus: 2, privileged: true });
    expect(s.nrIrqs()).toBe(512);
    expect(s.nrIrqsGsi).toBe(520);
    expect(s.identityGsi).toBe(true);
    expect(s.policy).toBe('lower-bound');
  });

  it('alloc-from (2.6.39-3.16) caps growth at IRQ_BITMAP_BITS = NR_IRQS + 8196', () => {
    // kernel/irq/internals.h (2.6.39): IRQ_BITMAP_BITS = NR_IRQS + 8196; NR_IRQS = 256 + 64 * 64 = 4352.
    const arch = new X86Architecture({ nrPcpus: 1, ioApics: [{ id: 0, gsiBase: 0, pins: 24 }], dynIrqPolicy: 'alloc-from' });
    const s = arch.createGuestIrqSpace({ domid: 0, nrCpus: 1, privileged: true });
    expect(s.nrIrqs()).toBe(256);
    // nr_irqs_gsi = 40: one run from 40 to the last IRQ the bitmap has, then nothing.
    expect(s.allocDynamicRange(4352 + 8196 - 40)).toBe(40);
    expect(s.nrIrqs()).toBe(4352 + 8196);
    expect(s.allocDynamic()).toBe(ENOMEM);
  });

  it('HVM domU sees its virtual IO-APIC; PV domU has no GSIs', () => {
    const hvm = new X86Architecture({ ...seed, upcallMode: 'callback-vector' }).createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect(hvm.gsiTop).toBe(48);
    expect(hvm.identityGsi).toBe(true);
    const pv = new X86Architecture({ ...seed, upcallMode: 'pv', dynIrqPolicy: 'scan-down' }).createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect(pv.gsiTop).toBe(0);
    expect(pv.identityGsi).toBe(false);
    expect(pv.policy).toBe('scan-down');
    // scan-down is a 2.6.3x policy: 2.6.39 io_apic.c arch_probe_nr_irqs with nr_cpu_ids 1,
    // nr_irqs_gsi 16: min(256, 16 + 8 + 16 * 16) = 256
    expect(pv.nrIrqs()).toBe(256);
    // lower-bound (3.17+) sizes it the modern way: min(256, 0 + 16 + 8 + 8) = 32
    const modern = new X86Architecture({ ...seed, upcallMode: 'pv' }).createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect(modern.nrIrqs()).toBe(32);
  });
});
