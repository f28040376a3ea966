/*
 * The vCPU runner: the one place that decides when a vCPU takes its interrupt and what the
 * work costs. Architectures keep the hardware state (vLAPIC IRR/ISR, vGIC list registers, the
 * PV callback flags) and tell the runner when something was raised; the runner arms the
 * vCPU's entry on the virtual clock, runs it only while the vCPU is on a pCPU and not inside
 * its handler, charges the work to the vCPU, cuts a handler that runs past its slice into
 * continuations (so a livelocked vCPU cannot stop virtual time), and turns an exception from
 * guest code into a crash of that domain only.
 *
 * Handlers run atomically within a slice: the global clock stays at the slice's start while
 * the guest runs and `now()` reads start + the work charged so far, so a send made late in a
 * handler is raised at the time it was made. A slice ends at the next armed timer or after
 * `maxSliceNs`, whichever comes first, so other events interleave with long handlers.
 */
import type { EventBus } from '../bus.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { at, expectSame, readArray, readArrayInto, readBool, readObject, readTimer, SnapshotError } from '../snapshot/codec.js';
import type {
  Clock,
  ExecutionCosts,
  ExecutionMode,
  Scheduler,
  VcpuInterruptEntry,
  VcpuRef,
  VcpuRunStats,
  VcpuRunner,
} from '../contracts/sim.js';

/**
 * Default cost model. Each number is an assumption of this model, of the order that published
 * measurements of Xen event-channel and interrupt paths report (a few µs from a send to the
 * receiving vCPU's handler on an idle host; a sub-µs handler for a trivial IRQ action); the
 * "Time and execution" guide gives the reasoning for each. They were the fixed constants of
 * the earlier `evtchn run` model (entry 1500 ns, 800 ns per handled event), kept so results
 * stay comparable.
 */
export const DEFAULT_EXECUTION_COSTS: Readonly<ExecutionCosts> = Object.freeze({
  entryLatencyNs: 1500,
  upcallNs: 200,
  scanStepNs: 20,
  handlerNs: 800,
});

/** Default longest slice of one handler before it yields (100 µs). */
export const DEFAULT_MAX_SLICE_NS = 100_000;

/** Default time inside one upcall after which a vCPU is reported livelocked (1 ms). */
export const DEFAULT_LIVELOCK_NS = 1_000_000;

/** Options of {@link ClockedVcpuRunner}. */
export interface VcpuRunnerOptions {
  /** Execution mode (default `'timed'`). */
  readonly mode?: ExecutionMode;
  /** Costs overriding {@link DEFAULT_EXECUTION_COSTS} field by field. */
  readonly costs?: Partial<ExecutionCosts>;
  /** Longest slice of one handler before it yields (default {@link DEFAULT_MAX_SLICE_NS}). */
  readonly maxSliceNs?: number;
  /** Time inside one upcall after which the vCPU counts as livelocked (default {@link DEFAULT_LIVELOCK_NS}). */
  readonly livelockNs?: number;
  /** Places vCPUs on pCPUs; without one every vCPU counts as running all the time. */
  readonly scheduler?: Scheduler;
  /** Receives `vcpu:livelock`. */
  readonly bus?: EventBus;
  /**
   * Called when guest code throws in timed mode (the platform crashes the domain). Without it
   * the error is rethrown. In immediate mode errors always go to the caller of `runNow`.
   */
  readonly onFault?: (domid: number, vcpu: number, error: unknown) => void;
}

/** Checks a cost model: every field a finite number ≥ 0, the handler cost > 0 in timed mode. */
function checkCosts(costs: ExecutionCosts, mode: ExecutionMode): void {
  for (const [k, v] of Object.entries(costs)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new RangeError(`execution costs: ${k} must be a finite number of ns >= 0, got ${String(v)}`);
  }
  // Work that takes no time would let a handler that re-raises itself loop without virtual
  // time moving: nothing could end it.
  if (mode === 'timed' && costs.handlerNs + costs.scanStepNs <= 0)
    throw new RangeError('execution costs: handlerNs + scanStepNs must be > 0 in timed mode');
}

