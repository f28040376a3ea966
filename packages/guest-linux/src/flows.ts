/*
 * Flow handlers of Linux's generic IRQ core (kernel/irq/chip.c `handle_edge_irq`,
 * `handle_fasteoi_irq`, `handle_percpu_irq`, the 2007 `handle_level_irq`, kernel/irq/handle.c
 * `handle_irq_event`): how
 * the chip is driven around a descriptor's action chain. Plain functions over the
 * descriptor so that the event hot path allocates nothing.
 */
import {
  IRQ_NONE,
  IRQD_DISABLED,
  IRQD_INPROGRESS,
  IRQD_MASKED,
  IRQS_PENDING,
  IRQS_REPLAY,
} from './constants.js';
import { IrqFlow, countIrq, maskAckIrq, maskIrq, unmaskIrq, type IrqAction, type IrqDesc } from './irq-desc.js';
import {
  IRQ_ROW,
  ROW_FAST_ACK,
  ROW_FLAGS,
  ROW_FLOW,
  ROW_INFO_HERE,
  ROW_IRQ,
  ROW_IS_ACTIVE,
  ROW_PORT,
  ROW_STATUS,
  type IrqTable,
} from './irq-table.js';

const FAST_ACK_HERE = ROW_FAST_ACK | ROW_INFO_HERE;

/** Told after every run of a descriptor's actions (statistics, the platform's event bus). */
export interface FlowObserver {
  /** The actions of `desc` ran on `cpu`. */
  irqHandled(desc: IrqDesc, cpu: number): void;
}

/** `kstat_incr_irqs_this_cpu` on a row: counts one interrupt on `cpu`. */
function countAt(t: IrqTable, row: number, cpu: number): void {
  const stats = t.stats!;
  stats.counts[t.hot[row * IRQ_ROW + ROW_IRQ]! * stats.nrCpus + cpu]!++;
}

/**
 * The chip's `ack`: from the row for the table's fast-ack chips (the event ends: not
 * active, pending cleared), else through the chip.
 */
function ackAt(t: IrqTable, row: number, desc: IrqDesc): void {
  const b = row * IRQ_ROW;
  const hot = t.hot;
  if ((hot[b + ROW_FLAGS]! & FAST_ACK_HERE) === FAST_ACK_HERE) {
    const port = hot[b + ROW_PORT]!;
    if (port !== 0) {
      hot[b + ROW_IS_ACTIVE] = 0;
      t.fastAckHost!.clearEvtchn(port);
    }
  } else {
    desc.chip?.ack?.(desc);
  }
}

/** Runs every action of the chain (`handle_irq_event_percpu`) and counts unhandled events. */
function runActionsAt(t: IrqTable, row: number, desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  const ep = t.epoch;
  const irq = t.hot[row * IRQ_ROW + ROW_IRQ]!;
  let ret = IRQ_NONE;
  for (let a: IrqAction | null = t.actions[row]!; a !== null; a = a.next) ret |= a.handler(irq, a.devId);
  if (ret === IRQ_NONE) {
    if (t.epoch !== ep) desc.unhandled++;
    else t.unhandled[row]!++;
  }
  observer.irqHandled(desc, cpu);
}

/** `handle_irq_event` on a row (see {@link handleIrqEvent}). */
function handleIrqEventAt(t: IrqTable, row: number, desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  const b = row * IRQ_ROW;
  t.hot[b + ROW_STATUS] = (t.hot[b + ROW_STATUS]! & ~IRQS_PENDING) | IRQD_INPROGRESS;
  const ep = t.epoch;
  runActionsAt(t, row, desc, cpu, observer);
  if (t.epoch !== ep) desc.status &= ~IRQD_INPROGRESS;
  else t.hot[b + ROW_STATUS]! &= ~IRQD_INPROGRESS;
}

/**
 * `handle_irq_event`: clears `IRQS_PENDING`, marks the descriptor in progress while the
 * actions run.
 */
export function handleIrqEvent(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  handleIrqEventAt(desc.table, desc.row, desc, cpu, observer);
}

/**
 * Edge flow on a row (see {@link handleEdgeIrq}). Whatever the chip or the handlers do —
 * even freeing the IRQ, which moves the descriptor to a table of its own — the flow goes on
 * with the descriptor's fields wherever they live.
 */
