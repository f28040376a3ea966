/*
 * The discrete-event virtual clock: a binary min-heap of timers ordered by (time, arming
 * sequence), so timers due at the same instant run in the order they were armed and a run
 * is deterministic.
 */
import type { Clock, TimerId, TimerRecord } from '../contracts/sim.js';

interface Timer {
  at: number;
  seq: number;
  id: TimerId;
  fn: () => void;
}

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
  private readonly heap: Timer[] = [];
  private readonly cancelled = new Set<TimerId>();
  /** Ids of the timers in the heap, so a cancel needs no search. */
  private readonly live = new Set<TimerId>();

  /** Current virtual time in ns. */
  now(): number {
    return this.time;
  }

  /** Runs `callback` at virtual time `at` (clamped to now). */
  at(at: number, callback: () => void): TimerId {
    const id = ++this.seq;
    this.live.add(id);
    this.push({ at: Math.max(at, this.time), seq: id, id, fn: callback });
    return id;
  }

  /** Runs `callback` `delay` ns from now. */
  after(delay: number, callback: () => void): TimerId {
    return this.at(this.time + Math.max(0, delay), callback);
  }

  /** {@inheritDoc Clock.timerRecord} */
  timerRecord(id: TimerId): TimerRecord | undefined {
    if (!this.live.has(id) || this.cancelled.has(id)) return undefined;
    const t = this.heap.find((x) => x.id === id);
    return t ? { at: t.at, seq: t.seq } : undefined;
  }

  /** {@inheritDoc Clock.rearm} */
  rearm(record: TimerRecord, callback: () => void): TimerId {
    const { at, seq } = record;
    if (!Number.isSafeInteger(seq) || seq <= 0) throw new RangeError(`timer sequence ${seq} is not a positive integer`);
    if (!Number.isFinite(at)) throw new RangeError(`timer time ${at} is not finite`);
    if (this.live.has(seq)) throw new Error(`a live timer already holds sequence ${seq}`);
    // The id is the sequence, as for fresh timers; later fresh timers must come after it.
    if (seq > this.seq) this.seq = seq;
    this.live.add(seq);
    this.push({ at: Math.max(at, this.time), seq, id: seq, fn: callback });
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
    this.heap.length = 0;
    this.cancelled.clear();
    this.live.clear();
  }

  /** Cancels a timer. */
  cancel(id: TimerId): void {
    if (this.live.has(id)) this.cancelled.add(id);
  }

  /** Number of armed, not cancelled timers. */
  get pending(): number {
    return this.heap.length - this.cancelled.size;
  }

  /** Time of the earliest armed timer, or `undefined`. */
  nextDue(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.at;
  }

  /** Runs the earliest due timers (those sharing the earliest time). */
  step(): boolean {
    this.dropCancelledTop();
    const first = this.heap[0];
    if (!first) return false;
    const t = first.at;
    // A slice of guest work may have read a later time; the clock itself never goes back.
    if (t > this.time) this.time = t;
    while (this.heap.length > 0) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (!top || top.at !== t) break;
      this.pop();
      this.live.delete(top.id);
      top.fn();
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
    while (this.heap.length > 0 && this.cancelled.has(this.heap[0]!.id)) {
      this.cancelled.delete(this.heap[0]!.id);
      this.live.delete(this.heap[0]!.id);
      this.pop();
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
