/*
 * Per-IRQ event-channel state (`struct irq_info` of Linux's drivers/xen/events): what the
 * IRQ is bound to, the port, the CPU it is bound to, its reference count, why its port is
 * masked, whether an event is being handled, and the late-EOI bookkeeping.
 */
import { IrqType, type IrqTypeValue } from './constants.js';
import { IrqTable } from './irq-table.js';

/**
 * Event-channel state of one guest IRQ. Its active flag, which every event reads and writes,
 * lives in the guest's {@link IrqTable} (row `irq`), beside the descriptor's status.
 */
export class IrqInfo {
  /** The IRQ number. */
  readonly irq: number = 0;
  /** The table holding this IRQ's active flag. */
  readonly table: IrqTable;
  /** Bound port, 0 when none (port 0 is never a usable channel). */
  port = 0;
  /** Binding type ({@link IrqType}). */
  type: IrqTypeValue = IrqType.UNBOUND;
  /** CPU the port is bound to. */
  cpu = 0;
  /** -1: single owner, torn down at unbind; ≥ 1: refcounted (`evtchn_get/put`). */
  refcount = -1;
  /** Port is left open at unbind (bound by user space, `is_static`). */
  isStatic = false;
  /** Mask reasons (`MASK_REASON_*`); the port is masked while any is set. */
  maskReason = 0;
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

  /**
   * Takes row `irq` of `table` and clears its active flag.
   * @param irq - the IRQ number
   * @param table - the guest's table (a table of its own when left out)
   */
  constructor(irq: number, table?: IrqTable) {
    this.irq = irq;
    this.table = table ?? ownTable(irq);
    this.table.ensure(irq);
    this.table.active[irq] = 0;
  }

  /** 1 while an event of this IRQ is being handled (a second one is dropped). */
  get isActive(): number {
    return this.table.active[this.irq]!;
  }
  set isActive(active: number) {
    this.table.active[this.irq] = active;
  }
}

/** A one-IRQ table for an info made without its guest's (kept out of the constructor, which the bind path inlines). */
function ownTable(irq: number): IrqTable {
  return new IrqTable(1, irq + 1);
}
