import { abi2Level } from '@evtchn/abi-2level';
import { describe, expect, it } from 'vitest';
import { Domain as DomainToken, DomainConfig as DomainConfigToken, Hypervisor as HypervisorToken, Scheduler as SchedulerToken } from '../tokens.js';
import { archNull } from '../hypervisor/null-arch.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { dummyPolicy } from '../hypervisor/dummy-policy.js';
import { createPlatform } from './platform.js';
import type { Plugin } from './plugin.js';

describe('createPlatform', () => {
  it('composes plugins in a child container and gives each domain its own', () => {
    const p = createPlatform({ arch: archNull(), abis: [abi2Level()], policy: dummyPolicy(), domains: [{ id: 0, vcpus: 2 }, { id: 1 }] });
    expect(p.container.resolve(HypervisorToken)).toBe(p.hypervisor);
    expect(p.hypervisor).toBeInstanceOf(Hypervisor);
    const d1 = p.domain(1);
    expect(d1.container.resolve(DomainToken)).toBe(d1.domain);
    expect(d1.container.resolve(DomainConfigToken)).toEqual({ id: 1 });
    expect(p.domain(0).domain.nrVcpus).toBe(2);
    expect(p.hypervisor.domain(1)?.abi.name).toBe('2level');
    // Ports work end to end through the composed pieces.
    const port = p.hypervisor.evtchn(1).allocUnbound(1, 0);
    expect(port).toBe(1);
    expect(p.hypervisor.evtchn(0).bindInterdomain(1, port)).toBe(1);
  });

  it('keeps separate platforms separate (no global registrations)', () => {
    const a = createPlatform({ arch: archNull(), abis: [abi2Level()], domains: [{ id: 0 }] });
    const b = createPlatform({ arch: archNull(), abis: [abi2Level()], domains: [] });
    expect(a.hypervisor).not.toBe(b.hypervisor);
    expect(b.hypervisor.domain(0)).toBeUndefined();
  });

  it('names the key of a missing, wrong or duplicate piece', () => {
    expect(() => createPlatform({ arch: undefined as unknown as Plugin<'arch'>, abis: [abi2Level()] })).toThrow(/missing 'arch'/);
    // @ts-expect-error an abi plugin does not compile as the architecture (checked at run time too)
    expect(() => createPlatform({ arch: abi2Level(), abis: [abi2Level()] })).toThrow(/'arch' expects an arch plugin, got an abi plugin 'abi-2level'/);
    expect(() => createPlatform({ arch: archNull(), abis: [] })).toThrow(/missing 'abis'/);
    expect(() => createPlatform({ arch: archNull(), abis: [abi2Level(), abi2Level()] })).toThrow(/'abis\[1\]': plugin 'abi-2level' is given twice/);
    expect(() => createPlatform({ arch: archNull(), abis: [{ name: 'x', kind: 'abi', register() {} }] })).toThrow(/'abis\[0\]': plugin 'x' registered no EventAbi/);
    expect(() => createPlatform({ arch: archNull(), abis: [abi2Level()], domains: [{ id: 3 }, { id: 3 }] })).toThrow(/domains\[1\].*3 is used twice/);
    expect(() => createPlatform({ arch: archNull(), abis: [abi2Level()], policy: { name: 'p', kind: 'policy' } as unknown as Plugin<'policy'> })).toThrow(/'policy' is not a plugin/);
  });

  it('resolves every class registered by the core (explicit @inject on every parameter)', () => {
    const p = createPlatform({ arch: archNull(), abis: [abi2Level()] });
    // A constructor parameter without @inject would resolve to undefined here.
    const hv = p.container.resolve<Hypervisor>(HypervisorToken);
    expect(hv.arch).toBe(p.arch);
    expect(hv.abis.map((a) => a.name)).toEqual(['2level']);
    expect(hv.policy.name).toBe('dummy');
    expect(hv.bus).toBe(p.bus);
  });
});

describe('createPlatform with a scheduler', () => {
  it('registers a round-robin scheduler and puts every vCPU on it', () => {
    const p = createPlatform({ arch: archNull(), abis: [abi2Level()], scheduler: { pcpus: 2, timeSliceNs: 1000 }, domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 1 }] });
    expect(p.scheduler).toBeDefined();
    expect(p.container.resolve(SchedulerToken)).toBe(p.scheduler);
    p.clock.runUntil(10_000);
    const seen = new Set<string>();
    p.scheduler!.onSwitch((_pcpu, _prev, next) => next && seen.add(`${next.domid}.${next.vcpu}`));
    p.clock.runUntil(20_000);
    expect([...seen].sort()).toEqual(['0.0', '0.1', '1.0']);
    expect(() => createPlatform({ arch: archNull(), abis: [abi2Level()], scheduler: { pcpus: 0 } })).toThrow(/scheduler\.pcpus/);
  });
});

describe('Platform.destroyDomain', () => {
  it('destroys through the hypervisor and forgets the domain and its vCPUs', () => {
    const p = createPlatform({ arch: archNull(), abis: [abi2Level()], scheduler: { pcpus: 1, timeSliceNs: 1000 }, domains: [{ id: 0 }, { id: 1, vcpus: 2 }] });
    const port = p.hypervisor.evtchn(1).allocUnbound(1, 0);
    const local = p.hypervisor.evtchn(0).bindInterdomain(1, port);
    expect(p.destroyDomain(1)).toBe(0);
    expect(p.domains.has(1)).toBe(false);
    expect(p.hypervisor.domain(1)).toBeUndefined();
    expect(p.destroyDomain(1)).toBe(-3);
    const st = { status: 'closed' as const, vcpu: 0 } as Parameters<ReturnType<typeof p.hypervisor.evtchn>['status']>[2];
    expect(p.hypervisor.evtchn(0).status(0, local, st)).toBe(0);
    expect(st).toMatchObject({ status: 'unbound', dom: 1 });
    const seen = new Set<number>();
    p.scheduler!.onSwitch((_c, _prev, next) => next && seen.add(next.domid));
    p.clock.runUntil(50_000);
    expect(seen.has(1)).toBe(false);
    expect(p.scheduler!.current(0)?.domid).toBe(0);
  });
});
