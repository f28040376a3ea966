/*
 * The simulation kernel contracts: a virtual clock with timers, and a scheduler that places
 * vCPUs on physical CPUs. Time is in nanoseconds of virtual time.
 */
import * as Tokens from '../tokens.js';

/** Handle of a timer armed on the {@link Clock}. */
export type TimerId = number;

/** A discrete-event virtual clock. */
export interface Clock {
  /** Current virtual time in ns. */
  now(): number;
  /** Runs `callback` at virtual time `at` (ns). Timers at the same time run in arming order. */
  at(at: number, callback: () => void): TimerId;
  /** Runs `callback` `delay` ns from now. */
  after(delay: number, callback: () => void): TimerId;
  /** Cancels a timer; cancelling a fired or unknown timer does nothing. */
  cancel(id: TimerId): void;
  /** Runs timers in time order until none is due at or before `until`, then sets now to `until`. */
  runUntil(until: number): void;
  /** Runs the earliest pending timers (all at the same time). @returns false when there were none */
  step(): boolean;
  /**
   * Time of the earliest armed timer, or `undefined` when none is armed. Optional: the
   * {@link VcpuRunner} uses it to end a long upcall slice where the next event is due, so other
   * events interleave with it; without it slices end only at the runner's maximum slice.
   */
  nextDue?(): number | undefined;
  /**
   * When an armed timer fires and its place among timers due at the same instant, or `undefined`
   * for a fired, cancelled or unknown timer. A snapshot saves this so the timer's owner can re-arm
   * it with {@link Clock.rearm} and the restored run fires timers in the same order.
   */
  timerRecord?(id: TimerId): TimerRecord | undefined;
  /**
   * Re-arms a timer saved with {@link Clock.timerRecord} (its callback is the owner's, since
   * closures are not saved), in the same place of the firing order. Throws when a live timer
   * already holds that place.
   */
  rearm?(record: TimerRecord, callback: () => void): TimerId;
  /**
   * Forgets every armed timer without running it, keeping the time and the arming sequence:
   * the first step of a restore, after which every owner re-arms its saved timers.
   */
  discardTimers?(): void;
}

/** A timer's due time (ns) and arming sequence: what orders it in the clock. */
export interface TimerRecord {
  /** Virtual time at which it fires, ns. */
  readonly at: number;
  /** Arming sequence; timers due at the same time fire in increasing `seq`. */
  readonly seq: number;
}

/** Token for {@link Clock}. */
export const Clock: typeof Tokens.Clock = Tokens.Clock;

/** A vCPU as the scheduler sees it. */
export interface VcpuRef {
  /** Domain id. */
  readonly domid: number;
  /** vCPU id within the domain. */
  readonly vcpu: number;
}

/** Places vCPUs on physical CPUs over virtual time. */
export interface Scheduler {
  /** Number of physical CPUs. */
  readonly nrPcpus: number;
  /** The vCPU running on `pcpu`, or `undefined` when it is idle. */
  current(pcpu: number): VcpuRef | undefined;
  /** The pCPU `vcpu` is running on, or -1 when it is not running. */
  processorOf(domid: number, vcpu: number): number;
  /** Makes a blocked vCPU runnable (an interrupt arrived for it). */
  kick(domid: number, vcpu: number): void;
  /** Registers a listener for context switches on any pCPU. @returns a function that removes it */
  onSwitch(listener: (pcpu: number, prev: VcpuRef | undefined, next: VcpuRef | undefined) => void): () => void;
}

/** Token for {@link Scheduler}. */
export const Scheduler: typeof Tokens.Scheduler = Tokens.Scheduler;

/**
 * How guest code is run:
 * - `'timed'`: on the virtual clock. A raised interrupt is taken `entryLatencyNs` later, only
 *   while the vCPU is on a pCPU and not already inside its handler; the work it does charges
 *   virtual time to the vCPU (the default of platforms);
 * - `'immediate'`: nothing runs by itself; `VcpuRunner.runNow(dom, vcpu)` runs the vCPU's
 *   interrupt handling to completion at once with no cost (replays: `upcall V`).
 */
export type ExecutionMode = 'timed' | 'immediate';

/**
 * What a vCPU's interrupt work costs in virtual time (ns). Defaults: `DEFAULT_EXECUTION_COSTS`
 * in `@evtchn/core`, with the source of each number in the "Time and execution" guide.
 */
