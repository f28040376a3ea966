import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import {
  DOMID_SELF,
  Errno,
  VIRQ,
  VirtualClock,
  XenError,
  archNull,
  createPlatform,
  type EvtchnStatus,
  type EventAbi,
  type GuestContext,
  type PhysdevOps,
} from '@evtchn/core';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { describe, expect, it } from 'vitest';
import {
  IRQD_INPROGRESS,
  IRQF_PERCPU,
  IRQF_SHARED,
  IRQ_HANDLED,
  IrqType,
  MASK_REASON_EXPLICIT,
  XEN_EOI_FLAG_SPURIOUS,
  XenIpi,
  guestLinux,
  LinuxGuest,
  type IrqHandler,
} from './index.js';

type AbiName = '2level' | 'fifo';
const ABIS: AbiName[] = ['2level', 'fifo'];
const DOMU = 1;

/** A platform with dom0 and one domU, both running the Linux layer on `abi`. */
function boot(abi: AbiName, vcpus = 2, hz?: number) {
  const clock = new VirtualClock();
  const p = createPlatform({
    arch: archNull(),
    abis: abi === 'fifo' ? [abi2Level(), abiFifo()] : [abi2Level()],
    guest: guestLinux({ fifo: abi === 'fifo', hz }),
    domains: [
      { id: 0, vcpus: 1 },
      { id: DOMU, vcpus, pirqs: [20, 21] },
    ],
    clock,
  });
  const pd = p.domain(DOMU);
  const guest = pd.guest as LinuxGuest;
  const dom0 = p.domain(0);
  return {
    p,
    clock,
    hv: p.hypervisor,
    dom: pd.domain,
    guest,
    hc: pd.domain.hypercalls,
    dom0: dom0.guest as LinuxGuest,
    hc0: dom0.domain.hypercalls,
  };
}
type Env = ReturnType<typeof boot>;

/** An UNBOUND port of the domU looped back to itself (as the delivery replay does). */
function loopback(t: Env): number {
  const port = t.hc.allocUnbound(DOMID_SELF, DOMID_SELF);
  expect(port).toBeGreaterThan(0);
  expect(t.hv.bindLoopback(DOMU, port)).toBe(0);
  return port;
}

/** A handler that records the IRQs it ran for. */
function recorder(): { runs: number[]; handler: IrqHandler } {
  const runs: number[] = [];
  return {
    runs,
    handler: (irq) => {
      runs.push(irq);
      return IRQ_HANDLED;
    },
  };
}

function hvMasked(t: Env, port: number): boolean {
  return t.dom.abi.isMasked(port);
}
function hvPending(t: Env, port: number): boolean {
  return t.dom.abi.isPending(port);
}
function status(t: Env, port: number): EvtchnStatus {
  const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
  expect(t.hc.status(DOMID_SELF, port, out)).toBe(0);
  return out;
}

describe('boot', () => {
  it('picks FIFO when offered and preferred, else 2-level', () => {
    expect(boot('fifo').guest.abiName).toBe('fifo');
    expect(boot('2level').guest.abiName).toBe('2level');
  });

  it('falls back to 2-level when the FIFO guest set-up is refused', () => {
    const t = boot('2level');
    const refusingFifo: EventAbi = {
      name: 'fifo',
      maxPorts: () => 131072,
      createHypervisorSide: () => {
        throw new Error('unused');
      },
      createGuestSide: () => {
        throw new XenError('EVTCHNOP_init_control', -Errno.ENOSYS);
      },
    };
    const ctx: GuestContext = {
      domid: DOMU,
      nrCpus: 2,
      privileged: false,
      arch: 'none',
      hypercalls: t.hc,
      abis: [refusingFifo, new TwoLevelAbi()],
      abiContext: t.dom.abiGuestContext(),
      irqSpace: t.p.arch.createGuestIrqSpace({ domid: 7, nrCpus: 2, privileged: false }),
      clock: t.clock,
      bus: t.p.bus,
    };
    expect(new LinuxGuest(ctx).abiName).toBe('2level');
  });

  it('masks every 2-level channel at boot (no channel is live yet)', () => {
    const t = boot('2level');
    expect(hvMasked(t, 5)).toBe(true);
    expect(hvMasked(t, 4095)).toBe(true);
  });
});

