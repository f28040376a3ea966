import { abi2Level } from '@evtchn/abi-2level';
import { createPlatform, Errno } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { ArmArchitecture, archArm } from './index.js';

describe('arch-arm in a platform', () => {
  function platform() {
    const p = createPlatform({
      arch: archArm(),
      abis: [abi2Level()],
      domains: [{ id: 0, vcpus: 1 }, { id: 1, vcpus: 2 }],
    });
    const arch = p.arch as ArmArchitecture;
    return { p, arch, xen: p.hypervisor };
  }

  it('bind_pirq is -EOPNOTSUPP: Arm has no pirqs', () => {
    const { xen, arch } = platform();
    expect(arch.name).toBe('arm');
    expect(xen.evtchn(1).bindPirq(16, 0)).toBe(-Errno.EOPNOTSUPP);
  });

  it('an interdomain event reaches the guest through virtual PPI 31 on the notified vCPU', () => {
    const { p, xen, arch } = platform();
    const upcalls: number[] = [];
    xen.domain(1)!.attachGuest({
      upcall: (vcpu) => {
        upcalls.push(vcpu);
        expect(arch.handlingIrq(1, vcpu)).toBe(31);
        xen.domain(1)!.sharedInfo.upcallPending[vcpu] = 0; // the guest's upcall loop clears it
      },
    });
    const port = xen.evtchn(1).allocUnbound(1, 0);
    expect(port).toBeGreaterThan(0);
    const local = xen.evtchn(0).bindInterdomain(1, port);
    expect(local).toBeGreaterThan(0);
    expect(xen.evtchn(1).bindVcpu(port, 1)).toBe(0);
    expect(xen.evtchn(0).send(local)).toBe(0);
    // The send only injected PPI 31; vCPU 1 takes it when the runner runs it.
    expect(upcalls).toEqual([]);
    p.run(10_000);
    expect(upcalls).toEqual([1]);
    expect(arch.vgic(1).isInFlight(1, 31)).toBe(false); // EOIed when the handler returned
  });
});
