import { abi2Level, TwoLevelGuestSide2007 } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { DOMID_SELF, Errno, VIRQ, XenError, archNull, createPlatform, type EvtchnStatus } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import {
  FIND_UNBOUND_IRQ_PANIC,
  GuestKernelPanic,
  IRQF_SHARED,
  IRQ_HANDLED,
  IrqFlow,
  LINUX_2007_NO_PIRQS,
  LINUX_2007_NR_IRQS,
  guestLinux,
  type LinuxEra,
  type LinuxGuest,
} from './index.js';

const DOMU = 1;
const handler = (): number => IRQ_HANDLED;

/** dom0 and a domU running the Linux layer of `era`; FIFO is offered and preferred. */
function boot(era: LinuxEra, nrIrqs2007?: number, deliver = false) {
  const p = createPlatform({
    arch: archNull({ deliver }),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux({ era, nrIrqs2007 }),
    domains: [
      { id: 0, vcpus: 1 },
      { id: DOMU, vcpus: 1 },
    ],
  });
  const pd = p.domain(DOMU);
  const guest = pd.guest as LinuxGuest;
  const hc = pd.domain.hypercalls;
  const loopback = (): number => {
    const port = hc.allocUnbound(DOMID_SELF, DOMID_SELF);
    expect(port).toBeGreaterThan(0);
    expect(p.hypervisor.bindLoopback(DOMU, port)).toBe(0);
    return port;
  };
  const status = (port: number): string => {
    const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
    expect(hc.status(DOMID_SELF, port, out)).toBe(0);
    return out.status;
  };
  return { p, guest, hc, loopback, status };
}

