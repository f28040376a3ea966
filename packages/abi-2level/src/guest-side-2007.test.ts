import { describe, expect, it } from 'vitest';
import {
  ChannelTable,
  GuestMemory,
  SharedInfo,
  type AbiGuestContext,
  type AbiHypervisorContext,
  type EventChannelOps,
  type EventDispatcher,
} from '@evtchn/core';
import { TwoLevelAbi } from './abi.js';
import { TwoLevelGuestSide } from './guest-side.js';
import { TwoLevelGuestSide2007, type TwoLevelGuestEra } from './guest-side-2007.js';
import type { TwoLevelHypervisorSide } from './hypervisor-side.js';

/** One domain with the hypervisor half and the guest half of the given era. */
function domain(era: TwoLevelGuestEra, wordBits: 32 | 64 = 64, hvmGuests = false) {
  const sharedInfo = new SharedInfo(1);
  const memory = new GuestMemory(16);
  const channels = new ChannelTable(4096);
  channels.validateBucketOf(4095);
  const abi = new TwoLevelAbi(hvmGuests ? { hvmGuests } : {}); // PV unless told: the default
  let hv: TwoLevelHypervisorSide;
  const hvCtx: AbiHypervisorContext = {
    domid: 1,
    nrVcpus: 1,
    wordBits,
    channels,
    sharedInfo,
    memory,
    counters: { droppedNoControlBlock: 0, droppedOther: 0 },
    markEventsPending(vcpu) {
      sharedInfo.upcallPending[vcpu] = 1;
    },
    activeAbi: () => hv,
    switchAbi() {},
    warn() {},
  };
  const unmaskCalls: number[] = [];
  const hypercalls = {
    unmask(port: number) {
      unmaskCalls.push(port);
      hv.unmask(port);
      return 0;
    },
  } as unknown as EventChannelOps;
  const guestCtx: AbiGuestContext = { domid: 1, nrCpus: 1, wordBits, sharedInfo, memory, hypercalls, warn() {} };
  hv = abi.createHypervisorSide(hvCtx);
  const guest = abi.createGuestSideForEra(guestCtx, era);
  const bind = (...ports: number[]): void => {
    for (const p of ports) guest.bindToCpu(p, 0, 0);
  };
  const send = (...ports: number[]): void => {
    for (const p of ports) hv.setPending(0, p);
  };
  return { guest, hv, sharedInfo, bind, send, unmaskCalls };
}

/** Records dispatched ports; acks (clears pending) unless told not to; runs reactions after the ack. */
class Recorder implements EventDispatcher {
  readonly seen: number[] = [];
  readonly reactions = new Map<number, () => void>();
  readonly noAck = new Set<number>();
  timer = 0;
  constructor(private readonly guest: TwoLevelGuestSide) {}
  handlePort(port: number): void {
    this.seen.push(port);
    if (!this.noAck.has(port)) this.guest.clearPending(port);
    this.reactions.get(port)?.();
  }
  timerPort(): number {
    return this.timer;
  }
  /** The guest's upcall loop: scan until the upcall flag stays clear. */
  upcall(si: SharedInfo): number[] {
    this.seen.length = 0;
    do {
      si.upcallPending[0] = 0;
      this.guest.handleEvents(0, this);
    } while (si.upcallPending[0] !== 0);
    return [...this.seen];
  }
}

