/*
 * A fixed-size histogram of non-negative values (latencies in ns) with logarithmic buckets,
 * in the manner of HdrHistogram: values below 128 are counted exactly, larger ones in 64
 * buckets per power of two, so any recorded value is known to within 1/64 (1.6 %) and the
 * memory is the same (25 KB) whether a run records ten samples or ten billion.
 */
import type { JsonValue } from '../contracts/snapshot.js';
import { at, readArray, readInt, readNumber, readObject } from '../snapshot/codec.js';

/** Exact values below this; then 2^(SUB_BITS-1) buckets per power of two. */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
const HALF = SUB >> 1;
/** Largest magnitude: values up to 2^53. */
const MAX_MAG = 53 - (SUB_BITS - 1);
const SIZE = SUB + MAX_MAG * HALF;

/** Figures of a {@link LogHistogram}. */
export interface HistogramSummary {
  /** Values recorded. */
  readonly count: number;
  /** Smallest value (exact), 0 when empty. */
  readonly min: number;
  /** Median (to within 1.6 %). */
  readonly p50: number;
  /** 90th percentile. */
  readonly p90: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Largest value (exact), 0 when empty. */
  readonly max: number;
  /** Mean (exact). */
  readonly mean: number;
}

function bucketOf(v: number): number {
  if (v < SUB) return v;
  const mag = Math.min(MAX_MAG, Math.floor(Math.log2(v)) - (SUB_BITS - 1));
  let sub = Math.floor(v / 2 ** mag);
  // Math.log2 can round up just below a power of two.
  if (sub < HALF) sub = HALF;
  if (sub >= SUB) sub = SUB - 1;
  return SUB + (mag - 1) * HALF + (sub - HALF);
}

function lowestOf(bucket: number): number {
  if (bucket < SUB) return bucket;
  const i = bucket - SUB;
  const mag = Math.floor(i / HALF) + 1;
  return (HALF + (i % HALF)) * 2 ** mag;
}

/** A histogram of non-negative values with bounded memory and 1.6 % resolution. */
export class LogHistogram {
  private readonly counts = new Float64Array(SIZE);
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = 0;

  /** Records one value (negative values count as 0; non-finite ones are ignored). */
  record(value: number): void {
    if (!Number.isFinite(value)) return;
    const v = value > 0 ? Math.floor(value) : 0;
    this.counts[bucketOf(v)]!++;
    this.n++;
    this.sum += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** Values recorded. */
  get count(): number {
    return this.n;
  }

  /** The value below which a fraction `q` (0…1) of the recorded values fall (0 when empty). */
  percentile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.n));
    if (rank === this.n) return this.hi;
    let seen = 0;
    for (let b = 0; b < SIZE; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(this.hi, Math.max(this.lo, lowestOf(b)));
    }
    return this.hi;
  }

  /** Adds every value of `other`. */
  merge(other: LogHistogram): void {
    for (let b = 0; b < SIZE; b++) this.counts[b]! += other.counts[b]!;
    this.n += other.n;
    this.sum += other.sum;
    if (other.n > 0) {
      this.lo = Math.min(this.lo, other.lo);
      this.hi = Math.max(this.hi, other.hi);
    }
  }

  /** Count, min, percentiles, max and mean. */
  summary(): HistogramSummary {
    const empty = this.n === 0;
    return {
      count: this.n,
      min: empty ? 0 : this.lo,
      p50: this.percentile(0.5),
      p90: this.percentile(0.9),
      p99: this.percentile(0.99),
      max: this.hi,
      mean: empty ? 0 : this.sum / this.n,
    };
  }

  /**
   * Snapshot: the non-empty buckets as `[bucket, count]` pairs plus count, sum, min and max
   * (`lo` is `null` while empty: JSON has no Infinity).
   */
  getState(): JsonValue {
    const buckets: [number, number][] = [];
    for (let b = 0; b < SIZE; b++) if (this.counts[b]! > 0) buckets.push([b, this.counts[b]!]);
    return { n: this.n, sum: this.sum, lo: this.n > 0 ? this.lo : null, hi: this.hi, buckets };
  }

  /** Restores {@link LogHistogram.getState}; `path` names the histogram in errors. */
  setState(state: JsonValue, path = 'histogram'): void {
    const o = readObject(state, path);
    this.counts.fill(0);
    readArray(o.buckets, at(path, 'buckets')).forEach((e, i) => {
      const p = at(at(path, 'buckets'), i);
      const pair = readArray(e, p, 2);
      this.counts[readInt(pair[0], at(p, 0), 0, SIZE - 1)] = readInt(pair[1], at(p, 1), 0);
    });
    this.n = readInt(o.n, at(path, 'n'), 0);
    this.sum = readNumber(o.sum, at(path, 'sum'), 0);
    this.lo = o.lo === null ? Infinity : readNumber(o.lo, at(path, 'lo'), 0);
    this.hi = readNumber(o.hi, at(path, 'hi'), 0);
  }

  /** The non-empty buckets as `[lowest value of the bucket, count]`, ascending (for plots). */
  buckets(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let b = 0; b < SIZE; b++) if (this.counts[b]! > 0) out.push([lowestOf(b), this.counts[b]!]);
    return out;
  }
}