/** One domain's vCPUs as the runner tracks them. */
class DomainExec {
  /** An entry or continuation timer is armed. */
  readonly armed: Uint8Array;
  /** The handler yielded: the next `take` continues it. */
  readonly suspended: Uint8Array;
  /** Wants to run but is not on a pCPU: enter at the next switch-in. */
  readonly waiting: Uint8Array;
  /** Time until which the vCPU is busy with work already done. */
  readonly busyUntil: Float64Array;
  /** Start of the upcall in progress (continuations included), or -1. */
  readonly upcallStart: Float64Array;
  readonly livelockReported: Uint8Array;
  readonly timers: Float64Array;
  readonly upcalls: Float64Array;
  readonly interruptNs: Float64Array;
  readonly longest: Float64Array;
  readonly fire: (() => void)[];
  alive = true;

  constructor(
    readonly domid: number,
    readonly nrVcpus: number,
    readonly entry: VcpuInterruptEntry,
    runner: ClockedVcpuRunner,
  ) {
    this.armed = new Uint8Array(nrVcpus);
    this.suspended = new Uint8Array(nrVcpus);
    this.waiting = new Uint8Array(nrVcpus);
    this.busyUntil = new Float64Array(nrVcpus);
    this.upcallStart = new Float64Array(nrVcpus).fill(-1);
    this.livelockReported = new Uint8Array(nrVcpus);
    this.timers = new Float64Array(nrVcpus).fill(-1);
    this.upcalls = new Float64Array(nrVcpus);
    this.interruptNs = new Float64Array(nrVcpus);
    this.longest = new Float64Array(nrVcpus);
    this.fire = Array.from({ length: nrVcpus }, (_, v) => () => runner.fire(this, v));
  }
}

/** The per-vCPU arrays of a domain the runner saves (`timers` is saved as records). */
const RUNNER_ARRAYS = [
  'armed',
  'suspended',
  'waiting',
  'busyUntil',
  'upcallStart',
  'livelockReported',
  'upcalls',
  'interruptNs',
  'longest',
] as const;

/** The slice running now. */
interface Slice {
  d: DomainExec;
  vcpu: number;
  start: number;
  charged: number;
  budget: number;
}

const ZERO_STATS: VcpuRunStats = Object.freeze({ upcalls: 0, interruptNs: 0, longestUpcallNs: 0, livelocked: false });

/** The {@link VcpuRunner} of platforms, on a {@link Clock} and an optional {@link Scheduler}. */
export class ClockedVcpuRunner implements VcpuRunner {
  /** The execution mode. */
  readonly mode: ExecutionMode;
  /** The cost model in force. */
  readonly costs: Readonly<ExecutionCosts>;
  /** Longest slice of one handler before it yields. */
  readonly maxSliceNs: number;
  /** Time inside one upcall after which a vCPU counts as livelocked. */
  readonly livelockNs: number;
  private readonly domains = new Map<number, DomainExec>();
  private readonly scheduler: Scheduler | undefined;
  private readonly bus: EventBus | undefined;
  private readonly onFault: ((domid: number, vcpu: number, error: unknown) => void) | undefined;
  private slice: Slice | undefined;
  // Slices nest (a handler may run another vCPU's); one object per depth, reused, so a slice
  // allocates nothing (a long run opens one per upcall).
  private readonly sliceStack: Slice[] = [];
  private depth = 0;

