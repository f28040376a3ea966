/*
 * Migration of a Linux guest between two platforms (core `migrateDomain` + this package's
 * resume path). Behaviour checked against Linux's `xen_irq_resume` (2.6.39 drivers/xen/events.c
 * and modern drivers/xen/events/events_base.c, events_fifo.c `evtchn_fifo_resume` /
 * `init_control_block`) and Xen's xen/common/event_channel.c (`evtchn_close` turning the peer's
 * interdomain port UNBOUND; `evtchn_send` dropping a send on an UNBOUND port with 0).
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import {
  DOMID_SELF,
  Errno,
  VIRQ,
  XenError,
  archNull,
  createPlatform,
  lsevtchn,
  migrateDomain,
  type EvtchnStatus,
  type Platform,
} from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { IRQF_PERCPU, IRQ_HANDLED, XEN_EOI_FLAG_SPURIOUS, XenIpi, guestLinux, type IrqHandler, type IrqResumeReport, type LinuxGuest } from './index.js';

type AbiName = '2level' | 'fifo';
const DOMU = 7;

function platform(abi: AbiName, withDomU: boolean, domUPirqs: number[] = []): Platform {
  return createPlatform({
    arch: archNull({ deliver: true }),
    abis: abi === 'fifo' ? [abi2Level(), abiFifo()] : [abi2Level()],
    guest: guestLinux({ fifo: abi === 'fifo' }),
    domains: [{ id: 0, vcpus: 1 }, ...(withDomU ? [{ id: DOMU, vcpus: 2, pirqs: domUPirqs }] : [])],
  });
}

const guestOf = (p: Platform, id: number): LinuxGuest => p.domain(id).guest as LinuxGuest;

/** Keeps what the guest's resume path reports (migrateDomain calls `guest.resume`). */
function captureResume(guest: LinuxGuest): { report?: IrqResumeReport } {
  const out: { report?: IrqResumeReport } = {};
  const resume = guest.resume.bind(guest);
  guest.resume = (ctx) => (out.report = resume(ctx));
  return out;
}

function status(p: Platform, dom: number, port: number): EvtchnStatus {
  const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
  expect(p.hypervisor.evtchn(0).status(dom, port, out)).toBe(0);
  return out;
}

/** A handler that records the CPU each run happened on. */
function cpuRecorder(guest: () => LinuxGuest): { cpus: number[]; handler: IrqHandler } {
  const cpus: number[] = [];
  return {
    cpus,
    handler: () => {
      cpus.push(guest().currentCpu);
      return IRQ_HANDLED;
    },
  };
}

