/*
 * The hypervisor half of the FIFO ABI for one domain. Models xen/common/event_fifo.c (Xen's
 * `evtchn_port_ops` for the FIFO ABI) from the behaviour in SPEC.md §2.2 and the public header
 * xen/include/public/event_channel.h.
 *
 * All shared state is guest memory: the event array is a list of references to guest pages and
 * each vCPU's control block is a reference to a guest page plus a word offset. Nothing is
 * copied, so what the hypervisor writes the guest reads, and a page registered again after a
 * reset still holds what was written to it. The per-channel fields (priority, the sticky
 * pending flag, the queue last linked on) live in the core's `ChannelTable`, which outlives
 * this object like Xen's `struct evtchn` outlives `d->evtchn_fifo`. What this object owns is
 * Xen's `struct evtchn_fifo_domain` / `evtchn_fifo_vcpu`: the page list and, per vCPU, the
 * control-block reference and the 16 queue tails.
 */
import type { AbiHypervisorContext, AbiHypervisorOps, JsonValue } from '@evtchn/core';
import { Errno, readArray, readArrayInto, readInt, readObject, SnapshotError, snapshotPath, writeArray } from '@evtchn/core';
import { FifoLayout, FIFO_CONTROL_BLOCK_ALIGN, FIFO_CONTROL_BLOCK_MAX_OFFSET } from './layout.js';

/**
 * Checks the arguments of `EVTCHNOP_init_control` in Xen's order: the vCPU first (`-ENOENT`),
 * then the offset's range and alignment (`-EINVAL`).
 * @param nrVcpus - vCPUs of the calling domain
 * @param offset - byte offset of the control block in its page
 * @param vcpu - the vCPU the block is for
 * @returns 0 or -errno
 */
export function checkInitControlArgs(nrVcpus: number, offset: number, vcpu: number): number {
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= nrVcpus) return -Errno.ENOENT;
  if (!Number.isInteger(offset) || offset < 0 || offset > FIFO_CONTROL_BLOCK_MAX_OFFSET) return -Errno.EINVAL;
  if ((offset & (FIFO_CONTROL_BLOCK_ALIGN - 1)) !== 0) return -Errno.EINVAL;
  return 0;
}

/**
 * Hypervisor-side FIFO operations on one domain: Xen's FIFO `evtchn_port_ops` plus the
 * domain's FIFO state (event array, per-vCPU control blocks and queue tails).
 *
 * Created by `FifoAbi` when the domain's first `EVTCHNOP_init_control` switches it to FIFO;
 * released (`destroy`) when `EVTCHNOP_reset` returns it to 2-level.
 */
export class FifoHypervisorSide implements AbiHypervisorOps {
  /** Always `'fifo'`. */
  readonly name = 'fifo';
  /** 131072: the ports a 17-bit LINK field can name. */
  readonly maxPorts: number = FifoLayout.MAX_PORTS;

  /** Event-array pages, slot i covering ports i*1024 .. i*1024+1023 (references into guest memory). */
  private eventPages: Uint32Array[] = [];
  /** Ports covered by the event array (pages × 1024); a port at or above it has no event word. */
  private nrEventWords = 0;
  /** Per vCPU: the guest page holding its control block, or `undefined` before `init_control`. */
  private readonly controlPages: (Uint32Array | undefined)[];
  /** Per vCPU: word index of the control block inside its page. */
  private readonly controlBase: Uint32Array;
  /** Per vCPU and priority (`vcpu * 16 + priority`): the queue's tail port, 0 = none. */
  private readonly tails: Uint32Array;
  /** Guest frames of the event-array pages and of each vCPU's control block (-1 = none), so a snapshot can name them. */
  private eventGfns: number[] = [];
  private readonly controlGfns: number[];

  /** @param ctx - the domain as the ABI sees it */
  constructor(private readonly ctx: AbiHypervisorContext) {
    this.controlPages = new Array<Uint32Array | undefined>(ctx.nrVcpus).fill(undefined);
    this.controlBase = new Uint32Array(ctx.nrVcpus);
    this.tails = new Uint32Array(ctx.nrVcpus * FifoLayout.MAX_QUEUES);
    this.controlGfns = new Array<number>(ctx.nrVcpus).fill(-1);
  }

  /**
   * Snapshot hook: the event array's and control blocks' guest frames and the queue tails
   * (the words themselves are guest memory, which the domain saves).
   */
  getState(): JsonValue {
    return {
      eventGfns: [...this.eventGfns],
      controlGfns: [...this.controlGfns],
      controlBase: writeArray(this.controlBase),
      tails: writeArray(this.tails),
    };
  }