describe.each(ABIS)('bind_evtchn_to_irq + request_irq (%s)', (abi) => {
  it('binds masked (EXPLICIT) on CPU 0 and request_irq unmasks and delivers', () => {
    const t = boot(abi);
    const port = loopback(t);
    const irq = t.guest.bindEvtchnToIrq(port);
    expect(irq).toBeGreaterThanOrEqual(0);
    const info = t.guest.irqInfo(irq)!;
    expect(info.type).toBe(IrqType.EVTCHN);
    expect(info.maskReason).toBe(MASK_REASON_EXPLICIT);
    expect(info.cpu).toBe(0);
    expect(t.guest.bindEvtchnToIrq(port)).toBe(irq);

    t.hc.send(port);
    t.guest.upcall(0);
    expect(hvPending(t, port)).toBe(true); // masked: not delivered

    const r = recorder();
    expect(t.guest.requestIrq(irq, r.handler, 0, 'dev', null)).toBe(0);
    expect(info.maskReason).toBe(0);
    expect(hvMasked(t, port)).toBe(false);
    t.guest.upcall(0);
    expect(r.runs).toEqual([irq]);
    expect(hvPending(t, port)).toBe(false);
    expect(t.guest.irqDesc(irq)!.kstat[0]).toBe(1);
  });

  it('lets a handler free its own IRQ and bind a new port that reuses the IRQ number', () => {
    const t = boot(abi);
    const first = loopback(t);
    const irq = t.guest.bindEvtchnToIrq(first);
    const old = t.guest.irqDesc(irq)!;
    let second = -1;
    const r = recorder();
    const freer: IrqHandler = () => {
      t.guest.freeIrq(irq, 'first');
      t.guest.unbindFromIrq(irq);
      second = loopback(t);
      expect(t.guest.bindEvtchnToIrq(second)).toBe(irq); // lowest free IRQ: the same number
      expect(t.guest.requestIrq(irq, r.handler, 0, 'second', 'second')).toBe(0);
      return IRQ_HANDLED;
    };
    expect(t.guest.requestIrq(irq, freer, 0, 'first', 'first')).toBe(0);
    t.hc.send(first);
    t.guest.upcall(0);
    // The old descriptor's flow finished on the old descriptor; the new one is untouched by it.
    const fresh = t.guest.irqDesc(irq)!;
    expect(fresh).not.toBe(old);
    expect(fresh.status & IRQD_INPROGRESS).toBe(0);
    expect(old.status & IRQD_INPROGRESS).toBe(0);
    expect(t.guest.irqInfo(irq)!.isActive).toBe(0);
    expect(t.guest.evtchnFromIrq(irq)).toBe(second);
    t.hc.send(second);
    t.guest.upcall(0);
    expect(r.runs).toEqual([irq]);
  });

  it('refuses ports beyond the ABI with -ENOMEM', () => {
    const t = boot(abi);
    expect(t.guest.bindEvtchnToIrq(t.guest.abi.maxChannels())).toBe(-Errno.ENOMEM);
  });

  it('leaves events of ports without an IRQ pending, and delivers them once bound', () => {
    const t = boot(abi);
    t.guest.bindEvtchnToIrq(loopback(t)); // FIFO: gives the event array its first page
    const port = loopback(t);
    t.hc.send(port);
    // Unmasked without an IRQ (as a user-space binding would leave it): the scan finds it.
    expect(t.hc.unmask(port)).toBe(0);
    const before = t.guest.stats.noIrq;
    t.guest.upcall(0);
    // FIFO's scan consumes (unlinks) it and hands it over; 2-level never scans a port that
    // no CPU handles. Either way nothing is handled and the event stays pending.
    expect(t.guest.stats.noIrq).toBe(before + (abi === 'fifo' ? 1 : 0));
    expect(hvPending(t, port)).toBe(true);
    t.guest.upcall(0);
    expect(hvPending(t, port)).toBe(true);
    const r = recorder();
    const irq = t.guest.bindEvtchnToIrqhandler(port, r.handler, 0, 'late', null);
    expect(irq).toBeGreaterThanOrEqual(0);
    t.hc.send(port);
    t.guest.upcall(0);
    expect(r.runs).toEqual([irq]);
    expect(hvPending(t, port)).toBe(false);
  });

  it('moves a port between CPUs with affinity (fewest channels wins)', () => {
    const t = boot(abi, 3);
    const r = recorder();
    const ports = [loopback(t), loopback(t), loopback(t)];
    const irqs = ports.map((p) => t.guest.bindEvtchnToIrqhandler(p, r.handler, 0, `p${p}`, null));
    expect(Array.from(t.guest.channelsOnCpu)).toEqual([3, 0, 0]);

    expect(t.guest.setIrqAffinity(irqs[0]!, [1])).toBe(0);
    expect(t.guest.irqInfo(irqs[0]!)!.cpu).toBe(1);
    expect(status(t, ports[0]!).vcpu).toBe(1);
    t.hc.send(ports[0]!);
    t.guest.upcall(0);
    expect(r.runs).toEqual([]);
    t.guest.upcall(1);
    expect(r.runs).toEqual([irqs[0]]);

    // CPU 1 has one channel, CPU 2 none: a mask of {1, 2} picks CPU 2.
    expect(t.guest.setIrqAffinity(irqs[1]!, [1, 2])).toBe(0);
    expect(t.guest.irqInfo(irqs[1]!)!.cpu).toBe(2);
    expect(Array.from(t.guest.channelsOnCpu)).toEqual([1, 1, 1]);

    // And back to CPU 0.
    expect(t.guest.setIrqAffinity(irqs[0]!, [0])).toBe(0);
    t.hc.send(ports[0]!);
    t.guest.upcall(1);
    expect(r.runs).toEqual([irqs[0]]);
    t.guest.upcall(0);
    expect(r.runs).toEqual([irqs[0], irqs[0]]);
  });

  it('keeps an explicitly masked port masked across a rebind', () => {
    const t = boot(abi);
    const r = recorder();
    const port = loopback(t);
    const irq = t.guest.bindEvtchnToIrqhandler(port, r.handler, 0, 'dev', null);
    t.guest.maskIrq(irq);
    expect(hvMasked(t, port)).toBe(true);
    t.guest.rebindIrqToCpu(irq, 1);
    expect(hvMasked(t, port)).toBe(true);
    t.hc.send(port);
    t.guest.upcall(1);
    expect(r.runs).toEqual([]);
    t.guest.unmaskIrq(irq);
    t.guest.upcall(1);
    expect(r.runs).toEqual([irq]);
  });

  it('replays an event that arrived while the IRQ was disabled', () => {
    const t = boot(abi);
    const r = recorder();
    const port = loopback(t);
    const irq = t.guest.bindEvtchnToIrqhandler(port, r.handler, 0, 'dev', null);
    t.guest.disableIrq(irq);
    t.hc.send(port);
    t.guest.upcall(0);
    expect(r.runs).toEqual([]);
    t.guest.enableIrq(irq);
    t.guest.upcall(0);
    expect(r.runs).toEqual([irq]);
  });

  it('unbinds in the safe order: mapping and ABI state gone before EVTCHNOP_close', () => {
    const t = boot(abi);
    const port = loopback(t);
    const r = recorder();
    const irq = t.guest.bindEvtchnToIrqhandler(port, r.handler, 0, 'dev', 'cookie');
    const realClose = t.hc.close.bind(t.hc);
    const seen: number[] = [];
    (t.hc as { close: (p: number) => number }).close = (p: number) => {
      seen.push(t.guest.irqFromEvtchn(p));
      return realClose(p);
    };
    t.guest.unbindFromIrqhandler(irq, 'cookie');
    expect(seen).toEqual([-1]);
    expect(status(t, port).status).toBe('closed');
    expect(t.guest.irqDesc(irq)).toBeUndefined();
    expect(Array.from(t.guest.channelsOnCpu)).toEqual([0, 0]);
  });
});

