/*
 * The guest half of the 2-level ABI as the first paravirt_ops Linux had it (2007,
 * arch/i386/xen/events.c, SPEC §7). Everything but the scan is the same as today's
 * events_2l.c: same bitmaps, CPU masks and unmask fast path. The scan keeps no resume
 * position: each upcall takes the selector, then for every selected word, lowest first,
 * handles the lowest active port, re-reads the word, and repeats until the word has no active
 * port left. A low port that becomes pending again while it is being handled is therefore
 * handled again before any higher port: a busy low port starves everything above it.
 */
import type { AbiGuestContext, EventDispatcher } from '@evtchn/core';
import { ffs32 } from '@evtchn/core';
import { TwoLevelGuestSide, type TwoLevelGuestOptions } from './guest-side.js';

/** Linux eras whose 2-level guest side {@link TwoLevelAbi} can create. */
export type TwoLevelGuestEra = '2007' | 'modern';

/**
 * The 2007 guest half of the 2-level ABI: the lowest-first scan with no resume position and
 * no VIRQ_TIMER priority. The rest is inherited from {@link TwoLevelGuestSide}.
 */
export class TwoLevelGuestSide2007 extends TwoLevelGuestSide {
  /** Always `'2007'`. */
  readonly era = '2007';
  /**
   * Ports found still pending after their handler ran without clearing them (no IRQ, or the
   * event dropped). The 2007 kernel would re-read such a port forever; the model leaves it
   * for the rest of the word's pass and counts it here.
   */
  unconsumed = 0;

  private readonly pending2007: Uint32Array;
  private readonly mask2007: Uint32Array;
  private readonly sel2007: Uint32Array;
  private readonly wide: boolean;
  /** Last port whose pending bit the guest cleared; tells a consumed event from one left alone. */
  private lastCleared = -1;

  /**
   * @param ctx - the domain as its guest sees it
   * @param options - guest flavour (PV or HVM unmask)
   */
  constructor(ctx: AbiGuestContext, options: TwoLevelGuestOptions = {}) {
    super(ctx, options);
    this.pending2007 = ctx.sharedInfo.evtchnPending;
    this.mask2007 = ctx.sharedInfo.evtchnMask;
    this.sel2007 = ctx.sharedInfo.pendingSel;
    this.wide = ctx.wordBits === 64;
  }

  /** Clears `port`'s pending bit and remembers it (the scan's consumed-event check). */
  override clearPending(port: number): void {
    super.clearPending(port);
    this.lastCleared = port;
  }

  /**
   * The 2007 scan on `cpu`: take the selector; for each selected word from the lowest, handle
   * the lowest active port of the word as it reads *now*, until none is left. No resume
   * position, no timer-first rule.
   */
  override handleEvents(cpu: number, dispatch: EventDispatcher): void {
    const pending = this.pending2007;
    const mask = this.mask2007;
    const cpuMask = this.cpuMasks[cpu]!;
    const wide = this.wide;
    const B = wide ? 64 : 32;
    const selLo = cpu << 1;
    let pendLo = this.sel2007[selLo]!;
    let pendHi = 0;
    this.sel2007[selLo] = 0;
    if (wide) {
      pendHi = this.sel2007[selLo + 1]!;
      this.sel2007[selLo + 1] = 0;
    }
    while ((pendLo | pendHi) !== 0) {
      let word: number;
      if (pendLo !== 0) {
        word = ffs32(pendLo);
        pendLo &= ~(1 << word);
      } else {
        word = 32 + ffs32(pendHi);
        pendHi &= ~(1 << (word - 32));
      }
      // Bits of this word left alone by their handler during this pass (see `unconsumed`).
      let skipLo = 0;
      let skipHi = 0;
      const k = wide ? word << 1 : word;
      for (;;) {
        const aLo = pending[k]! & cpuMask[k]! & ~mask[k]! & ~skipLo;
        const aHi = wide ? pending[k + 1]! & cpuMask[k + 1]! & ~mask[k + 1]! & ~skipHi : 0;
        if ((aLo | aHi) === 0) break;
        const bit = aLo !== 0 ? ffs32(aLo) : 32 + ffs32(aHi);
        const port = word * B + bit;
        this.lastCleared = -1;
        dispatch.handlePort(port, cpu);
        if (this.lastCleared !== port && (pending[port >>> 5]! & (1 << (port & 31))) !== 0) {
          this.unconsumed++;
          if (bit < 32) skipLo |= 1 << bit;
          else skipHi |= 1 << (bit - 32);
        }
      }
    }
  }
}