export interface ExecutionCosts {
  /**
   * From the interrupt being raised (vector in the vLAPIC IRR, PPI pending in a list register)
   * to the guest's handler starting on a running vCPU: VM entry with injection and the
   * kernel's interrupt entry. The vCPU is not busy meanwhile.
   */
  readonly entryLatencyNs: number;
  /** Charged once per upcall taken: the upcall's own entry and exit code. */
  readonly upcallNs: number;
  /** Charged per port the ABI's scan hands to the guest (one step of the scan). */
  readonly scanStepNs: number;
  /** Charged per handler run (one IRQ's actions); overridable per IRQ by the guest layer. */
  readonly handlerNs: number;
}

/**
 * The architecture's side of one domain's vCPUs as the {@link VcpuRunner} drives them: whether
 * a vCPU has an interrupt it can take, and taking it (which runs the guest's handler).
 */
export interface VcpuInterruptEntry {
  /**
   * Whether `vcpu` has an interrupt it may take now: requested in its virtual interrupt
   * controller, not masked, and not already in service (x86: vector in service until EOI;
   * PV: inside the callback; Arm: PPI active until EOI).
   */
  canTake(vcpu: number): boolean;
  /**
   * Takes one interrupt on `vcpu` and runs its handler, or continues the one that yielded.
   * @returns true when the handler finished (the interrupt was EOI'd), false when the guest
   *   yielded its slice and the runner must call `take` again later to continue it
   */
  take(vcpu: number): boolean;
}

/** What one vCPU did, as the {@link VcpuRunner} counted it. */
export interface VcpuRunStats {
  /** Interrupts taken (a continuation of a yielded handler does not count again). */
  readonly upcalls: number;
  /** Virtual time spent in interrupt handling (ns). */
  readonly interruptNs: number;
  /** Longest single upcall, continuations included (ns). */
  readonly longestUpcallNs: number;
  /** Whether the vCPU is inside an upcall that has lasted past the livelock threshold. */
  readonly livelocked: boolean;
}

/**
 * The one owner of "a vCPU takes its interrupt". Architectures raise; the runner decides when
 * the guest's handler runs (see {@link ExecutionMode}), charges its work to the vCPU, keeps a
 * fault in guest code inside that domain, and reports a vCPU that does nothing but handle
 * interrupts. A hypercall never runs another domain's code through it: a raise only arms a
 * timer on the clock.
 */
export interface VcpuRunner {
  /** The execution mode. */
  readonly mode: ExecutionMode;
  /** The cost model in force. */
  readonly costs: Readonly<ExecutionCosts>;
  /** Registers a domain's vCPUs (called by the architecture in `attachDomain`). */
  attach(domid: number, nrVcpus: number, entry: VcpuInterruptEntry): void;
  /** Forgets a domain: pending entries are dropped, nothing of it runs again. */
  detach(domid: number): void;
  /** The architecture made an interrupt requested on `vcpu` (timed mode: schedules its entry). */
  raise(domid: number, vcpu: number): void;
  /**
   * Runs `vcpu`'s interrupt handling now until it has nothing left to take (immediate mode;
   * in timed mode it runs one entry now, as if its latency had passed).
   */
  runNow(domid: number, vcpu: number): void;
  /**
   * Virtual time as seen by the code running now: inside a vCPU's handler, the clock's time
   * plus the work charged so far in this slice; elsewhere the clock's time.
   */
  now(): number;
  /** Charges `ns` of work to the vCPU running now (no-op outside a handler or in immediate mode). */
  charge(ns: number): void;
  /**
   * Whether the running vCPU's slice is used up: guest loops check it between steps and
   * return early (the handler stays in service and is continued later), so a livelocked vCPU
   * cannot stop virtual time. Always false in immediate mode.
   */
  shouldYield(): boolean;
  /** The vCPU running guest code now, if any. */
  running(): VcpuRef | undefined;
  /** What a vCPU did; zeros for an unknown one. */
  stats(domid: number, vcpu: number): VcpuRunStats;
}

/** Token for {@link VcpuRunner}. */
export const VcpuRunner: typeof Tokens.VcpuRunner = Tokens.VcpuRunner;
