import { Architecture, Clock, Errno, RoundRobinScheduler, Scheduler, VirtualClock, XenError } from '@evtchn/core';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { ArmArchitecture, IRQ_GUEST, IRQ_INPROGRESS, archArm } from './arm-architecture.js';
import { HWDOM_RESERVED_PPIS, PPI_EVTCHN_UPCALL, allocateHwdomEvtchnPpi } from './gic.js';
import { ARM64_NR_IRQS } from './guest-irq-space.js';

function domU(arch: ArmArchitecture, id = 1, nrVcpus = 2) {
  const upcalls: number[] = [];
  arch.attachDomain({ id, nrVcpus, privileged: false, nrPirqs: 0 }, { upcall: (v) => void upcalls.push(v) });
  return upcalls;
}

describe('ArmArchitecture basics', () => {
  it("is named 'arm' and has no pirq backend (bind_pirq → -EOPNOTSUPP in the core)", () => {
    const arch = new ArmArchitecture();
    expect(arch.name).toBe('arm');
    expect((arch as Architecture).pirqs).toBeUndefined();
    expect(arch.listRegisters).toBe(4);
    expect(arch.vtimerStrategy).toBe('xen-owned');
  });

  it('the plugin registers one Architecture built with the container clock and scheduler', () => {
    const c = container.createChildContainer();
    const clock = new VirtualClock();
    const sched = new RoundRobinScheduler(clock, { nrPcpus: 2, timeSlice: 100 });
    c.register(Clock, { useValue: clock });
    c.register(Scheduler, { useValue: sched });
    const plugin = archArm({ listRegisters: 2, vtimer: 'guest-percpu' });
    expect([plugin.name, plugin.kind]).toEqual(['arch-arm', 'arch']);
    plugin.register(c);
    const arch = c.resolve<ArmArchitecture>(Architecture);
    expect(arch).toBeInstanceOf(ArmArchitecture);
    expect(c.resolve(Architecture)).toBe(arch);
    expect([arch.nrPcpus, arch.listRegisters, arch.vtimerStrategy]).toEqual([2, 2, 'guest-percpu']);
    expect(arch.physicalTimer(1)).toBeDefined();
  });

  it('refuses a pCPU count that disagrees with the scheduler', () => {
    const clock = new VirtualClock();
    const scheduler = new RoundRobinScheduler(clock, { nrPcpus: 2, timeSlice: 100 });
    expect(() => new ArmArchitecture({ clock, scheduler, nrPcpus: 3 })).toThrow(XenError);
  });

  it('creates an arm64 guest IRQ space: nr_irqs 64 growing, IRQ 0 never used', () => {
    const space = new ArmArchitecture().createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect(space.nrIrqs()).toBe(ARM64_NR_IRQS);
    expect(space.allocDynamic()).toBe(1);
    expect(space.allocDynamicRange!(70)).toBe(2);
    expect(space.nrIrqs()).toBe(72);
    space.free(1);
    expect(space.allocDynamic()).toBe(1);
    expect(space.allocDynamicRange!(0)).toBe(-Errno.EINVAL);
  });
});

