import { abi2Level } from '@evtchn/abi-2level';
import { createPlatform } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import type { X86Architecture } from './architecture.js';
import { archX86 } from './plugin.js';

describe('archX86 on a platform with a scheduler', () => {
  it("moves a pirq's affinity to the pCPU the scheduler runs the target vCPU on", () => {
    const p = createPlatform({
      arch: archX86({ nrPcpus: 2 }),
      abis: [abi2Level()],
      scheduler: { pcpus: 2, timeSliceNs: 1_000_000 },
      domains: [{ id: 0, vcpus: 1 }, { id: 1, vcpus: 3 }],
    });
    const arch = p.arch as X86Architecture;
    // Wait until a vCPU of domain 1 runs on a pCPU other than `vcpu % nrPcpus` (the guess used
    // without a scheduler), so the test tells the two apart.
    let running = -1;
    let pcpu = -1;
    for (let t = 500_000; t < 30_000_000 && running < 0; t += 1_000_000) {
      p.clock.runUntil(t);
      for (const v of [0, 1, 2]) {
        const at = p.scheduler!.processorOf(1, v);
        if (at >= 0 && at !== v % 2) [running, pcpu] = [v, at];
      }
    }
    expect(running).toBeGreaterThanOrEqual(0);
    const pirq = arch.irqs.mapPirq(1, { type: 'gsi', gsi: 20 });
    p.hypervisor.domain(1)!.grantPirq(pirq);
    const port = p.hypervisor.evtchn(1).bindPirq(pirq, 0);
    expect(port).toBeGreaterThan(0);
    expect(p.hypervisor.evtchn(1).bindVcpu(port, running)).toBe(0);
    expect(arch.irqs.describe(arch.irqs.irqOfPirq(1, pirq))!.cpu).toBe(pcpu);
  });
});
