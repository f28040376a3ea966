/*
 * A deterministic round-robin vCPU scheduler on the virtual clock: one global run queue, a
 * fixed time slice at whose end every pCPU (in pCPU order) puts its vCPU at the tail of the
 * queue and takes the first eligible one. It stands in for Xen's credit scheduler
 * (xen/common/sched/) only as far as event delivery cares: who is `current` on which pCPU,
 * when that changes, and that an interrupt for a blocked vCPU wakes it (`vcpu_kick`).
 * Ties are broken by queue order; there is no randomness.
 */
import type { Clock, Scheduler, TimerId, VcpuRef } from '../contracts/sim.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { at, expectSame, readArray, readBool, readInt, readObject, readOneOf, readTimer, SnapshotError } from '../snapshot/codec.js';

/** Options of a {@link RoundRobinScheduler}. */
export interface RoundRobinSchedulerOptions {
  /** Number of physical CPUs (at least 1). */
  readonly nrPcpus: number;
  /** Time slice in ns (at least 1). */
  readonly timeSlice: number;
}

/** Options of {@link RoundRobinScheduler.addVcpu}. */
export interface AddVcpuOptions {
  /** Pin the vCPU to this pCPU (hard affinity); absent = may run anywhere. */
  readonly affinity?: number;
  /** Start blocked instead of runnable. */
  readonly blocked?: boolean;
}

/** Scheduling state of a vCPU. */
export type VcpuRunState = 'running' | 'runnable' | 'blocked';

/** A listener for context switches (see `Scheduler.onSwitch`). */
export type SwitchListener = (pcpu: number, prev: VcpuRef | undefined, next: VcpuRef | undefined) => void;

interface Entry {
  readonly ref: VcpuRef;
  readonly affinity: number;
  state: VcpuRunState;
  pcpu: number;
}

/** A small deterministic round-robin {@link Scheduler} (see the module comment). */
export class RoundRobinScheduler implements Scheduler {
  /** Number of physical CPUs. */
  readonly nrPcpus: number;
  /** Time slice in ns. */
  readonly timeSlice: number;
  private readonly clock: Clock;
  private readonly domains = new Map<number, Entry[]>();
  private readonly running: (Entry | undefined)[];
  private readonly queue: Entry[] = [];
  private readonly listeners: SwitchListener[] = [];
  private readonly needResched: boolean[];
  private tick: TimerId | undefined;
  private switching = false;
  private started = false;
  private switches = 0;

  /**
   * @param clock - the virtual clock the slices are timed on
   * @param options - pCPU count and time slice
   */
  constructor(clock: Clock, options: RoundRobinSchedulerOptions) {
    if (!Number.isInteger(options.nrPcpus) || options.nrPcpus < 1) {
      throw new RangeError(`RoundRobinScheduler: nrPcpus must be an integer >= 1, got ${options.nrPcpus}`);
    }
    if (!(options.timeSlice >= 1)) {
      throw new RangeError(`RoundRobinScheduler: timeSlice must be >= 1 ns, got ${options.timeSlice}`);
    }
    this.clock = clock;
    this.nrPcpus = options.nrPcpus;
    this.timeSlice = options.timeSlice;
    this.running = new Array<Entry | undefined>(options.nrPcpus).fill(undefined);
    this.needResched = new Array<boolean>(options.nrPcpus).fill(false);
  }

  /** Number of context switches so far (a switch to or from idle counts). */
  get contextSwitches(): number {
    return this.switches;
  }

  /**
   * Adds a vCPU, runnable unless `opts.blocked`. Once started, an idle pCPU picks it up at once.
   * @throws RangeError when the vCPU already exists or the affinity is not a pCPU
   */
  addVcpu(domid: number, vcpu: number, opts: AddVcpuOptions = {}): void {
    const list = this.domains.get(domid) ?? [];
    if (list.some((e) => e.ref.vcpu === vcpu)) {
      throw new RangeError(`RoundRobinScheduler: d${domid}v${vcpu} already added`);
    }
    const affinity = opts.affinity ?? -1;
    if (affinity !== -1 && (!Number.isInteger(affinity) || affinity < 0 || affinity >= this.nrPcpus)) {
      throw new RangeError(`RoundRobinScheduler: affinity ${affinity} is not a pCPU (0..${this.nrPcpus - 1})`);
    }
    const entry: Entry = { ref: { domid, vcpu }, affinity, state: opts.blocked ? 'blocked' : 'runnable', pcpu: -1 };
    list.push(entry);
    this.domains.set(domid, list);
    if (entry.state === 'runnable') {
      this.queue.push(entry);
      this.fillIdle();
    }
  }