describe('request_irq / free_irq rules', () => {
  function bound(t: Env): number {
    const irq = t.guest.bindEvtchnToIrq(loopback(t));
    expect(irq).toBeGreaterThanOrEqual(0);
    return irq;
  }

  it('checks its arguments', () => {
    const t = boot('2level');
    const irq = bound(t);
    const r = recorder();
    expect(t.guest.requestIrq(irq, r.handler, IRQF_SHARED, 'a', undefined)).toBe(-Errno.EINVAL);
    expect(t.guest.requestIrq(1 << 20, r.handler, 0, 'a', 1)).toBe(-Errno.EINVAL);
    expect(t.guest.requestIrq(irq + 100, r.handler, 0, 'a', 1)).toBe(-Errno.EINVAL);
    expect(t.guest.requestIrq(irq, undefined as unknown as IrqHandler, 0, 'a', 1)).toBe(-Errno.EINVAL);
    expect(t.guest.irqDesc(irq)!.action).toBeNull();
  });

  it('shares only when every action is SHARED, runs them all, frees by devId', () => {
    const t = boot('2level');
    const irq = bound(t);
    const port = t.guest.evtchnFromIrq(irq);
    const a = recorder();
    const b = recorder();
    const c = recorder();
    expect(t.guest.requestIrq(irq, a.handler, IRQF_SHARED, 'a', 'A')).toBe(0);
    expect(t.guest.requestIrq(irq, b.handler, 0, 'b', 'B')).toBe(-Errno.EBUSY);
    expect(t.guest.requestIrq(irq, b.handler, IRQF_SHARED | IRQF_PERCPU, 'b', 'B')).toBe(-Errno.EBUSY);
    expect(t.guest.requestIrq(irq, b.handler, IRQF_SHARED, 'b', 'B')).toBe(0);
    expect(t.guest.requestIrq(irq, c.handler, IRQF_SHARED, 'c', 'C')).toBe(0);
    expect(t.guest.procInterrupts()).toMatch(/xen-dyn\s+-event\s+a, b, c\n/);
    expect(t.guest.procInterruptsTable().rows.find((x) => x.irq === irq)).toMatchObject({ chip: 'xen-dyn', handler: 'event', actions: ['a', 'b', 'c'] });

    t.hc.send(port);
    t.guest.upcall(0);
    expect([a.runs.length, b.runs.length, c.runs.length]).toEqual([1, 1, 1]);

    expect(t.guest.freeIrq(irq, 'B')).toBe('b');
    expect(t.guest.freeIrq(irq, 'B')).toBeUndefined();
    t.hc.send(port);
    t.guest.upcall(0);
    expect([a.runs.length, b.runs.length, c.runs.length]).toEqual([2, 1, 2]);

    expect(hvMasked(t, port)).toBe(false);
    t.guest.freeIrq(irq, 'A');
    expect(hvMasked(t, port)).toBe(false);
    t.guest.freeIrq(irq, 'C');
    expect(hvMasked(t, port)).toBe(true); // the last free_irq shut the IRQ down
    expect(t.guest.irqInfo(irq)!.maskReason).toBe(MASK_REASON_EXPLICIT);
  });

  it('refuses a second non-shared action', () => {
    const t = boot('fifo');
    const irq = bound(t);
    const r = recorder();
    expect(t.guest.requestIrq(irq, r.handler, 0, 'a', null)).toBe(0);
    expect(t.guest.requestIrq(irq, r.handler, 0, 'b', null)).toBe(-Errno.EBUSY);
    expect(t.guest.requestIrq(irq, r.handler, IRQF_SHARED, 'b', 'x')).toBe(-Errno.EBUSY);
  });
});

