/*
 * The discrete-event virtual clock: a binary min-heap of timers ordered by (time, arming
 * sequence), so timers due at the same instant run in the order they were armed and a run
 * is deterministic.
 */
import type { Clock, TimerId, TimerRecord } from '../contracts/sim.js';

/** What {@link VirtualClock.getState} saves. */
export interface VirtualClockState {
  /** Virtual time, ns. */
  readonly now: number;
  /** Last arming sequence handed out. */
  readonly seq: number;
}

/** The {@link Clock} implementation; time in ns, starting at 0. */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  // The heap is three parallel arrays (slot i: due time, arming sequence, which is also the
  // timer's id, and callback), so arming and firing a timer allocates nothing: a simulated run
  // arms several timers per event, and an object per timer was most of what a long run
  // allocated (bench/README.md, "Run memory").
  private due = new Float64Array(64);
  private seqs = new Float64Array(64);
  private readonly fns: ((() => void) | undefined)[] = [];
  private size = 0;
  /**
   * Cancelled timers still in the heap; they are dropped when they reach its top. Only ids
   * found in the heap enter, so `pending` is exact. A cancel searches the heap: cancels are
   * rare (about one per 90 timers armed in a run of the x86 demo), while a set of the live ids
   * would be written on every timer.
   */
  private readonly cancelled = new Set<TimerId>();

  /** Current virtual time in ns. */
  now(): number {
    return this.time;
  }

  /** Runs `callback` at virtual time `at` (clamped to now). */
  at(at: number, callback: () => void): TimerId {
    const id = ++this.seq;
    this.push(Math.max(at, this.time), id, callback);
    return id;
  }

  /** Runs `callback` `delay` ns from now. */
  after(delay: number, callback: () => void): TimerId {
    return this.at(this.time + Math.max(0, delay), callback);
  }

  /** {@inheritDoc Clock.timerRecord} */
  timerRecord(id: TimerId): TimerRecord | undefined {
    const i = this.slotOf(id);
    if (i < 0 || this.cancelled.has(id)) return undefined;
    return { at: this.due[i]!, seq: id };
  }

  /** {@inheritDoc Clock.rearm} */
  rearm(record: TimerRecord, callback: () => void): TimerId {
    const { at, seq } = record;
    if (!Number.isSafeInteger(seq) || seq <= 0) throw new RangeError(`timer sequence ${seq} is not a positive integer`);
    if (!Number.isFinite(at)) throw new RangeError(`timer time ${at} is not finite`);
    if (this.slotOf(seq) >= 0) throw new Error(`a live timer already holds sequence ${seq}`);
    // The id is the sequence, as for fresh timers; later fresh timers must come after it.
    if (seq > this.seq) this.seq = seq;
    this.push(Math.max(at, this.time), seq, callback);
    return seq;
  }

  /**
   * The clock's own state: its time and the last arming sequence (its timers are saved by their
   * owners through {@link VirtualClock.timerRecord}).
   */
  getState(): VirtualClockState {
    return { now: this.time, seq: this.seq };
  }

  /** Restores {@link VirtualClock.getState}; only on a clock with no armed timer. */
  setState(state: VirtualClockState): void {
    if (this.pending > 0) throw new Error('cannot restore a clock that has armed timers');
    if (!Number.isFinite(state.now) || state.now < 0) throw new RangeError(`clock time ${state.now} is not a time`);
    if (!Number.isSafeInteger(state.seq) || state.seq < 0) throw new RangeError(`clock sequence ${state.seq} is not a count`);
    this.discardTimers();
    this.time = state.now;
    this.seq = state.seq;
  }

  /** {@inheritDoc Clock.discardTimers} */
  discardTimers(): void {
    this.size = 0;
    this.fns.length = 0;
    this.cancelled.clear();
  }

  /** Cancels a timer. */
  cancel(id: TimerId): void {
    if (!this.cancelled.has(id) && this.slotOf(id) >= 0) this.cancelled.add(id);
  }

  /** Number of armed, not cancelled timers. */
  get pending(): number {
    return this.size - this.cancelled.size;
  }

  /** Time of the earliest armed timer, or `undefined`. */
  nextDue(): number | undefined {
    this.dropCancelledTop();
    return this.size > 0 ? this.due[0] : undefined;
  }

  /** Runs the earliest due timers (those sharing the earliest time). */
  step(): boolean {
    this.dropCancelledTop();
    if (this.size === 0) return false;
    const t = this.due[0]!;
    // A slice of guest work may have read a later time; the clock itself never goes back.
    if (t > this.time) this.time = t;
    while (this.size > 0) {
      this.dropCancelledTop();
      if (this.size === 0 || this.due[0] !== t) break;
      const fn = this.fns[0]!;
      this.pop();
      fn();
    }
    return true;
  }

  /** Runs every timer due at or before `until`, then sets now to `until`. */
  runUntil(until: number): void {
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due > until) break;
      this.step();
    }
    if (until > this.time) this.time = until;
  }

  private dropCancelledTop(): void {
    while (this.size > 0 && this.cancelled.has(this.seqs[0]!)) {
      const id = this.seqs[0]!;
      this.cancelled.delete(id);
      this.pop();
    }
  }

  /** The heap slot of timer `id`, or -1 when it fired or was never armed. */
  private slotOf(id: TimerId): number {
    const seqs = this.seqs;
    for (let i = 0; i < this.size; i++) if (seqs[i] === id) return i;
    return -1;
  }

  /** Adds a timer: a hole moves up from the new last slot until the timer fits there. */
  private push(at: number, seq: number, fn: () => void): void {
    if (this.size === this.due.length) this.grow();
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.before(p, at, seq)) break;
      this.move(i, p);
      i = p;
    }
    this.place(i, at, seq, fn);
  }

  /** Removes the earliest timer: the last one fills the hole it leaves, moving down. */
  private pop(): void {
    const n = --this.size;
    const at = this.due[n]!;
    const seq = this.seqs[n]!;
    const fn = this.fns[n];
    this.fns[n] = undefined;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && this.before(m + 1, this.due[m]!, this.seqs[m]!)) m++;
      if (!this.before(m, at, seq)) break;
      this.move(i, m);
      i = m;
    }
    this.place(i, at, seq, fn!);
  }

  /** Whether slot `i` fires before a timer due at `at` armed as `seq`: earlier time, or same time and armed earlier. */
  private before(i: number, at: number, seq: number): boolean {
    const t = this.due[i]!;
    return t < at || (t === at && this.seqs[i]! < seq);
  }

  private move(to: number, from: number): void {
    this.due[to] = this.due[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.fns[to] = this.fns[from];
  }

  private place(i: number, at: number, seq: number, fn: () => void): void {
    this.due[i] = at;
    this.seqs[i] = seq;
    this.fns[i] = fn;
  }

  private grow(): void {
    const due = new Float64Array(this.due.length * 2);
    const seqs = new Float64Array(this.seqs.length * 2);
    due.set(this.due);
    seqs.set(this.seqs);
    this.due = due;
    this.seqs = seqs;
  }
}
