/*
 * The per-IRQ state that every event reads, for all of a guest's IRQs, in typed arrays indexed
 * by IRQ number. Linux keeps this state in `struct irq_desc`, `struct irq_info` and the
 * `irqaction`, one allocation each; here the objects stay (`IrqDesc`, `IrqInfo`, `IrqAction`
 * are the API and hold everything else), but their hot fields live in this table and the
 * objects read and write them through accessors. An event of an ordinary event-channel IRQ
 * then touches a few dense arrays instead of three objects scattered over the heap: at 131072
 * ports those objects are ~50 MB, and a vCPU's upcall visits them in a stride that defeats the
 * caches and the TLB (bench/README.md, optimisation 13).
 *
 * There is no facade to attach or detach: a row belongs to whichever descriptor holds that IRQ
 * number now. A descriptor freed and still referenced reads the row of the next one allocated
 * under its number, as a freed `irq_desc` would be reused memory in the kernel.
 */
import type { IrqAction, IrqChip, IrqDesc, IrqHandler } from './irq-desc.js';

/** The marks of {@link IrqTable.fast}: how an IRQ's next event is handled. @internal */
export const enum IrqFastMark {
  /** Not known: the flow, chip, actions or info changed since the IRQ was last looked at. */
  UNKNOWN = 0,
  /**
   * The IRQ takes the event path's short form: edge flow, the guest's plain dynamic event
   * chip (`xen-dyn-event`), exactly one action, and Xen event-channel state.
   */
  EDGE_DYN = 1,
  /** Looked at: the IRQ goes the general way. */
  GENERAL = 2,
}

/** Per-IRQ hot state of one guest (or of one stand-alone descriptor), grown on demand. */
export class IrqTable {
  /** Per-CPU interrupt counts (`kstat_irqs`), `irq * nrCpus + cpu`. */
  counts: Uint32Array;
  /** The descriptor's `IRQD_*`/`IRQS_*`/`IRQ_*` bits (`IrqDesc.status`). */
  status: Int32Array;
  /** `IrqInfo.isActive`: 1 while an event of the IRQ is being handled. */
  active: Uint8Array;
  /**
   * {@link IrqFastMark} marks: cleared whenever the descriptor's flow, chip, actions or info
   * change; the general path looks at the IRQ again before its next event. @internal
   */
  fast: Uint8Array;
  /** Handler of the IRQ's only action, read only while the IRQ is {@link IrqFastMark.EDGE_DYN}. @internal */
  handler: (IrqHandler | null)[];
  /** `devId` of that action. @internal */
  devId: unknown[];
  /**
   * The chip whose `ack` the event path's short form performs itself (`ack_dynirq`): the
   * guest's dynamic event chip. `null` for a table of stand-alone descriptors (no short form).
   */
  fastChip: IrqChip | null = null;

  /**
   * @param nrCpus - CPUs per row of {@link counts}
   * @param capacity - IRQ rows to start with
   */
  constructor(
    readonly nrCpus: number,
    capacity = 256,
  ) {
    const c = Math.max(1, capacity);
    this.counts = new Uint32Array(c * nrCpus);
    this.status = new Int32Array(c);
    this.active = new Uint8Array(c);
    this.fast = new Uint8Array(c);
    this.handler = new Array<IrqHandler | null>(c).fill(null);
    this.devId = new Array<unknown>(c).fill(undefined);
  }

  /** IRQ rows the table holds now. */
  get rows(): number {
    return this.status.length;
  }

  /** Makes room for `irq`'s row (doubling, so that growing to n rows costs O(n)). */
  ensure(irq: number): void {
    const rows = this.status.length;
    if (irq < rows) return;
    let c = rows;
    while (c <= irq) c *= 2;
    this.counts = grown(this.counts, new Uint32Array(c * this.nrCpus));
    this.status = grown(this.status, new Int32Array(c));
    this.active = grown(this.active, new Uint8Array(c));
    this.fast = grown(this.fast, new Uint8Array(c));
    for (let i = rows; i < c; i++) {
      this.handler.push(null);
      this.devId.push(undefined);
    }
  }

  /**
   * Marks `irq` for the event path's short form, with its one action's handler and `devId`.
   * Called by the descriptor ({@link IrqDesc.qualifyFast}), which checks the conditions.
   * @internal
   */
  qualify(irq: number, action: IrqAction): void {
    this.fast[irq] = IrqFastMark.EDGE_DYN;
    this.handler[irq] = action.handler;
    this.devId[irq] = action.devId;
  }

  /**
   * Records that `irq` goes the general way until a change to its descriptor, and lets go of
   * any handler and `devId` kept for it. Called by {@link IrqDesc.qualifyFast}.
   * @internal
   */
  disqualify(irq: number): void {
    this.fast[irq] = IrqFastMark.GENERAL;
    this.handler[irq] = null;
    this.devId[irq] = undefined;
  }

  /**
   * Takes `irq` off the short form until its descriptor is looked at again; with `release`,
   * also drops the table's references to the old action's handler and `devId`.
   */
  unqualify(irq: number, release: boolean): void {
    this.fast[irq] = IrqFastMark.UNKNOWN;
    if (release) {
      this.handler[irq] = null;
      this.devId[irq] = undefined;
    }
  }
}

function grown<T extends Uint32Array | Int32Array | Uint8Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}