describe('refcounted ports (evtchn_make_refcounted / evtchn_get / evtchn_put)', () => {
  it('unbinds only on the last reference', () => {
    const t = boot('2level');
    const port = loopback(t);
    const irq = t.guest.bindEvtchnToIrq(port);
    expect(t.guest.evtchnGet(port)).toBe(-Errno.EINVAL); // not refcounted yet
    expect(t.guest.evtchnMakeRefcounted(port)).toBe(0);
    expect(t.guest.evtchnGet(port)).toBe(0);
    expect(t.guest.evtchnGet(port)).toBe(0);
    expect(t.guest.irqInfo(irq)!.refcount).toBe(3);

    t.guest.evtchnPut(port);
    t.guest.evtchnPut(port);
    expect(t.guest.irqFromEvtchn(port)).toBe(irq);
    expect(status(t, port).status).toBe('interdomain');

    t.guest.evtchnPut(port);
    expect(t.guest.irqFromEvtchn(port)).toBe(-1);
    expect(status(t, port).status).toBe('closed');
    expect(t.guest.evtchnGet(port)).toBe(-Errno.ENOENT);
    expect(t.guest.evtchnGet(t.guest.abi.maxChannels())).toBe(-Errno.EINVAL);
  });

  it('counts a SHARED re-bind of a refcounted port, and leaves static ports open', () => {
    const t = boot('2level');
    const port = loopback(t);
    const r = recorder();
    const irq = t.guest.bindEvtchnToIrq(port);
    expect(t.guest.evtchnMakeRefcounted(port, true)).toBe(0);
    expect(t.guest.bindEvtchnToIrqhandler(port, r.handler, IRQF_SHARED, 'a', 'A')).toBe(irq);
    expect(t.guest.irqInfo(irq)!.refcount).toBe(2);
    t.guest.unbindFromIrqhandler(irq, 'A');
    expect(t.guest.irqFromEvtchn(port)).toBe(irq);
    t.guest.unbindFromIrq(irq);
    expect(t.guest.irqFromEvtchn(port)).toBe(-1);
    expect(status(t, port).status).toBe('interdomain'); // static: not closed
  });
});

