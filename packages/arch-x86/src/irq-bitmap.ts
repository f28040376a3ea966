/*
 * Which IRQ numbers are taken, as a two-level bitmap, so that "lowest free IRQ at or above n"
 * and "highest free IRQ at or below n" cost a few word operations instead of a scan of every
 * IRQ below (binding 131072 ports one by one would otherwise be quadratic). The answers are
 * exactly those of a linear scan: the policies that use it keep their order.
 */

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Index of the highest set bit of a non-zero 32-bit word. */
function highestBit(x: number): number {
  return 31 - Math.clz32(x);
}

/**
 * Taken/free flags of IRQ numbers `0 … capacity-1` (numbers at or past the capacity count as
 * free). One bit per IRQ, and one summary bit per 32-IRQ word saying that the word is full.
 */
export class IrqBitmap {
  private words: Int32Array;
  private full: Int32Array;

  /** @param capacity - IRQ numbers to hold (grows with {@link IrqBitmap.grow}) */
  constructor(capacity: number) {
    this.words = new Int32Array(Math.max(1, Math.ceil(capacity / 32)));
    this.full = new Int32Array(Math.ceil(this.words.length / 32));
  }

  /** IRQ numbers held. */
  get capacity(): number {
    return this.words.length * 32;
  }

  /** Makes room for `capacity` IRQ numbers (the new ones free). */
  grow(capacity: number): void {
    const n = Math.ceil(capacity / 32);
    if (n <= this.words.length) return;
    const words = new Int32Array(n);
    words.set(this.words);
    this.words = words;
    const full = new Int32Array(Math.ceil(n / 32));
    full.set(this.full);
    this.full = full;
  }

  /** Whether `irq` is taken. */
  has(irq: number): boolean {
    const w = irq >>> 5;
    return w < this.words.length && (this.words[w]! & (1 << (irq & 31))) !== 0;
  }

  /** Marks `irq` (below the capacity) taken. */
  set(irq: number): void {
    const w = irq >>> 5;
    const v = (this.words[w]! | (1 << (irq & 31))) | 0;
    this.words[w] = v;
    if (v === -1) this.full[w >>> 5]! |= 1 << (w & 31);
  }

  /** Marks `irq` free. */
  clear(irq: number): void {
    const w = irq >>> 5;
    if (w >= this.words.length) return;
    this.words[w]! &= ~(1 << (irq & 31));
    this.full[w >>> 5]! &= ~(1 << (w & 31));
  }

  /** The lowest free IRQ number `>= from` (`from` ≥ 0; may be at or past the capacity). */
  nextFree(from: number): number {
    const words = this.words;
    let w = from >>> 5;
    if (w >= words.length) return from;
    const here = ~words[w]! & (-1 << (from & 31));
    if (here !== 0) return (w << 5) + lowestBit(here);
    w++;
    let s = w >>> 5;
    const full = this.full;
    if (s >= full.length) return words.length << 5;
    let notFull = ~full[s]! & (-1 << (w & 31));
    while (notFull === 0) {
      if (++s >= full.length) return words.length << 5;
      notFull = ~full[s]!;
    }
    w = (s << 5) + lowestBit(notFull);
    if (w >= words.length) return words.length << 5;
    return (w << 5) + lowestBit(~words[w]!);
  }

  /** The highest free IRQ number `<= from`, or -1 when every one from 0 to `from` is taken. */
  prevFree(from: number): number {
    if (from < 0) return -1;
    const words = this.words;
    let w = from >>> 5;
    if (w >= words.length) return from;
    const here = ~words[w]! & (-1 >>> (31 - (from & 31)));
    if (here !== 0) return (w << 5) + highestBit(here);
    if (w === 0) return -1;
    w--;
    let s = w >>> 5;
    const full = this.full;
    let notFull = ~full[s]! & (-1 >>> (31 - (w & 31)));
    while (notFull === 0) {
      if (--s < 0) return -1;
      notFull = ~full[s]!;
    }
    w = (s << 5) + highestBit(notFull);
    return (w << 5) + highestBit(~words[w]!);
  }
}
