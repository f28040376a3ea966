/*
 * A domain's view of the virtual clock. Guest code reads the time of the vCPU running it
 * (`VcpuRunner.now()`: the clock plus the work charged so far in the slice), and every timer
 * it arms is its own: a callback that throws crashes that domain instead of the run, and
 * when the domain is destroyed or crashes, its timers are cancelled, so a dead kernel acts
 * on nothing (not even on a new domain that reuses its id).
 */
import type { Clock, TimerId, TimerRecord, VcpuRunner } from '../contracts/sim.js';

/** The {@link Clock} a domain's guest layer is given. */
export class DomainClock implements Clock {
  private readonly armed = new Set<TimerId>();
  private alive = true;

  /**
   * @param clock - the platform clock
   * @param runner - the platform's vCPU runner (its `now()` is the running vCPU's time)
   * @param onFault - called when a timer callback throws
   */
  constructor(
    private readonly clock: Clock,
    private readonly runner: VcpuRunner,
    private readonly onFault: (error: unknown) => void,
  ) {}

  /** The running vCPU's virtual time. */
  now(): number {
    return this.runner.now();
  }

  /** Arms a timer at `at`; nothing happens once the domain is stopped. */
  at(at: number, callback: () => void): TimerId {
    return this.arm(callback, (fn) => this.clock.at(at, fn));
  }

  /** The platform clock's record of one of this domain's timers. */
  timerRecord(id: TimerId): TimerRecord | undefined {
    return this.armed.has(id) ? this.clock.timerRecord?.(id) : undefined;
  }

  /** Re-arms a saved timer of this domain (see {@link Clock.rearm}). */
  rearm(record: TimerRecord, callback: () => void): TimerId {
    const rearm = this.clock.rearm?.bind(this.clock);
    if (!rearm) throw new Error('the platform clock cannot re-arm saved timers');
    return this.arm(callback, (fn) => rearm(record, fn));
  }

  private arm(callback: () => void, schedule: (fn: () => void) => TimerId): TimerId {
    if (!this.alive) return -1;
    const id: TimerId = schedule(() => {
      this.armed.delete(id);
      if (!this.alive) return;
      try {
        callback();
      } catch (e) {
        this.onFault(e);
      }
    });
    this.armed.add(id);
    return id;
  }

  /** Arms a timer `delay` ns after the running vCPU's time. */
  after(delay: number, callback: () => void): TimerId {
    return this.at(this.now() + Math.max(0, delay), callback);
  }

  /** Cancels one of this domain's timers. */
  cancel(id: TimerId): void {
    if (this.armed.delete(id)) this.clock.cancel(id);
  }

  /** Runs the platform clock (a guest layer never should; kept for the {@link Clock} shape). */
  runUntil(until: number): void {
    this.clock.runUntil(until);
  }

  /** Steps the platform clock. */
  step(): boolean {
    return this.clock.step();
  }

  /** Time of the platform clock's earliest timer. */
  nextDue(): number | undefined {
    return this.clock.nextDue?.();
  }

  /** Number of this domain's armed timers. */
  get pending(): number {
    return this.armed.size;
  }

  /** Forgets this domain's timers (the platform clock's were discarded: a restore). */
  discardTimers(): void {
    this.armed.clear();
  }

  /** Cancels every timer of the domain and arms none from now on (destroyed or crashed). */
  stop(): void {
    this.alive = false;
    for (const id of this.armed) this.clock.cancel(id);
    this.armed.clear();
  }
}
