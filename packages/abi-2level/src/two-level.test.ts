import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  ChannelTable,
  EventAbi,
  GuestMemory,
  SharedInfo,
  testAndSetBit,
  type AbiGuestContext,
  type AbiHypervisorContext,
  type AbiHypervisorOps,
  type EventChannelOps,
  type EventDispatcher,
} from '@evtchn/core';
import { TwoLevelAbi, abi2Level, type TwoLevelAbiOptions } from './abi.js';
import type { TwoLevelGuestSide } from './guest-side.js';
import type { TwoLevelHypervisorSide } from './hypervisor-side.js';

const ENOSYS = 38;

/**
 * One domain with both halves wired through real core memory objects. The guest's
 * EVTCHNOP_unmask goes straight to the hypervisor half (the core's usability check is not
 * modelled: every port here is usable).
 */
function domain(wordBits: 32 | 64 = 64, nrVcpus = 2, options: TwoLevelAbiOptions = {}) {
  const sharedInfo = new SharedInfo(nrVcpus);
  const memory = new GuestMemory(16);
  const channels = new ChannelTable(4096);
  channels.validateBucketOf(4095);
  const upcalls: number[] = [];
  const unmaskCalls: number[] = [];
  const abi = new TwoLevelAbi(options);
  let hv: TwoLevelHypervisorSide;
  const hvCtx: AbiHypervisorContext = {
    domid: 1,
    nrVcpus,
    wordBits,
    channels,
    sharedInfo,
    memory,
    counters: { droppedNoControlBlock: 0, droppedOther: 0 },
    markEventsPending(vcpu) {
      const flags = sharedInfo.upcallPending;
      if (flags[vcpu] !== 0) return;
      flags[vcpu] = 1;
      upcalls.push(vcpu);
    },
    activeAbi: (): AbiHypervisorOps => hv,
    switchAbi() {},
    warn() {},
  };
  const notImplemented = (): number => -ENOSYS;
  const hypercalls: EventChannelOps = {
    caller: 1,
    allocUnbound: notImplemented,
    bindInterdomain: notImplemented,
    bindVirq: notImplemented,
    bindPirq: notImplemented,
    bindIpi: notImplemented,
    close: notImplemented,
    send: notImplemented,
    status: notImplemented,
    bindVcpu: notImplemented,
    unmask(port) {
      unmaskCalls.push(port);
      hv.unmask(port);
      return 0;
    },
    reset: notImplemented,
    resetCont: notImplemented,
    initControl: notImplemented,
    expandArray: notImplemented,
    setPriority: notImplemented,
  };
  const guestCtx: AbiGuestContext = {
    domid: 1,
    nrCpus: nrVcpus,
    wordBits,
    sharedInfo,
    memory,
    hypercalls,
    warn() {},
  };
  hv = abi.createHypervisorSide(hvCtx);
  const guest = abi.createGuestSide(guestCtx);
  return { abi, hv, guest, guestCtx, sharedInfo, channels, upcalls, unmaskCalls };
}

/**
 * Records dispatched ports and acks them the edge way (clear pending, then react). A
 * reaction can raise other ports through the hypervisor, like a handler that sends.
 */
class Recorder implements EventDispatcher {
  readonly seen: number[] = [];
  readonly reactions = new Map<number, () => void>();
  timer = 0;
  ack = true;
  constructor(private readonly guest: TwoLevelGuestSide) {}
  handlePort(port: number, cpu: number): void {
    this.seen.push(port);
    if (this.ack) this.guest.clearPending(port);
    this.reactions.get(port)?.();
    void cpu;
  }
  timerPort(): number {
    return this.timer;
  }
  /** Runs one upcall on `cpu` the way the guest's loop does, returning the ports handled. */
  upcall(cpu: number, si: SharedInfo): number[] {
    this.seen.length = 0;
    si.upcallPending[cpu] = 0;
    this.guest.handleEvents(cpu, this);
    return [...this.seen];
  }
}

/** Binds `ports` to `cpu` in the guest's view and the hypervisor's notify vCPU. */
function bind(d: ReturnType<typeof domain>, cpu: number, ...ports: number[]): void {
  for (const p of ports) {
    d.guest.bindToCpu(p, cpu, d.guest.boundCpu[p]!);
    d.channels.notifyVcpu[p] = cpu;
  }
}

