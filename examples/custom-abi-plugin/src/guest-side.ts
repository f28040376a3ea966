/*
 * The guest half of the 3-level ABI for one domain, after Linux's drivers/xen/events/events_2l.c
 * with the extra level of the 2013 3-level proposal: per-CPU port masks, the local unmask fast
 * path, and a scan top → middle → leaf. Each selector word is taken (read and zeroed) before
 * the level below it is read, so an event raised meanwhile either is seen by this scan or
 * raises the selectors (and the upcall) again; each leaf word's active bits are sampled once,
 * so events raised by a handler wait for the next upcall.
 */
import type { AbiGuestContext, AbiGuestOps, EventDispatcher, JsonValue } from '@evtchn/core';
import { clearBit, readArray, readArrayInto, readObject, setBit, snapshotPath, testBit, writeArray } from '@evtchn/core';
import { raiseSelectors, threeLevelMemory, type ThreeLevelMemory } from './layout.js';

/** Guest-side 3-level operations (an `evtchn_ops`) for one domain. */
export class ThreeLevelGuestSide implements AbiGuestOps {
  /** Always `'3level'`. */
  readonly name = '3level';
  /** Per-CPU masks of the ports each CPU handles (B³ bits each). */
  readonly cpuMasks: readonly Uint32Array[];
  /** CPU each port is bound to in this ABI's view. */
  readonly boundCpu: Uint16Array;
  private readonly memory: ThreeLevelMemory;
  private readonly upcallPending: Uint8Array;

  /** @param ctx - the domain as its guest sees it */
  constructor(private readonly ctx: AbiGuestContext) {
    this.memory = threeLevelMemory(ctx.sharedInfo, ctx.wordBits);
    this.upcallPending = ctx.sharedInfo.upcallPending;
    const words = this.memory.ports >>> 5;
    const store = new Uint32Array(words * ctx.nrCpus);
    const masks: Uint32Array[] = [];
    for (let cpu = 0; cpu < ctx.nrCpus; cpu++) masks.push(store.subarray(cpu * words, (cpu + 1) * words));
    this.cpuMasks = masks;
    this.boundCpu = new Uint16Array(this.memory.ports);
  }

  /** Snapshot hook: the per-CPU port masks and each port's CPU (the bitmaps are the hypervisor half's). */
  getState(): JsonValue {
    return { cpuMasks: this.cpuMasks.map((m) => writeArray(m)), boundCpu: writeArray(this.boundCpu) };
  }

  /** Restores {@link ThreeLevelGuestSide.getState}. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    readArray(o.cpuMasks, 'cpuMasks', this.cpuMasks.length).forEach((m, cpu) => readArrayInto(m, snapshotPath('cpuMasks', cpu), this.cpuMasks[cpu]!));
    readArrayInto(o.boundCpu, 'boundCpu', this.boundCpu);
  }

  /** 262144 (64-bit guest) or 32768 (32-bit guest). */
  maxChannels(): number {
    return this.memory.ports;
  }

  /** Same as {@link ThreeLevelGuestSide.maxChannels}: the bitmaps never grow. */
  nrChannels(): number {
    return this.memory.ports;
  }

  /** Nothing to prepare. @returns 0 */
  setup(_port: number): number {
    return 0;
  }

  /** Stops `cpu` from handling `port`. */
  remove(port: number, cpu: number): void {
    clearBit(this.cpuMasks[cpu]!, port);
    this.boundCpu[port] = 0;
  }

  /** Moves `port` from `oldCpu`'s mask to `cpu`'s. */
  bindToCpu(port: number, cpu: number, oldCpu: number): void {
    clearBit(this.cpuMasks[oldCpu]!, port);
    setBit(this.cpuMasks[cpu]!, port);
    this.boundCpu[port] = cpu;
  }

  /** Clears `port`'s pending bit. */
  clearPending(port: number): void {
    clearBit(this.memory.pending, port);
  }

  /** Sets `port`'s pending bit without notifying (retrigger). */
  setPending(port: number): void {
    setBit(this.memory.pending, port);
  }

  /** Whether `port` is pending. */
  isPending(port: number): boolean {
    return testBit(this.memory.pending, port);
  }

  /** Whether `port` is masked. */
  isMasked(port: number): boolean {
    return testBit(this.memory.mask, port);
  }

  /** Masks `port`. */
  mask(port: number): void {
    setBit(this.memory.mask, port);
  }

  /**
   * Unmasks `port` on `cpu`: a port handled by another CPU goes through EVTCHNOP_unmask; a
   * local one is unmasked in place and, if pending, re-raised through the selectors and the
   * upcall flag, as the hypervisor would.
   */
  unmask(port: number, cpu: number): void {
    if (this.boundCpu[port] !== cpu) {
      this.ctx.hypercalls.unmask(port);
      return;
    }
    const m = this.memory;
    clearBit(m.mask, port);
    if (!testBit(m.pending, port)) return;
    if (raiseSelectors(m, cpu, port)) this.upcallPending[cpu] = 1;
  }

  /** The scan: VIRQ_TIMER first, then top → middle → leaf in ascending port order. */
  handleEvents(cpu: number, dispatch: EventDispatcher): void {
    const m = this.memory;
    const pending = m.pending;
    const mask = m.mask;
    const cpuMask = this.cpuMasks[cpu]!;

    const timer = dispatch.timerPort(cpu);
    if (timer !== 0 && testBit(pending, timer) && testBit(cpuMask, timer) && !testBit(mask, timer)) dispatch.handlePort(timer, cpu);

    const hpw = m.halvesPerWord;
    const topBase = cpu << 1;
    const middleBase = cpu * m.middleHalves;
    for (let th = 0; th < hpw; th++) {
      let top = m.top[topBase + th]!;
      m.top[topBase + th] = 0;
      while (top !== 0) {
        const tb = 31 - Math.clz32(top & -top);
        top &= top - 1;
        // Top bit g covers middle bits [g*B, (g+1)*B): `hpw` halves of this vCPU's middle bitmap.
        const group = (th << 5) + tb;
        const mFirst = middleBase + group * hpw;
        for (let mh = 0; mh < hpw; mh++) {
          let mid = m.middle[mFirst + mh]!;
          m.middle[mFirst + mh] = 0;
          while (mid !== 0) {
            const mb = 31 - Math.clz32(mid & -mid);
            mid &= mid - 1;
            const leafWord = ((group * hpw + mh) << 5) + mb;
            const lFirst = leafWord * hpw;
            for (let lh = 0; lh < hpw; lh++) {
              const i = lFirst + lh;
              let active = pending[i]! & cpuMask[i]! & ~mask[i]!;
              while (active !== 0) {
                const lb = 31 - Math.clz32(active & -active);
                active &= active - 1;
                dispatch.handlePort((i << 5) + lb, cpu);
              }
            }
          }
        }
      }
    }
  }

  /** After save/restore: forgets every CPU binding (the guest rebinds what it restores). */
  resume(): void {
    for (const mask of this.cpuMasks) mask.fill(0);
    this.boundCpu.fill(0);
  }

  /** A CPU going down stops handling every port. @returns 0 */
  percpuDeinit(cpu: number): number {
    this.cpuMasks[cpu]!.fill(0);
    return 0;
  }
}
