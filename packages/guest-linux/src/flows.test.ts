import { describe, expect, it } from 'vitest';
import { IRQF_SHARED, IRQ_HANDLED, IRQ_NONE, IRQD_DISABLED, IRQD_INPROGRESS, IRQD_MASKED, IRQS_PENDING } from './constants.js';
import { handleEdgeIrq, handleFasteoiIrq, handleLevelIrq, handlePercpuIrq, runFlow, type FlowObserver } from './flows.js';
import { IrqAction, IrqDesc, IrqFlow, irqStartup, setupIrqAction, type IrqChip } from './irq-desc.js';

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

describe('shared action chains', () => {
  /** A started descriptor whose chain has one action per result, each logging its name. */
  function chain(log: string[], results: number[]): IrqDesc {
    const desc = new IrqDesc(7, 2);
    desc.chip = loggingChip(log);
    results.forEach((r, i) => {
      const action = new IrqAction(() => (log.push(`h${i}`), r), IRQF_SHARED, `dev${i}`, i);
      expect(setupIrqAction(desc, action, 0)).toBe(0);
    });
    log.length = 0;
    return desc;
  }

  it('runs every action in order; the event is unhandled only when every one returns IRQ_NONE', () => {
    const log: string[] = [];
    const some = chain(log, [IRQ_NONE, IRQ_HANDLED, IRQ_NONE]);
    handleEdgeIrq(some, 0, observer);
    expect(log).toEqual(['ack', 'h0', 'h1', 'h2']);
    expect(some.unhandled).toBe(0);
    const none = chain(log, [IRQ_NONE, IRQ_NONE]);
    handleEdgeIrq(none, 0, observer);
    expect(none.unhandled).toBe(1);
  });

  it('counts unhandled events in the per-CPU flow too, and tells the observer of every run', () => {
    const log: string[] = [];
    const seen: string[] = [];
    const watching: FlowObserver = { irqHandled: (d, cpu) => seen.push(`irq${d.irq} cpu${cpu}`) };
    const none = chain(log, [IRQ_NONE, IRQ_NONE]);
    handlePercpuIrq(none, 1, watching);
    const handled = chain(log, [IRQ_NONE, IRQ_HANDLED]);
    handlePercpuIrq(handled, 0, watching);
    expect([none.unhandled, handled.unhandled]).toEqual([1, 0]);
    expect(seen).toEqual(['irq7 cpu1', 'irq7 cpu0']);
  });
});

describe('level flow (2007) and the flow dispatch', () => {
  it('level masks and acks, runs the handler and unmasks; an event in progress stays masked', () => {
    const log: string[] = [];
    let nested = false;
    const desc = started(log, () => {
      log.push('handler');
      if (!nested) {
        nested = true;
        handleLevelIrq(desc, 0, observer); // fires again while in progress
      }
      return IRQ_HANDLED;
    });
    handleLevelIrq(desc, 0, observer);
    expect(log).toEqual(['mask', 'ack', 'handler', 'ack', 'unmask']);
    expect(desc.kstat[0]).toBe(1);
  });

  it('level remembers an event of a disabled or action-less IRQ as pending and leaves it masked', () => {
    const log: string[] = [];
    let runs = 0;
    const desc = started(log, () => ++runs);
    desc.status |= IRQD_DISABLED;
    handleLevelIrq(desc, 0, observer);
    expect(runs).toBe(0);
    expect(log).toEqual(['mask', 'ack']);
    expect(desc.status & (IRQS_PENDING | IRQD_MASKED)).toBe(IRQS_PENDING | IRQD_MASKED);
    const bare = started(log, () => ++runs);
    bare.action = null;
    handleLevelIrq(bare, 0, observer);
    expect(runs).toBe(0);
    expect(bare.status & IRQS_PENDING).toBe(IRQS_PENDING);
    expect(bare.kstat[0]).toBe(1);
  });

  it('fasteoi only EOIs an event that finds the IRQ in progress', () => {
    const log: string[] = [];
    let runs = 0;
    const desc = started(log, () => ++runs);
    desc.status |= IRQD_INPROGRESS;
    handleFasteoiIrq(desc, 0, observer);
    expect([runs, log]).toEqual([0, ['eoi']]);
    expect(desc.status & IRQS_PENDING).toBe(0);
  });

  it('runFlow runs the descriptor\'s flow', () => {
    for (const [flow, expected] of [
      [IrqFlow.EDGE, ['ack', 'handler']],
      [IrqFlow.FASTEOI, ['handler', 'eoi']],
      [IrqFlow.PERCPU, ['ack', 'handler', 'eoi']],
      [IrqFlow.LEVEL, ['mask', 'ack', 'handler', 'unmask']],
    ] as const) {
      const log: string[] = [];
      const desc = started(log, () => (log.push('handler'), IRQ_HANDLED));
      desc.flow = flow;
      runFlow(desc, 0, observer);
      expect(log).toEqual(expected);
    }
  });

  it('flows work with a chip that has none of the optional operations', () => {
    let runs = 0;
    for (const flow of [handleEdgeIrq, handleFasteoiIrq, handlePercpuIrq, handleLevelIrq]) {
      const desc = new IrqDesc(3, 1);
      desc.chip = { name: 'bare' };
      desc.action = new IrqAction(() => (runs++, IRQ_HANDLED), 0, 'dev', null);
      irqStartup(desc);
      flow(desc, 0, observer);
    }
    expect(runs).toBe(4);
  });
});
