/*
 * The event ABI contract (SPEC §2). An ABI owns the memory shared by the hypervisor and the
 * guest and both sides' operations on it: the hypervisor half is Xen's `evtchn_port_ops`, the
 * guest half is Linux's `evtchn_ops`. They never call each other; they meet only in shared
 * memory (the shared-info page, guest pages) and through hypercalls.
 */
import type { ChannelTable } from '../hypervisor/channel-table.js';
import type { GuestMemory, SharedInfo } from '../hypervisor/memory.js';
import type { EventChannelOps } from './hypercalls.js';
import type { JsonValue } from './snapshot.js';
import * as Tokens from '../tokens.js';

/** Counters a domain keeps about events that never reached the guest. */
export interface DomainCounters {
  /** Events dropped because the target vCPU had no FIFO control block. */
  droppedNoControlBlock: number;
  /** Events dropped by the ABI for another reason (e.g. during reset). */
  droppedOther: number;
}

/** What the hypervisor half of an ABI sees of one domain. */
export interface AbiHypervisorContext {
  /** The domain id. */
  readonly domid: number;
  /** Number of vCPUs. */
  readonly nrVcpus: number;
  /** The guest's word size; decides the 2-level port limit (4096 or 1024). */
  readonly wordBits: 32 | 64;
  /** The domain's channel table (state, notify vCPU, priority, FIFO flags). */
  readonly channels: ChannelTable;
  /** The shared-info page (2-level bitmaps, per-vCPU upcall flags). */
  readonly sharedInfo: SharedInfo;
  /** Guest memory, for ABIs that map guest pages (FIFO control blocks and event array). */
  readonly memory: GuestMemory;
  /** Drop counters. */
  readonly counters: DomainCounters;
  /**
   * Xen's `vcpu_mark_events_pending`: test-and-set the vCPU's `upcallPending`; when it was
   * clear, the architecture delivers the upcall. Does not look at `upcallMask`.
   */
  markEventsPending(vcpu: number): void;
  /** The hypervisor half of the ABI the domain is currently using. */
  activeAbi(): AbiHypervisorOps;
  /**
   * Makes `ops` the domain's active ABI (the switch done by the first `EVTCHNOP_init_control`).
   * The previous ABI's instance is kept: its shared memory outlives the switch.
   */
  switchAbi(ops: AbiHypervisorOps): void;
  /** Reports a condition Xen would log with a warning (e.g. an event sent to a vCPU with no control block). */
  warn(message: string): void;
}

/**
 * The hypervisor half of an ABI for one domain: Xen's `evtchn_port_ops`. The core calls
 * `setPending`, `clearPending` and `unmask` only for usable ports (valid, bound, guest-owned).
 */
export interface AbiHypervisorOps {
  /** Name of the ABI (`'2level'`, `'fifo'`). */
  readonly name: string;
  /** Ports this ABI can address for the domain (2-level: 4096 or 1024; FIFO: 131072). */
  readonly maxPorts: number;
  /** Called after every bind of `port` (FIFO resets the priority to the default). */
  init(port: number): void;
  /** Marks `port` pending and notifies `vcpu` as the ABI's rules say. */
  setPending(vcpu: number, port: number): void;
  /** Clears the pending state of `port`. */
  clearPending(port: number): void;
  /** Hypervisor-side unmask (EVTCHNOP_unmask): clears the mask and re-delivers a pending event. */
  unmask(port: number): void;
  /** Whether `port` reads pending. */
  isPending(port: number): boolean;
  /** Whether `port` reads masked. */
  isMasked(port: number): boolean;
  /** Whether `port` may not be reallocated yet (FIFO: still LINKED on a queue). */
  isBusy?(port: number): boolean;
  /** EVTCHNOP_set_priority's ABI part; absent → `-ENOSYS`. @returns 0 or -errno */
  setPriority?(port: number, priority: number): number;
  /** EVTCHNOP_expand_array; absent → `-EOPNOTSUPP`. @returns 0 or -errno */
  expandArray?(arrayGfn: number): number;
  /** EVTCHNOP_init_control once this ABI is active (a further vCPU's control block). @returns link bits or -errno */
  initControl?(controlGfn: number, offset: number, vcpu: number): number;
  /** The ABI column of Xen's 'e' debug-key dump for `port` (2-level: the pending_sel bit; FIFO: busy and link). */
  printState(port: number): string;
  /** Releases the ABI's per-domain state (EVTCHNOP_reset returning a FIFO domain to 2-level). */
  destroy?(): void;
  /**
   * Snapshot hook (optional; see the "Snapshots and migration" guide): the half's own state as
   * JSON (what is not already in the channel table, the shared-info page or guest memory).
   * Without it a platform running this ABI cannot be snapshotted.
   */
  getState?(): JsonValue;
  /** Restores {@link AbiHypervisorOps.getState}; throws naming the bad field (a `SnapshotError`). */
  setState?(state: JsonValue): void;
}

