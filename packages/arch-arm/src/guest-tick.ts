/*
 * A guest's periodic tick on the Arm virtual timer, the way Linux's arch timer driver
 * (drivers/clocksource/arm_arch_timer.c) and its periodic tick use it: the guest programs
 * CNTV_CVAL and enables the timer; on virtual PPI 27 it checks ISTATUS (clear: not its
 * interrupt), sets IMASK, does its tick work, then programs the next deadline, clears IMASK and
 * EOIs. The tick work takes virtual CPU time, which passes only while the vCPU is resident on a
 * pCPU, so a time slice can end in the middle of it. A deadline already past when the next one
 * is programmed is skipped, as the periodic tick does: its interrupt never came, and it counts
 * as lost.
 *
 * The model counts, per vCPU, the deadlines programmed, delivered, delivered to the wrong vCPU,
 * lost, duplicated and the delivery latency, so the virtual-timer strategies (SPEC §5.3) can be
 * compared on the same schedule.
 */
import type { Clock, JsonValue, Scheduler, TimerId, VcpuRef } from '@evtchn/core';
import { expectSame, readArray, readBool, readInt, readNumber, readObject, readTimer, snapshotPath as at } from '@evtchn/core';
import type { ArmArchitecture } from './arm-architecture.js';
import { PPI_VIRT_TIMER } from './gic.js';
import { CNTV_CTL_ENABLE, CNTV_CTL_IMASK, CNTV_CTL_ISTATUS } from './vtimer.js';

/** Options of a {@link PeriodicTickModel}. Times in ns. */
export interface PeriodicTickOptions {
  /** The Arm architecture whose virtual timers and vGICs the guests use. */
  readonly arch: ArmArchitecture;
  /** The scheduler placing the vCPUs (the one the architecture was built with). */
  readonly scheduler: Scheduler;
  /** The virtual clock. */
  readonly clock: Clock;
  /** Virtual CPU time the tick handler takes (default 0: it completes in the interrupt). */
  readonly handlerWork?: number;
  /** Clock time after which the guests stop re-arming (default: never). */
  readonly horizon?: number;
  /** Called at the first delivery of each deadline with its latency. */
  readonly onDelivery?: (counts: Readonly<VcpuTickCounts>, latency: number) => void;
}

/** Counts of one vCPU's periodic tick. */
export interface VcpuTickCounts {
  /** `d<domid>v<vcpu>`. */
  readonly name: string;
  /** Domain id. */
  readonly domid: number;
  /** vCPU. */
  readonly vcpu: number;
  /** Tick period in ns. */
  readonly period: number;
  /** Deadlines the tick asked for (up to the horizon). */
  programmed: number;
  /** Deadlines whose interrupt reached this vCPU (first time). */
  delivered: number;
  /** Timer interrupts this vCPU took while its own timer had not fired (ISTATUS clear). */
  wrongVcpu: number;
  /** Deadlines whose interrupt never came: skipped, or overdue when the model finished. */
  lost: number;
  /** Deadlines whose interrupt reached this vCPU more than once. */
  duplicated: number;
  /** Deadlines not yet due (or overdue by less than the grace) when the model finished. */
  pending: number;
  /** Delivery latencies (ns after the deadline). */
  readonly latencies: number[];
}

/** Sums over several vCPUs' {@link VcpuTickCounts}. */
export interface TickTotals {
  /** Deadlines programmed. */
  readonly programmed: number;
  /** Deadlines delivered. */
  readonly delivered: number;
  /** Interrupts taken by a vCPU whose timer had not fired. */
  readonly wrongVcpu: number;
  /** Deadlines lost. */
  readonly lost: number;
  /** Deadlines delivered more than once. */
  readonly duplicated: number;
  /** Deadlines still pending at the end. */
  readonly pending: number;
  /** Mean delivery latency in ns (0 when nothing was delivered). */
  readonly latencyMean: number;
  /** Largest delivery latency in ns. */
  readonly latencyMax: number;
}

