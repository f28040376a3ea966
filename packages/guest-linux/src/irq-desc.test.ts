import { describe, expect, it } from 'vitest';
import { IRQD_DISABLED, IRQD_MASKED, IRQD_STARTED, IRQF_PERCPU, IRQF_SHARED, IRQ_HANDLED, IRQ_PER_CPU, IRQS_PENDING, IRQS_REPLAY } from './constants.js';
import {
  IrqAction,
  IrqDesc,
  IrqStats,
  checkIrqResend,
  irqDisable,
  irqEnable,
  irqShutdown,
  irqStartup,
  maskAckIrq,
  maskIrq,
  setupIrqAction,
  unmaskIrq,
  type IrqChip,
} from './irq-desc.js';
import { IrqTable } from './irq-table.js';

type Op = 'mask' | 'unmask' | 'ack' | 'maskAck' | 'enable' | 'disable' | 'startup' | 'shutdown' | 'retrigger';

/** A chip with only the operations `ops`, each logging its name. */
function chip(log: string[], ops: Op[], retriggers = 1): IrqChip {
  const c: Record<string, unknown> = { name: 'fake' };
  for (const op of ops) c[op] = () => (log.push(op), op === 'retrigger' ? retriggers : undefined);
  return c as unknown as IrqChip;
}

function desc(status: number, c: IrqChip | null): IrqDesc {
  const d = new IrqDesc(4, 1);
  d.chip = c;
  d.status = status;
  return d;
}

const handler = (): number => IRQ_HANDLED;