  /** Restores {@link FifoHypervisorSide.getState}, mapping the pages again from guest memory. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    const mem = this.ctx.memory;
    const gfn = (v: JsonValue | undefined, path: string, none: boolean): number => {
      const g = readInt(v, path, none ? -1 : 0);
      if (g >= 0 && !mem.has(g)) throw new SnapshotError(path, `guest frame ${g} is outside the domain's memory`);
      return g;
    };
    const events = readArray(o.eventGfns, 'eventGfns').map((g, i) => gfn(g, snapshotPath('eventGfns', i), false));
    if (events.length > FifoLayout.MAX_EVENT_ARRAY_PAGES) throw new SnapshotError('eventGfns', `expected at most ${FifoLayout.MAX_EVENT_ARRAY_PAGES} pages`);
    const controls = readArray(o.controlGfns, 'controlGfns', this.ctx.nrVcpus).map((g, i) => gfn(g, snapshotPath('controlGfns', i), true));
    readArrayInto(o.controlBase, 'controlBase', this.controlBase);
    readArrayInto(o.tails, 'tails', this.tails);
    this.eventGfns = events;
    this.eventPages = events.map((g) => mem.page(g)!);
    this.nrEventWords = events.length * FifoLayout.EVENT_WORDS_PER_PAGE;
    controls.forEach((g, v) => {
      this.controlGfns[v] = g;
      this.controlPages[v] = g >= 0 ? mem.page(g) : undefined;
    });
  }

  /** Number of pages in the event array. */
  get eventArrayPages(): number {
    return this.eventPages.length;
  }

  /** Whether `vcpu` has registered a control block. */
  hasControlBlock(vcpu: number): boolean {
    return this.controlPages[vcpu] !== undefined;
  }

  /**
   * The tail port of `vcpu`'s queue at `priority` (0 = empty as far as the hypervisor knows).
   * For dumps and tests.
   */
  queueTail(vcpu: number, priority: number): number {
    return this.tails[vcpu * FifoLayout.MAX_QUEUES + priority]!;
  }

  /**
   * `vcpu`'s control block as the guest page holds it: the READY bits and the 16 HEAD ports
   * (`undefined` before `init_control`). For dumps and the explorer; the operations read the
   * page directly.
   */
  controlBlock(vcpu: number): { ready: number; heads: number[] } | undefined {
    const page = this.controlPages[vcpu];
    if (page === undefined) return undefined;
    const base = this.controlBase[vcpu]!;
    const heads: number[] = [];
    for (let q = 0; q < FifoLayout.MAX_QUEUES; q++) heads.push(page[base + FifoLayout.CB_HEAD + q]!);
    return { ready: page[base + FifoLayout.CB_READY]!, heads };
  }

  /**
   * The event word of `port`, or `undefined` when the event array does not cover it yet.
   * For dumps and tests; the operations read the page directly.
   */
  eventWord(port: number): number | undefined {
    if (port >= this.nrEventWords) return undefined;
    return this.eventPages[port >>> FifoLayout.PAGE_SHIFT]![port & FifoLayout.WORD_INDEX_MASK];
  }

  /**
   * Registers `vcpu`'s control block (EVTCHNOP_init_control once the domain is on FIFO).
   * @returns 17 (the link bits), or `-ENOENT` no such vCPU, `-EINVAL` bad offset, a block
   *   already registered for the vCPU, or a gfn with no page
   */
  initControl(controlGfn: number, offset: number, vcpu: number): number {
    const rc = checkInitControlArgs(this.ctx.nrVcpus, offset, vcpu);
    if (rc < 0) return rc;
    const mapped = this.mapControlBlock(controlGfn, offset, vcpu);
    return mapped < 0 ? mapped : FifoLayout.LINK_BITS;
  }

  /**
   * Maps `vcpu`'s control block without the argument checks (the caller did them).
   * The page's contents are left alone: the guest zeroes it before registering.
   * @returns 0, or `-EINVAL` when the vCPU already has a block or the gfn has no page
   */
  mapControlBlock(controlGfn: number, offset: number, vcpu: number): number {
    if (this.controlPages[vcpu] !== undefined) return -Errno.EINVAL;
    const page = this.ctx.memory.page(controlGfn);
    if (page === undefined) return -Errno.EINVAL;
    this.controlPages[vcpu] = page;
    this.controlGfns[vcpu] = controlGfn;
    this.controlBase[vcpu] = offset >>> 2;
    return 0;
  }