/** Sums tick counts (e.g. of one domain, or of a whole run). */
export function sumTickCounts(counts: readonly Readonly<VcpuTickCounts>[]): TickTotals {
  let programmed = 0;
  let delivered = 0;
  let wrongVcpu = 0;
  let lost = 0;
  let duplicated = 0;
  let pending = 0;
  let latencySum = 0;
  let latencyCount = 0;
  let latencyMax = 0;
  for (const c of counts) {
    programmed += c.programmed;
    delivered += c.delivered;
    wrongVcpu += c.wrongVcpu;
    lost += c.lost;
    duplicated += c.duplicated;
    pending += c.pending;
    for (const l of c.latencies) {
      latencySum += l;
      latencyCount++;
      if (l > latencyMax) latencyMax = l;
    }
  }
  const latencyMean = latencyCount ? latencySum / latencyCount : 0;
  return { programmed, delivered, wrongVcpu, lost, duplicated, pending, latencyMean, latencyMax };
}

interface Tick {
  readonly counts: VcpuTickCounts;
  /** Deadline currently programmed, in the guest's virtual count; -1 before boot / after stop. */
  deadline: number;
  /** CNTVOFF seen when the deadline was programmed (clock time of count 0). */
  offset: number;
  deliveredCurrent: boolean;
  booted: boolean;
  /** In the tick handler (its work not done yet). */
  handling: boolean;
  /** Tick-handler work left (may be 0 when a switch-out came exactly as it finished). */
  remaining: number;
  workTimer: TimerId | undefined;
  workDue: number;
}

/**
 * Periodic virtual-timer ticks of guest vCPUs (see the module comment). Build it after the
 * architecture (its context-switch listener must run after the architecture's), {@link PeriodicTickModel.add}
 * one tick per vCPU, run the clock, then {@link PeriodicTickModel.finish}.
 */
export class PeriodicTickModel {
  private readonly arch: ArmArchitecture;
  private readonly scheduler: Scheduler;
  private readonly clock: Clock;
  private readonly handlerWork: number;
  private readonly horizon: number;
  private readonly onDelivery: PeriodicTickOptions['onDelivery'];
  private readonly ticks: Tick[] = [];
  private readonly byDomain = new Map<number, Tick[]>();
  private unsubscribe: (() => void) | undefined;
  private finished = false;

  /** @param options - see {@link PeriodicTickOptions} */
  constructor(options: PeriodicTickOptions) {
    this.arch = options.arch;
    this.scheduler = options.scheduler;
    this.clock = options.clock;
    this.handlerWork = options.handlerWork ?? 0;
    this.horizon = options.horizon ?? Infinity;
    this.onDelivery = options.onDelivery;
    this.unsubscribe = this.scheduler.onSwitch((_pcpu, prev, next) => this.onSwitch(prev, next));
  }

  /**
   * Starts a periodic tick on a vCPU: its first deadline is programmed one period after it
   * first runs (now, when it is running already).
   * @throws RangeError for a second tick on the same vCPU, a period that is not positive, or after `finish`
   */
  add(domid: number, vcpu: number, period: number): Readonly<VcpuTickCounts> {
    if (this.finished) throw new RangeError('PeriodicTickModel: finished');
    if (!(period > 0)) throw new RangeError(`PeriodicTickModel: period must be > 0, got ${period}`);
    if (this.find(domid, vcpu)) throw new RangeError(`PeriodicTickModel: d${domid}v${vcpu} already has a tick`);
    const tick: Tick = {
      counts: {
        name: `d${domid}v${vcpu}`,
        domid,
        vcpu,
        period,
        programmed: 0,
        delivered: 0,
        wrongVcpu: 0,
        lost: 0,
        duplicated: 0,
        pending: 0,
        latencies: [],
      },
      deadline: -1,
      offset: 0,
      deliveredCurrent: false,
      booted: false,
      handling: false,
      remaining: 0,
      workTimer: undefined,
      workDue: 0,
    };
    this.ticks.push(tick);
    let list = this.byDomain.get(domid);
    if (!list) {
      this.byDomain.set(domid, (list = []));
      this.arch.setGuestIrqHandler(domid, PPI_VIRT_TIMER, (v) => this.onTimerIrq(domid, v));
    }
    list.push(tick);
    if (this.resident(tick)) this.boot(tick);
    return tick.counts;
  }

