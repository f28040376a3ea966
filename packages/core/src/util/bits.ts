/*
 * Bit helpers over typed arrays, in the style of v86's hardware models. Shared memory in this
 * project is made of 32-bit words; a 64-bit guest word is two adjacent 32-bit halves (low
 * half first), because JavaScript bit operators work on 32 bits.
 */

/** Returns whether bit `bit` of the bitmap `words` is set. */
export function testBit(words: Uint32Array, bit: number): boolean {
  return (words[bit >>> 5]! & (1 << (bit & 31))) !== 0;
}

/** Sets bit `bit` of the bitmap `words`. */
export function setBit(words: Uint32Array, bit: number): void {
  words[bit >>> 5]! |= 1 << (bit & 31);
}

/** Clears bit `bit` of the bitmap `words`. */
export function clearBit(words: Uint32Array, bit: number): void {
  words[bit >>> 5]! &= ~(1 << (bit & 31));
}

/** Sets bit `bit` and returns whether it was already set (like Linux `test_and_set_bit`). */
export function testAndSetBit(words: Uint32Array, bit: number): boolean {
  const i = bit >>> 5;
  const m = 1 << (bit & 31);
  const old = words[i]!;
  words[i] = old | m;
  return (old & m) !== 0;
}

/** Clears bit `bit` and returns whether it was set (like Linux `test_and_clear_bit`). */
export function testAndClearBit(words: Uint32Array, bit: number): boolean {
  const i = bit >>> 5;
  const m = 1 << (bit & 31);
  const old = words[i]!;
  words[i] = old & ~m;
  return (old & m) !== 0;
}

/** Index of the lowest set bit of a 32-bit value, or 32 when it is zero. */
export function ffs32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}