/** Sends `ports` in order, each to its notify vCPU (EVTCHNOP_send on a loopback channel). */
function send(d: ReturnType<typeof domain>, ...ports: number[]): void {
  for (const p of ports) d.hv.setPending(d.channels.notifyVcpu[p]!, p);
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let p = from; p <= to; p++) out.push(p);
  return out;
}

describe('TwoLevelAbi descriptor and plugin', () => {
  it('addresses 4096 ports for 64-bit guests and 1024 for 32-bit guests', () => {
    const abi = new TwoLevelAbi();
    expect(abi.name).toBe('2level');
    expect(abi.maxPorts(64)).toBe(4096);
    expect(abi.maxPorts(32)).toBe(1024);
    const d64 = domain(64);
    const d32 = domain(32);
    expect(d64.hv.maxPorts).toBe(4096);
    expect(d32.hv.maxPorts).toBe(1024);
    expect(d64.guest.maxChannels()).toBe(4096);
    expect(d32.guest.nrChannels()).toBe(1024);
    expect(d32.guest.setup(7)).toBe(0);
  });

  it('registers itself under the EventAbi token of the given container', () => {
    const plugin = abi2Level();
    expect(plugin.name).toBe('abi-2level');
    expect(plugin.kind).toBe('abi');
    const child = container.createChildContainer();
    plugin.register(child);
    const abis = child.resolveAll<EventAbi>(EventAbi);
    expect(abis).toHaveLength(1);
    expect(abis[0]).toBeInstanceOf(TwoLevelAbi);
    expect(abis[0]!.name).toBe('2level');
  });

  it('has no priorities, busy ports or array to expand', () => {
    const { hv } = domain();
    const ops: AbiHypervisorOps = hv;
    expect(ops.setPriority).toBeUndefined();
    expect(ops.isBusy).toBeUndefined();
    expect(ops.expandArray).toBeUndefined();
  });
});