describe.each<AbiName>(['fifo', '2level'])('migrating a %s guest', (abi) => {
  it('rebinds VIRQ_TIMER and the IPIs on their vCPUs, with new ports', () => {
    const a = platform(abi, true);
    const b = platform(abi, false);
    const guest = guestOf(a, DOMU);
    // Two ports taken first on the source, so the per-CPU ports get other numbers there.
    expect(a.domain(DOMU).domain.hypercalls.allocUnbound(DOMID_SELF, 0)).toBe(1);
    expect(a.domain(DOMU).domain.hypercalls.allocUnbound(DOMID_SELF, 0)).toBe(2);
    const timer = cpuRecorder(() => guest);
    const ipi = cpuRecorder(() => guest);
    const timerIrqs = [0, 1].map((cpu) => guest.bindVirqToIrqhandler(VIRQ.TIMER, cpu, timer.handler, IRQF_PERCPU, `timer${cpu}`, null));
    const ipiIrqs = [0, 1].map((cpu) => guest.bindIpiToIrqhandler(XenIpi.CALL_FUNCTION, cpu, ipi.handler, 0, `callfunc${cpu}`, null));
    const portsBefore = [...timerIrqs, ...ipiIrqs].map((irq) => guest.evtchnFromIrq(irq));
    expect(portsBefore).toEqual([3, 4, 5, 6]);

    const resumed = captureResume(guest);
    const moved = migrateDomain(a, DOMU, b);
    const where = b;
    expect(resumed.report).toEqual({ virqs: 2, ipis: 2, pirqs: 0, leftToDrivers: 0 });
    expect(moved.guest).toBe(guest);
    expect(moved.pagesCopied).toBe(abi === 'fifo' ? 3 : 0); // two control blocks + one event-array page
    expect(a.domains.has(DOMU)).toBe(false);
    expect(a.hypervisor.domain(DOMU)).toBeUndefined();

    // Same IRQs, new ports (the destination's lowest free ones), on the same vCPUs.
    expect([0, 1].map((cpu) => guest.irqFromVirq(cpu, VIRQ.TIMER))).toEqual(timerIrqs);
    expect([0, 1].map((cpu) => guest.irqFromIpi(cpu, XenIpi.CALL_FUNCTION))).toEqual(ipiIrqs);
    const portsAfter = [...timerIrqs, ...ipiIrqs].map((irq) => guest.evtchnFromIrq(irq));
    // CPU by CPU, VIRQs then IPIs (restore_cpu_virqs, restore_cpu_ipis).
    expect(portsAfter).toEqual([1, 3, 2, 4]);
    expect(portsAfter.map((port) => status(b, DOMU, port))).toEqual([
      { status: 'virq', vcpu: 0, virq: VIRQ.TIMER },
      { status: 'virq', vcpu: 1, virq: VIRQ.TIMER },
      { status: 'ipi', vcpu: 0 },
      { status: 'ipi', vcpu: 1 },
    ]);
    // The old port numbers mean nothing any more: 5 and 6 are unmapped, 3 (timer0's before) is timer1's now.
    expect([5, 6].map((port) => guest.irqFromEvtchn(port))).toEqual([-1, -1]);
    expect(guest.irqFromEvtchn(3)).toBe(timerIrqs[1]);

    where.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, 1);
    where.run(100_000);
    where.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, 0);
    where.run(100_000);
    expect(timer.cpus).toEqual([1, 0]);
    expect(guest.sendIpi(1, XenIpi.CALL_FUNCTION)).toBe(0);
    where.run(100_000);
    expect(guest.sendIpi(0, XenIpi.CALL_FUNCTION)).toBe(0);
    where.run(100_000);
    expect(ipi.cpus).toEqual([1, 0]);
    expect(b.domain(DOMU).domain.counters.droppedNoControlBlock).toBe(0);
  });

  it('shows the before/after port tables with lsevtchn', () => {
    const a = platform(abi, true);
    const b = platform(abi, false);
    const guest = guestOf(a, DOMU);
    const handler: IrqHandler = () => IRQ_HANDLED;
    guest.bindVirqToIrqhandler(VIRQ.TIMER, 0, handler, IRQF_PERCPU, 'timer0', null);
    guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, handler, IRQF_PERCPU, 'timer1', null);
    const ring = new TestRing(guest, guestOf(a, 0), () => a);
    expect(ring.frontIrq).toBeGreaterThanOrEqual(0);
    guest.bindIpiToIrqhandler(XenIpi.RESCHEDULE, 1, handler, 0, 'resched1', null);
    expect(lsevtchn(a.hypervisor, DOMU)).toBe(
      [
        '   1: VCPU 0: Virtual IRQ 0',
        '   2: VCPU 1: Virtual IRQ 0',
        '   3: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 1',
        '   4: VCPU 1: IPI',
        '',
      ].join('\n'),
    );
    ring.back = guestOf(b, 0);
    ring.platform = () => b;
    migrateDomain(a, DOMU, b);
    // VIRQs and IPIs first (the kernel's resume), then the ring its driver connected again.
    expect(lsevtchn(b.hypervisor, DOMU)).toBe(
      [
        '   1: VCPU 0: Virtual IRQ 0',
        '   2: VCPU 1: Virtual IRQ 0',
        '   3: VCPU 1: IPI',
        '   4: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 1',
        '',
      ].join('\n'),
    );
    // The source's backend sees its end of the old ring waiting for the dead domain.
    expect(lsevtchn(a.hypervisor, 0)).toBe(`   1: VCPU 0: Interdomain (Waiting connection) - Remote Domain ${DOMU}\n`);
  });

  it('re-establishes an interdomain ring through the driver, and events flow both ways', () => {
    const a = platform(abi, true);
    const b = platform(abi, false);
    const guest = guestOf(a, DOMU);
    const ring = new TestRing(guest, guestOf(a, 0), () => a);
    a.run(100_000);
    expect([ring.frontRuns, ring.backRuns]).toEqual([0, 1]); // bind_interdomain left the backend's new port pending (Xen's rule)
    expect(ring.notifyBack()).toBe(0);
    a.run(100_000);
    expect(ring.notifyFront()).toBe(0);
    a.run(100_000);
    expect([ring.frontRuns, ring.backRuns]).toEqual([1, 2]);
    const oldFrontIrq = ring.frontIrq;

    ring.back = guestOf(b, 0);
    ring.platform = () => b;
    migrateDomain(a, DOMU, b);
    // The frontend's driver freed its port-less IRQ and bound a new one.
    expect(guest.irqDesc(oldFrontIrq) === undefined || ring.frontIrq === oldFrontIrq).toBe(true);
    b.run(100_000);
    expect([ring.frontRuns, ring.backRuns]).toEqual([1, 3]); // the new binding's pending bit
    expect(ring.notifyBack()).toBe(0);
    b.run(100_000);
    expect(ring.notifyFront()).toBe(0);
    b.run(100_000);
    expect([ring.frontRuns, ring.backRuns]).toEqual([2, 4]);
  });

  it('loses events in flight across the move and drops what the old peer sends afterwards', () => {
    const a = platform(abi, true);
    const b = platform(abi, false);
    const guest = guestOf(a, DOMU);
    const oldBack = guestOf(a, 0);
    const ring = new TestRing(guest, oldBack, () => a);
    a.run(100_000);
    const oldBackPort = oldBack.evtchnFromIrq(ring.backIrq);
    const frontRunsBefore = ring.frontRuns;
    // Sent just before the move: pending in the source domain, not yet taken by its vCPU.
    expect(ring.notifyFront()).toBe(0);
    const srcPort = guest.evtchnFromIrq(ring.frontIrq);
    expect(a.domain(DOMU).domain.abi.isPending(srcPort)).toBe(true);

    ring.back = guestOf(b, 0);
    ring.platform = () => b;
    migrateDomain(a, DOMU, b);
    b.run(1_000_000);
    a.run(1_000_000);
    // Lost with the source domain: the destination's pending state started empty.
    expect(ring.frontRuns).toBe(frontRunsBefore);

    // The old backend's port turned UNBOUND towards the dead domain id (evtchn_close).
    expect(status(a, 0, oldBackPort)).toEqual({ status: 'unbound', vcpu: 0, dom: DOMU });
    // Sending on it is silently dropped (Xen's evtchn_send on ECS_UNBOUND returns 0).
    expect(oldBack.notifyRemoteViaIrq(ring.backIrq)).toBe(0);
    b.run(1_000_000);
    expect(ring.frontRuns).toBe(frontRunsBefore);
    // Connecting to the old domain again: it does not exist on the source any more.
    expect(a.domain(0).domain.hypercalls.bindInterdomain(DOMU, 1)).toBe(-Errno.ESRCH);
    // The old backend's driver closes its end.
    oldBack.unbindFromIrqhandler(ring.backIrq, ring);
    expect(lsevtchn(a.hypervisor, 0)).toBe('');
  });
});

