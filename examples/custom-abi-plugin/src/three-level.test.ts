import { describe, expect, it } from 'vitest';
import { archNull, createPlatform, loadPlugin, type EventDispatcher } from '@evtchn/core';
import { checkEventAbiConformance, describeEventAbiConformance } from '@evtchn/core/testing';
import { ThreeLevelAbi, abi3Level } from './index.js';
import { ThreeLevelHypervisorSide } from './hypervisor-side.js';
import { THREE_LEVEL_PORTS_32, THREE_LEVEL_PORTS_64 } from './layout.js';

describeEventAbiConformance(() => abi3Level());
describeEventAbiConformance(() => abi3Level(), { wordBits: 32 });

/** A broken copy: its hypervisor-side unmask forgets to re-deliver a pending event. */
class ForgetfulUnmaskAbi extends ThreeLevelAbi {
  override createHypervisorSide(ctx: Parameters<ThreeLevelAbi['createHypervisorSide']>[0]): ThreeLevelHypervisorSide {
    const side = super.createHypervisorSide(ctx);
    side.unmask = (port: number): void => {
      const m = side.memory;
      m.mask[port >>> 5] = m.mask[port >>> 5]! & ~(1 << (port & 31));
    };
    return side;
  }
}

describe('the 3-level ABI example', () => {
  it('reports 64³ and 32³ ports', () => {
    expect(new ThreeLevelAbi().maxPorts(64)).toBe(THREE_LEVEL_PORTS_64);
    expect(THREE_LEVEL_PORTS_64).toBe(64 ** 3);
    expect(new ThreeLevelAbi().maxPorts(32)).toBe(32 ** 3);
    expect(THREE_LEVEL_PORTS_32).toBe(32768);
  });

  it('a broken copy (unmask forgets to re-deliver) fails the suite naming the rule', () => {
    const results = checkEventAbiConformance(() => new ForgetfulUnmaskAbi());
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => r.rule)).toContain('unmask.hypercall-redelivers');
    const msg = failed.find((r) => r.rule === 'unmask.hypercall-redelivers')!.message!;
    expect(msg).toMatch(/^rule 'unmask.hypercall-redelivers' \(SPEC §2.1\/§2.2 unmask\) violated: /);
    expect(results.find((r) => r.rule === 'send.coalesces')?.ok).toBe(true);
  });

  it('is selectable from a platform configuration', () => {
    const platform = createPlatform({ arch: archNull(), abis: [abi3Level()], domains: [{ id: 0 }, { id: 1, vcpus: 2 }] });
    const dom1 = platform.domain(1).domain;
    expect(dom1.abi.name).toBe('3level');
    expect(dom1.abi.maxPorts).toBe(262144);
    const dom0 = platform.domain(0).domain;
    const remote = dom1.hypercalls.allocUnbound(0x7ff0, 0);
    const local = dom0.hypercalls.bindInterdomain(1, remote);
    expect(local).toBeGreaterThan(0);
    // Guest side, driven by hand (no guest layer in this platform).
    const guest = new ThreeLevelAbi().createGuestSide(dom1.abiGuestContext());
    guest.bindToCpu(remote, 0, 0);
    expect(dom0.hypercalls.send(local)).toBe(0);
    expect(dom1.abi.isPending(remote)).toBe(true);
    expect(dom1.sharedInfo.upcallPending[0]).toBe(1);
    const seen: number[] = [];
    const dispatch: EventDispatcher = { handlePort: (p) => seen.push(p), timerPort: () => 0 };
    guest.handleEvents(0, dispatch);
    expect(seen).toEqual([remote]);
  });

  it('is loaded by module specifier, as a configuration file names it', async () => {
    const url = new URL('./index.ts', import.meta.url).href;
    const plugin = await loadPlugin(url, 'abi');
    expect(plugin.name).toBe('abi-3level');
    const named = await loadPlugin(`${url}#abi3Level`, 'abi');
    expect(named.name).toBe('abi-3level');
    await expect(loadPlugin(url, 'policy')).rejects.toThrow(/is an abi plugin \('abi-3level'\), but a policy plugin is expected/);
    const platform = createPlatform({ arch: archNull(), abis: [plugin], domains: [{ id: 1 }] });
    expect(platform.domain(1).domain.abi.name).toBe('3level');
  });
});