  /**
   * @param clock - the platform's clock
   * @param options - mode, costs, scheduler, fault handler
   */
  constructor(
    private readonly clock: Clock,
    options: VcpuRunnerOptions = {},
  ) {
    this.mode = options.mode ?? 'timed';
    if (this.mode !== 'timed' && this.mode !== 'immediate')
      throw new RangeError(`execution mode must be 'timed' or 'immediate', got ${String(this.mode)}`);
    const costs = { ...DEFAULT_EXECUTION_COSTS, ...options.costs };
    checkCosts(costs, this.mode);
    this.costs = Object.freeze(costs);
    this.maxSliceNs = options.maxSliceNs ?? DEFAULT_MAX_SLICE_NS;
    this.livelockNs = options.livelockNs ?? DEFAULT_LIVELOCK_NS;
    if (!(this.maxSliceNs > 0)) throw new RangeError(`maxSliceNs must be > 0, got ${this.maxSliceNs}`);
    if (!(this.livelockNs > 0)) throw new RangeError(`livelockNs must be > 0, got ${this.livelockNs}`);
    this.scheduler = options.scheduler;
    this.bus = options.bus;
    this.onFault = options.onFault;
    this.scheduler?.onSwitch((_pcpu, _prev, next) => {
      if (!next) return;
      const d = this.domains.get(next.domid);
      if (d && d.alive && d.waiting[next.vcpu] === 1) {
        d.waiting[next.vcpu] = 0;
        this.arm(d, next.vcpu, this.clock.now());
      }
    });
  }

  /** Registers a domain's vCPUs. */
  attach(domid: number, nrVcpus: number, entry: VcpuInterruptEntry): void {
    this.detach(domid);
    this.domains.set(domid, new DomainExec(domid, nrVcpus, entry, this));
  }

  /** Forgets a domain; its armed entries are cancelled. */
  detach(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    d.alive = false;
    for (let v = 0; v < d.nrVcpus; v++) if (d.timers[v]! >= 0) this.clock.cancel(d.timers[v]!);
    this.domains.delete(domid);
  }

  /** Stops running a domain's vCPUs (a crashed domain) while keeping its statistics. */
  stop(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    d.alive = false;
    for (let v = 0; v < d.nrVcpus; v++) {
      if (d.timers[v]! >= 0) this.clock.cancel(d.timers[v]!);
      d.timers[v] = -1;
      d.armed[v] = 0;
      d.waiting[v] = 0;
    }
  }

  /** An interrupt was raised on `vcpu`: arm its entry unless one is armed or it is running. */
  raise(domid: number, vcpu: number): void {
    if (this.mode === 'immediate') return;
    const d = this.domains.get(domid);
    if (d === undefined || !d.alive || vcpu >>> 0 !== vcpu || vcpu >= d.nrVcpus) return;
    // Inside its own handler the interrupt stays latched in the hardware; the runner looks
    // again when the handler returns.
    const s = this.slice;
    if (s !== undefined && s.d === d && s.vcpu === vcpu) return;
    if (d.armed[vcpu] === 1 || d.waiting[vcpu] === 1) return;
    if (this.scheduler && this.scheduler.processorOf(domid, vcpu) < 0) {
      d.waiting[vcpu] = 1;
      this.scheduler.kick(domid, vcpu);
      return;
    }
    this.arm(d, vcpu, Math.max(this.now(), d.busyUntil[vcpu]!) + this.costs.entryLatencyNs);
  }

  /** Runs `vcpu`'s interrupt handling now. */
  runNow(domid: number, vcpu: number): void {
    const d = this.domains.get(domid);
    if (d === undefined || !d.alive || vcpu >>> 0 !== vcpu || vcpu >= d.nrVcpus) return;
    if (this.mode === 'timed') {
      if (d.timers[vcpu]! >= 0) this.clock.cancel(d.timers[vcpu]!);
      d.timers[vcpu] = -1;
      d.armed[vcpu] = 0;
      this.execute(d, vcpu);
      return;
    }
    const outer = this.slice;
    this.openSlice(d, vcpu, this.clock.now(), 0, Infinity);
    try {
      while (d.alive && (d.suspended[vcpu] === 1 || d.entry.canTake(vcpu))) {
        d.upcalls[vcpu]!++;
        d.suspended[vcpu] = d.entry.take(vcpu) ? 0 : 1;
      }
    } finally {
      this.closeSlice(outer);
    }
  }