/**
 * A split driver: a frontend in the domU offers a port to the backend domain, the backend binds
 * it. The frontend's resume callback frees its old IRQ (it has no port any more: no close) and
 * connects again to `back`, the backend on the platform the guest now runs on.
 */
class TestRing {
  frontIrq = -1;
  backIrq = -1;
  frontRuns = 0;
  backRuns = 0;
  constructor(
    readonly front: LinuxGuest,
    public back: LinuxGuest,
    public platform: () => Platform,
  ) {
    this.connect();
    front.onResume(() => {
      front.unbindFromIrqhandler(this.frontIrq, this);
      this.connect();
    });
  }
  connect(): void {
    const port = this.platform().hypervisor.evtchn(this.front.domid).allocUnbound(DOMID_SELF, this.back.domid);
    expect(port).toBeGreaterThan(0);
    this.frontIrq = this.front.bindEvtchnToIrqhandler(port, () => (this.frontRuns++, IRQ_HANDLED), 0, 'ring-front', this);
    expect(this.frontIrq).toBeGreaterThanOrEqual(0);
    this.backIrq = this.back.bindInterdomainEvtchnToIrqhandler(this.front.domid, port, () => (this.backRuns++, IRQ_HANDLED), 0, 'ring-back', this);
    expect(this.backIrq).toBeGreaterThanOrEqual(0);
  }
  notifyBack(): number {
    return this.front.notifyRemoteViaIrq(this.frontIrq);
  }
  notifyFront(): number {
    return this.back.notifyRemoteViaIrq(this.backIrq);
  }
}