describe('hypervisor side (event_2l.c)', () => {
  it('has no state of its own to save: getState is null, and setState refuses anything else', () => {
    const d = domain();
    expect(d.hv.getState()).toBeNull();
    expect(() => d.hv.setState(null)).not.toThrow();
    for (const bad of [{}, [], 0, 'pending']) expect(() => d.hv.setState(bad)).toThrow(/shared-info page/);
  });

  it('coalesces a second send while the port is still pending', () => {
    const d = domain();
    bind(d, 0, 5);
    const r = new Recorder(d.guest);
    send(d, 5);
    expect(d.upcalls).toEqual([0]);
    d.sharedInfo.upcallPending[0] = 0;
    send(d, 5);
    expect(d.upcalls).toEqual([0]);
    expect(r.upcall(0, d.sharedInfo)).toEqual([5]);
    expect(r.upcall(0, d.sharedInfo)).toEqual([]);
  });

  it('marks the upcall only for the first port of a selector word, and again for a new word', () => {
    const d = domain(64);
    bind(d, 0, 1, 2, 70);
    send(d, 1);
    expect(d.sharedInfo.pendingSel[0]).toBe(0b1);
    expect(d.upcalls).toEqual([0]);
    d.sharedInfo.upcallPending[0] = 0;
    send(d, 2);
    expect(d.upcalls).toEqual([0]);
    send(d, 70);
    expect(d.sharedInfo.pendingSel[0]).toBe(0b11);
    expect(d.upcalls).toEqual([0, 0]);
  });

  it('sets the selector bit of word port/B in the target vCPU (two halves per vCPU when B = 64)', () => {
    const d64 = domain(64, 2);
    bind(d64, 1, 2100);
    send(d64, 2100); // word 32 → high half of vCPU 1's selector, bit 0
    expect(Array.from(d64.sharedInfo.pendingSel)).toEqual([0, 0, 0, 1]);
    expect(d64.upcalls).toEqual([1]);

    const d32 = domain(32, 2);
    bind(d32, 1, 70, 1023);
    send(d32, 70, 1023); // words 2 and 31, low half only
    expect(Array.from(d32.sharedInfo.pendingSel)).toEqual([0, 0, (1 << 2) | (1 << 31), 0].map((x) => x >>> 0));
  });

  it('does not notify a masked port, and unmask delivers it on the notify vCPU', () => {
    const d = domain();
    bind(d, 1, 9);
    d.guest.mask(9);
    send(d, 9);
    expect(d.hv.isPending(9)).toBe(true);
    expect(d.upcalls).toEqual([]);
    expect(d.sharedInfo.pendingSel[2]).toBe(0);
    d.hv.unmask(9);
    expect(d.hv.isMasked(9)).toBe(false);
    expect(d.upcalls).toEqual([1]);
    const r = new Recorder(d.guest);
    expect(r.upcall(1, d.sharedInfo)).toEqual([9]);
  });

  it('unmask of a port that was not masked re-raises nothing', () => {
    const d = domain();
    bind(d, 0, 9);
    send(d, 9);
    d.sharedInfo.pendingSel[0] = 0;
    d.sharedInfo.upcallPending[0] = 0;
    d.hv.unmask(9);
    expect(d.sharedInfo.pendingSel[0]).toBe(0);
    expect(d.sharedInfo.upcallPending[0]).toBe(0);
  });

  it('clears pending, and reports pending/masked within the port limit only', () => {
    const d32 = domain(32);
    send(d32, 12);
    expect(d32.hv.isPending(12)).toBe(true);
    d32.hv.clearPending(12);
    expect(d32.hv.isPending(12)).toBe(false);
    // Beyond 1024 the bits exist in the page but the 32-bit ABI does not address them.
    d32.sharedInfo.evtchnPending[1024 >>> 5] = 1;
    expect(d32.hv.isPending(1024)).toBe(false);
    expect(d32.hv.isMasked(1024)).toBe(true);
    expect(d32.hv.isMasked(1023)).toBe(false);
    const d64 = domain(64);
    d64.sharedInfo.evtchnPending[1024 >>> 5] = 1;
    expect(d64.hv.isPending(1024)).toBe(true);
    expect(d64.hv.isMasked(1024)).toBe(false);
    expect(d64.hv.isMasked(4096)).toBe(true);
  });

  it("prints the selector bit of the port's word on its notify vCPU", () => {
    const d = domain(64);
    bind(d, 0, 70);
    expect(d.hv.printState(70)).toBe('0');
    send(d, 70);
    expect(d.hv.printState(70)).toBe('1');
    expect(d.hv.printState(64)).toBe('1'); // same word
    expect(d.hv.printState(3)).toBe('0');
    d.channels.notifyVcpu[70] = 1;
    expect(d.hv.printState(70)).toBe('0');
    d.channels.notifyVcpu[70] = 0;
    new Recorder(d.guest).upcall(0, d.sharedInfo);
    expect(d.hv.printState(70)).toBe('0');
  });
});

