/*
 * The guest half of the FIFO ABI for one domain. Models Linux's
 * drivers/xen/events/events_fifo.c (the FIFO `evtchn_ops`) from the behaviour in SPEC.md §2.2
 * and the public header xen/include/public/event_channel.h.
 *
 * The guest allocates its own pages: one zeroed control block per CPU, registered with
 * EVTCHNOP_init_control, and event-array pages with every word MASKED, registered with
 * EVTCHNOP_expand_array as ports are set up. It keeps references to those pages (they are the
 * same guest pages the hypervisor writes) and, per CPU and priority, a local head: the next
 * port of a queue it is part-way through, so it only goes back to the control block's head
 * when it reaches the end of what it has already seen.
 */
import type { AbiGuestContext, AbiGuestOps, EventDispatcher, JsonValue } from '@evtchn/core';
import { Errno, readArray, readArrayInto, readInt, readObject, SnapshotError, snapshotPath, writeArray, XenError } from '@evtchn/core';
import { FifoLayout } from './layout.js';

/** Options of the FIFO guest side. */
export interface FifoGuestOptions {
  /**
   * How many times guest `unmask` retries its compare-and-swap while the hypervisor holds the
   * word BUSY before giving up (default 16). Linux spins until BUSY clears; in a
   * single-threaded model nothing can clear it while the guest spins, so the retry is bounded
   * and the port is left masked with a warning.
   */
  busyRetries?: number;
}

/** Default of {@link FifoGuestOptions.busyRetries}. */
export const DEFAULT_BUSY_RETRIES = 16;

/**
 * Guest-side FIFO operations on one domain: Linux's FIFO `evtchn_ops`.
 *
 * Construct it with `FifoAbi.createGuestSide`, or directly and then call `init()`, which
 * registers a control block for every CPU (throwing `XenError` when CPU 0's is refused, so
 * the guest can fall back to 2-level).
 */
export class FifoGuestSide implements AbiGuestOps {
  /** Always `'fifo'`. */
  readonly name = 'fifo';

  /** Event-array pages registered with the hypervisor (references into guest memory). */
  private readonly eventPages: Uint32Array[] = [];
  /** Gfns of the event-array pages, kept after `resume` so the same pages are registered again. */
  private readonly eventGfns: number[] = [];
  /**
   * Ports covered by the pages registered since boot or the last `resume` (a whole number of
   * pages' words): the per-event checks compare a port with it directly.
   */
  private nrEventWords = 0;
  /** Per CPU: its control-block page, or `undefined` when it has none. */
  private readonly controlPages: (Uint32Array | undefined)[];
  /** Per CPU: the gfn of its control-block page, -1 when none. */
  private readonly controlGfns: Int32Array;
  /** Per CPU: whether the CPU is online (taken down by `percpuDeinit`). */
  private readonly online: Uint8Array;
  /** Per CPU and priority (`cpu * 16 + q`): next port to consume, 0 = read the control block. */
  private readonly localHead: Uint32Array;
  private readonly busyRetries: number;

  /**
   * @param ctx - the guest's view of its domain
   * @param options - guest-side tuning
   */
  constructor(
    private ctx: AbiGuestContext,
    options: FifoGuestOptions = {},
  ) {
    this.controlPages = new Array<Uint32Array | undefined>(ctx.nrCpus).fill(undefined);
    this.controlGfns = new Int32Array(ctx.nrCpus).fill(-1);
    this.online = new Uint8Array(ctx.nrCpus);
    this.localHead = new Uint32Array(ctx.nrCpus * FifoLayout.MAX_QUEUES);
    this.busyRetries = options.busyRetries ?? DEFAULT_BUSY_RETRIES;
  }

  /**
   * Boot-time set-up (Linux's `xen_evtchn_fifo_init` plus bringing up the other CPUs):
   * registers a control block for each CPU.
   * @throws XenError when CPU 0's `EVTCHNOP_init_control` fails (the guest uses 2-level instead)
   */
  init(): void {
    for (let cpu = 0; cpu < this.ctx.nrCpus; cpu++) {
      const rc = this.percpuInit(cpu);
      if (rc >= 0) continue;
      if (cpu === 0) throw new XenError('EVTCHNOP_init_control', rc, `domain ${this.ctx.domid}, cpu 0`);
      this.ctx.warn(`xen: FIFO control block for CPU${cpu} refused (${rc})`);
    }
  }