describe('event-channel upcall as the domain\'s event PPI', () => {
  it('without a scheduler the upcall runs at once, and never re-enters a vCPU handling PPI 31', () => {
    const arch = new ArmArchitecture();
    let depth = 0;
    let maxDepth = 0;
    let calls = 0;
    arch.attachDomain(
      { id: 1, nrVcpus: 1, privileged: false, nrPirqs: 0 },
      {
        upcall: () => {
          calls++;
          depth++;
          maxDepth = Math.max(maxDepth, depth);
          expect(arch.handlingIrq(1, 0)).toBe(PPI_EVTCHN_UPCALL);
          if (calls === 1) {
            arch.deliverUpcall(1, 0); // an event sent from inside the handler
            expect(calls).toBe(1); // PPI 31 is active: pending again, not re-entered
            expect(arch.vgic(1).listRegisters(0)[0]).toMatchObject({ virq: 31, pending: true, active: true });
          }
          depth--;
        },
      },
    );
    arch.deliverUpcall(1, 0);
    expect(calls).toBe(2); // delivered again after the handler's EOI
    expect(maxDepth).toBe(1);
    expect(arch.vgic(1).isInFlight(0, PPI_EVTCHN_UPCALL)).toBe(false);
    arch.deliverUpcall(9, 0); // unknown domain: nothing
  });

  it('the hardware domain gets the first free PPI (16), domUs GUEST_EVTCHN_PPI 31', () => {
    // Xen 4.x xen/arch/arm/domain_build.c evtchn_allocate: vgic_allocate_ppi once the hardware
    // domain's PPIs (its timer PPIs 27, 29, 30) are reserved; the boot log reads "Allocating PPI
    // 16 for event channel interrupt". DomUs: GUEST_EVTCHN_PPI = 31 (public/arch-arm.h).
    expect(HWDOM_RESERVED_PPIS).toEqual([27, 29, 30]);
    expect(allocateHwdomEvtchnPpi()).toBe(16);
    expect(allocateHwdomEvtchnPpi([16, 17, 27])).toBe(18);
    expect(allocateHwdomEvtchnPpi(Array.from({ length: 16 }, (_, i) => 16 + i))).toBe(-1);
    const arch = new ArmArchitecture();
    const seen: [number, number][] = [];
    arch.attachDomain({ id: 0, nrVcpus: 1, privileged: true, nrPirqs: 0 }, { upcall: () => void seen.push([0, arch.handlingIrq(0, 0)]) });
    arch.attachDomain({ id: 1, nrVcpus: 1, privileged: false, nrPirqs: 0 }, { upcall: () => void seen.push([1, arch.handlingIrq(1, 0)]) });
    expect(arch.evtchnPpi(0)).toBe(16);
    expect(arch.evtchnPpi(1)).toBe(PPI_EVTCHN_UPCALL);
    arch.deliverUpcall(0, 0);
    arch.deliverUpcall(1, 0);
    expect(seen).toEqual([[0, 16], [1, 31]]);
    // A PPI 31 injected into dom0 is not its event interrupt: no upcall.
    arch.injectVirq(0, 0, PPI_EVTCHN_UPCALL);
    expect(seen).toHaveLength(2);
  });

  it('with a scheduler the upcall waits until the vCPU runs, waking a blocked one', () => {
    const clock = new VirtualClock();
    const scheduler = new RoundRobinScheduler(clock, { nrPcpus: 1, timeSlice: 100 });
    const arch = new ArmArchitecture({ clock, scheduler });
    const upcalls = domU(arch, 1, 2);
    scheduler.addVcpu(1, 0);
    scheduler.addVcpu(1, 1, { blocked: true });
    scheduler.start();
    arch.deliverUpcall(1, 0);
    expect(upcalls).toEqual([0]); // running: at once
    arch.deliverUpcall(1, 1);
    expect(upcalls).toEqual([0]);
    expect(scheduler.stateOf(1, 1)).toBe('runnable');
    clock.runUntil(100);
    expect(scheduler.current(0)).toEqual({ domid: 1, vcpu: 1 });
    expect(upcalls).toEqual([0, 1]);
  });

  it('an offline vCPU drops the upcall', () => {
    const arch = new ArmArchitecture();
    const upcalls = domU(arch, 1, 2);
    arch.setVcpuOnline(1, 1, false);
    arch.deliverUpcall(1, 1);
    expect(upcalls).toEqual([]);
  });

  it('a deferred handler holds the vCPU until guestEoi; the upcall comes after it', () => {
    const arch = new ArmArchitecture();
    const upcalls = domU(arch, 1, 1);
    const seen: number[] = [];
    arch.setGuestIrqHandler(1, 20, (_v, virq) => {
      seen.push(virq);
      return 'deferred';
    });
    arch.injectVirq(1, 0, 20);
    arch.deliverUpcall(1, 0);
    expect(seen).toEqual([20]);
    expect(upcalls).toEqual([]);
    arch.guestEoi(1, 0, 20);
    expect(upcalls).toEqual([0]);
    arch.setGuestIrqHandler(1, 20, undefined);
    arch.injectVirq(1, 0, 20);
    expect(seen).toEqual([20]);
  });
});

