/*
 * IRQ descriptors, actions and chips: the parts of Linux's generic IRQ core
 * (include/linux/irqdesc.h, include/linux/irq.h, kernel/irq/chip.c) that the Xen event
 * layer plugs into. A descriptor has a chip (the hardware's mask/ack/eoi operations), a
 * flow handler (edge, fasteoi, percpu), a chain of actions (`request_irq` handlers), a
 * status word and per-CPU interrupt counts.
 */
import type { IrqInfo } from './irq-info.js';
import { IrqTable } from './irq-table.js';
import { Errno } from '@evtchn/core';
import {
  IRQD_DISABLED,
  IRQD_MASKED,
  IRQD_STARTED,
  IRQF_PERCPU,
  IRQF_SHARED,
  IRQ_PER_CPU,
  IRQS_PENDING,
  IRQS_REPLAY,
  type IrqReturn,
} from './constants.js';

/** A driver's interrupt handler (`irq_handler_t`). */
export type IrqHandler = (irq: number, devId: unknown) => IrqReturn;

/**
 * The flow codes as a const enum, for the event path's flow dispatch (see `IrqStatusBit` in
 * constants.ts for why); {@link IrqFlow} is their public form.
 * @internal
 */
export const enum IrqFlowCode {
  EDGE = 0,
  FASTEOI = 1,
  PERCPU = 2,
  LEVEL = 3,
}

/** Flow handler of a descriptor: how the chip is driven around the actions. */
export const IrqFlow = {
  /** `handle_edge_irq`: ack first, replay events that arrive while in progress. */
  EDGE: IrqFlowCode.EDGE as 0,
  /** `handle_fasteoi_irq`: handlers, then one EOI. */
  FASTEOI: IrqFlowCode.FASTEOI as 1,
  /** `handle_percpu_irq`: ack, handlers, eoi; no in-progress or mask games. */
  PERCPU: IrqFlowCode.PERCPU as 2,
  /** `handle_level_irq` (the 2007 event IRQs): mask and ack, handlers, unmask unless disabled. */
  LEVEL: IrqFlowCode.LEVEL as 3,
} as const;

/** Value of {@link IrqFlow}. */
export type IrqFlowKind = (typeof IrqFlow)[keyof typeof IrqFlow];

/** One `request_irq` registration (`struct irqaction`), chained per descriptor. */
export class IrqAction {
  /**
   * Next action of a shared IRQ. Chains change through {@link setupIrqAction} and
   * {@link removeIrqAction} only: they keep the descriptor's event-path row in step.
   */
  next: IrqAction | null = null;

  /**
   * @param handler - the driver's handler
   * @param flags - `IRQF_*` flags
   * @param name - device name shown by `/proc/interrupts`
   * @param devId - cookie passed to the handler and used by `free_irq`
   */
  constructor(
    readonly handler: IrqHandler,
    readonly flags: number,
    readonly name: string,
    readonly devId: unknown,
  ) {}
}

/**
 * The operations of an interrupt controller (`struct irq_chip`). Every member is optional,
 * as in Linux; the IRQ core falls back as `kernel/irq/chip.c` does (startup → enable →
 * unmask, shutdown → disable → mask, maskAck → mask + ack).
 */
export interface IrqChip {
  /** Chip name shown by `/proc/interrupts`. */
  readonly name: string;
  /** Starts the IRQ (first `request_irq`). */
  startup?(desc: IrqDesc): void;
  /** Shuts the IRQ down (last `free_irq`). */
  shutdown?(desc: IrqDesc): void;
  /** Enables the IRQ (`enable_irq`, or startup without `startup`). */
  enable?(desc: IrqDesc): void;
  /** Disables the IRQ (`disable_irq`, or shutdown without `shutdown`). */
  disable?(desc: IrqDesc): void;
  /** Masks the interrupt source. */
  mask?(desc: IrqDesc): void;
  /** Unmasks the interrupt source. */
  unmask?(desc: IrqDesc): void;
  /** Acknowledges the interrupt (edge and percpu flows, before the handlers). */
  ack?(desc: IrqDesc): void;
  /** Masks and acknowledges in one step. */
  maskAck?(desc: IrqDesc): void;
  /** Ends the interrupt (fasteoi and percpu flows, after the handlers). */
  eoi?(desc: IrqDesc): void;
  /** Moves the IRQ to one of `cpus` (a CPU list). @returns 0 or -errno */
  setAffinity?(desc: IrqDesc, cpus: readonly number[]): number;
  /** Re-raises the interrupt in software. @returns 1 when it did */
  retrigger?(desc: IrqDesc): number;
}

/**
 * One IRQ number's descriptor (`struct irq_desc`). Its status word lives in the guest's
 * {@link IrqTable} (row `irq`), with its info's active flag, so that an event reads no per-IRQ
 * object; the accessors below make that invisible to everyone else.
 */
