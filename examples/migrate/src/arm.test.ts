/*
 * The same move on Arm: the event upcall is the GIC's event PPI, vCPUs are time-sliced on
 * pCPUs by the scheduler, and nothing of that is guest memory, so the destination's vGIC and
 * scheduler take the guest as they find it.
 */
import 'reflect-metadata';
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archArm } from '@evtchn/arch-arm';
import { VIRQ, createPlatform, lsevtchn, migrateDomain, type Platform } from '@evtchn/core';
import { IRQF_PERCPU, IRQ_HANDLED, guestLinux, type LinuxGuest } from '@evtchn/guest-linux';
import { describe, expect, it } from 'vitest';
import { DOMU, Ring } from './migrate.js';

function arm(guests: number[]): Platform {
  return createPlatform({
    arch: archArm(),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux({ fifo: true }),
    domains: [{ id: 0, vcpus: 2 }, ...guests.map((id) => ({ id, vcpus: 2 }))],
    scheduler: { pcpus: 2 },
  });
}

describe('examples/migrate on Arm', () => {
  it('rebinds the timers on their vCPUs and reconnects the ring through its driver', () => {
    const a = arm([DOMU]);
    const b = arm([]);
    const guest = a.domain(DOMU).guest as LinuxGuest;
    const ticks: [number, number][] = [];
    for (const cpu of [0, 1])
      guest.bindVirqToIrqhandler(VIRQ.TIMER, cpu, () => (ticks.push([cpu, guest.currentCpu]), IRQ_HANDLED), IRQF_PERCPU, `timer${cpu}`, null);
    const ring = new Ring(guest, a);
    a.run(5_000_000);
    ring.moveTo(b);
    migrateDomain(a, DOMU, b);
    expect(b.domain(DOMU).domain.abi.name).toBe('fifo');
    expect(lsevtchn(b.hypervisor, DOMU)).toBe(
      ['   1: VCPU 0: Virtual IRQ 0', '   2: VCPU 1: Virtual IRQ 0', '   3: VCPU 0: Interdomain (Connected) - Remote Domain 0, Port 1', ''].join('\n'),
    );
    b.run(5_000_000);
    const backBefore = ring.backRuns;
    for (const cpu of [1, 0]) b.hypervisor.raiseVirq(DOMU, VIRQ.TIMER, cpu);
    expect(ring.kickBack()).toBe(0);
    expect(ring.kickFront()).toBe(0);
    b.run(5_000_000);
    expect(ticks.sort()).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(ring.backRuns).toBe(backBefore + 1);
    expect(ring.frontRuns).toBe(1);
  });
});