describe('migration: pirqs, the evtchn device, deferred EOIs and refusals', () => {
  it('restores GSI pirqs the destination grants, warns for refused ones and leaves MSI pirqs to their driver', () => {
    const a = platform('fifo', true, [20, 21, 40]);
    const b = platform('fifo', false);
    const guest = guestOf(a, DOMU);
    const handler: IrqHandler = () => IRQ_HANDLED;
    const granted = guest.bindPirqGsiToIrq(20, 20, false, 'ioapic-edge');
    const refused = guest.bindPirqGsiToIrq(21, 21, false, 'ioapic-edge');
    const msi = guest.bindPirqMsiToIrq(40, 1, 'msi');
    for (const irq of [granted, refused, msi]) expect(guest.requestIrq(irq, handler, 0, `pirq-irq${irq}`, null)).toBe(0);
    expect([granted, refused, msi].map((irq) => guest.evtchnFromIrq(irq))).toEqual([1, 2, 3]);
    const warnings: string[] = [];
    b.bus.on('warn', (_who, message) => warnings.push(message));

    const resumed = captureResume(guest);
    migrateDomain(a, DOMU, b, { config: { pirqs: [20, 40] } });
    expect(resumed.report).toEqual({ virqs: 0, ipis: 0, pirqs: 1, leftToDrivers: 2 });
    expect(guest.evtchnFromIrq(granted)).toBe(1);
    expect(status(b, DOMU, 1)).toEqual({ status: 'pirq', vcpu: 0, pirq: 20 });
    expect(guest.evtchnFromIrq(refused)).toBe(0);
    expect(warnings.some((w) => w.includes(`Failed to obtain physical IRQ ${refused} (-${Errno.EPERM})`))).toBe(true);
    expect(guest.evtchnFromIrq(msi)).toBe(0);
    expect(lsevtchn(b.hypervisor, DOMU)).toBe('   1: VCPU 0: Physical IRQ 20\n');
  });

  it("forgets the evtchn device's ports; their owner binds again from its resume callback", () => {
    const a = platform('fifo', true);
    const b = platform('fifo', false);
    const guest = guestOf(a, DOMU);
    const h = guest.evtchnDevice.open();
    const port = h.bindUnboundPort(0);
    expect(port).toBe(1);
    let rebound = -1;
    guest.onResume(() => {
      rebound = h.bindUnboundPort(0);
    });
    migrateDomain(a, DOMU, b);
    expect(rebound).toBe(1);
    expect(h.boundPorts()).toEqual([1]);
    expect(status(b, DOMU, 1)).toEqual({ status: 'unbound', vcpu: 0, dom: 0 });
    // The peer (dom0 on the destination) connects and notifies: the handle sees it.
    const back = b.domain(0).domain.hypercalls.bindInterdomain(DOMU, 1);
    expect(back).toBeGreaterThan(0);
    expect(b.domain(0).domain.hypercalls.send(back)).toBe(0);
    b.run(100_000);
    expect(h.pending()).toBe(1);
  });

  it("leaves a port the device's owner does not rebind unknown to the handle", () => {
    const a = platform('2level', true);
    const b = platform('2level', false);
    const guest = guestOf(a, DOMU);
    const h = guest.evtchnDevice.open();
    expect(h.bindUnboundPort(0)).toBe(1);
    migrateDomain(a, DOMU, b);
    expect(h.boundPorts()).toEqual([]);
    expect(h.notify(1)).toBe(-Errno.ENOTCONN);
    expect(lsevtchn(b.hypervisor, DOMU)).toBe('');
  });

  it('re-registers the FIFO control blocks on the destination, cleared, at the same gfns', () => {
    const a = platform('fifo', true);
    const b = platform('fifo', false);
    const guest = guestOf(a, DOMU);
    const handler: IrqHandler = () => IRQ_HANDLED;
    guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, handler, IRQF_PERCPU, 'timer1', null);
    // An event left queued on the source: READY and HEAD set in CPU 1's control block (gfn 2).
    a.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, 1);
    expect(a.domain(DOMU).domain.abi.isPending(1)).toBe(true);
    const srcMem = a.domain(DOMU).domain.memory;
    const touched = [1, 2, 3].map((gfn) => srcMem.page(gfn)!.some((w) => w !== 0));
    expect(touched).toEqual([false, true, true]); // CPU 0's block is empty, CPU 1's holds READY and HEAD, then the event array
    expect(b.hypervisor.domain(DOMU)).toBeUndefined();

    migrateDomain(a, DOMU, b);
    const dst = b.domain(DOMU).domain;
    expect(dst.abi.name).toBe('fifo');
    // The guest's memory came along; the control blocks (gfns 1 and 2) start empty again.
    expect(dst.memory.page(1)!.every((w) => w === 0)).toBe(true);
    expect(dst.memory.page(2)!.every((w) => w === 0)).toBe(true);
    // Registered: a second init_control for the same vCPU is refused.
    expect(dst.hypercalls.initControl(1, 0, 1)).toBe(-Errno.EINVAL);
    expect(dst.abi.isPending(1)).toBe(false);
  });

  it('keeps a deferred late EOI as far in the future on the destination clock, and skips it once the IRQ lost its port', () => {
    const a = platform('fifo', true);
    const b = platform('fifo', false);
    a.run(10_000_000_000); // the source's clock is 10 s ahead of the destination's
    const guest = guestOf(a, DOMU);
    const dom0 = a.domain(0).domain.hypercalls;
    const remote = dom0.allocUnbound(DOMID_SELF, DOMU);
    const irq = guest.bindInterdomainEvtchnToIrqhandlerLateeoi(0, remote, () => IRQ_HANDLED, 0, 'lateeoi', null);
    expect(irq).toBeGreaterThanOrEqual(0);
    a.run(1_000_000);
    guest.lateEoi(irq, XEN_EOI_FLAG_SPURIOUS); // 1st spurious: at the threshold, EOI now
    expect(dom0.send(remote)).toBe(0);
    a.run(1_000_000);
    guest.lateEoi(irq, XEN_EOI_FLAG_SPURIOUS); // 2nd: past it, delayed by one jiffy
    expect(guest.pendingEois(0).length).toBe(1);

    migrateDomain(a, DOMU, b);
    expect(guest.pendingEois(0).length).toBe(1);
    b.run(20_000_000); // a few jiffies: without the shift it would wait 10 s
    expect(guest.pendingEois(0).length).toBe(0);
    expect(guest.irqInfo(irq)!.port).toBe(0); // nothing was EOIed on a port it no longer has
    expect(guest.irqInfo(irq)!.isActive).toBe(1);
  });

  it('keeps a disabled IRQ masked after the move until its driver enables it', () => {
    const a = platform('fifo', true);
    const b = platform('fifo', false);
    const guest = guestOf(a, DOMU);
    const timer = cpuRecorder(() => guest);
    const irq = guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, timer.handler, IRQF_PERCPU, 'timer1', null);
    guest.disableIrq(irq);
    migrateDomain(a, DOMU, b);
    const port = guest.evtchnFromIrq(irq);
    expect(port).toBe(1);
    b.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, 1);
    b.run(100_000);
    expect(timer.cpus).toEqual([]);
    expect(b.domain(DOMU).domain.abi.isMasked(port)).toBe(true);
    guest.enableIrq(irq); // the event that waited is delivered now
    b.run(100_000);
    expect(timer.cpus).toEqual([1]);
  });

  it('takes the id the destination gives it: the ring reconnects under the new id', () => {
    const a = platform('fifo', true);
    const b = platform('fifo', false);
    const guest = guestOf(a, DOMU);
    const ring = new TestRing(guest, guestOf(a, 0), () => a);
    ring.back = guestOf(b, 0);
    ring.platform = () => b;
    migrateDomain(a, DOMU, b, { config: { id: 12 } });
    expect(guest.domid).toBe(12);
    expect(lsevtchn(b.hypervisor, 0)).toBe('   1: VCPU 0: Interdomain (Connected) - Remote Domain 12, Port 1\n');
    b.run(100_000);
    expect(ring.notifyFront()).toBe(0);
    b.run(100_000);
    expect(ring.frontRuns).toBe(1);
  });

  it('refuses a missing domain, a guest-less domain and a taken id, changing nothing', () => {
    const a = platform('fifo', true);
    const b = platform('fifo', true);
    expect(() => migrateDomain(a, 9, b)).toThrow(XenError);
    expect(() => migrateDomain(a, DOMU, b)).toThrow(/already has a domain 7/);
    expect(a.hypervisor.domain(DOMU)).toBeDefined();
    a.addDomain({ id: 3, guest: false });
    try {
      migrateDomain(a, 3, platform('fifo', false));
      expect.unreachable();
    } catch (e) {
      expect((e as XenError).errno).toBe(Errno.EOPNOTSUPP);
    }
    expect(a.hypervisor.domain(3)).toBeDefined();
  });

  it("refuses a destination that does not offer the guest's ABI, changing nothing", () => {
    const a = platform('fifo', true);
    const b = platform('2level', false);
    expect(() => migrateDomain(a, DOMU, b)).toThrow(/does not offer the 'fifo' ABI/);
    expect(a.domain(DOMU).guest).toBe(guestOf(a, DOMU));
    expect(b.hypervisor.domain(DOMU)).toBeUndefined();
  });

  it('creates a new guest half on the destination when the ABI cannot migrate its own', () => {
    const a = platform('2level', true);
    const b = platform('2level', false);
    const guest = guestOf(a, DOMU);
    const old = guest.abi;
    Object.defineProperty(old, 'migrate', { value: undefined });
    const timer = cpuRecorder(() => guest);
    guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, timer.handler, IRQF_PERCPU, 'timer1', null);
    migrateDomain(a, DOMU, b);
    expect(guest.abi).not.toBe(old);
    expect(guest.abi.name).toBe('2level');
    b.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, 1);
    b.run(100_000);
    expect(timer.cpus).toEqual([1]);
  });

  it('stops (Linux: BUG) when the destination refuses a VIRQ binding, leaving no half-made domain', () => {
    const a = platform('2level', true);
    const b = platform('2level', false);
    const guest = guestOf(a, DOMU);
    for (const cpu of [0, 1]) guest.bindVirqToIrqhandler(VIRQ.TIMER, cpu, () => IRQ_HANDLED, IRQF_PERCPU, `timer${cpu}`, null);
    // The destination lets the domain have port 1 only: CPU 1's VIRQ_TIMER gets -ENOSPC.
    expect(() => migrateDomain(a, DOMU, b, { config: { maxEvtchnPort: 1 } })).toThrow(/EVTCHNOP_bind_virq failed: -ENOSPC.*VIRQ 0 on CPU 1/);
    expect(b.hypervisor.domain(DOMU)).toBeUndefined();
  });

  it('destroys the half-made destination domain when the guest cannot resume there', () => {
    const a = platform('fifo', true);
    const b = platform('fifo', false);
    expect(() => migrateDomain(a, DOMU, b, { config: { vcpus: 1 } })).toThrow(/cannot resume with 1 vCPUs/);
    expect(b.hypervisor.domain(DOMU)).toBeUndefined();
    expect(b.domains.has(DOMU)).toBe(false);
  });
});