  /**
   * Carries the previous ABI's pending events over at the switch to FIFO: every valid port
   * from 1 up (stopping at the first invalid one) that the previous ABI reads pending gets its
   * sticky `pendingFlag`, so the first `expand_array` covering it raises it; every valid port
   * gets the default priority.
   * @param prev - the ABI the domain was using before the switch
   */
  carryOver(prev: AbiHypervisorOps): void {
    const ch = this.ctx.channels;
    for (let port = 1; port < prev.maxPorts; port++) {
      if (!ch.isValid(port)) break;
      if (prev.isPending(port)) ch.pendingFlag[port] = 1;
      ch.priority[port] = FifoLayout.PRIORITY_DEFAULT;
    }
  }

  /**
   * EVTCHNOP_expand_array: appends the page at `arrayGfn` to the event array (its contents
   * untouched; the guest masks every word first), then raises each newly covered valid port
   * whose sticky pending flag is set, bound or not.
   * @returns 0, `-ENOSPC` with 128 pages already, `-EINVAL` for a gfn with no page
   */
  expandArray(arrayGfn: number): number {
    const slot = this.eventPages.length;
    if (slot >= FifoLayout.MAX_EVENT_ARRAY_PAGES) return -Errno.ENOSPC;
    const page = this.ctx.memory.page(arrayGfn);
    if (page === undefined) return -Errno.EINVAL;
    this.eventPages.push(page);
    this.eventGfns.push(arrayGfn);
    const first = this.nrEventWords;
    this.nrEventWords += FifoLayout.EVENT_WORDS_PER_PAGE;
    const ch = this.ctx.channels;
    for (let port = first; port < this.nrEventWords; port++) {
      if (!ch.isValid(port)) break;
      if (ch.pendingFlag[port] !== 0) this.setPending(ch.notifyVcpu[port]!, port);
    }
    return 0;
  }

  /** A new binding starts at the default priority. Warns when the port is still queued. */
  init(port: number): void {
    this.ctx.channels.priority[port] = FifoLayout.PRIORITY_DEFAULT;
    const word = this.eventWord(port);
    if (word !== undefined && (word & FifoLayout.LINKED) !== 0) {
      // The first event may now be delivered on the wrong vCPU or at the old priority.
      this.ctx.warn(`domain ${this.ctx.domid}, port ${port} already on a queue`);
    }
  }

  /**
   * Sets `port` pending and, when it is unmasked and not queued yet, links it on `vcpu`'s
   * queue for the port's priority. Notifies `vcpu` only when that queue goes from empty to
   * non-empty (its `ready` bit was clear).
   */
  setPending(vcpu: number, port: number): void {
    if (port >= this.nrEventWords) {
      // No event word yet: remember it for the expand_array that covers the port.
      this.ctx.channels.pendingFlag[port] = 1;
      return;
    }
    const cbPage = this.controlPages[vcpu];
    if (cbPage === undefined) {
      // Checked before PENDING is set, as Xen does: the event is dropped, not left pending.
      this.dropNoControlBlock(vcpu);
      return;
    }
    const page = this.eventPages[port >>> FifoLayout.PAGE_SHIFT]!;
    const i = port & FifoLayout.WORD_INDEX_MASK;
    const word = page[i]! | FifoLayout.PENDING;
    page[i] = word;
    if ((word & (FifoLayout.MASKED | FifoLayout.LINKED)) !== 0) return;
    this.link(vcpu, port, cbPage, page, i, word);
  }

  /**
   * Links the pending, unmasked `port` (word `word` at `page[i]`) on `vcpu`'s queue for its
   * priority, and notifies `vcpu` when that queue goes from empty to non-empty.
   */
  private link(vcpu: number, port: number, cbPage: Uint32Array, page: Uint32Array, i: number, word: number): void {
    page[i] = word | FifoLayout.LINKED;

    const ch = this.ctx.channels;
    const prio = ch.priority[port]!;
    const q = vcpu * FifoLayout.MAX_QUEUES + prio;
    const oldQ = ch.lastVcpu[port]! * FifoLayout.MAX_QUEUES + ch.lastPriority[port]!;
    // The port was the tail of the queue it was last on; that queue is empty now, and a
    // stale tail there would splice a later event of that queue onto this one's new queue.
    if (this.tails[oldQ] === port) this.tails[oldQ] = 0;
    if (oldQ !== q) {
      ch.lastVcpu[port] = vcpu;
      ch.lastPriority[port] = prio;
    }

    const tail = this.tails[q]! | 0;
    this.tails[q] = port;
    if (tail !== 0 && this.linkAfter(tail, port)) return;

    const base = this.controlBase[vcpu]!;
    cbPage[base + FifoLayout.CB_HEAD + prio] = port;
    const ready = cbPage[base + FifoLayout.CB_READY]!;
    const bit = 1 << prio;
    if ((ready & bit) !== 0) return;
    cbPage[base + FifoLayout.CB_READY] = ready | bit;
    this.ctx.markEventsPending(vcpu);
  }

