import { describe, expect, it } from 'vitest';
import { IRQ_HANDLED, IRQ_NONE, IRQD_DISABLED, IRQD_INPROGRESS, IRQD_MASKED, IRQS_PENDING } from './constants.js';
import { handleEdgeIrq, handleFasteoiIrq, handlePercpuIrq, type FlowObserver } from './flows.js';
import { IrqAction, IrqDesc, irqStartup, type IrqChip } from './irq-desc.js';

/** A chip that logs every operation. */
function loggingChip(log: string[]): IrqChip {
  return {
    name: 'fake',
    mask: () => log.push('mask'),
    unmask: () => log.push('unmask'),
    ack: () => log.push('ack'),
    eoi: () => log.push('eoi'),
  };
}

const observer: FlowObserver = { irqHandled: () => {} };

function started(log: string[], handler: (irq: number) => number): IrqDesc {
  const desc = new IrqDesc(5, 2);
  desc.chip = loggingChip(log);
  desc.action = new IrqAction((irq) => handler(irq), 0, 'dev', null);
  irqStartup(desc);
  log.length = 0;
  return desc;
}

describe('edge flow', () => {
  it('acks before the handler and counts the interrupt on the CPU', () => {
    const log: string[] = [];
    const desc = started(log, () => {
      log.push('handler');
      return IRQ_HANDLED;
    });
    handleEdgeIrq(desc, 1, observer);
    expect(log).toEqual(['ack', 'handler']);
    expect(Array.from(desc.kstat)).toEqual([0, 1]);
    expect(desc.status & (IRQD_INPROGRESS | IRQS_PENDING)).toBe(0);
  });

  it('marks an event arriving while in progress PENDING, masks it, and replays it after the handler', () => {
    const log: string[] = [];
    let depth = 0;
    let runs = 0;
    const desc = started(log, () => {
      runs++;
      log.push(`handler${runs}`);
      if (runs === 1) {
        depth++;
        handleEdgeIrq(desc, 0, observer); // the same IRQ fires again meanwhile
        depth--;
      }
      return IRQ_HANDLED;
    });
    handleEdgeIrq(desc, 0, observer);
    expect(depth).toBe(0);
    expect(runs).toBe(2);
    expect(log).toEqual(['ack', 'handler1', 'mask', 'ack', 'unmask', 'handler2']);
    expect(desc.kstat[0]).toBe(1);
    expect(desc.status & (IRQS_PENDING | IRQD_MASKED)).toBe(0);
  });

  it('does not run a disabled IRQ: remembers it and masks + acks', () => {
    const log: string[] = [];
    let runs = 0;
    const desc = started(log, () => ++runs);
    desc.status |= IRQD_DISABLED;
    handleEdgeIrq(desc, 0, observer);
    expect(runs).toBe(0);
    expect(log).toEqual(['mask', 'ack']);
    expect(desc.status & IRQS_PENDING).toBe(IRQS_PENDING);
  });

  it('counts events no handler claimed', () => {
    const log: string[] = [];
    const desc = started(log, () => IRQ_NONE);
    handleEdgeIrq(desc, 0, observer);
    expect(desc.unhandled).toBe(1);
  });
});

describe('fasteoi and percpu flows', () => {
  it('fasteoi runs the handler then EOIs, and still EOIs an event it cannot run', () => {
    const log: string[] = [];
    const desc = started(log, () => {
      log.push('handler');
      return IRQ_HANDLED;
    });
    handleFasteoiIrq(desc, 0, observer);
    expect(log).toEqual(['handler', 'eoi']);
    log.length = 0;
    desc.action = null;
    handleFasteoiIrq(desc, 0, observer);
    expect(log).toEqual(['mask', 'eoi']);
    expect(desc.status & IRQS_PENDING).toBe(IRQS_PENDING);
  });

  it('percpu acks, runs the handler and EOIs without in-progress tracking', () => {
    const log: string[] = [];
    const desc = started(log, () => {
      log.push(desc.status & IRQD_INPROGRESS ? 'handler-inprogress' : 'handler');
      return IRQ_HANDLED;
    });
    handlePercpuIrq(desc, 1, observer);
    expect(log).toEqual(['ack', 'handler', 'eoi']);
    expect(desc.kstat[1]).toBe(1);
  });
});