/** What the guest half of an ABI sees of its domain. */
export interface AbiGuestContext {
  /** The domain id. */
  readonly domid: number;
  /** Number of CPUs (vCPUs) of the guest. */
  readonly nrCpus: number;
  /** The guest's word size (2-level: 64 → 4096 ports, 32 → 1024). */
  readonly wordBits: 32 | 64;
  /** The shared-info page, as mapped by the guest. */
  readonly sharedInfo: SharedInfo;
  /** The guest's memory and page allocator. */
  readonly memory: GuestMemory;
  /** Hypercalls issued by this guest. */
  readonly hypercalls: EventChannelOps;
  /** Kernel log (warnings such as a CPU dropping queued events). */
  warn(message: string): void;
}

/**
 * Receives the ports found pending by {@link AbiGuestOps.handleEvents}. An object rather than
 * a closure so the hot path allocates nothing.
 */
export interface EventDispatcher {
  /** Handles one pending port on `cpu` (Linux's `handle_irq_for_port`). */
  handlePort(port: number, cpu: number): void;
  /** The port bound to `cpu`'s VIRQ_TIMER, handled first by the 2-level scan, or 0 for none. */
  timerPort(cpu: number): number;
  /**
   * Whether the vCPU's slice is used up (`VcpuRunner.shouldYield`). A scan that can go on
   * for ever — a FIFO queue a handler keeps re-filling — checks it between events and, when
   * true, stops with the rest left queued (and READY bits kept) for the loop's continuation.
   * Optional: a dispatcher without it never asks a scan to stop.
   */
  shouldYield?(): boolean;
}

/** The guest half of an ABI for one domain: Linux's `evtchn_ops`. */
export interface AbiGuestOps {
  /** Name of the ABI. */
  readonly name: string;
  /** Largest number of channels the ABI can ever address. */
  maxChannels(): number;
  /** Channels addressable now (FIFO: pages of the event array × 1024). */
  nrChannels(): number;
  /** Prepares `port` for use (FIFO grows the event array). @returns 0 or -errno */
  setup(port: number): number;
  /** Forgets `port` on `cpu` (2-level clears its CPU-mask bit). */
  remove(port: number, cpu: number): void;
  /** Moves `port` from `oldCpu` to `cpu` in the ABI's CPU binding. */
  bindToCpu(port: number, cpu: number, oldCpu: number): void;
  /** Clears `port`'s pending bit. */
  clearPending(port: number): void;
  /** Sets `port`'s pending bit (retrigger). */
  setPending(port: number): void;
  /** Whether `port` is pending. */
  isPending(port: number): boolean;
  /** Whether `port` is masked. */
  isMasked(port: number): boolean;
  /** Masks `port`. */
  mask(port: number): void;
  /** Unmasks `port`, running on `cpu` (2-level takes the local path when the port is bound there). */
  unmask(port: number, cpu: number): void;
  /** Scans for pending events on `cpu` and dispatches each one. */
  handleEvents(cpu: number, dispatch: EventDispatcher): void;
  /** Restores ABI state after save/restore or a hypervisor-side reset. */
  resume(): void;
  /**
   * Migration: the guest's memory was copied into a new domain. Re-points this guest half at
   * that domain's shared-info page, memory and hypercalls (pages it keeps by gfn are looked up
   * again in the new memory); `resume` follows. Optional: without it the guest creates a new
   * guest half of the same ABI on the destination.
   */
  migrate?(ctx: AbiGuestContext): void;
  /** Brings `cpu` up (FIFO: registers its control block). @returns 0 or -errno */
  percpuInit?(cpu: number): number;
  /** Takes `cpu` down (FIFO: drops its queued events with a warning). @returns 0 or -errno */
  percpuDeinit?(cpu: number): number;
  /** Snapshot hook (optional): the guest half's own state as JSON (see {@link AbiHypervisorOps.getState}). */
  getState?(): JsonValue;
  /** Restores {@link AbiGuestOps.getState}; throws naming the bad field. */
  setState?(state: JsonValue): void;
}

/**
 * An event ABI plugin's descriptor, registered under the {@link EventAbi} token (several at
 * once; looked up by name). It creates both halves for a domain.
 */
export interface EventAbi {
  /** Name, e.g. `'2level'` or `'fifo'`. */
  readonly name: string;
  /** Largest port count for a guest of the given word size. */
  maxPorts(wordBits: 32 | 64): number;
  /** Creates the hypervisor half for one domain. */
  createHypervisorSide(ctx: AbiHypervisorContext): AbiHypervisorOps;
  /**
   * Creates the guest half for one domain; it does its own boot-time set-up through
   * hypercalls (FIFO: EVTCHNOP_init_control per CPU). Throws `XenError` when the hypervisor
   * refuses, so the guest can fall back to another ABI.
   */
  createGuestSide(ctx: AbiGuestContext): AbiGuestOps;
  /**
   * EVTCHNOP_init_control while the domain is on another ABI: validates, creates this ABI's
   * hypervisor half and switches the domain to it. Present on ABIs a running guest opts into.
   * @returns link bits or -errno
   */
  initControl?(ctx: AbiHypervisorContext, controlGfn: number, offset: number, vcpu: number): number;
}

/** Token for {@link EventAbi} (multi-registration: every offered ABI). */
export const EventAbi: typeof Tokens.EventAbi = Tokens.EventAbi;