describe('IRQ core helpers (kernel/irq/chip.c)', () => {
  it('mask_irq and unmask_irq act only on a change, and only with the chip operation', () => {
    const log: string[] = [];
    const d = desc(0, chip(log, ['mask', 'unmask']));
    maskIrq(d);
    maskIrq(d);
    expect([log, d.status]).toEqual([['mask'], IRQD_MASKED]);
    unmaskIrq(d);
    unmaskIrq(d);
    expect([log, d.status]).toEqual([['mask', 'unmask'], 0]);
    // Without the operation the state does not change either.
    const bare = desc(0, chip(log, []));
    maskIrq(bare);
    expect(bare.status).toBe(0);
    bare.status = IRQD_MASKED;
    unmaskIrq(bare);
    expect(bare.status).toBe(IRQD_MASKED);
  });

  it("mask_ack_irq uses the chip's maskAck, else mask then ack, and does nothing without a chip", () => {
    const log: string[] = [];
    const both = desc(0, chip(log, ['maskAck', 'mask', 'ack']));
    maskAckIrq(both);
    expect([log, both.status]).toEqual([['maskAck'], IRQD_MASKED]);
    log.length = 0;
    const apart = desc(0, chip(log, ['mask', 'ack']));
    maskAckIrq(apart);
    expect([log, apart.status]).toEqual([['mask', 'ack'], IRQD_MASKED]);
    const none = desc(0, null);
    maskAckIrq(none);
    expect(none.status).toBe(0);
  });

  it("irq_enable uses the chip's enable (clearing MASKED), else unmasks", () => {
    const log: string[] = [];
    const withEnable = desc(IRQD_DISABLED | IRQD_MASKED, chip(log, ['enable', 'unmask']));
    irqEnable(withEnable);
    expect([log, withEnable.status]).toEqual([['enable'], 0]);
    log.length = 0;
    const withUnmask = desc(IRQD_DISABLED | IRQD_MASKED, chip(log, ['unmask']));
    irqEnable(withUnmask);
    expect([log, withUnmask.status]).toEqual([['unmask'], 0]);
  });

  it("irq_disable uses the chip's disable (setting MASKED), else masks only when asked (lazy disable)", () => {
    const log: string[] = [];
    const withDisable = desc(0, chip(log, ['disable', 'mask']));
    irqDisable(withDisable, false);
    expect([log, withDisable.status]).toEqual([['disable'], IRQD_DISABLED | IRQD_MASKED]);
    log.length = 0;
    const lazy = desc(0, chip(log, ['mask']));
    irqDisable(lazy, false);
    expect([log, lazy.status]).toEqual([[], IRQD_DISABLED]);
    irqDisable(lazy, true); // already disabled: now masked
    expect([log, lazy.status]).toEqual([['mask'], IRQD_DISABLED | IRQD_MASKED]);
    log.length = 0;
    const eager = desc(0, chip(log, ['mask']));
    irqDisable(eager, true);
    expect([log, eager.status]).toEqual([['mask'], IRQD_DISABLED | IRQD_MASKED]);
  });

  it('check_irq_resend: a pending edge is retriggered once (REPLAY), not again while replaying', () => {
    const log: string[] = [];
    const d = desc(IRQS_PENDING, chip(log, ['retrigger']));
    checkIrqResend(d);
    expect([log, d.status]).toEqual([['retrigger'], IRQS_REPLAY]);
    d.status |= IRQS_PENDING;
    checkIrqResend(d);
    expect([log, d.status]).toEqual([['retrigger'], IRQS_PENDING | IRQS_REPLAY]);
    // Nothing pending: nothing to do; a chip that cannot retrigger: PENDING dropped, no REPLAY.
    const idle = desc(0, chip(log, ['retrigger']));
    checkIrqResend(idle);
    expect(idle.status).toBe(0);
    const refusing = desc(IRQS_PENDING, chip(log, ['retrigger'], 0));
    checkIrqResend(refusing);
    expect(refusing.status).toBe(0);
    const without = desc(IRQS_PENDING, chip(log, []));
    checkIrqResend(without);
    expect(without.status).toBe(0);
  });

  it("irq_startup and irq_shutdown use the chip's startup/shutdown, else enable/disable", () => {
    const log: string[] = [];
    const d = desc(IRQD_DISABLED | IRQD_MASKED, chip(log, ['startup', 'shutdown']));
    irqStartup(d);
    expect([log, d.status, d.depth]).toEqual([['startup'], IRQD_STARTED, 0]);
    irqShutdown(d);
    expect([log, d.status, d.depth]).toEqual([['startup', 'shutdown'], IRQD_DISABLED | IRQD_MASKED, 1]);
    irqShutdown(d); // not started: nothing
    expect(log).toEqual(['startup', 'shutdown']);
    log.length = 0;
    const plain = desc(IRQD_DISABLED | IRQD_MASKED, chip(log, ['mask', 'unmask']));
    irqStartup(plain);
    irqShutdown(plain);
    expect([log, plain.status]).toEqual([['unmask', 'mask'], IRQD_DISABLED | IRQD_MASKED]);
  });

  it('__setup_irq: the first action starts the IRQ (and marks it per-CPU); a second one only if both share', () => {
    const log: string[] = [];
    const d = desc(IRQD_DISABLED | IRQD_MASKED | IRQS_PENDING | IRQS_REPLAY, chip(log, ['unmask']));
    expect(setupIrqAction(d, new IrqAction(handler, IRQF_PERCPU, 'a', 1), 0)).toBe(0);
    expect(d.status).toBe(IRQD_STARTED | IRQ_PER_CPU);
    expect(setupIrqAction(d, new IrqAction(handler, IRQF_SHARED, 'b', 2), 0)).toBeLessThan(0);
    const shared = desc(IRQD_DISABLED | IRQD_MASKED, chip(log, []));
    expect(setupIrqAction(shared, new IrqAction(handler, IRQF_SHARED, 'a', 1), 0)).toBe(0);
    expect(shared.status & IRQ_PER_CPU).toBe(0);
    expect(setupIrqAction(shared, new IrqAction(handler, IRQF_SHARED | IRQF_PERCPU, 'b', 2), IRQF_PERCPU)).toBeLessThan(0);
    expect(setupIrqAction(shared, new IrqAction(handler, IRQF_SHARED, 'b', 2), IRQF_PERCPU)).toBe(0);
    expect(shared.action!.next!.name).toBe('b');
  });

  it('has() asks for every bit; stats and IrqStats are the table under their old names', () => {
    const d = desc(IRQD_DISABLED | IRQD_MASKED, null);
    expect([d.has(IRQD_DISABLED), d.has(IRQD_DISABLED | IRQD_STARTED), d.has(0)]).toEqual([true, false, true]);
    expect(d.stats).toBe(d.table);
    expect(IrqStats).toBe(IrqTable);
  });
});
