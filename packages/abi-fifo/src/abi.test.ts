import type { AbiHypervisorContext, EventAbi as EventAbiType, EventDispatcher } from '@evtchn/core';
import { ECS, EventAbi, Hypervisor, nullArchitecture, setBit, testBit } from '@evtchn/core';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { abiFifo, FifoAbi } from './abi.js';
import { FakeDomain } from './fake-domain.test-util.js';
import { FifoHypervisorSide } from './hypervisor-side.js';

/** A bare 2-level stand-in over the shared-info bitmaps, enough for the core to start a domain on it. */
const bitmapTwoLevel: EventAbiType = {
  name: '2level',
  maxPorts: () => 4096,
  createHypervisorSide: (ctx: AbiHypervisorContext) => ({
    name: '2level',
    maxPorts: 4096,
    init: () => {},
    setPending: (_v: number, port: number) => setBit(ctx.sharedInfo.evtchnPending, port),
    clearPending: () => {},
    unmask: () => {},
    isPending: (port: number) => testBit(ctx.sharedInfo.evtchnPending, port),
    isMasked: (port: number) => testBit(ctx.sharedInfo.evtchnMask, port),
    printState: () => '0',
  }),
  createGuestSide: () => {
    throw new Error('not used');
  },
};

describe('abiFifo plugin', () => {
  it('registers a FifoAbi under the EventAbi token of the given container only', () => {
    const plugin = abiFifo();
    expect(plugin.name).toBe('abi-fifo');
    expect(plugin.kind).toBe('abi');
    const scope = container.createChildContainer();
    plugin.register(scope);
    const abis = scope.resolveAll<EventAbiType>(EventAbi);
    expect(abis.map((a) => a.name)).toEqual(['fifo']);
    expect(abis[0]).toBeInstanceOf(FifoAbi);
    expect(abis[0]!.maxPorts(32)).toBe(131072);
    expect(container.isRegistered(EventAbi)).toBe(false);
  });

  it('creates a hypervisor side without switching the domain', () => {
    const dom = new FakeDomain();
    const side = new FifoAbi().createHypervisorSide(dom.ctx);
    expect(side).toBeInstanceOf(FifoHypervisorSide);
    expect(dom.active).toBe(dom.twoLevel);
    expect(side.hasControlBlock(0)).toBe(false);
  });
});

describe('with the real hypervisor core', () => {
  it('carries a 2-level pending event over the switch and delivers it once the array covers it', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [bitmapTwoLevel, new FifoAbi()] });
    const d = hv.createDomain({ id: 1, vcpus: 2, memPages: 64 });
    const ops = hv.evtchn(1);
    const port = ops.bindIpi(1);
    expect(port).toBe(1);
    expect(ops.send(port)).toBe(0); // pending in the 2-level bitmap

    const guest = new FifoAbi().createGuestSide({
      domid: 1,
      nrCpus: 2,
      wordBits: 64,
      sharedInfo: d.sharedInfo,
      memory: d.memory,
      hypercalls: ops,
      warn: () => {},
    });
    expect(d.abi.name).toBe('fifo');
    expect(d.channels.pendingFlag[port]).toBe(1);
    expect(d.channels.priority[port]).toBe(7);
    expect(guest.setup(port)).toBe(0); // expand_array raises it, but the guest's new words are MASKED
    expect(d.abi.isPending(port)).toBe(true);
    expect(d.abi.isMasked(port)).toBe(true);
    expect(d.sharedInfo.upcallPending[1]).toBe(0);
    guest.unmask(port, 0); // PENDING: EVTCHNOP_unmask links it on the notify vCPU
    expect(d.sharedInfo.upcallPending[1]).toBe(1);

    const seen: number[] = [];
    const dispatch: EventDispatcher = {
      handlePort: (p, cpu) => {
        guest.clearPending(p);
        seen.push(p * 10 + cpu);
      },
      timerPort: () => 0,
    };
    guest.handleEvents(0, dispatch);
    guest.handleEvents(1, dispatch);
    expect(seen).toEqual([port * 10 + 1]);

    // Reset returns the domain to 2-level; the FIFO state is gone but the flag is sticky.
    expect(ops.reset(1)).toBe(0);
    expect(d.abi.name).toBe('2level');
    expect(d.channels.state[port]).toBe(ECS.FREE);
    expect(d.channels.pendingFlag[port]).toBe(1);
  });
});