describe.each(ABIS)('VIRQs and IPIs (%s)', (abi) => {
  it('binds a per-CPU timer VIRQ, handles it with the percpu flow and reports its port', () => {
    const t = boot(abi);
    const r = recorder();
    const irq = t.guest.bindVirqToIrqhandler(VIRQ.TIMER, 1, r.handler, IRQF_PERCPU, 'timer1', null);
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(t.guest.bindVirqToIrq(VIRQ.TIMER, 1, true)).toBe(irq);
    expect(t.guest.irqDesc(irq)!.chip!.name).toBe('xen-percpu');
    const port = t.guest.evtchnFromIrq(irq);
    expect(t.guest.timerPort(1)).toBe(port);
    expect(t.guest.timerPort(0)).toBe(0);
    t.hv.raiseVirq(DOMU, VIRQ.TIMER, 1);
    t.guest.upcall(1);
    t.hv.raiseVirq(DOMU, VIRQ.TIMER, 1);
    t.guest.upcall(1);
    expect(r.runs).toEqual([irq, irq]);
    // Per-vCPU VIRQs cannot move: the rebind reports success but nothing moves.
    expect(t.guest.rebindIrqToCpu(irq, 0)).toBe(0);
    expect(t.guest.irqInfo(irq)!.cpu).toBe(1);
    expect(t.guest.setIrqAffinity(irq, [0])).toBe(-Errno.EINVAL);

    t.guest.unbindFromIrqhandler(irq, null);
    expect(t.guest.irqFromVirq(1, VIRQ.TIMER)).toBe(-1);
    expect(t.guest.timerPort(1)).toBe(0);
    expect(status(t, port).status).toBe('closed');
  });

  it('recovers a VIRQ bound behind its back (-EEXIST) by scanning EVTCHNOP_status', () => {
    const t = boot(abi);
    loopback(t);
    const port = t.hc.bindVirq(VIRQ.DEBUG, 1);
    expect(port).toBeGreaterThan(0);
    const irq = t.guest.bindVirqToIrq(VIRQ.DEBUG, 1, false);
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(t.guest.evtchnFromIrq(irq)).toBe(port);
    expect(t.guest.irqDesc(irq)!.chip!.name).toBe('xen-dyn');
  });

  it('sends IPIs to the target CPU only', () => {
    const t = boot(abi);
    const r = recorder();
    const irq = t.guest.bindIpiToIrqhandler(XenIpi.CALL_FUNCTION, 1, r.handler, 0, 'callfunc1', null);
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(t.guest.irqFromIpi(1, XenIpi.CALL_FUNCTION)).toBe(irq);
    expect(t.guest.sendIpi(1, XenIpi.CALL_FUNCTION)).toBe(0);
    expect(t.guest.sendIpi(0, XenIpi.CALL_FUNCTION)).toBe(-Errno.EINVAL);
    t.guest.upcall(0);
    expect(r.runs).toEqual([]);
    t.guest.upcall(1);
    expect(r.runs).toEqual([irq]);
    t.guest.unbindFromIrqhandler(irq, null);
    expect(t.guest.irqFromIpi(1, XenIpi.CALL_FUNCTION)).toBe(-1);
    expect(t.guest.sendIpi(1, XenIpi.CALL_FUNCTION)).toBe(-Errno.EINVAL);
  });
});

