/*
 * The hypervisor half of the 3-level ABI for one domain: the 2-level rules (xen/common/event_2l.c)
 * with one more selector level, as the 2013 3-level proposal for Xen described: only the 0→1
 * transition of a pending bit can notify, and only when the port is unmasked and the middle
 * and top selector bits for it were clear on the vCPU.
 */
import type { AbiHypervisorContext, AbiHypervisorOps, JsonValue } from '@evtchn/core';
import { readArrayInto, readObject, testAndClearBit, testAndSetBit, testBit, writeArray } from '@evtchn/core';
import { raiseSelectors, threeLevelMemory, type ThreeLevelMemory } from './layout.js';

/** Hypervisor-side 3-level operations (an `evtchn_port_ops`) on one domain's bitmaps. */
export class ThreeLevelHypervisorSide implements AbiHypervisorOps {
  /** Always `'3level'`. */
  readonly name = '3level';
  /** 262144 for a 64-bit guest, 32768 for a 32-bit one. */
  readonly maxPorts: number;
  /** The domain's 3-level memory. */
  readonly memory: ThreeLevelMemory;

  /** @param ctx - the domain as the ABI sees it */
  constructor(private readonly ctx: AbiHypervisorContext) {
    this.memory = threeLevelMemory(ctx.sharedInfo, ctx.wordBits);
    this.maxPorts = this.memory.ports;
  }

  /**
   * Snapshot hook: the leaf and middle bitmaps (this ABI keeps them outside the shared-info
   * page, which the platform saves itself; the top selectors are its `pendingSel`).
   */
  getState(): JsonValue {
    const m = this.memory;
    return { pending: writeArray(m.pending), mask: writeArray(m.mask), middle: writeArray(m.middle) };
  }

  /** Restores {@link ThreeLevelHypervisorSide.getState}, naming a bad field by its path. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    const m = this.memory;
    readArrayInto(o.pending, 'pending', m.pending);
    readArrayInto(o.mask, 'mask', m.mask);
    readArrayInto(o.middle, 'middle', m.middle);
  }

  /** The bitmaps keep no per-port state beyond pending and mask, so a bind needs nothing. */
  init(_port: number): void {}

  /** Sets `port` pending; notifies `vcpu` when the bit, the middle bit and the top bit were all clear. */
  setPending(vcpu: number, port: number): void {
    const m = this.memory;
    if (testAndSetBit(m.pending, port)) return;
    if (testBit(m.mask, port)) return;
    if (raiseSelectors(m, vcpu, port)) this.ctx.markEventsPending(vcpu);
  }

  /** Clears `port`'s pending bit (selector bits are left for the guest's scan to drop). */
  clearPending(port: number): void {
    const m = this.memory;
    m.pending[port >>> 5] = m.pending[port >>> 5]! & ~(1 << (port & 31));
  }

  /**
   * EVTCHNOP_unmask: clears the mask bit and, when it was set and the port is pending, raises
   * the selectors on the notify vCPU (an event that arrived while masked raised none).
   */
  unmask(port: number): void {
    const m = this.memory;
    if (!testAndClearBit(m.mask, port)) return;
    if (!testBit(m.pending, port)) return;
    const vcpu = this.ctx.channels.notifyVcpu[port]!;
    if (raiseSelectors(m, vcpu, port)) this.ctx.markEventsPending(vcpu);
  }

  /** Whether `port` is addressable and pending. */
  isPending(port: number): boolean {
    return port < this.maxPorts && testBit(this.memory.pending, port);
  }

  /** Whether `port` is masked; ports beyond the limit read masked. */
  isMasked(port: number): boolean {
    return port >= this.maxPorts || testBit(this.memory.mask, port);
  }

  /** `"<middle bit><top bit>"` of `port` on its notify vCPU, e.g. `"10"`. */
  printState(port: number): string {
    const m = this.memory;
    const vcpu = this.ctx.channels.notifyVcpu[port]!;
    const leafWord = port >>> m.wordShift;
    const group = leafWord >>> m.wordShift;
    const mid = testBit(m.middle.subarray(vcpu * m.middleHalves, (vcpu + 1) * m.middleHalves), leafWord);
    const top = (m.top[(vcpu << 1) + (group >>> 5)]! & (1 << (group & 31))) !== 0;
    return `${mid ? 1 : 0}${top ? 1 : 0}`;
  }
}
