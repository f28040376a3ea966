/*
 * The 2-level ABI's shared-memory geometry. Models the layout described by
 * xen/include/public/xen.h (`shared_info.evtchn_pending/evtchn_mask`,
 * `vcpu_info.evtchn_pending_sel`): port p is bit p of the bitmaps whatever the guest's word
 * size; the guest's word size B decides how many ports exist (B × B) and which selector bit
 * covers a port (word `p / B`).
 */

/** Ports a 64-bit guest can address with the 2-level ABI (64 words of 64 bits). */
export const TWO_LEVEL_PORTS_64 = 4096;
/** Ports a 32-bit guest can address with the 2-level ABI (32 words of 32 bits). */
export const TWO_LEVEL_PORTS_32 = 1024;

/**
 * Ports the 2-level ABI can address for a guest whose word is `wordBits` wide
 * (`EVTCHN_2L_NR_CHANNELS`: B words of B bits).
 * @param wordBits - the guest's word size
 */
export function twoLevelMaxPorts(wordBits: 32 | 64): number {
  return wordBits === 64 ? TWO_LEVEL_PORTS_64 : TWO_LEVEL_PORTS_32;
}

/**
 * Index in `SharedInfo.pendingSel` (32-bit halves, two per vCPU, low half first) of the half
 * that holds selector bit `selBit` of `vcpu`.
 */
export function selectorHalf(vcpu: number, selBit: number): number {
  return (vcpu << 1) + (selBit >>> 5);
}
