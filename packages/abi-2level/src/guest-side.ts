/*
 * The guest half of the 2-level ABI for one domain. Models Linux's
 * drivers/xen/events/events_2l.c: per-CPU masks saying which ports each CPU handles, the
 * unmask fast path that re-raises a pending event locally, and the fair two-level scan
 * (selector word, then bitmap words) that resumes where the previous upcall stopped.
 */
import type { AbiGuestContext, AbiGuestOps, EventDispatcher, JsonValue } from '@evtchn/core';
import { clearBit, readArray, readArrayInto, readObject, setBit, snapshotPath, testBit, writeArray } from '@evtchn/core';
import { selectorHalf, twoLevelMaxPorts } from './layout.js';

/** 32-bit words of one CPU's port mask (4096 bits, enough for either word size). */
export const CPU_MASK_WORDS32 = 128;

/** Options of the guest half. */
export interface TwoLevelGuestOptions {
  /**
   * Model an HVM guest's unmask: a local port found pending is masked again and unmasked
   * through EVTCHNOP_unmask (HVM guests cannot raise their own upcall). Default `false` (PV).
   */
  readonly hvm?: boolean;
}

/** Guest-side 2-level operations (Linux's `evtchn_ops_2l`) for one domain. */
export class TwoLevelGuestSide implements AbiGuestOps {
  /** Always `'2level'`. */
  readonly name = '2level';
  /** Per-CPU masks of the ports each CPU handles (`cpu_evtchn_mask`). */
  readonly cpuMasks: readonly Uint32Array[];
  /** CPU each port is bound to in this ABI's view (0 when never bound or removed). */
  readonly boundCpu: Uint16Array;
  /** Per-CPU word index where the next scan starts (`current_word_idx`). */
  readonly currentWordIdx: Uint8Array;
  /** Per-CPU bit index where the next scan starts (`current_bit_idx`). */
  readonly currentBitIdx: Uint8Array;
  private readonly ports: number;
  private readonly wordBits: number;
  private readonly hvm: boolean;
  private pending: Uint32Array;
  private maskBits: Uint32Array;
  private pendingSel: Uint32Array;
  private upcallPending: Uint8Array;

  /**
   * @param ctx - the domain as its guest sees it
   * @param options - guest flavour
   */
  constructor(
    private ctx: AbiGuestContext,
    options: TwoLevelGuestOptions = {},
  ) {
    this.ports = twoLevelMaxPorts(ctx.wordBits);
    this.wordBits = ctx.wordBits;
    this.hvm = options.hvm ?? false;
    const si = ctx.sharedInfo;
    this.pending = si.evtchnPending;
    this.maskBits = si.evtchnMask;
    this.pendingSel = si.pendingSel;
    this.upcallPending = si.upcallPending;
    const store = new Uint32Array(CPU_MASK_WORDS32 * ctx.nrCpus);
    const masks: Uint32Array[] = [];
    for (let cpu = 0; cpu < ctx.nrCpus; cpu++) {
      masks.push(store.subarray(cpu * CPU_MASK_WORDS32, (cpu + 1) * CPU_MASK_WORDS32));
    }
    this.cpuMasks = masks;
    this.boundCpu = new Uint16Array(this.ports);
    this.currentWordIdx = new Uint8Array(ctx.nrCpus);
    this.currentBitIdx = new Uint8Array(ctx.nrCpus);
  }

  /**
   * Snapshot hook: the per-CPU port masks, each port's CPU and the scan cursors (the bitmaps
   * themselves live in the shared-info page, which the domain saves).
   */
  getState(): JsonValue {
    return {
      cpuMasks: this.cpuMasks.map((m) => writeArray(m)),
      boundCpu: writeArray(this.boundCpu),
      currentWordIdx: writeArray(this.currentWordIdx),
      currentBitIdx: writeArray(this.currentBitIdx),
    };
  }