describe('guest-linux era 2007', () => {
  it('runs on 2-level with the 2007 scan even when FIFO is offered and preferred', () => {
    const old = boot('2007');
    expect(old.guest.era).toBe('2007');
    expect(old.guest.abiName).toBe('2level');
    expect(old.guest.abi).toBeInstanceOf(TwoLevelGuestSide2007);
    const modern = boot('modern');
    expect(modern.guest.era).toBe('modern');
    expect(modern.guest.abiName).toBe('fifo');
    expect(modern.guest.irqs2007).toBeUndefined();
  });

  it('refuses to boot without a 2-level ABI, and rejects an unknown era', () => {
    expect(() =>
      createPlatform({ arch: archNull(), abis: [abiFifo()], guest: guestLinux({ era: '2007' }), domains: [{ id: 1 }] }),
    ).toThrow(/era '2007' needs the 2-level ABI/);
    expect(() =>
      createPlatform({
        arch: archNull(),
        abis: [abi2Level()],
        guest: guestLinux({ era: '1999' as LinuxEra }),
        domains: [{ id: 1 }],
      }),
    ).toThrow(/era must be '2007' or 'modern'/);
  });

  it('handles the lowest pending port first every time (the scan keeps no resume position)', () => {
    const order: Record<string, number[]> = {};
    for (const era of ['2007', 'modern'] as const) {
      const t = boot(era);
      const seen: number[] = [];
      const ports = [t.loopback(), t.loopback(), t.loopback()];
      let resend = 2;
      for (const port of ports) {
        const irq = t.guest.bindEvtchnToIrqhandler(
          port,
          () => {
            seen.push(port);
            if (port === ports[0] && resend-- > 0) t.hc.send(port);
            return IRQ_HANDLED;
          },
          0,
          `p${port}`,
          null,
        );
        expect(irq).toBeGreaterThanOrEqual(0);
      }
      for (const port of ports) t.hc.send(port);
      t.guest.upcall(0);
      order[era] = seen.map((p) => p - ports[0]!);
    }
    // 2007 re-reads the word: the re-sent lowest port runs again before the others.
    expect(order['2007']).toEqual([0, 0, 0, 1, 2]);
    expect(order['modern']).toEqual([0, 1, 2, 0, 0]);
  });

  it('find_unbound_irq: the lowest IRQ whose bind count is 0', () => {
    const t = boot('2007');
    const irqs = [0, 1, 2].map(() => t.guest.bindEvtchnToIrq(t.loopback()));
    expect(irqs).toEqual([0, 1, 2]);
    t.guest.unbindFromIrq(1);
    expect(t.guest.irqs2007!.irqBindcount[1]).toBe(0);
    expect(t.guest.bindEvtchnToIrq(t.loopback())).toBe(1);
    expect(t.guest.bindEvtchnToIrq(t.loopback())).toBe(3);
  });

  it('panics with a clear error when no IRQ is left', () => {
    const t = boot('2007', 3);
    for (let i = 0; i < 3; i++) expect(t.guest.bindEvtchnToIrq(t.loopback())).toBe(i);
    const port = t.loopback();
    let err: unknown;
    try {
      t.guest.bindEvtchnToIrq(port);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GuestKernelPanic);
    expect(err).toBeInstanceOf(XenError);
    expect((err as GuestKernelPanic).panicMessage).toBe(FIND_UNBOUND_IRQ_PANIC);
    expect((err as Error).message).toMatch(/kernel panic: No available IRQ to bind to: increase NR_IRQS!/);
    expect(t.guest.irqs2007!.panicMessage).toBe(FIND_UNBOUND_IRQ_PANIC);
    expect(boot('2007').guest.irqs2007!.nrIrqs()).toBe(LINUX_2007_NR_IRQS);
  });

  it('counts every bind of a bound port in irq_bindcount; only the last unbind closes it', () => {
    const t = boot('2007');
    const port = t.loopback();
    const irq = t.guest.bindEvtchnToIrq(port);
    expect(t.guest.bindEvtchnToIrq(port)).toBe(irq);
    expect(t.guest.irqs2007!.irqBindcount[irq]).toBe(2);
    t.guest.unbindFromIrq(irq);
    expect(t.guest.irqFromEvtchn(port)).toBe(irq);
    expect(t.status(port)).toBe('interdomain');
    t.guest.unbindFromIrq(irq);
    expect(t.guest.irqFromEvtchn(port)).toBe(-1);
    expect(t.status(port)).toBe('closed');
    expect(t.guest.irqs2007!.irqBindcount[irq]).toBe(0);

    // Modern: a second bind returns the IRQ without a reference; one unbind closes.
    const m = boot('modern');
    const mport = m.loopback();
    const mirq = m.guest.bindEvtchnToIrq(mport);
    expect(m.guest.bindEvtchnToIrq(mport)).toBe(mirq);
    m.guest.unbindFromIrq(mirq);
    expect(m.status(mport)).toBe('closed');
  });

  it('counts repeated VIRQ and IPI binds too', () => {
    const t = boot('2007');
    const virq = t.guest.bindVirqToIrq(VIRQ.DEBUG, 0, false);
    expect(t.guest.bindVirqToIrq(VIRQ.DEBUG, 0, false)).toBe(virq);
    const ipi = t.guest.bindIpiToIrq(0, 0);
    expect(t.guest.bindIpiToIrq(0, 0)).toBe(ipi);
    expect(t.guest.irqs2007!.irqBindcount[virq]).toBe(2);
    expect(t.guest.irqs2007!.irqBindcount[ipi]).toBe(2);
    t.guest.unbindFromIrq(virq);
    expect(t.guest.irqFromVirq(0, VIRQ.DEBUG)).toBe(virq);
    t.guest.unbindFromIrq(virq);
    expect(t.guest.irqFromVirq(0, VIRQ.DEBUG)).toBe(-1);
  });

  it('event and VIRQ IRQs use handle_level_irq: masked while the handler runs, unmasked after', () => {
    // Seed 000 (2007 arch/i386/xen/events.c): set_irq_chip_and_handler_name(irq,
    // &xen_dynamic_chip, handle_level_irq, "event"/"virq"); 2.6.23 kernel/irq/chip.c
    // handle_level_irq: mask_ack_irq, handlers, unmask unless disabled.
    const t = boot('2007');
    const port = t.loopback();
    const seen: [boolean, boolean][] = [];
    const irq = t.guest.bindEvtchnToIrqhandler(
      port,
      () => {
        seen.push([t.guest.abi.isMasked(port), t.guest.abi.isPending(port)]);
        if (seen.length === 1) t.hc.send(port); // raised again while masked: waits for the unmask
        return IRQ_HANDLED;
      },
      0,
      'lvl',
      null,
    );
    expect(t.guest.irqDesc(irq)!.flow).toBe(IrqFlow.LEVEL);
    expect(t.guest.irqDesc(t.guest.bindVirqToIrq(VIRQ.DEBUG, 0, true))!.flow).toBe(IrqFlow.LEVEL);
    t.hc.send(port);
    t.guest.upcall(0);
    // Acked (pending cleared) and masked in the handler; the re-send ran after the unmask.
    expect(seen).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(t.guest.abi.isMasked(port)).toBe(false);
    const m = boot('modern');
    expect(m.guest.irqDesc(m.guest.bindEvtchnToIrq(m.loopback()))!.flow).toBe(IrqFlow.EDGE);
  });

  it('one scan pass per upcall: an event raised behind the scan waits for the next callback', () => {
    // Seed 000 xen_evtchn_do_upcall: evtchn_upcall_pending = 0 once, one xchg of the selector,
    // no outer loop (modern kernels loop while the flag is set again).
    const run = (era: LinuxEra, deliver: boolean) => {
      const t = boot(era, undefined, deliver);
      const ports = Array.from({ length: 70 }, () => t.loopback());
      const low = ports[0]!; // word 0
      const high = ports[69]!; // word 1 (64-bit words)
      expect([Math.floor(low / 64), Math.floor(high / 64)]).toEqual([0, 1]);
      const seen: number[] = [];
      for (const port of [low, high]) {
        t.guest.bindEvtchnToIrqhandler(
          port,
          () => {
            seen.push(port === low ? 0 : 1);
            if (port === high && seen.length === 1) t.hc.send(low); // a word this pass will not visit
            return IRQ_HANDLED;
          },
          0,
          `p${port}`,
          null,
        );
      }
      t.hc.send(high); // with delivery on, the send raises the callback, taken when the vCPU runs
      if (deliver) t.p.run(1_000_000);
      else t.guest.upcall(0);
      return { t, seen, flag: t.p.hypervisor.domain(DOMU)!.sharedInfo.upcallPending[0] };
    };
    const modern = run('modern', false);
    expect(modern.seen).toEqual([1, 0]);
    expect(modern.flag).toBe(0);
    // 2007, nobody re-delivers: the low port is left pending with the flag set.
    const old = run('2007', false);
    expect(old.seen).toEqual([1]);
    expect(old.flag).toBe(1);
    expect(old.t.guest.passes2007).toBe(1);
    old.t.guest.upcall(0);
    expect(old.seen).toEqual([1, 0]);
    // 2007 on an architecture that delivers: the flag brings a second callback (a second pass).
    const delivered = run('2007', true);
    expect(delivered.seen).toEqual([1, 0]);
    expect(delivered.flag).toBe(0);
    expect(delivered.t.guest.passes2007).toBe(2);
  });

  it('has no pirqs: a 2007-era pirq bind fails clearly with -ENOSYS and a warning', () => {
    // Seed 000: "4. Hardware interrupts. Not supported at present."
    const t = boot('2007');
    const warnings: string[] = [];
    t.p.bus.on('warn', (_src: string, msg: string) => warnings.push(msg));
    expect(t.guest.bindPirqGsiToIrq(20, 20, true, 'ioapic-level')).toBe(-Errno.ENOSYS);
    expect(t.guest.bindPirqMsiToIrq(60, 1, 'msi')).toBe(-Errno.ENOSYS);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(LINUX_2007_NO_PIRQS);
    expect(LINUX_2007_NO_PIRQS).toBe('Hardware interrupts. Not supported at present.');
    expect(t.guest.irqs2007!.irqBindcount.every((n) => n === 0)).toBe(true);
  });

  it('request_irq follows the 2007 rules', () => {
    const t = boot('2007');
    const port = t.loopback();
    const irq = t.guest.bindEvtchnToIrq(port);
    expect(t.guest.abi.isMasked(port)).toBe(true);
    expect(t.guest.requestIrq(irq, handler, IRQF_SHARED, 'a', null)).toBe(-Errno.EINVAL);
    expect(t.guest.requestIrq(LINUX_2007_NR_IRQS, handler, 0, 'a', 1)).toBe(-Errno.EINVAL);
    // An IRQ below NR_IRQS that nothing bound has no chip: -ENOSYS (modern: -EINVAL).
    expect(t.guest.requestIrq(100, handler, 0, 'a', 1)).toBe(-Errno.ENOSYS);
    expect(boot('modern').guest.requestIrq(100, handler, 0, 'a', 1)).toBe(-Errno.EINVAL);
    // The first action starts the IRQ: the port is unmasked.
    expect(t.guest.requestIrq(irq, handler, IRQF_SHARED, 'a', 1)).toBe(0);
    expect(t.guest.abi.isMasked(port)).toBe(false);
    expect(t.guest.requestIrq(irq, handler, 0, 'b', 2)).toBe(-Errno.EBUSY);
    // Shared actions must agree on the trigger type (IRQF_TRIGGER_RISING = 1).
    expect(t.guest.requestIrq(irq, handler, IRQF_SHARED | 1, 'c', 3)).toBe(-Errno.EBUSY);
    expect(t.guest.requestIrq(irq, handler, IRQF_SHARED, 'd', 4)).toBe(0);
    const other = t.guest.bindEvtchnToIrq(t.loopback());
    expect(t.guest.requestIrq(other, handler, 0, 'e', 5)).toBe(0);
    expect(t.guest.requestIrq(other, handler, IRQF_SHARED, 'f', 6)).toBe(-Errno.EBUSY);
  });
});