describe('interdomain and notify', () => {
  it('binds an interdomain channel and notifies the other end through the IRQ', () => {
    const t = boot('fifo');
    const backPort = t.hc0.allocUnbound(DOMID_SELF, DOMU);
    const front = recorder();
    const irq = t.guest.bindInterdomainEvtchnToIrqhandler(0, backPort, front.handler, 0, 'front', null);
    expect(irq).toBeGreaterThanOrEqual(0);
    // bind_interdomain sets the local port pending at once.
    t.guest.upcall(0);
    expect(front.runs).toEqual([irq]);
    const back = recorder();
    const backIrq = t.dom0.bindEvtchnToIrqhandler(backPort, back.handler, 0, 'back', null);
    expect(t.guest.notifyRemoteViaIrq(irq)).toBe(0);
    t.dom0.upcall(0);
    expect(back.runs).toEqual([backIrq]);
    expect(t.dom0.notifyRemoteViaIrq(backIrq)).toBe(0);
    t.guest.upcall(0);
    expect(front.runs).toEqual([irq, irq]);
    expect(t.guest.notifyRemoteViaIrq(9999)).toBe(0);
  });

  it('sets FIFO priorities through the IRQ and reports -ENOSYS on 2-level', () => {
    const f = boot('fifo');
    const fi = f.guest.bindEvtchnToIrq(loopback(f));
    expect(f.guest.setIrqPriority(fi, 3)).toBe(0);
    expect(f.guest.setIrqPriority(fi, 16)).toBe(-Errno.EINVAL);
    const l = boot('2level');
    const li = l.guest.bindEvtchnToIrq(loopback(l));
    expect(l.guest.setIrqPriority(li, 3)).toBe(-Errno.ENOSYS);
  });
});