export class IrqDesc {
  // Initialised (then set by the constructor) so that V8 keeps the field a small integer: a
  // declared field starts out `undefined`, which would make every read of it a tagged load.
  /** The IRQ number. */
  readonly irq: number = 0;
  /** The guest's per-IRQ table holding this descriptor's hot state and counts. */
  readonly table: IrqTable;
  private actionHead: IrqAction | null = null;
  private infoRef: IrqInfo | null = null;
  private chipRef: IrqChip | null = null;
  private flowKind: IrqFlowKind = IrqFlow.EDGE;
  /** Flow name shown by `/proc/interrupts` after the chip (`desc->name`, e.g. `event`). */
  name = '';
  /** Disable depth: 0 when enabled. */
  depth = 1;
  /** Events whose handlers all returned `IRQ_NONE`. */
  unhandled = 0;

  /**
   * Takes row `irq` of `table` and resets it (status disabled and masked, no event path).
   * @param irq - the IRQ number
   * @param table - the guest's table, or a number of CPUs for a descriptor with a table of its own
   */
  constructor(irq: number, table: IrqTable | number) {
    this.irq = irq;
    this.table = typeof table === 'number' ? new IrqTable(table, irq + 1) : table;
    this.table.ensure(irq);
    this.table.status[irq] = IRQD_DISABLED | IRQD_MASKED;
    this.table.unqualify(irq, true);
  }

  /** `IRQD_*`, `IRQS_*` and `IRQ_*` bits. */
  get status(): number {
    return this.table.status[this.irq]!;
  }
  set status(bits: number) {
    this.table.status[this.irq] = bits;
  }

  /** Head of the action chain. */
  get action(): IrqAction | null {
    return this.actionHead;
  }
  set action(a: IrqAction | null) {
    this.actionHead = a;
    this.table.unqualify(this.irq, a === null);
  }

  /** The Xen event-channel state of the IRQ (`null` for IRQs of other layers). */
  get info(): IrqInfo | null {
    return this.infoRef;
  }
  set info(info: IrqInfo | null) {
    this.infoRef = info;
    this.table.unqualify(this.irq, false);
  }

  /** The chip, or `null` (Linux's `no_irq_chip`: `request_irq` fails with `-ENOSYS`). */
  get chip(): IrqChip | null {
    return this.chipRef;
  }
  set chip(chip: IrqChip | null) {
    this.chipRef = chip;
    this.table.unqualify(this.irq, false);
  }

  /** Flow handler. */
  get flow(): IrqFlowKind {
    return this.flowKind;
  }
  set flow(flow: IrqFlowKind) {
    this.flowKind = flow;
    this.table.unqualify(this.irq, false);
  }

  /**
   * Sets chip, flow handler and flow name at once (`irq_set_chip_and_handler_name`); the IRQ
   * leaves the short form until it is looked at again, as with the setters.
   */
  setChipAndHandler(chip: IrqChip | null, flow: IrqFlowKind, name: string): void {
    this.chipRef = chip;
    this.flowKind = flow;
    this.name = name;
    this.table.unqualify(this.irq, false);
  }

  /** @deprecated The table is {@link IrqDesc.table}; it still holds the per-CPU counts. */
  get stats(): IrqTable {
    return this.table;
  }

  /**
   * Decides whether events of this IRQ may take the event path's short form: edge flow, the
   * table's {@link IrqTable.fastChip}, exactly one action, and an info in the same table row.
   * Every change to the flow, chip, info or actions takes the IRQ off the short form (the
   * setters, {@link setupIrqAction} and {@link removeIrqAction} do it); the general path calls
   * this before it handles an event, so the next event is short again when it qualifies. Code
   * that edits `IrqAction.next` itself must call `table.unqualify(irq, false)`.
   * @returns whether it qualifies
   */
  qualifyFast(): boolean {
    const t = this.table;
    const info = this.infoRef;
    const chip = this.chipRef;
    const action = this.actionHead;
    const ok =
      this.flowKind === IrqFlow.EDGE &&
      chip !== null &&
      chip === t.fastChip &&
      info !== null &&
      info.table === t &&
      info.irq === this.irq &&
      action !== null &&
      action.next === null;
    if (ok) t.qualify(this.irq, action!);
    else t.disqualify(this.irq);
    return ok;
  }

  /** Interrupts counted per CPU (`kstat_irqs`), as a view into the guest's table. */
  get kstat(): Uint32Array {
    const n = this.table.nrCpus;
    return this.table.counts.subarray(this.irq * n, this.irq * n + n);
  }

  /** Whether the status word has every bit of `bits`. */
  has(bits: number): boolean {
    return (this.status & bits) === bits;
  }

  /** Total interrupts over all CPUs. */
  get count(): number {
    const k = this.kstat;
    let n = 0;
    for (let i = 0; i < k.length; i++) n += k[i]!;
    return n;
  }
}

/**
 * The per-IRQ table under its former name, when it held only the counts.
 * @deprecated Use {@link IrqTable}.
 */
export const IrqStats = IrqTable;
/** @deprecated Use {@link IrqTable}. */
export type IrqStats = IrqTable;

/** `kstat_incr_irqs_this_cpu`: counts one interrupt of `desc` on `cpu`. */
export function countIrq(desc: IrqDesc, cpu: number): void {
  const t = desc.table;
  t.counts[desc.irq * t.nrCpus + cpu]!++;
}

