import { abi2Level } from '@evtchn/abi-2level';
import { archNull, createPlatform } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { IRQ_HANDLED } from './constants.js';
import type { LinuxGuest } from './linux-guest.js';
import { guestLinux } from './plugin.js';

function platform() {
  const p = createPlatform({
    arch: archNull({ deliver: true }),
    abis: [abi2Level()],
    guest: guestLinux(),
    domains: [{ id: 0, vcpus: 2 }, { id: 1 }],
  });
  return { p, dom0: p.domain(0).guest as LinuxGuest };
}

describe('xen_force_evtchn_callback after a local unmask', () => {
  it('delivers an event that was pending while masked as soon as request_irq unmasks it', () => {
    const { p, dom0 } = platform();
    const port = p.hypervisor.evtchn(1).allocUnbound(1, 0);
    // bind_interdomain sets dom0's new port pending while the guest still has it masked.
    const irq = dom0.bindInterdomainEvtchnToIrq(1, port);
    const local = dom0.evtchnFromIrq(irq);
    expect(p.hypervisor.query(0, local)).toMatchObject({ pending: true, masked: true });
    let runs = 0;
    expect(dom0.requestIrq(irq, () => (runs++, IRQ_HANDLED), 0, 'be', null)).toBe(0);
    // The 2-level local unmask raised the upcall flag; the forced callback raised the upcall,
    // which vCPU 0 takes when it runs.
    p.run(100_000);
    expect(runs).toBe(1);
    expect(p.hypervisor.domain(0)!.sharedInfo.upcallPending[0]).toBe(0);
    // And later notifications still raise upcalls (the flag is not left stuck at 1).
    p.hypervisor.evtchn(1).send(port);
    p.run(100_000);
    expect(runs).toBe(2);
  });

  it('is not forced from inside the upcall loop, which re-reads the flag itself', () => {
    const { p, dom0 } = platform();
    const port = p.hypervisor.evtchn(1).allocUnbound(1, 0);
    const irq = dom0.bindInterdomainEvtchnToIrq(1, port);
    const local = dom0.evtchnFromIrq(irq);
    let runs = 0;
    let depth = 0;
    let maxDepth = 0;
    dom0.requestIrq(
      irq,
      () => {
        runs++;
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        // Mask and unmask inside the handler with the port pending again.
        if (runs === 1) {
          dom0.maskIrq(irq);
          p.hypervisor.evtchn(1).send(port);
          dom0.unmaskIrq(irq);
        }
        depth--;
        return IRQ_HANDLED;
      },
      0,
      'be',
      null,
    );
    p.run(100_000);
    expect(runs).toBe(2);
    expect(maxDepth).toBe(1);
    expect(p.hypervisor.query(0, local).pending).toBe(false);
  });
});
