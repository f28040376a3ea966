import { describe, expect, it } from 'vitest';
import { IRQ_HANDLED, IRQD_DISABLED, IRQD_INPROGRESS, IRQD_MASKED, IRQS_PENDING } from './constants.js';
import type { XenChipHost } from './chips.js';
import { handleEdgeIrq, type FlowObserver } from './flows.js';
import { IrqAction, IrqDesc, IrqStats, irqStartup, type IrqChip } from './irq-desc.js';
import { IrqInfo } from './irq-info.js';
import { IRQ_ROW, IrqTable, ROW_IS_ACTIVE, ROW_PORT, ROW_STATUS } from './irq-table.js';

const observer: FlowObserver = { irqHandled: () => {} };

function table(capacity = 4): IrqTable {
  return new IrqTable(capacity, new IrqStats(2, capacity));
}

/** A descriptor with its info in `t`'s row `irq`, as the guest creates them. */
function bound(t: IrqTable, irq: number): IrqDesc {
  const desc = new IrqDesc(irq, t.stats!, t);
  desc.info = new IrqInfo(irq, t);
  return desc;
}

describe('IrqTable', () => {
  it('keeps descriptor and info fields in the row of their IRQ', () => {
    const t = table();
    const desc = bound(t, 2);
    desc.status = IRQS_PENDING;
    desc.info!.port = 77;
    desc.info!.isActive = 1;
    expect(t.hot[2 * IRQ_ROW + ROW_STATUS]).toBe(IRQS_PENDING);
    expect(t.hot[2 * IRQ_ROW + ROW_PORT]).toBe(77);
    t.hot[2 * IRQ_ROW + ROW_IS_ACTIVE] = 0;
    expect(desc.info!.isActive).toBe(0);
  });

  it('keeps values when it grows for a higher IRQ', () => {
    const t = table(2);
    const low = bound(t, 1);
    low.info!.port = 5;
    low.status = IRQD_MASKED;
    const high = bound(t, 1000);
    high.info!.port = 9;
    expect(t.capacity).toBeGreaterThan(1000);
    expect(low.info!.port).toBe(5);
    expect(low.status).toBe(IRQD_MASKED);
    expect(high.info!.port).toBe(9);
    expect(t.descs[1000]).toBe(high);
  });

  it('lets released descriptors and infos keep their values while the IRQ is reused', () => {
    const t = table();
    const old = bound(t, 3);
    const action = new IrqAction(() => IRQ_HANDLED, 0, 'dev', null);
    old.action = action;
    old.status = IRQD_INPROGRESS;
    old.unhandled = 4;
    old.info!.port = 12;
    old.info!.maskReason = 2;
    t.release(3);
    expect(t.descs[3]).toBeUndefined();
    expect(t.infos[3]).toBeUndefined();

    const reused = bound(t, 3);
    reused.info!.port = 40;
    reused.status = 0;
    expect(old.table).not.toBe(t);
    expect(old.info!.table).toBe(old.table);
    expect([old.status, old.action, old.unhandled, old.info!.port, old.info!.maskReason]).toEqual([
      IRQD_INPROGRESS,
      action,
      4,
      12,
      2,
    ]);
    expect([reused.status, reused.action, reused.unhandled, reused.info!.port]).toEqual([0, null, 0, 40]);
    old.info!.port = 1;
    expect(reused.info!.port).toBe(40);
  });

  it('moves the previous descriptor out when a new one takes its row', () => {
    const t = table();
    const first = bound(t, 1);
    first.status = IRQS_PENDING;
    const second = new IrqDesc(1, t.stats!, t);
    expect(second.status).toBe(IRQD_DISABLED | IRQD_MASKED);
    expect(first.status).toBe(IRQS_PENDING);
    expect(t.descs[1]).toBe(second);
  });

  it('refuses a descriptor that counts in another IrqStats than its table', () => {
    expect(() => new IrqDesc(1, 2, table())).toThrow(RangeError);
  });

  it('acks fast-ack chips from the row: the event ends and the host clears the port', () => {
    const t = table();
    const cleared: number[] = [];
    const host = { clearEvtchn: (port: number) => cleared.push(port) } as unknown as XenChipHost;
    const chip: IrqChip = { name: 'fast', ack: () => cleared.push(-1) };
    t.setFastAckChips(host, [chip]);
    const desc = bound(t, 2);
    desc.chip = chip;
    desc.action = new IrqAction(() => IRQ_HANDLED, 0, 'dev', null);
    irqStartup(desc);
    desc.info!.port = 33;
    desc.info!.isActive = 1;
    handleEdgeIrq(desc, 1, observer);
    expect(cleared).toEqual([33]);
    expect(desc.info!.isActive).toBe(0);
    expect(Array.from(desc.kstat)).toEqual([0, 1]);
  });

  it('lets a flow finish on the descriptor when its handler frees the IRQ and the row is reused', () => {
    const t = table();
    const desc = bound(t, 2);
    desc.chip = { name: 'plain', ack: () => {} };
    let reused: IrqDesc | undefined;
    let sawIrq = -1;
    desc.action = new IrqAction(
      (irq) => {
        sawIrq = irq;
        t.release(2);
        reused = bound(t, 2);
        return 0;
      },
      0,
      'dev',
      null,
    );
    irqStartup(desc);
    handleEdgeIrq(desc, 0, observer);
    expect(sawIrq).toBe(2);
    expect(desc.status & IRQD_INPROGRESS).toBe(0);
    expect(desc.unhandled).toBe(1);
    expect(reused!.status).toBe(IRQD_DISABLED | IRQD_MASKED);
    expect(reused!.unhandled).toBe(0);
  });
});