  /** Counts of every tick, in the order they were added. */
  get counts(): readonly Readonly<VcpuTickCounts>[] {
    return this.ticks.map((t) => t.counts);
  }

  /** Sums of every tick's counts. */
  totals(): TickTotals {
    return sumTickCounts(this.counts);
  }

  /**
   * Stops the model and settles each tick's outstanding deadline: undelivered and due more than
   * `grace` ns ago, it is lost; otherwise pending. Later calls do nothing.
   */
  finish(grace = 0): void {
    if (this.finished) return;
    this.finished = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const now = this.clock.now();
    for (const t of this.ticks) {
      if (t.workTimer !== undefined) this.clock.cancel(t.workTimer);
      t.workTimer = undefined;
      if (t.deadline >= 0 && !t.deliveredCurrent) {
        if (t.deadline + t.offset + grace <= now) t.counts.lost++;
        else t.counts.pending++;
      }
      t.deadline = -1;
    }
  }

  /**
   * Snapshot: each tick (in `add` order) with its counts, deadline, handler progress and work
   * timer as a `TimerRecord`. Which vCPUs have a tick, and their periods, is structure.
   */
  getState(): JsonValue {
    return {
      finished: this.finished,
      ticks: this.ticks.map((t) => {
        const c = t.counts;
        const r = t.workTimer !== undefined ? this.clock.timerRecord?.(t.workTimer) : undefined;
        if (t.workTimer !== undefined && !r) throw new Error('the clock cannot save a tick handler\'s work timer');
        return {
          domid: c.domid,
          vcpu: c.vcpu,
          period: c.period,
          counts: [c.programmed, c.delivered, c.wrongVcpu, c.lost, c.duplicated, c.pending],
          latencies: [...c.latencies],
          deadline: t.deadline,
          offset: t.offset,
          deliveredCurrent: t.deliveredCurrent,
          booted: t.booted,
          handling: t.handling,
          remaining: t.remaining,
          workDue: t.workDue,
          workTimer: r ? { at: r.at, seq: r.seq } : null,
        };
      }),
    };
  }

  /** Restores {@link PeriodicTickModel.getState} into a model with the same ticks added; `path` names it in errors. */
  setState(state: JsonValue, path = 'ticks'): void {
    const o = readObject(state, path);
    const list = readArray(o.ticks, at(path, 'ticks'), this.ticks.length);
    list.forEach((e, i) => {
      const p = at(at(path, 'ticks'), i);
      const so = readObject(e, p);
      const t = this.ticks[i]!;
      const c = t.counts;
      expectSame(so.domid, at(p, 'domid'), c.domid);
      expectSame(so.vcpu, at(p, 'vcpu'), c.vcpu);
      expectSame(so.period, at(p, 'period'), c.period);
      const n = readArray(so.counts, at(p, 'counts'), 6).map((x, k) => readInt(x, at(at(p, 'counts'), k), 0));
      [c.programmed, c.delivered, c.wrongVcpu, c.lost, c.duplicated, c.pending] = n as [number, number, number, number, number, number];
      const lat = readArray(so.latencies, at(p, 'latencies')).map((x, k) => readNumber(x, at(at(p, 'latencies'), k)));
      c.latencies.length = 0;
      c.latencies.push(...lat);
      t.deadline = readNumber(so.deadline, at(p, 'deadline'), -1);
      t.offset = readNumber(so.offset, at(p, 'offset'));
      t.deliveredCurrent = readBool(so.deliveredCurrent, at(p, 'deliveredCurrent'));
      t.booted = readBool(so.booted, at(p, 'booted'));
      t.handling = readBool(so.handling, at(p, 'handling'));
      t.remaining = readNumber(so.remaining, at(p, 'remaining'));
      t.workDue = readNumber(so.workDue, at(p, 'workDue'));
      const rec = readTimer(so.workTimer, at(p, 'workTimer'));
      t.workTimer = undefined;
      if (rec) {
        if (!this.clock.rearm) throw new Error('the clock cannot re-arm saved timers');
        t.workTimer = this.clock.rearm(rec, this.workFn(t));
      }
    });
    this.finished = readBool(o.finished, at(path, 'finished'));
  }

