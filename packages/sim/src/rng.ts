/*
 * A small seeded PRNG (mulberry32) for workload arrival times: the same seed gives the same
 * run, in every process and on every machine.
 */

/** A deterministic pseudo-random source. */
export class SeededRandom {
  private state: number;

  /** @param seed - any 32-bit integer */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Snapshot: the generator's 32-bit state (the next draws follow from it alone). */
  getState(): number {
    return this.state;
  }

  /** Restores {@link SeededRandom.getState}. */
  setState(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`expected a 32-bit unsigned integer, got ${String(state)}`);
    this.state = state;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An exponentially distributed gap (ns) for a Poisson process of `ratePerSecond`. */
  poissonGapNs(ratePerSecond: number): number {
    const u = 1 - this.next();
    return Math.max(1, Math.round((-Math.log(u) / ratePerSecond) * 1e9));
  }
}
