/*
 * The hypervisor half of the 2-level ABI for one domain. Models xen/common/event_2l.c
 * (Xen's `evtchn_port_ops` for the 2-level ABI): a pending and a mask bitmap in the
 * shared-info page, and one selector word per vCPU whose bit w says "word w of the pending
 * bitmap may have something for you". The domain's state lives entirely in shared memory, so
 * this object keeps no state of its own.
 */
import type { AbiHypervisorContext, AbiHypervisorOps, JsonValue } from '@evtchn/core';
import { testAndClearBit, testAndSetBit, testBit } from '@evtchn/core';
import { selectorHalf, twoLevelMaxPorts } from './layout.js';

/** Hypervisor-side 2-level operations on one domain's shared-info page. */
export class TwoLevelHypervisorSide implements AbiHypervisorOps {
  /** Always `'2level'`. */
  readonly name = '2level';
  /** 4096 for a 64-bit guest, 1024 for a 32-bit one. */
  readonly maxPorts: number;
  private readonly pending: Uint32Array;
  private readonly mask: Uint32Array;
  private readonly pendingSel: Uint32Array;
  /** log2 of the guest's word size: the selector bit of port p is `p >>> wordShift`. */
  private readonly wordShift: number;

  /** @param ctx - the domain as the ABI sees it */
  /**
   * Snapshot hook: `null`, since every bit of the 2-level ABI lives in the shared-info page,
   * which the domain saves.
   */
  getState(): JsonValue {
    return null;
  }

  /** Accepts only `null` (see {@link TwoLevelHypervisorSide.getState}). */
  setState(state: JsonValue): void {
    if (state !== null) throw new Error('expected null: the 2-level ABI keeps its state in the shared-info page');
  }

  constructor(private readonly ctx: AbiHypervisorContext) {
    this.maxPorts = twoLevelMaxPorts(ctx.wordBits);
    this.pending = ctx.sharedInfo.evtchnPending;
    this.mask = ctx.sharedInfo.evtchnMask;
    this.pendingSel = ctx.sharedInfo.pendingSel;
    this.wordShift = ctx.wordBits === 64 ? 6 : 5;
  }

  /** The 2-level ABI keeps no per-port state, so a bind needs nothing. */
  init(_port: number): void {}

  /**
   * Sets `port` pending. Only the 0→1 transition of the pending bit can notify, and only
   * when the port is unmasked and the selector bit for its word was not already set on
   * `vcpu` (a set selector bit means an upcall for that word is already owed).
   */
  setPending(vcpu: number, port: number): void {
    if (testAndSetBit(this.pending, port)) return;
    if (testBit(this.mask, port)) return;
    if (this.testAndSetSelector(vcpu, port)) return;
    this.ctx.markEventsPending(vcpu);
  }

  /** Clears `port`'s pending bit. */
  clearPending(port: number): void {
    const i = port >>> 5;
    this.pending[i] = this.pending[i]! & ~(1 << (port & 31));
  }

  /**
   * EVTCHNOP_unmask: clears the mask bit and, when that bit was set and the port is pending,
   * re-raises the event on the port's notify vCPU (an event that arrived while masked set
   * no selector bit, so it has to be announced now).
   */
  unmask(port: number): void {
    if (!testAndClearBit(this.mask, port)) return;
    if (!testBit(this.pending, port)) return;
    const vcpu = this.ctx.channels.notifyVcpu[port]!;
    if (this.testAndSetSelector(vcpu, port)) return;
    this.ctx.markEventsPending(vcpu);
  }

  /** Whether `port` is addressable and its pending bit is set. */
  isPending(port: number): boolean {
    return port < this.maxPorts && testBit(this.pending, port);
  }

  /** Whether `port` is masked; ports beyond the ABI's limit always read masked. */
  isMasked(port: number): boolean {
    return port >= this.maxPorts || testBit(this.mask, port);
  }

  /** `"1"` when the selector bit of `port`'s word is set on its notify vCPU, else `"0"`. */
  printState(port: number): string {
    const vcpu = this.ctx.channels.notifyVcpu[port]!;
    const sel = port >>> this.wordShift;
    return (this.pendingSel[selectorHalf(vcpu, sel)]! & (1 << (sel & 31))) !== 0 ? '1' : '0';
  }

  private testAndSetSelector(vcpu: number, port: number): boolean {
    const sel = port >>> this.wordShift;
    const i = selectorHalf(vcpu, sel);
    const bit = 1 << (sel & 31);
    const old = this.pendingSel[i]!;
    this.pendingSel[i] = old | bit;
    return (old & bit) !== 0;
  }
}
