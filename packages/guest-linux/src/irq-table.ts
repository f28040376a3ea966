/*
 * Storage of the per-IRQ state the event path reads and writes (parts of Linux's
 * `struct irq_desc` and drivers/xen/events' `struct irq_info`), struct-of-arrays: one
 * 32-byte row of an Int32Array per IRQ holds the status word, flow, port, mask reasons,
 * active flag and the IRQ number, beside an array of action-chain heads. An upcall that
 * walks thousands of IRQs then streams through a few dense arrays instead of chasing three
 * objects per event. `IrqDesc` and `IrqInfo` stay the API: their properties for these
 * fields read and write the row.
 */
import type { IrqAction, IrqChip, IrqDesc, IrqStats } from './irq-desc.js';
import type { IrqInfo } from './irq-info.js';
import type { XenChipHost } from './chips.js';

/** Int32 slots per row of {@link IrqTable.hot}. */
export const IRQ_ROW = 8;
/** Row slot: the descriptor's status word (`IrqDesc.status`). */
export const ROW_STATUS = 0;
/** Row slot: the descriptor's flow (`IrqDesc.flow`). */
export const ROW_FLOW = 1;
/** Row slot: `ROW_INFO_HERE` / `ROW_FAST_ACK` bits. */
export const ROW_FLAGS = 2;
/** Row slot: the bound port (`IrqInfo.port`). */
export const ROW_PORT = 3;
/** Row slot: mask reasons (`IrqInfo.maskReason`). */
export const ROW_MASK_REASON = 4;
/** Row slot: the active flag (`IrqInfo.isActive`). */
export const ROW_IS_ACTIVE = 5;
/** Row slot: the IRQ number of the row's descriptor or info. */
export const ROW_IRQ = 6;

/** Flag: the descriptor's `info` keeps its event-path fields in the same row. */
export const ROW_INFO_HERE = 1 << 0;
/**
 * Flag: the descriptor's chip is one of the table's fast-ack chips (a Xen event-channel
 * chip whose ack only ends the event: not active, pending cleared by the table's host).
 */
export const ROW_FAST_ACK = 1 << 1;

/**
 * Struct-of-arrays storage for the event-path fields of IRQ descriptors and their Xen
 * state, one row per IRQ (a guest's table: row = IRQ number). Grows by doubling. A
 * descriptor or info that leaves the table (its IRQ is freed, or another object takes its
 * row) moves to a one-row table of its own with its values, so references kept to it
 * behave as plain objects would.
 */
export class IrqTable {
  /** Rows of {@link IRQ_ROW} Int32 slots (`ROW_*`). Replaced when the table grows. */
  hot: Int32Array;
  /** Events whose handlers all returned `IRQ_NONE` (`IrqDesc.unhandled`), per row. Replaced when the table grows. */
  unhandled: Float64Array;
  /** Head of each row's action chain (`IrqDesc.action`). */
  readonly actions: (IrqAction | null)[] = [];
  /** The descriptor whose fields live in each row. */
  readonly descs: (IrqDesc | undefined)[] = [];
  /** The info whose fields live in each row. */
  readonly infos: (IrqInfo | undefined)[] = [];
  /** Bumped whenever an object leaves a row (flows holding a row re-resolve it). */
  epoch = 0;
  /** The event layer the fast-ack chips belong to, or `null`. */
  fastAckHost: XenChipHost | null = null;
  private fastAckChips: readonly IrqChip[] = [];

  /**
   * @param capacity - rows to start with
   * @param stats - the per-CPU count table of the descriptors in this table
   */
  constructor(
    capacity = 256,
    readonly stats: IrqStats | null = null,
  ) {
    const cap = Math.max(1, capacity);
    this.hot = new Int32Array(cap * IRQ_ROW);
    this.unhandled = new Float64Array(cap);
    this.fill(cap);
  }

  /** Rows the arrays hold now. */
  get capacity(): number {
    return this.unhandled.length;
  }

  /**
   * Declares chips whose `ack` only ends the event (`info.isActive = 0`, then
   * `host.clearEvtchn(port)` when the port is not 0) and that have no `eoi`: the event path
   * then acks descriptors with these chips from the row alone.
   * @param host - the event layer the chips call
   * @param chips - the chips
   */
  setFastAckChips(host: XenChipHost, chips: readonly IrqChip[]): void {
    this.fastAckHost = host;
    this.fastAckChips = chips;
    for (let row = 0; row < this.descs.length; row++) this.refreshFlags(row);
  }