  /**
   * Snapshot hook: the event-array and control-block frames, how many event pages are
   * registered, which CPUs are online and the local queue heads (the words are guest memory).
   */
  getState(): JsonValue {
    return {
      eventGfns: [...this.eventGfns],
      nrEventPages: this.nrEventWords >>> FifoLayout.PAGE_SHIFT,
      controlGfns: [...this.controlGfns],
      online: writeArray(this.online),
      localHead: writeArray(this.localHead),
    };
  }

  /** Restores {@link FifoGuestSide.getState}, mapping the pages again from guest memory. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    const mem = this.ctx.memory;
    const events = readArray(o.eventGfns, 'eventGfns').map((g, i) => {
      const v = readInt(g, snapshotPath('eventGfns', i), 0);
      if (!mem.has(v)) throw new SnapshotError(snapshotPath('eventGfns', i), `guest frame ${v} is outside the domain's memory`);
      return v;
    });
    const nr = readInt(o.nrEventPages, 'nrEventPages', 0, events.length);
    const controls = readArray(o.controlGfns, 'controlGfns', this.ctx.nrCpus).map((g, i) => {
      const v = readInt(g, snapshotPath('controlGfns', i), -1);
      if (v >= 0 && !mem.has(v)) throw new SnapshotError(snapshotPath('controlGfns', i), `guest frame ${v} is outside the domain's memory`);
      return v;
    });
    readArrayInto(o.online, 'online', this.online);
    readArrayInto(o.localHead, 'localHead', this.localHead);
    this.eventGfns.length = 0;
    this.eventPages.length = 0;
    for (const g of events) {
      this.eventGfns.push(g);
      this.eventPages.push(mem.page(g)!);
    }
    this.nrEventWords = nr * FifoLayout.EVENT_WORDS_PER_PAGE;
    controls.forEach((g, cpu) => {
      this.controlGfns[cpu] = g;
      this.controlPages[cpu] = g >= 0 ? mem.page(g) : undefined;
    });
  }

  /** 131072. */
  maxChannels(): number {
    return FifoLayout.MAX_PORTS;
  }

  /** Ports covered by the registered event-array pages. */
  nrChannels(): number {
    return this.nrEventWords;
  }

  /**
   * Grows the event array until it covers `port`: each new page has every word MASKED before
   * EVTCHNOP_expand_array registers it (after a `resume`, the pages used before are reused).
   * @returns 0, `-EINVAL` when `port` needs more than 128 pages, `-ENOMEM` without free
   *   memory, or the hypercall's error
   */
  setup(port: number): number {
    const needed = Math.floor(port / FifoLayout.EVENT_WORDS_PER_PAGE) + 1;
    if (needed > FifoLayout.MAX_EVENT_ARRAY_PAGES) return -Errno.EINVAL;
    for (let slot = this.nrEventWords >>> FifoLayout.PAGE_SHIFT; slot < needed; slot++) {
      let gfn = this.eventGfns[slot];
      if (gfn === undefined) {
        gfn = this.ctx.memory.allocate();
        const fresh = gfn < 0 ? undefined : this.ctx.memory.page(gfn);
        if (fresh === undefined) return -Errno.ENOMEM;
        this.eventGfns.push(gfn);
        this.eventPages.push(fresh);
      }
      const page = this.eventPages[slot]!;
      page.fill(FifoLayout.MASKED);
      const rc = this.ctx.hypercalls.expandArray(gfn);
      if (rc < 0) return rc;
      this.nrEventWords += FifoLayout.EVENT_WORDS_PER_PAGE;
    }
    return 0;
  }

  /** Nothing to forget: the hypervisor routes by notify vCPU. */
  remove(_port: number, _cpu: number): void {}

  /** Nothing to move: the hypervisor routes by notify vCPU. */
  bindToCpu(_port: number, _cpu: number, _oldCpu: number): void {}

  /** Clears PENDING. */
  clearPending(port: number): void {
    // Every event's ack comes here: kept free of `pageOf` to leave inlining budget to the
    // rest of the event path.
    if (port >= this.nrEventWords) return;
    const page = this.eventPages[port >>> FifoLayout.PAGE_SHIFT]!;
    page[port & FifoLayout.WORD_INDEX_MASK] &= ~FifoLayout.PENDING;
  }

  /** Sets PENDING (retrigger); no linking, that is the hypervisor's job. */
  setPending(port: number): void {
    const page = this.pageOf(port);
    if (page === undefined) return;
    const i = port & FifoLayout.WORD_INDEX_MASK;
    page[i] = page[i]! | FifoLayout.PENDING;
  }