describe('2-level guest side, era 2007 (lowest-first scan)', () => {
  it('is created for era 2007 only; modern is the fair scan', () => {
    expect(domain('2007').guest).toBeInstanceOf(TwoLevelGuestSide2007);
    const modern = domain('modern').guest;
    expect(modern).toBeInstanceOf(TwoLevelGuestSide);
    expect(modern).not.toBeInstanceOf(TwoLevelGuestSide2007);
    expect(domain('2007').guest.name).toBe('2level');
  });

  it('starts from the lowest pending port every time (no resume position)', () => {
    for (const era of ['2007', 'modern'] as const) {
      const d = domain(era);
      d.bind(3, 40, 50);
      const r = new Recorder(d.guest);
      d.send(40);
      expect(r.upcall(d.sharedInfo)).toEqual([40]);
      d.send(3, 50);
      // Modern resumes after port 40 (so 50 first); 2007 starts at the lowest again.
      expect(r.upcall(d.sharedInfo)).toEqual(era === '2007' ? [3, 50] : [50, 3]);
    }
  });

  it('re-reads the word after each port: a port raised again by its handler is handled before higher ones', () => {
    const results: Record<string, number[]> = {};
    for (const era of ['2007', 'modern'] as const) {
      const d = domain(era);
      d.bind(2, 5, 70);
      const r = new Recorder(d.guest);
      let again = 3;
      r.reactions.set(2, () => {
        if (again-- > 0) d.send(2);
      });
      d.send(2, 5, 70);
      results[era] = r.upcall(d.sharedInfo);
    }
    expect(results['2007']).toEqual([2, 2, 2, 2, 5, 70]);
    // The modern scan samples each word once and resumes after the last port handled.
    expect(results['modern']).toEqual([2, 5, 70, 2, 2, 2]);
  });

  it('visits selected words from the lowest, including the high half of a 64-bit selector', () => {
    const d = domain('2007', 64);
    d.bind(2100, 64, 1);
    const r = new Recorder(d.guest);
    d.send(2100, 64, 1);
    expect(r.upcall(d.sharedInfo)).toEqual([1, 64, 2100]);
    const d32 = domain('2007', 32);
    d32.bind(1000, 33, 2);
    const r32 = new Recorder(d32.guest);
    d32.send(1000, 33, 2);
    expect(r32.upcall(d32.sharedInfo)).toEqual([2, 33, 1000]);
  });

  it('gives the VIRQ_TIMER port no priority', () => {
    const d = domain('2007');
    d.bind(4, 9);
    const r = new Recorder(d.guest);
    r.timer = 9;
    d.send(4, 9);
    expect(r.upcall(d.sharedInfo)).toEqual([4, 9]);
  });

  it('skips masked ports and ports of other CPUs', () => {
    const d = domain('2007');
    d.bind(4, 6);
    d.guest.mask(4);
    d.send(4, 6, 8); // 8 is not bound to CPU 0
    const r = new Recorder(d.guest);
    expect(r.upcall(d.sharedInfo)).toEqual([6]);
    expect(d.guest.isPending(4)).toBe(true);
  });

  it('leaves a port its handler did not consume for the rest of the pass instead of spinning', () => {
    const d = domain('2007');
    d.bind(3, 7);
    const r = new Recorder(d.guest);
    r.noAck.add(3);
    d.send(3, 7);
    expect(r.upcall(d.sharedInfo)).toEqual([3, 7]);
    const g = d.guest as TwoLevelGuestSide2007;
    expect(g.unconsumed).toBe(1);
    expect(d.guest.isPending(3)).toBe(true);
  });

  it('handles a port in the high half of a 64-bit word (ports 32-63 of word 0)', () => {
    const d = domain('2007', 64);
    d.bind(40, 33, 8);
    const r = new Recorder(d.guest);
    d.send(40, 33, 8);
    expect(r.upcall(d.sharedInfo)).toEqual([8, 33, 40]);
    expect((d.guest as TwoLevelGuestSide2007).unconsumed).toBe(0);
  });

  it('takes both halves of a 64-bit selector: nothing stays selected after the scan', () => {
    const d = domain('2007', 64);
    d.bind(1, 2100);
    d.send(1, 2100);
    expect(Array.from(d.sharedInfo.pendingSel)).toEqual([1, 1]);
    const r = new Recorder(d.guest);
    r.noAck.add(2100); // still pending afterwards, yet its selector bit is consumed
    expect(r.upcall(d.sharedInfo)).toEqual([1, 2100]);
    expect(Array.from(d.sharedInfo.pendingSel)).toEqual([0, 0]);
  });

  it('counts a port as unconsumed only when its handler leaves it pending, in either half of a word', () => {
    // Port 1 (the first port a scan can reach), 32 (bit 0 of the high half) and 40 left pending
    // by their handlers are each handled once; 8 (the same bit as 40 in the low half) is consumed.
    const d = domain('2007', 64);
    d.bind(1, 8, 32, 40);
    const r = new Recorder(d.guest);
    for (const p of [1, 32, 40]) r.noAck.add(p);
    d.send(1, 8, 32, 40);
    expect(r.upcall(d.sharedInfo)).toEqual([1, 8, 32, 40]);
    expect((d.guest as TwoLevelGuestSide2007).unconsumed).toBe(3);
    expect([1, 8, 32, 40].map((p) => d.guest.isPending(p))).toEqual([true, false, true, true]);
  });

  it('an HVM guest of either era unmasks a pending local port through EVTCHNOP_unmask', () => {
    for (const era of ['2007', 'modern'] as const) {
      const pv = domain(era, 64, false);
      const hvm = domain(era, 64, true);
      for (const d of [pv, hvm]) {
        d.bind(4);
        d.guest.mask(4);
        d.send(4);
        d.guest.unmask(4, 0);
        expect(d.guest.isMasked(4)).toBe(false);
      }
      // A PV guest re-raises the port itself; an HVM guest cannot and asks the hypervisor.
      expect(pv.unmaskCalls).toEqual([]);
      expect(hvm.unmaskCalls).toEqual([4]);
    }
  });
});