  /** Restores {@link TwoLevelGuestSide.getState}. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    const masks = readArray(o.cpuMasks, 'cpuMasks', this.cpuMasks.length);
    masks.forEach((m, cpu) => readArrayInto(m, snapshotPath('cpuMasks', cpu), this.cpuMasks[cpu]!));
    readArrayInto(o.boundCpu, 'boundCpu', this.boundCpu);
    readArrayInto(o.currentWordIdx, 'currentWordIdx', this.currentWordIdx);
    readArrayInto(o.currentBitIdx, 'currentBitIdx', this.currentBitIdx);
  }

  /** 4096 (64-bit guest) or 1024 (32-bit guest). */
  maxChannels(): number {
    return this.ports;
  }

  /** Same as {@link TwoLevelGuestSide.maxChannels}: the bitmaps never grow. */
  nrChannels(): number {
    return this.ports;
  }

  /** Nothing to prepare: every port already has its bits. @returns 0 */
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
    // `clearBit` written out: every event's ack comes here, inside V8's inlining budget.
    this.pending[port >>> 5]! &= ~(1 << (port & 31));
  }

  /** Sets `port`'s pending bit without notifying anyone (retrigger). */
  setPending(port: number): void {
    setBit(this.pending, port);
  }

  /** Whether `port`'s pending bit is set. */
  isPending(port: number): boolean {
    return testBit(this.pending, port);
  }

  /** Whether `port`'s mask bit is set. */
  isMasked(port: number): boolean {
    return testBit(this.maskBits, port);
  }

  /** Sets `port`'s mask bit. */
  mask(port: number): void {
    setBit(this.maskBits, port);
  }

  /**
   * Unmasks `port` while running on `cpu`. A port handled by another CPU goes through
   * EVTCHNOP_unmask so the hypervisor raises it on the right vCPU. A local port is unmasked
   * in place (mask cleared before pending is read, so an event arriving meanwhile is not
   * lost) and, if pending, re-raised by setting the selector bit and the upcall flag the way
   * the hypervisor would: the guest plays the IO-APIC resending a latched edge.
   */
  unmask(port: number, cpu: number): void {
    if (this.boundCpu[port] !== cpu) {
      this.ctx.hypercalls.unmask(port);
      return;
    }
    clearBit(this.maskBits, port);
    if (!testBit(this.pending, port)) return;
    if (this.hvm) {
      setBit(this.maskBits, port);
      this.ctx.hypercalls.unmask(port);
      return;
    }
    const sel = this.wordBits === 64 ? port >>> 6 : port >>> 5;
    const i = selectorHalf(cpu, sel);
    const bit = 1 << (sel & 31);
    const old = this.pendingSel[i]!;
    if ((old & bit) !== 0) return;
    this.pendingSel[i] = old | bit;
    this.upcallPending[cpu] = 1;
  }

  /**
   * The 2-level scan for `cpu`. The VIRQ_TIMER port goes first. Then the selector is taken
   * (read and zeroed) and words are visited in ascending order starting at the position
   * after the last port handled by the previous scan, so a busy low port cannot starve the
   * others. The start word is visited twice: first from the resume bit upwards, then, after
   * wrapping, from bit 0. Each word's active bits are sampled once, so events raised by a
   * handler wait for the next upcall.
   */
  handleEvents(cpu: number, dispatch: EventDispatcher): void {
    const pending = this.pending;
    const mask = this.maskBits;
    const cpuMask = this.cpuMasks[cpu]!;

    const timer = dispatch.timerPort(cpu);
    if (timer !== 0 && testBit(pending, timer) && testBit(cpuMask, timer) && !testBit(mask, timer)) {
      dispatch.handlePort(timer, cpu);
    }

    // 64-bit values are kept as (lo, hi) 32-bit halves; a 32-bit guest uses lo only.
    const wide = this.wordBits === 64;
    const B = this.wordBits;
    const wrap = B - 1;
    const selLo = cpu << 1;
    let pendLo = this.pendingSel[selLo]!;
    let pendHi = 0;
    this.pendingSel[selLo] = 0;
    if (wide) {
      pendHi = this.pendingSel[selLo + 1]!;
      this.pendingSel[selLo + 1] = 0;
    }

    const startWord = this.currentWordIdx[cpu]!;
    const startBit = this.currentBitIdx[cpu]!;
    let word = startWord;
    for (let i = 0; (pendLo | pendHi) !== 0; i++) {
      // Selector words at or above `word`.
      let wLo: number;
      let wHi: number;
      if (word < 32) {
        wLo = pendLo & (-1 << word);
        wHi = pendHi;
      } else {
        wLo = 0;
        wHi = pendHi & (-1 << (word - 32));
      }
      if ((wLo | wHi) === 0) {
        word = 0;
        continue;
      }
      // Lowest set bit (`__ffs`) written out, as below: this loop is the root V8 compiles the
      // event path into, and its own bytecode does not count against the inlining budget.
      word = wLo !== 0 ? 31 - Math.clz32(wLo & -wLo) : 63 - Math.clz32(wHi & -wHi);

      // Active bits of this word: pending, handled by this CPU, not masked.
      let aLo: number;
      let aHi: number;
      if (wide) {
        const k = word << 1;
        aLo = pending[k]! & cpuMask[k]! & ~mask[k]!;
        aHi = pending[k + 1]! & cpuMask[k + 1]! & ~mask[k + 1]!;
      } else {
        aLo = pending[word]! & cpuMask[word]! & ~mask[word]!;
        aHi = 0;
      }

      let bit = word === startWord && i === 0 ? startBit : 0;
      do {
        let bLo: number;
        let bHi: number;
        if (bit < 32) {
          bLo = aLo & (-1 << bit);
          bHi = aHi;
        } else {
          bLo = 0;
          bHi = aHi & (-1 << (bit - 32));
        }
        if ((bLo | bHi) === 0) break;
        bit = bLo !== 0 ? 31 - Math.clz32(bLo & -bLo) : 63 - Math.clz32(bHi & -bHi);
        dispatch.handlePort(word * B + bit, cpu);
        bit = (bit + 1) & wrap;
        this.currentBitIdx[cpu] = bit;
        this.currentWordIdx[cpu] = bit !== 0 ? word : (word + 1) & wrap;
      } while (bit !== 0);

      if (word !== startWord || i !== 0) {
        if (word < 32) pendLo &= ~(1 << word);
        else pendHi &= ~(1 << (word - 32));
      }
      word = (word + 1) & wrap;
    }
  }

  /**
   * Migration: the guest's memory was copied into a new domain. The bitmaps now are the new
   * domain's shared-info page and hypercalls go to it; the per-CPU masks and scan positions are
   * guest memory and stay (`resume` then forgets the CPU bindings).
   * @throws RangeError when the new domain has another word size or number of CPUs
   */
  migrate(ctx: AbiGuestContext): void {
    if (ctx.wordBits !== this.wordBits || ctx.nrCpus !== this.ctx.nrCpus)
      throw new RangeError(`2-level guest side: a ${this.wordBits}-bit guest with ${this.ctx.nrCpus} CPUs cannot move to a ${ctx.wordBits}-bit domain with ${ctx.nrCpus}`);
    const si = ctx.sharedInfo;
    this.pending = si.evtchnPending;
    this.maskBits = si.evtchnMask;
    this.pendingSel = si.pendingSel;
    this.upcallPending = si.upcallPending;
    this.ctx = ctx;
  }

  /**
   * After save/restore: forgets every CPU binding, as Linux does; the guest's event layer
   * then rebinds each port it restores (`bindToCpu`). The scan positions are kept.
   */
  resume(): void {
    for (const m of this.cpuMasks) m.fill(0);
    this.boundCpu.fill(0);
  }

  /** A CPU going down stops handling every port. @returns 0 */
  percpuDeinit(cpu: number): number {
    this.cpuMasks[cpu]!.fill(0);
    return 0;
  }
}
