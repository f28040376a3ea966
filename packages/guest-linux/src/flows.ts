/*
 * Flow handlers of Linux's generic IRQ core (kernel/irq/chip.c `handle_edge_irq`,
 * `handle_fasteoi_irq`, `handle_percpu_irq`, the 2007 `handle_level_irq`, kernel/irq/handle.c
 * `handle_irq_event`): how the chip is driven around a descriptor's action chain. Plain
 * functions over the descriptor so that the event hot path allocates nothing.
 */
import { IrqReturnCode, IrqStatusBit } from './constants.js';
import { IrqFlowCode, countIrq, maskAckIrq, maskIrq, unmaskIrq, type IrqDesc } from './irq-desc.js';

/** Told after every run of a descriptor's actions (statistics, the platform's event bus). */
export interface FlowObserver {
  /** The actions of `desc` ran on `cpu`. */
  irqHandled(desc: IrqDesc, cpu: number): void;
}

/** Runs every action of the chain (`handle_irq_event_percpu`) and counts unhandled events. */
function runActions(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  let ret: number = IrqReturnCode.NONE;
  for (let a = desc.action; a !== null; a = a.next) {
    // Called as a plain function, as the event path's short form calls it (linux-guest.ts).
    const handler = a.handler;
    ret |= handler(desc.irq, a.devId);
  }
  if (ret === IrqReturnCode.NONE) noteUnhandled(desc);
  observer.irqHandled(desc, cpu);
}

/** Every action returned `IRQ_NONE` (out of line: the rare branch of `runActions`). */
function noteUnhandled(desc: IrqDesc): void {
  desc.unhandled++;
}

/**
 * `handle_irq_event`: clears `IRQS_PENDING`, marks the descriptor in progress while the
 * actions run.
 */
export function handleIrqEvent(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  desc.status = (desc.status & ~IrqStatusBit.PENDING) | IrqStatusBit.INPROGRESS;
  runActions(desc, cpu, observer);
  desc.status &= ~IrqStatusBit.INPROGRESS;
}

/**
 * Edge flow (`handle_edge_irq`). An event that cannot run now (in progress, disabled, no
 * action) is remembered as `IRQS_PENDING` and the source is masked and acked; otherwise the
 * event is counted, acked, and the actions run, again for as long as events arrived meanwhile.
 */
export function handleEdgeIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  desc.status &= ~IrqStatusBit.REPLAY;
  if (desc.status & (IrqStatusBit.INPROGRESS | IrqStatusBit.DISABLED) || desc.action === null) {
    deferEdge(desc);
    return;
  }
  countIrq(desc, cpu);
  desc.chip?.ack?.(desc);
  edgeActions(desc, cpu, observer);
}

/**
 * The loop of `handle_edge_irq` after the ack: the actions run, and run again for as long as
 * an edge arrived meanwhile (`IRQS_PENDING`) and the IRQ is not disabled. The event path's
 * short form (linux-guest.ts) runs the first pass itself and calls this for a replay.
 * @internal
 */
export function edgeActions(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  do {
    if (desc.action === null) return maskIrq(desc);
    if (desc.status & IrqStatusBit.PENDING) unmaskForReplay(desc);
    handleIrqEvent(desc, cpu, observer);
  } while ((desc.status & (IrqStatusBit.PENDING | IrqStatusBit.DISABLED)) === IrqStatusBit.PENDING);
}

/** An edge that cannot run now: remembered as `IRQS_PENDING`, the source masked and acked. */
function deferEdge(desc: IrqDesc): void {
  desc.status |= IrqStatusBit.PENDING;
  maskAckIrq(desc);
}

/**
 * An edge arrived while the actions ran (`IRQS_PENDING`): the source, masked when it was
 * deferred, is unmasked again before the actions run for it, unless the IRQ is disabled.
 */
function unmaskForReplay(desc: IrqDesc): void {
  if (!(desc.status & IrqStatusBit.DISABLED) && desc.status & IrqStatusBit.MASKED) unmaskIrq(desc);
}

/**
 * Fast-EOI flow (`handle_fasteoi_irq`): the actions, then one EOI. An event that cannot run
 * is remembered as `IRQS_PENDING` (masked when disabled or without action) and still EOIed.
 */
export function handleFasteoiIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  const chip = desc.chip;
  if (desc.status & IrqStatusBit.INPROGRESS) {
    chip?.eoi?.(desc);
    return;
  }
  desc.status &= ~IrqStatusBit.REPLAY;
  if (desc.action === null || desc.status & IrqStatusBit.DISABLED) {
    desc.status |= IrqStatusBit.PENDING;
    maskIrq(desc);
    chip?.eoi?.(desc);
    return;
  }
  countIrq(desc, cpu);
  handleIrqEvent(desc, cpu, observer);
  chip?.eoi?.(desc);
}

/** Per-CPU flow (`handle_percpu_irq`): count, ack, actions, eoi. */
export function handlePercpuIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  countIrq(desc, cpu);
  const chip = desc.chip;
  chip?.ack?.(desc);
  runActions(desc, cpu, observer);
  chip?.eoi?.(desc);
}

/**
 * Level flow (`handle_level_irq`, kernel/irq/chip.c of 2.6.23, which the 2007 Xen event IRQs
 * used): mask and ack first; an event that finds the IRQ in progress is left masked (the
 * running handler unmasks when it ends); with no action or disabled it is remembered as
 * `IRQS_PENDING` and stays masked; otherwise count, run the actions, and unmask unless disabled.
 */
export function handleLevelIrq(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  maskAckIrq(desc);
  if (desc.status & IrqStatusBit.INPROGRESS) return;
  desc.status &= ~IrqStatusBit.REPLAY;
  countIrq(desc, cpu);
  if (desc.action === null || desc.status & IrqStatusBit.DISABLED) {
    desc.status |= IrqStatusBit.PENDING;
    return;
  }
  handleIrqEvent(desc, cpu, observer);
  if (!(desc.status & IrqStatusBit.DISABLED)) unmaskIrq(desc);
}

/** Runs the descriptor's flow handler (`generic_handle_irq_desc`). */
export function runFlow(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  // Event channels use the edge flow: tested first, the other flows behind one call.
  if (desc.flow === IrqFlowCode.EDGE) handleEdgeIrq(desc, cpu, observer);
  else runOtherFlow(desc, cpu, observer);
}

function runOtherFlow(desc: IrqDesc, cpu: number, observer: FlowObserver): void {
  switch (desc.flow) {
    case IrqFlowCode.FASTEOI:
      handleFasteoiIrq(desc, cpu, observer);
      break;
    case IrqFlowCode.PERCPU:
      handlePercpuIrq(desc, cpu, observer);
      break;
    case IrqFlowCode.LEVEL:
      handleLevelIrq(desc, cpu, observer);
      break;
  }
}