describe('pirqs', () => {
  it('binds the port lazily at startup, handles with fasteoi when shareable, closes at shutdown', () => {
    const t = boot('2level');
    const irq = t.guest.bindPirqGsiToIrq(20, 20, true, 'ioapic-level');
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(t.guest.bindPirqGsiToIrq(20, 20, true, 'ioapic-level')).toBe(irq);
    expect(t.guest.evtchnFromIrq(irq)).toBe(0);
    const r = recorder();
    expect(t.guest.requestIrq(irq, r.handler, IRQF_SHARED, 'eth0', 'nic')).toBe(0);
    const port = t.guest.evtchnFromIrq(irq);
    expect(port).toBeGreaterThan(0);
    expect(status(t, port)).toMatchObject({ status: 'pirq', pirq: 20 });
    expect(t.hv.sendGuestPirq(DOMU, 20)).toBe(port);
    t.guest.upcall(0);
    expect(r.runs).toEqual([irq]);
    expect(hvPending(t, port)).toBe(false);
    expect(t.guest.procInterrupts()).toMatch(/xen-pirq\s+-ioapic-level\s+eth0\n/);
    // The same row as data (for JSON output): chip, flow name and actions apart, counts per CPU.
    const row = t.guest.procInterruptsTable().rows.find((x) => x.irq === irq);
    expect(row).toEqual({ irq, counts: [1, 0].slice(0, t.guest.procInterruptsTable().cpus.length), chip: 'xen-pirq', handler: 'ioapic-level', actions: ['eth0'] });
    t.guest.freeIrq(irq, 'nic');
    expect(t.guest.evtchnFromIrq(irq)).toBe(0);
    expect(status(t, port).status).toBe('closed');
  });

  it('sends PHYSDEVOP_eoi after each event when the pirq needs it', () => {
    const t = boot('2level');
    const eois: number[] = [];
    const physdev: PhysdevOps = {
      eoi: (pirq) => {
        eois.push(pirq);
        return 0;
      },
      irqStatusQuery: () => 1,
    };
    const ctx: GuestContext = {
      domid: DOMU,
      nrCpus: 2,
      privileged: false,
      arch: 'none',
      hypercalls: t.hc,
      physdev,
      abis: [new TwoLevelAbi()],
      abiContext: t.dom.abiGuestContext(),
      irqSpace: t.p.arch.createGuestIrqSpace({ domid: DOMU, nrCpus: 2, privileged: false }),
      clock: t.clock,
      bus: t.p.bus,
    };
    const guest = new LinuxGuest(ctx);
    t.dom.attachGuest(guest);
    const irq = guest.bindPirqGsiToIrq(21, 21, false, 'ioapic-edge');
    const r = recorder();
    expect(guest.requestIrq(irq, r.handler, 0, 'disk', null)).toBe(0);
    const atStartup = eois.length;
    expect(atStartup).toBe(1); // startup EOIs once
    t.hv.sendGuestPirq(DOMU, 21);
    guest.upcall(0);
    expect(r.runs).toEqual([irq]);
    expect(eois).toEqual([21, 21]);
  });
});

describe('late EOI', () => {
  function lateeoiEnv(hz = 250) {
    const t = boot('2level', 1, hz);
    const backPort = t.hc0.allocUnbound(DOMID_SELF, DOMU);
    let spurious = true;
    const runs: number[] = [];
    let irq = -1;
    irq = t.guest.bindInterdomainEvtchnToIrqhandlerLateeoi(
      0,
      backPort,
      () => {
        runs.push(t.guest.jiffies());
        t.guest.lateEoi(irq, spurious ? XEN_EOI_FLAG_SPURIOUS : 0);
        return IRQ_HANDLED;
      },
      0,
      'storm',
      null,
    );
    expect(irq).toBeGreaterThanOrEqual(0);
    expect(t.guest.irqDesc(irq)!.chip!.name).toBe('xen-dyn-lateeoi');
    const jiffyNs = 1e9 / hz;
    /** One jiffy of a flood: timers run, the backend sends, the guest takes the upcall. */
    const tick = (): void => {
      t.clock.runUntil(t.clock.now() + jiffyNs);
      t.hc0.send(backPort);
      t.guest.upcall(0);
    };
    return {
      t,
      irq,
      runs,
      tick,
      setSpurious: (s: boolean) => {
        spurious = s;
      },
    };
  }

  it('backs off a flood of spurious events exponentially, capped at HZ, and recovers', () => {
    const hz = 250;
    const e = lateeoiEnv(hz);
    e.runs.length = 0;
    while (e.runs.length < 13) e.tick();
    const gaps = e.runs.slice(1).map((j, i) => j - e.runs[i]!);
    // Every spurious EOI counts one more (until 2^cnt ≥ 4·HZ); past the threshold (1) the
    // next EOI waits 2^(cnt-2) jiffies, capped at HZ; below it the next tick gets through.
    const expected: number[] = [];
    let cnt = 0;
    for (let k = 0; k < 12; k++) {
      if (1 << cnt < hz * 4) cnt++;
      expected.push(cnt > 1 ? Math.min(2 ** (cnt - 2), hz) : 1);
    }
    expect(gaps).toEqual(expected);
    expect(Math.max(...gaps)).toBe(hz);

    // A non-spurious EOI resets the count: events flow every jiffy again.
    e.setSpurious(false);
    e.runs.length = 0;
    while (e.runs.length < 2) e.tick(); // the pending delayed EOI drains first
    e.runs.length = 0;
    for (let i = 0; i < 4; i++) e.tick();
    expect(e.runs.length).toBe(4);
    expect(e.t.guest.irqInfo(e.irq)!.spuriousCnt).toBe(0);
  });

  it('keeps the port masked (EOI_PENDING) while the EOI waits', () => {
    const e = lateeoiEnv();
    const port = e.t.guest.evtchnFromIrq(e.irq);
    e.tick();
    e.tick();
    const waiting = e.t.guest.pendingEois(0);
    expect(waiting.map((i) => i.irq)).toEqual([e.irq]);
    expect(hvMasked(e.t, port)).toBe(true);
  });
});