  /** Removes every vCPU of a domain (domain destruction); their pCPUs reschedule at once. */
  removeDomain(domid: number): void {
    const list = this.domains.get(domid);
    if (!list) return;
    this.domains.delete(domid);
    for (const e of list) {
      this.dequeue(e);
      if (e.state === 'running') {
        e.state = 'blocked';
        this.requestResched(e.pcpu);
      }
    }
    this.flush();
  }

  /** Starts time slicing: idle pCPUs take work now, and every `timeSlice` ns all pCPUs rotate. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.armTick();
    this.fillIdle();
  }

  /** Stops time slicing (vCPUs stay where they are). */
  stop(): void {
    this.started = false;
    if (this.tick !== undefined) this.clock.cancel(this.tick);
    this.tick = undefined;
  }

  /** The vCPU running on `pcpu`, or `undefined` when it is idle. */
  current(pcpu: number): VcpuRef | undefined {
    return this.running[pcpu]?.ref;
  }

  /** The pCPU `vcpu` is running on, or -1. */
  processorOf(domid: number, vcpu: number): number {
    const e = this.find(domid, vcpu);
    return e && e.state === 'running' ? e.pcpu : -1;
  }

  /** Scheduling state of a vCPU, or `undefined` when the scheduler does not know it. */
  stateOf(domid: number, vcpu: number): VcpuRunState | undefined {
    return this.find(domid, vcpu)?.state;
  }

  /** Blocks a vCPU (it waits for an interrupt); if it is running, its pCPU reschedules now. */
  block(domid: number, vcpu: number): void {
    const e = this.find(domid, vcpu);
    if (!e || e.state === 'blocked') return;
    if (e.state === 'runnable') {
      this.dequeue(e);
      e.state = 'blocked';
      return;
    }
    e.state = 'blocked';
    this.requestResched(e.pcpu);
    this.flush();
  }

  /** Makes a blocked vCPU runnable; an idle pCPU it may run on picks it up at once. */
  kick(domid: number, vcpu: number): void {
    const e = this.find(domid, vcpu);
    if (!e || e.state !== 'blocked') return;
    e.state = 'runnable';
    this.queue.push(e);
    this.fillIdle();
  }

