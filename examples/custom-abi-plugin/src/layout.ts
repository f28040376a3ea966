/*
 * The 3-level event-channel ABI's geometry and shared memory. Models the 3-level design
 * proposed for Xen and Linux in 2013 (public discussion "Implement 3-level event channel",
 * xen-devel): with word size B, a per-vCPU top-level selector of B bits (the existing
 * `vcpu_info.evtchn_pending_sel`), a per-vCPU middle level of B words (B² bits, one per leaf
 * word), and pending/mask leaf bitmaps of B² words = B³ ports: 64³ = 262144 ports for 64-bit
 * guests, 32³ = 32768 for 32-bit ones. (FIFO was merged instead.)
 *
 * Port p lives in leaf word w = p / B; the middle-level bit for that word is bit w of the
 * vCPU's middle bitmap; the top-level bit is w / B. Every level is a plain bitmap of 32-bit
 * halves (a 64-bit word is two adjacent halves, low first), so "bit n" means the same thing at
 * every level and for both word sizes.
 */
import type { SharedInfo } from '@evtchn/core';

/** Ports a 64-bit guest can address: 64 × 64 × 64. */
export const THREE_LEVEL_PORTS_64 = 262144;
/** Ports a 32-bit guest can address: 32 × 32 × 32. */
export const THREE_LEVEL_PORTS_32 = 32768;

/**
 * Ports the 3-level ABI addresses for a guest of the given word size (B³).
 * @param wordBits - the guest's word size
 */
export function threeLevelMaxPorts(wordBits: 32 | 64): number {
  return wordBits === 64 ? THREE_LEVEL_PORTS_64 : THREE_LEVEL_PORTS_32;
}

/**
 * The memory both halves of the 3-level ABI share for one domain.
 *
 * The leaf bitmaps (32 KiB each for 262144 ports) and the middle selectors do not fit the
 * shared-info page, whose 2-level bitmaps hold 4096 bits. A real 3-level ABI has the guest
 * allocate these as extra pages and register them with a hypercall (the proposal's
 * `EVTCHNOP_register_nlevel`), after which Xen maps them; the model has no such hypercall, so
 * the arrays are created once per domain and found by both halves through the domain's
 * shared-info page (see {@link threeLevelMemory}). Only the top level is in the shared-info
 * page proper: it is `vcpu_info.evtchn_pending_sel`.
 */
export interface ThreeLevelMemory {
  /** log2 of the word size (5 or 6). */
  readonly wordShift: number;
  /** 32-bit halves per guest word (1 or 2). */
  readonly halvesPerWord: number;
  /** Ports addressed (B³). */
  readonly ports: number;
  /** Leaf pending bitmap, B³ bits. */
  readonly pending: Uint32Array;
  /** Leaf mask bitmap, B³ bits. */
  readonly mask: Uint32Array;
  /** Middle selectors: B² bits per vCPU, vCPU v's at halves `[v * middleHalves, (v + 1) * middleHalves)`. */
  readonly middle: Uint32Array;
  /** 32-bit halves of one vCPU's middle selector (B² / 32). */
  readonly middleHalves: number;
  /** Top-level selectors: `SharedInfo.pendingSel`, two halves per vCPU (a 32-bit guest uses the low one). */
  readonly top: Uint32Array;
}

const memories = new WeakMap<SharedInfo, ThreeLevelMemory>();

/**
 * The 3-level memory of the domain owning `sharedInfo`, created zeroed (nothing pending,
 * nothing masked) on first use.
 * @param sharedInfo - the domain's shared-info page (identifies the domain)
 * @param wordBits - the guest's word size
 */
export function threeLevelMemory(sharedInfo: SharedInfo, wordBits: 32 | 64): ThreeLevelMemory {
  let m = memories.get(sharedInfo);
  if (m) return m;
  const wordShift = wordBits === 64 ? 6 : 5;
  const ports = threeLevelMaxPorts(wordBits);
  const middleHalves = (1 << (2 * wordShift)) >>> 5;
  m = {
    wordShift,
    halvesPerWord: wordBits >>> 5,
    ports,
    pending: new Uint32Array(ports >>> 5),
    mask: new Uint32Array(ports >>> 5),
    middle: new Uint32Array(middleHalves * sharedInfo.nrVcpus),
    middleHalves,
    top: sharedInfo.pendingSel,
  };
  memories.set(sharedInfo, m);
  return m;
}

/**
 * Raises `port`'s selector chain on `vcpu`: sets its middle bit and, when that was clear, its
 * top bit. Shared by the hypervisor's setPending/unmask and the guest's local unmask.
 * @returns whether the top bit went from clear to set (the caller then raises the upcall)
 */
export function raiseSelectors(m: ThreeLevelMemory, vcpu: number, port: number): boolean {
  const leafWord = port >>> m.wordShift;
  const mi = vcpu * m.middleHalves + (leafWord >>> 5);
  const mbit = 1 << (leafWord & 31);
  const mold = m.middle[mi]!;
  if ((mold & mbit) !== 0) return false;
  m.middle[mi] = mold | mbit;
  const group = leafWord >>> m.wordShift;
  const ti = (vcpu << 1) + (group >>> 5);
  const tbit = 1 << (group & 31);
  const told = m.top[ti]!;
  if ((told & tbit) !== 0) return false;
  m.top[ti] = told | tbit;
  return true;
}