function handleEdgeIrqAt(t: IrqTable, row: number, desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  let b = row * IRQ_ROW;
  let st = t.hot[b + ROW_STATUS]! & ~IRQS_REPLAY;
  t.hot[b + ROW_STATUS] = st;
  if (st & (IRQD_INPROGRESS | IRQD_DISABLED) || t.actions[row] === null) {
    t.hot[b + ROW_STATUS] = st | IRQS_PENDING;
    maskAckIrq(desc);
    return;
  }
  countAt(t, row, cpu);
  let ep = t.epoch;
  ackAt(t, row, desc);
  do {
    if (t.epoch !== ep) {
      t = desc.table;
      row = desc.row;
      b = row * IRQ_ROW;
      ep = t.epoch;
    }
    if (t.actions[row] === null) {
      maskIrq(desc);
      return;
    }
    st = t.hot[b + ROW_STATUS]!;
    if (st & IRQS_PENDING && !(st & IRQD_DISABLED) && st & IRQD_MASKED) {
      unmaskIrq(desc);
      if (t.epoch !== ep) {
        t = desc.table;
        row = desc.row;
        b = row * IRQ_ROW;
        ep = t.epoch;
      }
    }
    handleIrqEventAt(t, row, desc, cpu, observer);
    if (t.epoch !== ep) {
      t = desc.table;
      row = desc.row;
      b = row * IRQ_ROW;
      ep = t.epoch;
    }
    st = t.hot[b + ROW_STATUS]!;
  } while (st & IRQS_PENDING && !(st & IRQD_DISABLED));
}

/**
 * Edge flow (`handle_edge_irq`). An event that cannot run now (in progress, disabled, no
 * action) is remembered as `IRQS_PENDING` and the source is masked and acked; otherwise the
 * event is counted, acked, and the actions run, again for as long as events arrived meanwhile.
 */
export function handleEdgeIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  handleEdgeIrqAt(desc.table, desc.row, desc, cpu, observer);
}

/**
 * Fast-EOI flow (`handle_fasteoi_irq`): the actions, then one EOI. An event that cannot run
 * is remembered as `IRQS_PENDING` (masked when disabled or without action) and still EOIed.
 */
export function handleFasteoiIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  const chip = desc.chip;
  if (desc.status & IRQD_INPROGRESS) {
    chip?.eoi?.(desc);
    return;
  }
  desc.status &= ~IRQS_REPLAY;
  if (desc.action === null || desc.status & IRQD_DISABLED) {
    desc.status |= IRQS_PENDING;
    maskIrq(desc);
    chip?.eoi?.(desc);
    return;
  }
  countIrq(desc, cpu);
  handleIrqEvent(desc, cpu, observer);
  chip?.eoi?.(desc);
}

/** Per-CPU flow on a row (see {@link handlePercpuIrq}). */
function handlePercpuIrqAt(t: IrqTable, row: number, desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  countAt(t, row, cpu);
  if ((t.hot[row * IRQ_ROW + ROW_FLAGS]! & FAST_ACK_HERE) === FAST_ACK_HERE) {
    // Fast-ack chips have no `eoi`.
    const ep = t.epoch;
    ackAt(t, row, desc);
    if (t.epoch === ep) runActionsAt(t, row, desc, cpu, observer);
    else runActionsAt(desc.table, desc.row, desc, cpu, observer);
    return;
  }
  const chip = desc.chip;
  chip?.ack?.(desc);
  runActionsAt(desc.table, desc.row, desc, cpu, observer);
  chip?.eoi?.(desc);
}

/** Per-CPU flow (`handle_percpu_irq`): count, ack, actions, eoi. */
export function handlePercpuIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  handlePercpuIrqAt(desc.table, desc.row, desc, cpu, observer);
}

/**
 * Level flow (`handle_level_irq`, kernel/irq/chip.c of 2.6.23, which the 2007 Xen event IRQs
 * used): mask and ack first; an event that finds the IRQ in progress is left masked (the
 * running handler unmasks when it ends); with no action or disabled it is remembered as
 * `IRQS_PENDING` and stays masked; otherwise count, run the actions, and unmask unless disabled.
 */
export function handleLevelIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  maskAckIrq(desc);
  if (desc.status & IRQD_INPROGRESS) return;
  desc.status &= ~IRQS_REPLAY;
  countIrq(desc, cpu);
  if (desc.action === null || desc.status & IRQD_DISABLED) {
    desc.status |= IRQS_PENDING;
    return;
  }
  handleIrqEvent(desc, cpu, observer);
  if (!(desc.status & IRQD_DISABLED)) unmaskIrq(desc);
}

/**
 * Runs the flow handler of the descriptor whose fields live in row `row` of `t`
 * (`generic_handle_irq_desc`), reading the row rather than the descriptor object where it can.
 * @param t - the table
 * @param row - the row
 * @param desc - the descriptor living in that row (`t.descs[row]`)
 * @param cpu - the CPU handling the event
 * @param observer - told after every run of the actions
 */
export function runFlowAt(t: IrqTable, row: number, desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  switch (t.hot[row * IRQ_ROW + ROW_FLOW]) {
    case IrqFlow.EDGE:
      handleEdgeIrqAt(t, row, desc, cpu, observer);
      break;
    case IrqFlow.FASTEOI:
      handleFasteoiIrq(desc, cpu, observer);
      break;
    case IrqFlow.PERCPU:
      handlePercpuIrqAt(t, row, desc, cpu, observer);
      break;
    case IrqFlow.LEVEL:
      handleLevelIrq(desc, cpu, observer);
      break;
  }
}

/** Runs the descriptor's flow handler (`generic_handle_irq_desc`). */
export function runFlow(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  runFlowAt(desc.table, desc.row, desc, cpu, observer);
}
