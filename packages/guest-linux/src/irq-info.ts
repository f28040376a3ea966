/*
 * Per-IRQ event-channel state (`struct irq_info` of Linux's drivers/xen/events): what the
 * IRQ is bound to, the port, the CPU it is bound to, its reference count, why its port is
 * masked, whether an event is being handled, and the late-EOI bookkeeping.
 */
import { IrqType, type IrqTypeValue } from './constants.js';
import { IRQ_ROW, IrqTable, ROW_IRQ, ROW_IS_ACTIVE, ROW_MASK_REASON, ROW_PORT } from './irq-table.js';

/**
 * Event-channel state of one guest IRQ. The fields the event path touches (`port`,
 * `maskReason`, `isActive`) live in a row of an {@link IrqTable}; the properties read and
 * write that row.
 */
export class IrqInfo {
  /** Binding type ({@link IrqType}). */
  type: IrqTypeValue = IrqType.UNBOUND;
  /** CPU the port is bound to. */
  cpu = 0;
  /** -1: single owner, torn down at unbind; ≥ 1: refcounted (`evtchn_get/put`). */
  refcount = -1;
  /** Port is left open at unbind (bound by user space, `is_static`). */
  isStatic = false;
  /** Counted in the per-CPU channel count used for affinity (`is_accounted`). */
  isAccounted = false;
  /** Consecutive spurious late EOIs (storm back-off). */
  spuriousCnt = 0;
  /** Jiffy at which a deferred EOI is due, 0 when none. */
  eoiTime = 0;
  /** CPU whose deferred-EOI list holds (or would hold) this IRQ. */
  eoiCpu = 0;
  /** The per-CPU IRQ epoch when the last event was handled with deferred EOI. */
  irqEpoch = 0;
  /** Whether the IRQ sits on a CPU's deferred-EOI list. */
  onEoiList = false;
  /** Uses the late-EOI chip (the driver calls `lateEoi` when done). */
  lateEoi = false;
  /** Spurious-event threshold before late EOIs are delayed. */
  spuriousThreshold = 1;
  /** VIRQ number (type VIRQ). */
  virq = -1;
  /** IPI number (type IPI). */
  ipi = -1;
  /** pirq number (type PIRQ). */
  pirq = -1;
  /** GSI (type PIRQ from a GSI), -1 for MSI. */
  gsi = -1;
  /** Vector (x86, type PIRQ), 0 when unknown. */
  vector = 0;
  /** pirq flags (`PIRQ_NEEDS_EOI`, `PIRQ_SHAREABLE`, `PIRQ_MSI_GROUP`). */
  pirqFlags = 0;
  /** Domain owning the pirq (DOMID_SELF for the guest's own). */
  pirqDomid = 0;

  /** Table holding the event-path fields (changes when the IRQ leaves a guest's table). */
  table: IrqTable;
  /** Row of {@link IrqInfo.table} holding them. */
  row: number;

  /**
   * @param irq - the IRQ number
   * @param table - the guest's field table (row = `irq`); omitted: a table of the info's own
   */
  constructor(
    readonly irq: number,
    table?: IrqTable,
  ) {
    this.table = table ?? new IrqTable(1);
    this.row = table ? irq : 0;
    const t = this.table;
    t.attachInfo(this.row, this);
    const b = this.row * IRQ_ROW;
    t.hot[b + ROW_PORT] = 0;
    t.hot[b + ROW_MASK_REASON] = 0;
    t.hot[b + ROW_IS_ACTIVE] = 0;
    t.hot[b + ROW_IRQ] = irq;
  }

  /** Bound port, 0 when none (port 0 is never a usable channel). */
  get port(): number {
    return this.table.hot[this.row * IRQ_ROW + ROW_PORT]!;
  }

  set port(port: number) {
    this.table.hot[this.row * IRQ_ROW + ROW_PORT] = port;
  }

  /** Mask reasons (`MASK_REASON_*`); the port is masked while any is set. */
  get maskReason(): number {
    return this.table.hot[this.row * IRQ_ROW + ROW_MASK_REASON]!;
  }

  set maskReason(reason: number) {
    this.table.hot[this.row * IRQ_ROW + ROW_MASK_REASON] = reason;
  }

  /** 1 while an event of this IRQ is being handled (a second one is dropped). */
  get isActive(): number {
    return this.table.hot[this.row * IRQ_ROW + ROW_IS_ACTIVE]!;
  }

  set isActive(active: number) {
    this.table.hot[this.row * IRQ_ROW + ROW_IS_ACTIVE] = active;
  }
}