  /** Whether PENDING is set. */
  isPending(port: number): boolean {
    const page = this.pageOf(port);
    return page !== undefined && (page[port & FifoLayout.WORD_INDEX_MASK]! & FifoLayout.PENDING) !== 0;
  }

  /** Whether MASKED is set (a port without an event word reads masked). */
  isMasked(port: number): boolean {
    const page = this.pageOf(port);
    return page === undefined || (page[port & FifoLayout.WORD_INDEX_MASK]! & FifoLayout.MASKED) !== 0;
  }

  /** Sets MASKED. */
  mask(port: number): void {
    const page = this.pageOf(port);
    if (page === undefined) return;
    const i = port & FifoLayout.WORD_INDEX_MASK;
    page[i] = page[i]! | FifoLayout.MASKED;
  }

  /**
   * Unmasks `port`. A pending event needs the hypervisor to link it, so that goes through
   * EVTCHNOP_unmask. Otherwise MASKED is cleared with a compare-and-swap that expects BUSY
   * clear: while the hypervisor holds the word BUSY it may be relinking it, and clearing MASKED
   * under it could lose the event. Linux retries until BUSY clears; here the retry is bounded
   * (`busyRetries`) because a single-threaded hypervisor cannot clear BUSY meanwhile, and the
   * port stays masked with a warning.
   */
  unmask(port: number, _cpu: number): void {
    const page = this.pageOf(port);
    if (page === undefined) return;
    const i = port & FifoLayout.WORD_INDEX_MASK;
    for (let attempt = 0; attempt <= this.busyRetries; attempt++) {
      const word = page[i]!;
      if ((word & FifoLayout.MASKED) === 0) return;
      if ((word & FifoLayout.PENDING) !== 0) {
        this.ctx.hypercalls.unmask(port);
        return;
      }
      const expected = (word & ~FifoLayout.BUSY) >>> 0;
      if (page[i] === expected) {
        page[i] = expected & ~FifoLayout.MASKED;
        return;
      }
    }
    this.ctx.warn(`xen: port ${port} stayed BUSY; left masked`);
  }

  /**
   * Consumes `cpu`'s queues in strict priority order, one event at a time, re-reading the
   * control block's `ready` word after each so a higher-priority event raised by a handler
   * is served next. Each consumed event is unlinked; it is dispatched only if still PENDING
   * and not MASKED.
   */
  handleEvents(cpu: number, dispatch: EventDispatcher): void {
    this.drain(cpu, dispatch);
  }

  /**
   * Migration: the guest's memory was copied into a new domain. The control blocks and the
   * event-array pages keep their gfns; their pages are looked up again in the new memory, and
   * hypercalls now go to the new domain. `resume` then registers them with its hypervisor.
   * @throws RangeError when the new domain has a different number of CPUs or lacks a page
   */
  migrate(ctx: AbiGuestContext): void {
    if (ctx.nrCpus !== this.ctx.nrCpus) throw new RangeError(`FIFO guest side: ${this.ctx.nrCpus} CPUs cannot move to a domain with ${ctx.nrCpus}`);
    const page = (gfn: number): Uint32Array => {
      const p = ctx.memory.page(gfn);
      if (p === undefined) throw new RangeError(`FIFO guest side: gfn ${gfn} is not in the new domain's memory`);
      return p;
    };
    for (let cpu = 0; cpu < ctx.nrCpus; cpu++) if (this.controlPages[cpu] !== undefined) this.controlPages[cpu] = page(this.controlGfns[cpu]!);
    for (let i = 0; i < this.eventGfns.length; i++) this.eventPages[i] = page(this.eventGfns[i]!);
    this.ctx = ctx;
  }

  /**
   * Re-registers after save/restore: the control block of each online CPU is cleared and
   * registered again (its page reused, as Linux's `init_control_block` does), the ones of
   * offline CPUs are given up, and the event array starts empty again; `setup` registers the
   * same pages again as ports need them.
   */
  resume(): void {
    for (let cpu = 0; cpu < this.ctx.nrCpus; cpu++) {
      if (this.controlPages[cpu] === undefined) continue;
      if (this.online[cpu] === 0) {
        this.controlPages[cpu] = undefined;
        this.controlGfns[cpu] = -1;
        continue;
      }
      // Linux's init_control_block: the block (READY bits, HEADs) and the local HEADs start
      // empty, as the new hypervisor's queues do.
      this.controlPages[cpu]!.fill(0);
      this.localHead.fill(0, cpu * FifoLayout.MAX_QUEUES, (cpu + 1) * FifoLayout.MAX_QUEUES);
      const rc = this.ctx.hypercalls.initControl(this.controlGfns[cpu]!, 0, cpu);
      if (rc < 0) this.ctx.warn(`xen: FIFO control block for CPU${cpu} refused on resume (${rc})`);
    }
    this.nrEventWords = 0;
  }