  /** Virtual time of the code running now. */
  now(): number {
    const s = this.slice;
    return s === undefined ? this.clock.now() : s.start + s.charged;
  }

  /** Charges work to the running vCPU. */
  charge(ns: number): void {
    const s = this.slice;
    if (s !== undefined && this.mode === 'timed') s.charged += ns;
  }

  /** Whether the running vCPU's slice is used up. */
  shouldYield(): boolean {
    const s = this.slice;
    return s !== undefined && s.charged >= s.budget;
  }

  /** The vCPU running guest code now. */
  running(): VcpuRef | undefined {
    const s = this.slice;
    return s === undefined ? undefined : { domid: s.d.domid, vcpu: s.vcpu };
  }

  /** What a vCPU did. */
  stats(domid: number, vcpu: number): VcpuRunStats {
    const d = this.domains.get(domid);
    if (!d || vcpu >>> 0 !== vcpu || vcpu >= d.nrVcpus) return ZERO_STATS;
    const start = d.upcallStart[vcpu]!;
    const ongoing = start >= 0 ? d.busyUntil[vcpu]! - start : 0;
    return {
      upcalls: d.upcalls[vcpu]!,
      interruptNs: d.interruptNs[vcpu]!,
      longestUpcallNs: Math.max(d.longest[vcpu]!, ongoing),
      livelocked: start >= 0 && ongoing >= this.livelockNs,
    };
  }

  /**
   * The runner's state as JSON: per attached domain (in attach order) its per-vCPU flags,
   * statistics and armed entry timers as `TimerRecord`s. Only between clock steps (no slice
   * running).
   */
  getState(): JsonValue {
    if (this.slice !== undefined) throw new Error('the vCPU runner cannot be saved while guest code runs');
    const clock = this.clock;
    return [...this.domains.values()].map((d) => {
      const timers: JsonValue[] = [];
      for (let v = 0; v < d.nrVcpus; v++) {
        const rec = d.timers[v]! >= 0 ? clock.timerRecord?.(d.timers[v]!) : undefined;
        if (d.timers[v]! >= 0 && !rec) throw new Error(`the clock cannot save d${d.domid}v${v}'s entry timer`);
        timers.push(rec ? { at: rec.at, seq: rec.seq } : null);
      }
      const out: Record<string, JsonValue> = { domid: d.domid, nrVcpus: d.nrVcpus, alive: d.alive, timers };
      for (const k of RUNNER_ARRAYS) out[k] = [...d[k]];
      return out;
    });
  }

  /**
   * Restores {@link ClockedVcpuRunner.getState} into a runner with the same domains attached,
   * re-arming each saved entry with the runner's own callback; `path` names it in errors. The
   * clock's timers must have been discarded first (`Clock.discardTimers`, as a platform restore
   * does): timers armed before are forgotten, not cancelled.
   */
  setState(state: JsonValue, path = 'runner'): void {
    const list = readArray(state, path, this.domains.size);
    const doms = [...this.domains.values()];
    list.forEach((entry, i) => {
      const p = at(path, i);
      const o = readObject(entry, p);
      const d = doms[i]!;
      expectSame(o.domid, at(p, 'domid'), d.domid);
      expectSame(o.nrVcpus, at(p, 'nrVcpus'), d.nrVcpus);
      d.alive = readBool(o.alive, at(p, 'alive'));
      for (const k of RUNNER_ARRAYS) readArrayInto(readArray(o[k], at(p, k), d.nrVcpus), at(p, k), d[k]);
      const timers = readArray(o.timers, at(p, 'timers'), d.nrVcpus).map((t, v) => readTimer(t, at(at(p, 'timers'), v)));
      for (let v = 0; v < d.nrVcpus; v++) {
        d.timers[v] = -1;
        const rec = timers[v];
        if ((rec !== null) !== (d.armed[v] === 1)) throw new SnapshotError(at(at(p, 'timers'), v), `an entry timer must be saved exactly when armed[${v}] is 1`);
        if (rec) {
          if (!this.clock.rearm) throw new Error('the clock cannot re-arm saved timers');
          d.timers[v] = this.clock.rearm(rec, d.fire[v]!);
        }
      }
    });
  }