  /** The guest cannot have unmasked anything on a vCPU it has not set up: the event is dropped. */
  private dropNoControlBlock(vcpu: number): void {
    this.ctx.counters.droppedNoControlBlock++;
    this.ctx.warn(`d${this.ctx.domid}v${vcpu} has no FIFO event channel control block`);
  }

  /**
   * Writes `port` into the LINK field of `tail`'s word if that word is still LINKED (the guest
   * has not consumed it), clearing BUSY with the same write. Real Xen does this with a
   * compare-and-swap loop that raises BUSY while it races the guest; single-threaded, the
   * first attempt always wins.
   * @returns whether the event was appended after `tail`
   */
  private linkAfter(tail: number, port: number): boolean {
    if (tail >= this.nrEventWords) return false;
    const page = this.eventPages[tail >>> FifoLayout.PAGE_SHIFT]!;
    const i = tail & FifoLayout.WORD_INDEX_MASK;
    const word = page[i]!;
    if ((word & FifoLayout.LINKED) === 0) return false;
    page[i] = (word & ~(FifoLayout.BUSY | FifoLayout.LINK_MASK)) | port;
    return true;
  }

  /** Clears PENDING (the guest skips a consumed event that is not pending). */
  clearPending(port: number): void {
    if (port >= this.nrEventWords) return;
    const page = this.eventPages[port >>> FifoLayout.PAGE_SHIFT]!;
    const i = port & FifoLayout.WORD_INDEX_MASK;
    page[i] = page[i]! & ~FifoLayout.PENDING;
  }

  /** EVTCHNOP_unmask: clears MASKED and, if the event is pending, links it on the notify vCPU. */
  unmask(port: number): void {
    if (port >= this.nrEventWords) return;
    const page = this.eventPages[port >>> FifoLayout.PAGE_SHIFT]!;
    const i = port & FifoLayout.WORD_INDEX_MASK;
    const word = page[i]! & ~FifoLayout.MASKED;
    page[i] = word;
    if ((word & FifoLayout.PENDING) !== 0) this.setPending(this.ctx.channels.notifyVcpu[port]!, port);
  }

  /** Whether the port has an event word with PENDING set. */
  isPending(port: number): boolean {
    const word = this.eventWord(port);
    return word !== undefined && (word & FifoLayout.PENDING) !== 0;
  }

  /** Whether the port reads masked (a port without an event word cannot be delivered: masked). */
  isMasked(port: number): boolean {
    const word = this.eventWord(port);
    return word === undefined || (word & FifoLayout.MASKED) !== 0;
  }

  /** Whether the port is still LINKED on a queue (allocation skips it until the guest consumes it). */
  isBusy(port: number): boolean {
    const word = this.eventWord(port);
    return word !== undefined && (word & FifoLayout.LINKED) !== 0;
  }

  /**
   * EVTCHNOP_set_priority's ABI part. Only later linking uses the new priority; an event
   * already queued stays where it is.
   * @returns 0 or `-EINVAL` for a priority above 15
   */
  setPriority(port: number, priority: number): number {
    if (!Number.isInteger(priority) || priority < 0 || priority > FifoLayout.PRIORITY_MIN) return -Errno.EINVAL;
    this.ctx.channels.priority[port] = priority;
    return 0;
  }

  /**
   * The FIFO column of Xen's 'e' debug-key dump: `?     ` without an event word, else the
   * BUSY flag (`B` or space) and the LINK field when LINKED (`-` otherwise), 6 characters.
   */
  printState(port: number): string {
    const word = this.eventWord(port);
    if (word === undefined) return '?     ';
    const busy = (word & FifoLayout.BUSY) !== 0 ? 'B' : ' ';
    if ((word & FifoLayout.LINKED) !== 0) return `${busy} ${String(word & FifoLayout.LINK_MASK).padEnd(4)}`;
    return `${busy} -   `;
  }

  /**
   * Forgets the event array and the control blocks (EVTCHNOP_reset back to 2-level). The pages
   * themselves stay in guest memory with their contents; the channel fields stay in the table.
   */
  destroy(): void {
    this.eventPages = [];
    this.eventGfns = [];
    this.nrEventWords = 0;
    this.controlPages.fill(undefined);
    this.controlGfns.fill(-1);
    this.controlBase.fill(0);
    this.tails.fill(0);
  }
}