  /**
   * Brings `cpu` up: allocates, zeroes and registers its control block unless it already has
   * one (a CPU coming back keeps the block the hypervisor knows).
   * @returns 0, `-ENOMEM`, or the hypercall's error
   */
  percpuInit(cpu: number): number {
    if (this.controlPages[cpu] !== undefined) {
      this.online[cpu] = 1;
      return 0;
    }
    const gfn = this.ctx.memory.allocate();
    const page = gfn < 0 ? undefined : this.ctx.memory.page(gfn);
    if (page === undefined) return -Errno.ENOMEM;
    page.fill(0);
    this.localHead.fill(0, cpu * FifoLayout.MAX_QUEUES, (cpu + 1) * FifoLayout.MAX_QUEUES);
    const rc = this.ctx.hypercalls.initControl(gfn, 0, cpu);
    if (rc < 0) return rc;
    this.controlPages[cpu] = page;
    this.controlGfns[cpu] = gfn;
    this.online[cpu] = 1;
    return 0;
  }

  /** Takes `cpu` down: its queued events are consumed and dropped, each with a warning. */
  percpuDeinit(cpu: number): number {
    this.drain(cpu, undefined);
    this.online[cpu] = 0;
    return 0;
  }

  /**
   * The scan: consumes `cpu`'s queues in strict priority order, one event at a time. Each
   * event is unlinked from its queue (the local head moves on to its LINK) and dispatched
   * only if still PENDING and not MASKED; after each event the control block's READY word is
   * read again, so a higher-priority event raised by a handler is served next.
   */
  private drain(cpu: number, dispatch: EventDispatcher | undefined): void {
    // One function for the whole scan, the per-event part included: whichever way V8 comes
    // to compile it (on-stack replacement of this loop or an ordinary call), the root is
    // this loop and its inlining budget goes to the guest's event path, not to a helper.
    const cb = this.controlPages[cpu];
    if (cb === undefined) return;
    const localHead = this.localHead;
    const base = cpu * FifoLayout.MAX_QUEUES;
    let ready = cb[FifoLayout.CB_READY]! | 0;
    cb[FifoLayout.CB_READY] = 0;
    while (ready !== 0) {
      const q = 31 - Math.clz32(ready & -ready);
      // `| 0`: a signed 32-bit port keeps V8's comparisons below in integer registers.
      let port = localHead[base + q]! | 0;
      if (port === 0) port = cb[FifoLayout.CB_HEAD + q]! & FifoLayout.LINK_MASK;
      if (port < this.nrEventWords) {
        const page = this.eventPages[port >>> FifoLayout.PAGE_SHIFT]!;
        const i = port & FifoLayout.WORD_INDEX_MASK;
        const word = page[i]!;
        page[i] = word & ~(FifoLayout.LINKED | FifoLayout.LINK_MASK);
        const next = word & FifoLayout.LINK_MASK;
        if (next === 0) ready &= ~(1 << q);
        if ((word & (FifoLayout.PENDING | FifoLayout.MASKED)) === FifoLayout.PENDING) {
          if (dispatch !== undefined) dispatch.handlePort(port, cpu);
          else this.dropEvent(port);
        }
        localHead[base + q] = next;
      } else {
        // A head the guest has no word for cannot be followed: the queue counts as empty.
        localHead[base + q] = 0;
        ready &= ~(1 << q);
      }
      ready |= cb[FifoLayout.CB_READY]!;
      cb[FifoLayout.CB_READY] = 0;
      if (ready !== 0 && dispatch !== undefined && dispatch.shouldYield?.() === true) {
        // The vCPU's slice is used up: the queues keep their heads and READY bits, and the
        // upcall loop's continuation drains on from here.
        cb[FifoLayout.CB_READY] = ready;
        return;
      }
    }
  }

  /** A CPU going down drops its queued events, each with a warning. */
  private dropEvent(port: number): void {
    this.ctx.warn(`xen: dropping pending event for port ${port}`);
  }

  private pageOf(port: number): Uint32Array | undefined {
    if (port >= this.nrEventWords) return undefined;
    return this.eventPages[port >>> FifoLayout.PAGE_SHIFT];
  }
}