/** Masks the IRQ at the chip unless already masked (`mask_irq`). */
export function maskIrq(desc: IrqDesc): void {
  if (desc.status & IRQD_MASKED) return;
  if (desc.chip?.mask) {
    desc.chip.mask(desc);
    desc.status |= IRQD_MASKED;
  }
}

/** Unmasks the IRQ at the chip if masked (`unmask_irq`). */
export function unmaskIrq(desc: IrqDesc): void {
  if (!(desc.status & IRQD_MASKED)) return;
  if (desc.chip?.unmask) {
    desc.chip.unmask(desc);
    desc.status &= ~IRQD_MASKED;
  }
}

/** Masks and acknowledges (`mask_ack_irq`): the chip's `maskAck`, else mask then ack. */
export function maskAckIrq(desc: IrqDesc): void {
  const chip = desc.chip;
  if (!chip) return;
  if (chip.maskAck) {
    chip.maskAck(desc);
    desc.status |= IRQD_MASKED;
  } else {
    maskIrq(desc);
    chip.ack?.(desc);
  }
}

/** Enables the IRQ (`irq_enable`): the chip's `enable`, else unmask. */
export function irqEnable(desc: IrqDesc): void {
  desc.status &= ~IRQD_DISABLED;
  if (desc.chip?.enable) {
    desc.chip.enable(desc);
    desc.status &= ~IRQD_MASKED;
  } else {
    unmaskIrq(desc);
  }
}

/**
 * Disables the IRQ (`__irq_disable`): the chip's `disable` (which masks), else — lazily —
 * only the state, masking at the chip only when `mask` is set.
 */
export function irqDisable(desc: IrqDesc, mask: boolean): void {
  if (desc.status & IRQD_DISABLED) {
    if (mask) maskIrq(desc);
    return;
  }
  desc.status |= IRQD_DISABLED;
  if (desc.chip?.disable) {
    desc.chip.disable(desc);
    desc.status |= IRQD_MASKED;
  } else if (mask) {
    maskIrq(desc);
  }
}

/**
 * Replays an interrupt that arrived while the IRQ could not run (`check_irq_resend` for an
 * edge IRQ): clears `IRQS_PENDING` and asks the chip to retrigger.
 */
export function checkIrqResend(desc: IrqDesc): void {
  if (!(desc.status & IRQS_PENDING)) return;
  if (desc.status & IRQS_REPLAY) return;
  desc.status &= ~IRQS_PENDING;
  if (desc.chip?.retrigger && desc.chip.retrigger(desc)) desc.status |= IRQS_REPLAY;
}

/** Starts the IRQ (`irq_startup`): depth 0, the chip's `startup`, else enable; then resend. */
export function irqStartup(desc: IrqDesc): void {
  desc.depth = 0;
  if (desc.chip?.startup) {
    desc.chip.startup(desc);
    desc.status &= ~(IRQD_DISABLED | IRQD_MASKED);
  } else {
    irqEnable(desc);
  }
  desc.status |= IRQD_STARTED;
  checkIrqResend(desc);
}

/** Shuts the IRQ down (`irq_shutdown`): depth 1, the chip's `shutdown`, else disable. */
export function irqShutdown(desc: IrqDesc): void {
  if (desc.status & IRQD_STARTED) {
    desc.depth = 1;
    desc.status &= ~IRQD_STARTED;
    if (desc.chip?.shutdown) {
      desc.chip.shutdown(desc);
      desc.status |= IRQD_DISABLED | IRQD_MASKED;
    } else {
      irqDisable(desc, true);
    }
  }
}

/**
 * `__setup_irq`: adds an action to `desc`. A second action is accepted only when both are
 * `IRQF_SHARED` and agree on every flag of `mustMatch`; the first action starts the IRQ.
 * @returns 0 or `-EBUSY`
 */
export function setupIrqAction(desc: IrqDesc, action: IrqAction, mustMatch: number): number {
  const old = desc.action;
  if (old !== null) {
    if (!(old.flags & action.flags & IRQF_SHARED) || (old.flags ^ action.flags) & mustMatch) return -Errno.EBUSY;
    let last = old;
    while (last.next !== null) last = last.next;
    last.next = action;
    desc.table.unqualify(desc.irq, false);
    return 0;
  }
  desc.action = action;
  desc.status &= ~(IRQS_PENDING | IRQS_REPLAY);
  if (action.flags & IRQF_PERCPU) desc.status |= IRQ_PER_CPU;
  irqStartup(desc);
  return 0;
}

/**
 * Unlinks the action registered with `devId` (the chain part of `__free_irq`).
 * @returns the action, or `null` when none has that `devId`
 */
export function removeIrqAction(desc: IrqDesc, devId: unknown): IrqAction | null {
  let prev: IrqAction | null = null;
  let a = desc.action;
  while (a !== null && a.devId !== devId) {
    prev = a;
    a = a.next;
  }
  if (a === null) return null;
  if (prev === null) desc.action = a.next;
  else {
    prev.next = a.next;
    desc.table.unqualify(desc.irq, false);
  }
  return a;
}