describe('upcall loop deadline', () => {
  it('defers the EOIs of a loop that runs past its deadline', () => {
    const t = boot('2level', 1);
    const n = 600;
    const jiffyNs = 1e9 / 250;
    const irqs: number[] = [];
    let handled = 0;
    for (let i = 0; i < n; i++) {
      const port = loopback(t);
      let irq = -1;
      irq = t.guest.bindEvtchnToIrqhandlerLateeoi(
        port,
        () => {
          handled++;
          // Each handler takes a tenth of a jiffy, then EOIs at once.
          t.clock.runUntil(t.clock.now() + jiffyNs / 10);
          t.guest.lateEoi(irq, 0);
          return IRQ_HANDLED;
        },
        0,
        `p${port}`,
        null,
      );
      irqs.push(irq);
      t.hc.send(port);
    }
    t.guest.upcall(0);
    expect(handled).toBe(n);
    // The deadline is set at the 256th event (2 jiffies later) and found passed at the 512th:
    // from then on EOIs wait on the list instead of unmasking at once.
    const deferred = t.guest.pendingEois(0);
    expect(deferred.length).toBe(n - 511);
    expect(deferred[0]!.irq).toBe(irqs[511]);
    const port = t.guest.evtchnFromIrq(irqs[599]!);
    expect(hvMasked(t, port)).toBe(true);
    t.clock.runUntil(t.clock.now() + 11 * jiffyNs);
    expect(t.guest.pendingEois(0).length).toBe(0);
    expect(hvMasked(t, port)).toBe(false);
  });
});

describe('/proc/interrupts', () => {
  it('lists IRQs with per-CPU counts, chip, flow name and action', () => {
    const t = boot('2level', 2);
    const r = recorder();
    const port = loopback(t);
    const irq = t.guest.bindEvtchnToIrqhandler(port, r.handler, 0, 'xenbus', null);
    t.guest.bindEvtchnToIrq(loopback(t)); // no action, never fired: not listed
    t.guest.setIrqAffinity(irq, [1]);
    t.hc.send(port);
    t.guest.upcall(1);
    t.hc.send(port);
    t.guest.upcall(1);
    const lines = t.guest.procInterrupts().split('\n');
    expect(lines[0]).toMatch(/^\s+CPU0\s+CPU1\s*$/);
    const row = lines.find((l) => l.trim().startsWith(`${irq}:`));
    expect(row).toBeDefined();
    const fields = row!.trim().split(/\s+/);
    expect(fields).toEqual([`${irq}:`, '0', '2', 'xen-dyn', '-event', 'xenbus']);
    expect(lines.filter((l) => l.includes('xen-dyn')).length).toBe(1);
  });
});
