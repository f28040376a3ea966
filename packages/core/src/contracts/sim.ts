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