  /** Makes room for `row`. */
  ensure(row: number): void {
    if (row < this.unhandled.length) return;
    let cap = this.unhandled.length;
    while (cap <= row) cap *= 2;
    const hot = new Int32Array(cap * IRQ_ROW);
    hot.set(this.hot);
    this.hot = hot;
    const unhandled = new Float64Array(cap);
    unhandled.set(this.unhandled);
    this.unhandled = unhandled;
    this.fill(cap);
  }

  private fill(cap: number): void {
    while (this.actions.length < cap) this.actions.push(null);
    while (this.descs.length < cap) this.descs.push(undefined);
    while (this.infos.length < cap) this.infos.push(undefined);
  }

  /**
   * Gives `row` to `desc` (its constructor calls this); a descriptor already there moves to
   * a table of its own first.
   */
  attachDesc(row: number, desc: IrqDesc): void {
    this.ensure(row);
    const old = this.descs[row];
    if (old !== undefined && old !== desc) this.moveDesc(old);
    this.descs[row] = desc;
  }

  /** Gives `row` to `info` (its constructor calls this); an info already there moves out first. */
  attachInfo(row: number, info: IrqInfo): void {
    this.ensure(row);
    const old = this.infos[row];
    if (old !== undefined && old !== info) this.moveInfo(old);
    this.infos[row] = info;
    this.refreshFlags(row);
  }

  /** Moves whatever lives in `row` out to tables of its own and clears the row. */
  release(row: number): void {
    const desc = this.descs[row];
    if (desc !== undefined) this.moveDesc(desc);
    const info = this.infos[row];
    if (info !== undefined) this.moveInfo(info);
  }

  /** Recomputes `row`'s `ROW_INFO_HERE` and `ROW_FAST_ACK` bits from its descriptor. */
  refreshFlags(row: number): void {
    const desc = this.descs[row];
    let flags = 0;
    if (desc !== undefined) {
      const info = desc.info;
      if (info !== null && info.table === this && info.row === row && this.infos[row] === info) flags |= ROW_INFO_HERE;
      if (desc.chip !== null && this.fastAckChips.includes(desc.chip)) flags |= ROW_FAST_ACK;
    }
    this.hot[row * IRQ_ROW + ROW_FLAGS] = flags;
  }

  private moveDesc(desc: IrqDesc): void {
    const row = desc.row;
    const info = desc.info;
    const solo = new IrqTable(1, desc.stats);
    solo.fastAckHost = this.fastAckHost;
    solo.fastAckChips = this.fastAckChips;
    const from = row * IRQ_ROW;
    solo.hot[ROW_STATUS] = this.hot[from + ROW_STATUS]!;
    solo.hot[ROW_FLOW] = this.hot[from + ROW_FLOW]!;
    solo.hot[ROW_IRQ] = this.hot[from + ROW_IRQ]!;
    solo.actions[0] = this.actions[row]!;
    solo.unhandled[0] = this.unhandled[row]!;
    this.descs[row] = undefined;
    this.actions[row] = null;
    this.unhandled[row] = 0;
    this.hot[from + ROW_STATUS] = 0;
    this.hot[from + ROW_FLOW] = 0;
    desc.table = solo;
    desc.row = 0;
    solo.descs[0] = desc;
    if (info !== null && info.table === this && info.row === row) this.moveInfoTo(info, solo);
    solo.refreshFlags(0);
    this.refreshFlags(row);
    this.epoch++;
  }

  private moveInfo(info: IrqInfo): void {
    const solo = new IrqTable(1, this.stats);
    solo.fastAckHost = this.fastAckHost;
    solo.fastAckChips = this.fastAckChips;
    solo.hot[ROW_IRQ] = this.hot[info.row * IRQ_ROW + ROW_IRQ]!;
    this.moveInfoTo(info, solo);
    this.epoch++;
  }

  private moveInfoTo(info: IrqInfo, solo: IrqTable): void {
    const row = info.row;
    const from = row * IRQ_ROW;
    solo.hot[ROW_PORT] = this.hot[from + ROW_PORT]!;
    solo.hot[ROW_MASK_REASON] = this.hot[from + ROW_MASK_REASON]!;
    solo.hot[ROW_IS_ACTIVE] = this.hot[from + ROW_IS_ACTIVE]!;
    this.hot[from + ROW_PORT] = 0;
    this.hot[from + ROW_MASK_REASON] = 0;
    this.hot[from + ROW_IS_ACTIVE] = 0;
    if (this.infos[row] === info) this.infos[row] = undefined;
    info.table = solo;
    info.row = 0;
    solo.infos[0] = info;
    this.refreshFlags(row);
    solo.refreshFlags(0);
  }
}