  private find(domid: number, vcpu: number): Tick | undefined {
    const list = this.byDomain.get(domid);
    if (!list) return undefined;
    for (const t of list) if (t.counts.vcpu === vcpu) return t;
    return undefined;
  }

  private resident(t: Tick): boolean {
    return this.scheduler.processorOf(t.counts.domid, t.counts.vcpu) >= 0;
  }

  private boot(t: Tick): void {
    t.booted = true;
    this.program(t, this.arch.guestTimer(t.counts.domid, t.counts.vcpu).counter() + t.counts.period);
  }

  /** Guest CPU time for the tick handler passes only while the vCPU is on a pCPU. */
  private armWork(t: Tick): void {
    if (!t.handling || t.workTimer !== undefined || this.finished || !this.resident(t)) return;
    t.workDue = this.clock.now() + t.remaining;
    t.workTimer = this.clock.at(t.workDue, this.workFn(t));
  }

  /** The end of a tick handler's work (armed by `armWork`, re-armed by a restore). */
  private workFn(t: Tick): () => void {
    return () => {
      t.workTimer = undefined;
      t.remaining = 0;
      t.handling = false;
      this.finishTick(t);
    };
  }

  /** Programs `deadline` (virtual count), or stops the timer past the horizon. Runs on the vCPU. */
  private program(t: Tick, deadline: number): void {
    const timer = this.arch.guestTimer(t.counts.domid, t.counts.vcpu);
    // The domain's CNTVOFF as the guest sees it: clock time minus its virtual count.
    t.offset = this.clock.now() - timer.counter();
    if (deadline > this.horizon - t.offset) {
      t.deadline = -1;
      timer.writeCtl(0);
      return;
    }
    t.counts.programmed++;
    t.deadline = deadline;
    t.deliveredCurrent = false;
    timer.writeCval(deadline);
    timer.writeCtl(CNTV_CTL_ENABLE);
  }

  /** End of the tick handler: program the next deadline (skipping past ones) and EOI. */
  private finishTick(t: Tick): void {
    const { domid, vcpu, period } = t.counts;
    const timer = this.arch.guestTimer(domid, vcpu);
    const horizonCount = this.horizon - (this.clock.now() - timer.counter());
    let next = t.deadline + period;
    while (next <= timer.counter() && next <= horizonCount) {
      t.counts.programmed++;
      t.counts.lost++;
      next += period;
    }
    this.program(t, next);
    this.arch.guestEoi(domid, vcpu, PPI_VIRT_TIMER);
  }

  private onTimerIrq(domid: number, vcpu: number): 'deferred' | void {
    const t = this.find(domid, vcpu);
    if (!t || this.finished) return; // a vCPU without a tick: nothing of its own fired
    const timer = this.arch.guestTimer(domid, vcpu);
    const ctl = timer.readCtl();
    if (!(ctl & CNTV_CTL_ISTATUS)) {
      t.counts.wrongVcpu++;
      return; // IRQ_NONE: not this vCPU's timer
    }
    timer.writeCtl(ctl | CNTV_CTL_IMASK);
    if (t.deliveredCurrent) {
      t.counts.duplicated++;
    } else {
      t.deliveredCurrent = true;
      t.counts.delivered++;
      const latency = timer.counter() - t.deadline;
      t.counts.latencies.push(latency);
      this.onDelivery?.(t.counts, latency);
    }
    if (this.handlerWork <= 0) {
      this.finishTick(t);
      return 'deferred'; // finishTick EOIed
    }
    t.handling = true;
    t.remaining = this.handlerWork;
    this.armWork(t);
    return 'deferred';
  }

  private onSwitch(prev: VcpuRef | undefined, next: VcpuRef | undefined): void {
    if (prev) {
      const t = this.find(prev.domid, prev.vcpu);
      if (t && t.workTimer !== undefined) {
        this.clock.cancel(t.workTimer);
        t.workTimer = undefined;
        t.remaining = t.workDue - this.clock.now();
      }
    }
    if (next) {
      const t = this.find(next.domid, next.vcpu);
      if (!t) return;
      if (!t.booted) this.boot(t);
      this.armWork(t);
    }
  }
}