describe('guest side (events_2l.c)', () => {
  it('unmasks a local port in place and raises its own upcall when it is pending', () => {
    const d = domain();
    bind(d, 0, 4);
    d.guest.mask(4);
    send(d, 4);
    expect(d.upcalls).toEqual([]);
    d.guest.unmask(4, 0);
    expect(d.unmaskCalls).toEqual([]);
    expect(d.guest.isMasked(4)).toBe(false);
    expect(d.sharedInfo.upcallPending[0]).toBe(1);
    expect(d.sharedInfo.pendingSel[0]).toBe(1);
    expect(new Recorder(d.guest).upcall(0, d.sharedInfo)).toEqual([4]);
  });

  it('a local unmask of a port that is not pending raises nothing', () => {
    const d = domain();
    bind(d, 0, 4);
    d.guest.mask(4);
    d.guest.unmask(4, 0);
    expect(d.guest.isMasked(4)).toBe(false);
    expect(d.sharedInfo.upcallPending[0]).toBe(0);
    expect(d.sharedInfo.pendingSel[0]).toBe(0);
  });

  it('unmasks a port bound to another CPU through EVTCHNOP_unmask', () => {
    const d = domain();
    bind(d, 1, 6);
    d.guest.mask(6);
    send(d, 6);
    d.guest.unmask(6, 0);
    expect(d.unmaskCalls).toEqual([6]);
    expect(d.upcalls).toEqual([1]);
    expect(new Recorder(d.guest).upcall(1, d.sharedInfo)).toEqual([6]);
  });

  it('an HVM guest unmasks a pending local port through the hypercall', () => {
    const d = domain(64, 2, { hvmGuests: true });
    bind(d, 0, 4);
    d.guest.mask(4);
    send(d, 4);
    d.guest.unmask(4, 0);
    expect(d.unmaskCalls).toEqual([4]);
    expect(d.guest.isMasked(4)).toBe(false);
    expect(d.upcalls).toEqual([0]);
  });

  it('keeps guest-side pending/mask operations on the shared bitmaps', () => {
    const d = domain();
    d.guest.setPending(33);
    expect(d.hv.isPending(33)).toBe(true);
    expect(d.guest.isPending(33)).toBe(true);
    d.guest.clearPending(33);
    expect(d.hv.isPending(33)).toBe(false);
    d.guest.mask(33);
    expect(d.hv.isMasked(33)).toBe(true);
  });

  it('dispatches in ascending order and resumes after the last port handled (hand_03)', () => {
    const d = domain(64, 1);
    bind(d, 0, ...range(1, 8));
    const r = new Recorder(d.guest);
    send(d, 5, 3, 1);
    expect(r.upcall(0, d.sharedInfo)).toEqual([1, 3, 5]);
    send(d, 7, 2, 6);
    expect(r.upcall(0, d.sharedInfo)).toEqual([6, 7, 2]);
    send(d, 1, 3, 8);
    expect(r.upcall(0, d.sharedInfo)).toEqual([3, 8, 1]);
  });

  it('resumes across selector words (hand_04)', () => {
    const d = domain(64, 1);
    bind(d, 0, ...range(1, 131));
    const r = new Recorder(d.guest);
    send(d, 129, 70, 5);
    expect(r.upcall(0, d.sharedInfo)).toEqual([5, 70, 129]);
    send(d, 130, 3, 66);
    expect(r.upcall(0, d.sharedInfo)).toEqual([130, 3, 66]);
    send(d, 64, 127, 128, 2);
    expect(r.upcall(0, d.sharedInfo)).toEqual([127, 128, 2, 64]);
  });

  it('records the resume position after each handled port, wrapping at the word size', () => {
    const d64 = domain(64, 1);
    bind(d64, 0, 2, 63, 4095);
    const r64 = new Recorder(d64.guest);
    send(d64, 2);
    r64.upcall(0, d64.sharedInfo);
    expect([d64.guest.currentWordIdx[0], d64.guest.currentBitIdx[0]]).toEqual([0, 3]);
    send(d64, 63);
    r64.upcall(0, d64.sharedInfo);
    expect([d64.guest.currentWordIdx[0], d64.guest.currentBitIdx[0]]).toEqual([1, 0]);
    send(d64, 4095);
    expect(r64.upcall(0, d64.sharedInfo)).toEqual([4095]);
    expect([d64.guest.currentWordIdx[0], d64.guest.currentBitIdx[0]]).toEqual([0, 0]);

    const d32 = domain(32, 1);
    bind(d32, 0, 1, 33, 1023);
    const r32 = new Recorder(d32.guest);
    send(d32, 33, 1);
    expect(r32.upcall(0, d32.sharedInfo)).toEqual([1, 33]);
    expect([d32.guest.currentWordIdx[0], d32.guest.currentBitIdx[0]]).toEqual([1, 2]);
    send(d32, 1023);
    expect(r32.upcall(0, d32.sharedInfo)).toEqual([1023]);
    expect([d32.guest.currentWordIdx[0], d32.guest.currentBitIdx[0]]).toEqual([0, 0]);
  });

  it('scans the start word twice: a port raised below the resume bit is handled in the same upcall', () => {
    const d = domain(64, 1);
    bind(d, 0, 2, 6, 7);
    const r = new Recorder(d.guest);
    send(d, 6);
    r.upcall(0, d.sharedInfo); // resume position is now word 0, bit 7
    r.reactions.set(7, () => send(d, 2));
    send(d, 7);
    expect(r.upcall(0, d.sharedInfo)).toEqual([7, 2]);
  });

  it('samples other words once: a port raised in a word already scanned waits for the next upcall', () => {
    const d = domain(64, 1);
    bind(d, 0, 65, 66);
    const r = new Recorder(d.guest);
    r.reactions.set(65, () => send(d, 66));
    send(d, 65);
    expect(r.upcall(0, d.sharedInfo)).toEqual([65]);
    expect(d.sharedInfo.upcallPending[0]).toBe(1);
    expect(r.upcall(0, d.sharedInfo)).toEqual([66]);
  });

  it('handles the active timer port first, and skips it when masked', () => {
    const d = domain(64, 1);
    bind(d, 0, 3, 10);
    const r = new Recorder(d.guest);
    r.timer = 10;
    send(d, 3, 10);
    expect(r.upcall(0, d.sharedInfo)).toEqual([10, 3]);
    d.guest.mask(10);
    send(d, 3, 10);
    expect(r.upcall(0, d.sharedInfo)).toEqual([3]);
    expect(d.guest.isPending(10)).toBe(true);
  });

  it('dispatches only ports in the CPU mask of the scanning CPU', () => {
    const d = domain(64, 2);
    bind(d, 0, 4);
    bind(d, 1, 5);
    const r = new Recorder(d.guest);
    d.hv.setPending(0, 5); // event for a port CPU 0 does not handle
    d.hv.setPending(0, 4);
    expect(r.upcall(0, d.sharedInfo)).toEqual([4]);
    expect(d.guest.isPending(5)).toBe(true);
    send(d, 5);
    expect(r.upcall(1, d.sharedInfo)).toEqual([]); // still pending from before: no new selector bit
    d.sharedInfo.pendingSel[2] = 1;
    expect(r.upcall(1, d.sharedInfo)).toEqual([5]);
  });

  it('moves a port between CPU masks and forgets it on remove', () => {
    const d = domain(64, 2);
    bind(d, 0, 8);
    d.guest.bindToCpu(8, 1, 0);
    expect(d.guest.boundCpu[8]).toBe(1);
    expect(d.guest.cpuMasks[0]![0]).toBe(0);
    expect(d.guest.cpuMasks[1]![0]).toBe(1 << 8);
    d.guest.remove(8, 1);
    expect(d.guest.cpuMasks[1]![0]).toBe(0);
    expect(d.guest.boundCpu[8]).toBe(0);
    const r = new Recorder(d.guest);
    d.hv.setPending(1, 8);
    expect(r.upcall(1, d.sharedInfo)).toEqual([]);
  });

  it('resume forgets every CPU binding; percpuDeinit forgets one CPU', () => {
    const d = domain(64, 2);
    bind(d, 0, 1);
    bind(d, 1, 2, 3000);
    d.guest.percpuDeinit(1);
    expect(d.guest.cpuMasks[1]!.every((w) => w === 0)).toBe(true);
    expect(d.guest.cpuMasks[0]![0]).toBe(1 << 1);
    bind(d, 1, 2);
    d.guest.resume();
    for (const m of d.guest.cpuMasks) expect(m.every((w) => w === 0)).toBe(true);
    expect(d.guest.boundCpu.every((c) => c === 0)).toBe(true);
  });

  it("migrate moves the guest half onto another domain's shared-info page", () => {
    const src = domain(64, 2);
    const dst = domain(64, 2);
    bind(src, 1, 5);
    send(src, 5);
    src.guest.migrate(dst.guestCtx);
    src.guest.resume();
    // Pending state of the source stays there; the new page starts empty.
    expect(new Recorder(src.guest).upcall(1, dst.sharedInfo)).toEqual([]);
    src.guest.bindToCpu(5, 1, src.guest.boundCpu[5]!);
    dst.channels.notifyVcpu[5] = 1;
    dst.hv.setPending(1, 5);
    expect(dst.upcalls).toEqual([1]);
    expect(new Recorder(src.guest).upcall(1, dst.sharedInfo)).toEqual([5]);
    src.guest.mask(9);
    expect(dst.hv.isMasked(9)).toBe(true);
    expect(src.hv.isMasked(9)).toBe(false);
    expect(() => src.guest.migrate({ ...dst.guestCtx, wordBits: 32 })).toThrow(RangeError);
  });

  it('clears the whole selector (both halves) when it takes it', () => {
    const d = domain(64, 1);
    bind(d, 0, 1, 2100);
    send(d, 1, 2100);
    expect(d.sharedInfo.pendingSel[1]).toBe(1);
    expect(new Recorder(d.guest).upcall(0, d.sharedInfo)).toEqual([1, 2100]);
    expect(Array.from(d.sharedInfo.pendingSel)).toEqual([0, 0]);
  });

  it('handles every port of a full bitmap exactly once, in order', () => {
    for (const wordBits of [32, 64] as const) {
      const d = domain(wordBits, 1);
      const max = d.hv.maxPorts;
      const ports = range(1, max - 1);
      bind(d, 0, ...ports);
      send(d, ...ports);
      expect(new Recorder(d.guest).upcall(0, d.sharedInfo)).toEqual(ports);
      expect(testAndSetBit(d.sharedInfo.evtchnPending, 1)).toBe(false);
    }
  });

  it('re-raises a local pending port in the selector word of its guest word size', () => {
    // Port 40 is in word 0 of a 64-bit guest and word 1 of a 32-bit guest.
    for (const [wordBits, selBit] of [[64, 1 << 0], [32, 1 << 1]] as const) {
      const d = domain(wordBits, 1);
      bind(d, 0, 40);
      d.guest.mask(40);
      send(d, 40);
      d.sharedInfo.pendingSel[0] = 0;
      d.guest.unmask(40, 0);
      expect(d.sharedInfo.pendingSel[0]).toBe(selBit);
      expect(d.sharedInfo.upcallPending[0]).toBe(1);
    }
  });

  it('raises no upcall on a local unmask when the selector bit is already set', () => {
    // Linux events_2l.c evtchn_2l_unmask (v6.8): the upcall flag is set only when
    // sync_test_and_set_bit() finds the selector bit clear; an already-selected word means an
    // upcall is already on its way (or running) and will scan the port.
    const d = domain(64, 1);
    bind(d, 0, 4, 9);
    d.guest.mask(4);
    send(d, 4, 9); // 9 selects word 0; the masked 4 raises nothing by itself
    expect(d.sharedInfo.pendingSel[0]).toBe(1);
    d.sharedInfo.upcallPending[0] = 0;
    d.guest.unmask(4, 0);
    expect(d.sharedInfo.upcallPending[0]).toBe(0);
    expect(d.sharedInfo.pendingSel[0]).toBe(1);
  });

  it('handles the timer port first only when it is pending and bound to the scanning CPU', () => {
    const d = domain(64, 2);
    bind(d, 0, 3, 10);
    bind(d, 1, 12);
    const r = new Recorder(d.guest);
    r.timer = 10;
    send(d, 3); // the timer port is not pending: only port 3 runs
    expect(r.upcall(0, d.sharedInfo)).toEqual([3]);
    r.timer = 12; // pending, but handled by CPU 1: CPU 0 neither runs it nor takes it first
    d.hv.setPending(0, 12);
    send(d, 3);
    expect(r.upcall(0, d.sharedInfo)).toEqual([3]);
    expect(d.guest.isPending(12)).toBe(true);
  });

  it('scans the high half of a 64-bit selector from the start of each word after the resume word', () => {
    const d = domain(64, 1);
    bind(d, 0, 5, 2050, 2054, 2200);
    const r = new Recorder(d.guest);
    send(d, 5);
    r.upcall(0, d.sharedInfo); // resume at word 0, bit 6
    send(d, 2054, 2050, 2200);
    expect(r.upcall(0, d.sharedInfo)).toEqual([2050, 2054, 2200]);
    expect(d.guest.currentWordIdx[0]).toBe(2200 >>> 6);
    send(d, 5, 2050);
    // Resumes in word 34 after bit 24, wraps to word 0 and on to word 32.
    expect(r.upcall(0, d.sharedInfo)).toEqual([5, 2050]);
  });
});