describe('SPI routing to guests (SPEC §5.2)', () => {
  it('returns the documented errno for each refusal', () => {
    const arch = new ArmArchitecture();
    domU(arch, 1);
    domU(arch, 2);
    expect(arch.routeIrqToGuest(7, 40, 40)).toBe(-Errno.ESRCH);
    expect(arch.routeIrqToGuest(1, 31, 40)).toBe(-Errno.EINVAL); // virq < 32
    expect(arch.routeIrqToGuest(1, 32 + 64, 40)).toBe(-Errno.EINVAL); // past the domain's vSPIs
    expect(arch.routeIrqToGuest(1, 40, 27)).toBe(-Errno.EINVAL); // a PPI
    expect(arch.routeIrqToGuest(1, 40, 256)).toBe(-Errno.EINVAL); // not a line
    expect(arch.routeIrqToGuest(1, 40, 40)).toBe(-Errno.EIO); // type not configured
    expect(arch.configureIrqType(40, 'level')).toBe(0);
    expect(arch.configureIrqType(41, 'edge')).toBe(0);
    expect(arch.configureIrqType(42, 'edge')).toBe(0);
    expect(arch.configureIrqType(20, 'edge')).toBe(-Errno.EINVAL);
    expect(arch.requestXenIrq(42, () => {})).toBe(0);
    expect(arch.routeIrqToGuest(1, 42, 42)).toBe(-Errno.EBUSY); // used by Xen
    expect(arch.routeIrqToGuest(1, 40, 40)).toBe(0);
    expect(arch.irqFlags(40)).toBe(IRQ_GUEST);
    expect(arch.routeIrqToGuest(1, 40, 40)).toBe(0); // same pair again
    expect(arch.routeIrqToGuest(2, 40, 40)).toBe(-Errno.EBUSY); // owned by another domain
    expect(arch.routeIrqToGuest(1, 45, 40)).toBe(-Errno.EBUSY); // routed to a different virq
    expect(arch.routeIrqToGuest(1, 40, 41)).toBe(-Errno.EBUSY); // virq taken by another irq
    expect(arch.requestXenIrq(40, () => {})).toBe(-Errno.EBUSY);
    expect(arch.releaseIrqFromGuest(1, 40)).toBe(0);
    expect(arch.releaseIrqFromGuest(1, 40)).toBe(-Errno.EINVAL);
    expect(arch.routeIrqToGuest(2, 40, 40)).toBe(0);
  });

  it('a routed SPI is injected into the vCPU the virtual distributor picks; the guest EOI deactivates it', () => {
    const arch = new ArmArchitecture();
    const got: [number, number][] = [];
    domU(arch, 1, 2);
    arch.setGuestIrqHandler(1, 50, (vcpu, virq) => {
      got.push([vcpu, virq]);
      expect(arch.irqFlags(40) & IRQ_INPROGRESS).toBe(IRQ_INPROGRESS);
      expect(arch.gic.isActive(40)).toBe(true);
      return 'deferred';
    });
    arch.configureIrqType(40, 'edge');
    expect(arch.routeIrqToGuest(1, 50, 40)).toBe(0);
    const vgic = arch.vgic(1);
    vgic.enable(0, 50);
    vgic.setSpiTarget(50, 1);
    arch.gic.setLine(40, true);
    arch.gic.setLine(40, false);
    expect(got).toEqual([[1, 50]]);
    expect(vgic.listRegisters(1)[0]).toMatchObject({ virq: 50, hw: 40, active: true });
    arch.gic.setLine(40, true); // a second edge while the physical one is active: latched
    arch.gic.setLine(40, false);
    expect(got).toHaveLength(1);
    arch.guestEoi(1, 1, 50);
    expect(got).toEqual([[1, 50], [1, 50]]); // the latched edge fires once deactivated
    arch.guestEoi(1, 1, 50);
    expect(arch.irqFlags(40) & IRQ_INPROGRESS).toBe(0);
    expect(arch.gic.isActive(40)).toBe(false);
  });

  it('a Xen-owned SPI runs Xen’s handler and is deactivated at once', () => {
    const arch = new ArmArchitecture();
    const handled: number[] = [];
    arch.configureIrqType(60, 'edge');
    arch.requestXenIrq(60, (_cpu, irq) => handled.push(irq));
    arch.gic.setPending(60);
    expect(handled).toEqual([60]);
    expect(arch.gic.isActive(60)).toBe(false);
  });
});

describe('guest SGIs and LPIs', () => {
  it('delivers guest SGIs in the three target modes through the running guest', () => {
    const arch = new ArmArchitecture();
    domU(arch, 1, 3);
    const got: number[] = [];
    arch.setGuestIrqHandler(1, 3, (vcpu) => {
      got.push(vcpu);
    });
    expect(arch.guestSendSgi(1, 0, 3, 'list', 0b110)).toBe(0);
    expect(got).toEqual([1, 2]);
    expect(arch.guestSendSgi(1, 1, 3, 'others')).toBe(0);
    expect(got).toEqual([1, 2, 0, 2]);
    expect(arch.guestSendSgi(1, 2, 3, 'self')).toBe(0);
    expect(got).toEqual([1, 2, 0, 2, 2]);
    expect(arch.guestSendSgi(1, 0, 16, 'self')).toBe(-Errno.EINVAL);
    expect(arch.guestSendSgi(5, 0, 1, 'self')).toBe(-Errno.ESRCH);
  });

  it('maps a host LPI to a virtual LPI of a vCPU', () => {
    const arch = new ArmArchitecture();
    domU(arch, 1, 2);
    const got: [number, number][] = [];
    arch.setGuestIrqHandler(1, 8300, (vcpu, virq) => {
      got.push([vcpu, virq]);
    });
    expect(arch.mapHostLpi(9000, 1, 1, 8300)).toBe(0);
    expect(arch.mapHostLpi(9000, 1, 0, 8301)).toBe(-Errno.EBUSY);
    expect(arch.mapHostLpi(100, 1, 0, 8301)).toBe(-Errno.EINVAL);
    expect(arch.mapHostLpi(9001, 1, 2, 8301)).toBe(-Errno.EINVAL);
    expect(arch.mapHostLpi(9001, 3, 0, 8301)).toBe(-Errno.ESRCH);
    arch.gic.raiseLpi(9000);
    expect(got).toEqual([[1, 8300]]);
    arch.detachDomain(1);
    arch.gic.raiseLpi(9000); // mapping gone with the domain
    expect(got).toHaveLength(1);
    expect(() => arch.vgic(1)).toThrow(XenError);
  });
});