  private arm(d: DomainExec, vcpu: number, at: number): void {
    if (d.armed[vcpu] === 1) return;
    d.armed[vcpu] = 1;
    d.timers[vcpu] = this.clock.at(at, d.fire[vcpu]!);
  }

  /** An armed entry or continuation is due. @internal */
  fire(d: DomainExec, vcpu: number): void {
    d.armed[vcpu] = 0;
    d.timers[vcpu] = -1;
    if (!d.alive) return;
    if (this.scheduler && this.scheduler.processorOf(d.domid, vcpu) < 0) {
      // Descheduled meanwhile: enter (or continue) when it runs again.
      d.waiting[vcpu] = 1;
      return;
    }
    if (d.suspended[vcpu] === 0 && !d.entry.canTake(vcpu)) return;
    this.execute(d, vcpu);
  }

  /** Makes a slice of `vcpu` the running one, on the next free object of the stack. */
  private openSlice(d: DomainExec, vcpu: number, start: number, charged: number, budget: number): Slice {
    let s = this.sliceStack[this.depth];
    if (s === undefined) this.sliceStack.push((s = { d, vcpu, start, charged, budget }));
    s.d = d;
    s.vcpu = vcpu;
    s.start = start;
    s.charged = charged;
    s.budget = budget;
    this.depth++;
    this.slice = s;
    return s;
  }

  /** Ends the running slice; `outer` runs again. */
  private closeSlice(outer: Slice | undefined): void {
    this.depth--;
    this.slice = outer;
  }

  private execute(d: DomainExec, vcpu: number): void {
    const start = this.clock.now();
    const next = this.clock.nextDue?.();
    let budget = this.maxSliceNs;
    if (next !== undefined && next > start && next - start < budget) budget = next - start;
    const continuing = d.suspended[vcpu] === 1;
    let charged = 0;
    if (!continuing) {
      d.upcalls[vcpu]!++;
      d.upcallStart[vcpu] = start;
      d.livelockReported[vcpu] = 0;
      charged = this.costs.upcallNs;
      if (this.bus?.listening('upcall:enter')) this.bus.emit('upcall:enter', d.domid, vcpu);
    }
    const outer = this.slice;
    const s = this.openSlice(d, vcpu, start, charged, budget);
    let done = true;
    let fault: { error: unknown } | undefined;
    try {
      done = d.entry.take(vcpu);
    } catch (error) {
      fault = { error };
    }
    charged = s.charged;
    this.closeSlice(outer);
    const end = start + charged;
    d.busyUntil[vcpu] = end;
    d.interruptNs[vcpu]! += charged;
    if (fault !== undefined) {
      if (!this.onFault) throw fault.error;
      this.onFault(d.domid, vcpu, fault.error);
      return;
    }
    if (!d.alive) return;
    if (!done) {
      d.suspended[vcpu] = 1;
      const since = d.upcallStart[vcpu]!;
      if (end - since >= this.livelockNs && d.livelockReported[vcpu] === 0) {
        d.livelockReported[vcpu] = 1;
        if (this.bus?.listening('vcpu:livelock')) this.bus.emit('vcpu:livelock', d.domid, vcpu, since);
      }
      // A continuation needs no new entry: the vCPU is still inside its handler.
      this.arm(d, vcpu, end > start ? end : start + 1);
      return;
    }
    d.suspended[vcpu] = 0;
    const length = end - d.upcallStart[vcpu]!;
    if (length > d.longest[vcpu]!) d.longest[vcpu] = length;
    d.upcallStart[vcpu] = -1;
    if (d.entry.canTake(vcpu)) this.arm(d, vcpu, end + this.costs.entryLatencyNs);
  }
}