  /** Registers a context-switch listener; listeners run in registration order. */
  onSwitch(listener: SwitchListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * The scheduler's state as JSON: each vCPU's state and pCPU (in `addVcpu` order per domain),
   * what runs on each pCPU, the run queue, the switch count and the slice timer as a
   * `TimerRecord`. Only between clock steps.
   */
  getState(): JsonValue {
    if (this.switching) throw new Error('the scheduler cannot be saved during a context switch');
    const ref = (e: Entry | undefined): JsonValue => (e ? [e.ref.domid, e.ref.vcpu] : null);
    const rec = this.tick !== undefined ? this.clock.timerRecord?.(this.tick) : undefined;
    if (this.tick !== undefined && !rec) throw new Error('the clock cannot save the scheduler tick');
    return {
      started: this.started,
      switches: this.switches,
      tick: rec ? { at: rec.at, seq: rec.seq } : null,
      vcpus: [...this.domains.values()].flatMap((list) => list.map((e) => [e.ref.domid, e.ref.vcpu, e.state, e.pcpu] as JsonValue)),
      running: this.running.map(ref),
      queue: this.queue.map(ref),
    };
  }

  /**
   * Restores {@link RoundRobinScheduler.getState} into a scheduler with the same vCPUs added;
   * the slice timer is re-armed with the scheduler's own callback (on a clock whose timers were
   * discarded first, as a platform restore does).
   */
  setState(state: JsonValue, path = 'scheduler'): void {
    const o = readObject(state, path);
    const entries = [...this.domains.values()].flat();
    const vcpus = readArray(o.vcpus, at(path, 'vcpus'), entries.length);
    const lookup = (v: JsonValue, p: string): Entry | undefined => {
      if (v === null) return undefined;
      const pair = readArray(v, p, 2);
      const e = this.find(readInt(pair[0], at(p, 0), 0), readInt(pair[1], at(p, 1), 0));
      if (!e) throw new SnapshotError(p, `no such vCPU d${String(pair[0])}v${String(pair[1])}`);
      return e;
    };
    vcpus.forEach((v, i) => {
      const p = at(at(path, 'vcpus'), i);
      const row = readArray(v, p, 4);
      const e = entries[i]!;
      expectSame(row[0], at(p, 0), e.ref.domid);
      expectSame(row[1], at(p, 1), e.ref.vcpu);
      e.state = readOneOf(row[2], at(p, 2), ['running', 'runnable', 'blocked'] as const);
      e.pcpu = readInt(row[3], at(p, 3), -1, this.nrPcpus - 1);
    });
    readArray(o.running, at(path, 'running'), this.nrPcpus).forEach((v, p) => (this.running[p] = lookup(v, at(at(path, 'running'), p))));
    const queue = readArray(o.queue, at(path, 'queue')).map((v, i) => lookup(v, at(at(path, 'queue'), i))!);
    this.queue.length = 0;
    this.queue.push(...queue);
    this.switches = readInt(o.switches, at(path, 'switches'), 0);
    this.started = readBool(o.started, at(path, 'started'));
    const tick = readTimer(o.tick, at(path, 'tick'));
    this.tick = undefined;
    if (tick) {
      if (!this.clock.rearm) throw new Error('the clock cannot re-arm saved timers');
      this.tick = this.clock.rearm(tick, this.tickFn);
    }
    this.needResched.fill(false);
  }

  private find(domid: number, vcpu: number): Entry | undefined {
    const list = this.domains.get(domid);
    if (!list) return undefined;
    for (const e of list) if (e.ref.vcpu === vcpu) return e;
    return undefined;
  }

  private dequeue(e: Entry): void {
    const i = this.queue.indexOf(e);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private readonly tickFn = (): void => {
    this.tick = undefined;
    if (!this.started) return;
    this.armTick();
    for (let p = 0; p < this.nrPcpus; p++) this.requestResched(p);
    this.flush();
  };

  private armTick(): void {
    this.tick = this.clock.after(this.timeSlice, this.tickFn);
  }

  private fillIdle(): void {
    if (!this.started) return;
    for (let p = 0; p < this.nrPcpus; p++) if (!this.running[p]) this.requestResched(p);
    this.flush();
  }

  private requestResched(pcpu: number): void {
    this.needResched[pcpu] = true;
  }

  /** Runs requested reschedules; a listener that kicks or blocks only adds requests to this loop. */
  private flush(): void {
    if (this.switching) return;
    this.switching = true;
    try {
      for (let p = 0; p < this.nrPcpus; p++) {
        if (!this.needResched[p]) continue;
        this.needResched[p] = false;
        this.reschedule(p);
        p = -1; // a listener may have requested more work on a lower pCPU
      }
    } finally {
      this.switching = false;
    }
  }

  private reschedule(pcpu: number): void {
    const prev = this.running[pcpu];
    if (prev && prev.state === 'running') {
      prev.state = 'runnable';
      this.queue.push(prev);
    }
    let next: Entry | undefined;
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.affinity === -1 || e.affinity === pcpu) {
        next = e;
        this.queue.splice(i, 1);
        break;
      }
    }
    if (prev) prev.pcpu = -1;
    this.running[pcpu] = next;
    if (next) {
      next.state = 'running';
      next.pcpu = pcpu;
    }
    if (prev === next) return;
    this.switches++;
    const prevRef = prev?.ref;
    const nextRef = next?.ref;
    for (const l of this.listeners.slice()) l(pcpu, prevRef, nextRef);
  }
}
