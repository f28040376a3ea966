/*
 * The hypervisor's outer surface: the bound hypercall handle of a domain that is gone, the
 * platform events the core publishes, VIRQ raising from the platform side, domain destruction
 * and reset seen from the peers, and the raw struct interface's outputs. Real core, real ABIs.
 */
import { describe, expect, it } from 'vitest';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import { DOMID_SELF, ECS, EVTCHNOP, Errno, Hypervisor, PlatformEventBus, VIRQ, nullArchitecture, type EvtchnStatus } from '@evtchn/core';

const { EINVAL, ESRCH, ENOSYS } = Errno;

function world(fifo = false) {
  const bus = new PlatformEventBus();
  const hv = Hypervisor.create({ arch: nullArchitecture(), abis: fifo ? [new TwoLevelAbi(), new FifoAbi()] : [new TwoLevelAbi()], bus });
  hv.createDomain({ id: 0, vcpus: 2, privileged: true });
  hv.createDomain({ id: 1, vcpus: 2, pirqs: [3, 7] });
  hv.createDomain({ id: 2, vcpus: 1 });
  return { hv, bus };
}

const pending = (hv: Hypervisor, dom: number, port: number) => hv.query(dom, port).pending;

describe('the bound hypercall handle', () => {
  it('answers -ESRCH for every op once its domain is destroyed, even after the id is reused', () => {
    const { hv } = world();
    const h = hv.evtchn(2);
    const port = h.allocUnbound(DOMID_SELF, 0);
    expect(port).toBeGreaterThan(0);
    expect(hv.destroy(2)).toBe(0);
    hv.createDomain({ id: 2, vcpus: 1 });
    const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
    const results = [
      h.allocUnbound(DOMID_SELF, 0),
      h.bindInterdomain(0, 1),
      h.bindVirq(VIRQ.TIMER, 0),
      h.bindPirq(1, 0),
      h.bindIpi(0),
      h.close(port),
      h.send(port),
      h.status(DOMID_SELF, port, out),
      h.bindVcpu(port, 0),
      h.unmask(port),
      h.reset(DOMID_SELF),
      h.resetCont(DOMID_SELF),
      h.initControl(1, 0, 0),
      h.expandArray(1),
      h.setPriority(port, 0),
    ];
    expect(results).toEqual(results.map(() => -ESRCH));
    // The new domain 2 has a handle of its own that works.
    expect(hv.evtchn(2).allocUnbound(DOMID_SELF, 0)).toBe(1);
  });

  it('answers -ESRCH for a domain that never existed, and -EINVAL for fields a C struct could not hold', () => {
    const { hv } = world();
    const h0 = hv.evtchn(1);
    expect(hv.evtchn(9).send(1)).toBe(-ESRCH);
    for (const gfn of [-1, 1.5, Number.NaN, 2 ** 64]) expect(h0.initControl(gfn, 0, 0)).toBe(-EINVAL);
    expect(h0.initControl(2 ** 32, 0, 0)).toBe(-Errno.EOPNOTSUPP); // a 64-bit gfn: on to the ABI (2-level has no init_control)
    expect(hv.evtchn(9).bindIpi(0)).toBe(-ESRCH);
    const h = hv.evtchn(1);
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(h.close(bad)).toBe(-EINVAL);
      expect(h.send(bad)).toBe(-EINVAL);
      expect(h.unmask(bad)).toBe(-EINVAL);
      expect(h.initControl(1, bad, 0)).toBe(-EINVAL);
      expect(h.initControl(1, 0, bad)).toBe(-EINVAL);
    }
  });
});

describe('platform events published by the core', () => {
  it('announces binds, closes, pending ports, upcalls and destruction only to listeners', () => {
    const { hv, bus } = world();
    const seen: string[] = [];
    const on = <A extends unknown[]>(name: string) => (...a: A) => seen.push(`${name} ${a.join(',')}`);
    bus.on('evtchn:bind', on('bind'));
    bus.on('evtchn:close', on('close'));
    bus.on('evtchn:pending', on('pending'));
    bus.on('upcall:deliver', on('upcall'));
    bus.on('domain:destroyed', on('destroyed'));
    const h = hv.evtchn(1);
    const ipi = h.bindIpi(1);
    expect(h.unmask(ipi)).toBe(0);
    expect(h.send(ipi)).toBe(0);
    expect(h.send(ipi)).toBe(0); // already pending: no second upcall
    expect(h.close(ipi)).toBe(0);
    expect(hv.destroy(2)).toBe(0);
    expect(seen).toEqual([`bind 1,${ipi},${ECS.IPI}`, `pending 1,${ipi},1`, 'upcall 1,1', `pending 1,${ipi},1`, `close 1,${ipi}`, 'destroyed 2']);
  });

  it('passes the ABI warnings on as warn events naming the domain', () => {
    const { hv, bus } = world(true);
    const warnings: string[] = [];
    bus.on('warn', (source, message) => warnings.push(`${source}: ${message}`));
    const h = hv.evtchn(1);
    const mem = hv.domain(1)!.memory;
    expect(h.initControl(mem.allocate(), 0, 0)).toBeGreaterThanOrEqual(0); // FIFO for domain 1, vCPU 0 only
    expect(h.expandArray(mem.allocate())).toBe(0);
    const port = h.bindIpi(1); // notifies vCPU 1, which has no control block
    hv.domain(1)!.abi.unmask(port);
    expect(h.send(port)).toBe(0);
    expect(warnings.some((w) => w.startsWith('xen d1: ') && /no FIFO event channel control block/.test(w))).toBe(true);
  });
});

describe('raising VIRQs from the platform side', () => {
  it('raises a per-vCPU VIRQ on that vCPU\'s binding and a global one on vCPU 0\'s; ignores what cannot be raised', () => {
    const { hv } = world();
    const h = hv.evtchn(1);
    const timer1 = h.bindVirq(VIRQ.TIMER, 1);
    const debug = h.bindVirq(VIRQ.DEBUG, 1);
    const console0 = hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0); // global: bound by the handler domain, on vCPU 0
    for (const p of [timer1, debug, console0]) expect(p).toBeGreaterThan(0);
    for (const p of [timer1, debug]) h.unmask(p);
    hv.evtchn(0).unmask(console0);
    hv.raiseVirq(1, VIRQ.TIMER, 0); // vCPU 0 has no timer binding
    expect(pending(hv, 1, timer1)).toBe(false);
    hv.raiseVirq(1, VIRQ.TIMER, 1);
    expect(pending(hv, 1, timer1)).toBe(true);
    hv.raiseVirq(0, VIRQ.CONSOLE, 1); // global: vCPU 0's binding, whatever vCPU is named
    expect(pending(hv, 0, console0)).toBe(true);
    hv.raiseVirq(1, VIRQ.DEBUG, 5); // no vCPU 5
    hv.raiseVirq(1, VIRQ.DEBUG, -1);
    hv.raiseVirq(1, VIRQ.DEBUG, 1.5);
    hv.raiseVirq(1, 24, 1); // no such VIRQ
    hv.raiseVirq(1, -1, 1);
    hv.raiseVirq(9, VIRQ.DEBUG, 1); // no such domain
    expect(pending(hv, 1, debug)).toBe(false);
    hv.raiseVirq(1, VIRQ.DEBUG, 1);
    expect(pending(hv, 1, debug)).toBe(true);
  });

  it('sends a global VIRQ to the handler domain, dom0 by default, nobody once dom0 is gone', () => {
    const { hv } = world();
    const p0 = hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-Errno.EBUSY); // not its handler
    hv.evtchn(0).unmask(p0);
    hv.sendGlobalVirq(VIRQ.CONSOLE);
    expect(pending(hv, 0, p0)).toBe(true);
    expect(hv.evtchn(0).close(p0)).toBe(0);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0); // already the handler
    const p1 = hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0);
    expect(p1).toBeGreaterThan(0);
    hv.evtchn(1).unmask(p1);
    hv.sendGlobalVirq(VIRQ.CONSOLE);
    expect(pending(hv, 1, p1)).toBe(true);
    // Destroying the handler domain hands the VIRQ back to dom0; without dom0, nobody gets it.
    expect(hv.destroy(1)).toBe(0);
    expect(hv.globalVirqHandlerOf(VIRQ.CONSOLE)?.id).toBe(0);
    expect(hv.destroy(0)).toBe(0);
    expect(hv.globalVirqHandlerOf(VIRQ.CONSOLE)).toBeUndefined();
    hv.sendGlobalVirq(VIRQ.CONSOLE);
  });

  it('sends a guest pirq to its bound port, and reports 0 when none is bound', () => {
    const { hv } = world();
    const h = hv.evtchn(1);
    expect(hv.sendGuestPirq(1, 7)).toBe(0);
    expect(hv.sendGuestPirq(9, 7)).toBe(0);
    const port = h.bindPirq(7, 0);
    expect(port).toBeGreaterThan(0);
    h.unmask(port);
    expect(hv.sendGuestPirq(1, 7)).toBe(port);
    expect(pending(hv, 1, port)).toBe(true);
  });
});

describe('destroy and reset, seen from the peers', () => {
  it('destroy closes every port: interdomain peers go back to UNBOUND for the dead domain; the handle detaches', () => {
    const { hv } = world();
    const back = hv.evtchn(1).allocUnbound(DOMID_SELF, 0);
    const front = hv.evtchn(0).bindInterdomain(1, back);
    const last = hv.evtchn(1).bindIpi(0);
    for (let i = 0; i < 70; i++) hv.evtchn(1).bindIpi(0); // ports in a second bucket too
    expect(hv.destroy(1)).toBe(0);
    expect(hv.destroy(1)).toBe(-ESRCH);
    expect(hv.eventChannelOp(0, EVTCHNOP.status, { dom: DOMID_SELF, port: front })).toMatchObject({ rc: 0, status: 'unbound', dom: 1 });
    expect(hv.domain(1)).toBeUndefined();
    expect(last).toBeGreaterThan(back);
    expect(hv.allDomains().map((d) => d.id)).toEqual([0, 2]);
  });

  it('keeps allDomains in id order whatever the creation order', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
    for (const id of [5, 1, 3]) hv.createDomain({ id });
    expect(hv.allDomains().map((d) => d.id)).toEqual([1, 3, 5]);
  });

  it('reset closes every port but 0 and returns a FIFO domain to the base ABI', () => {
    const { hv } = world(true);
    const h = hv.evtchn(1);
    const mem = hv.domain(1)!.memory;
    expect(h.initControl(mem.allocate(), 0, 0)).toBeGreaterThanOrEqual(0);
    expect(hv.domain(1)!.abi.name).toBe('fifo');
    const ports = [h.bindIpi(0), h.bindIpi(1), h.allocUnbound(DOMID_SELF, 0)];
    expect(h.reset(DOMID_SELF)).toBe(0);
    expect(hv.domain(1)!.abi.name).toBe('2level');
    for (const port of ports) expect(hv.eventChannelOp(1, EVTCHNOP.status, { dom: DOMID_SELF, port })).toMatchObject({ rc: 0, status: 'closed' });
    expect(hv.domain(1)!.channels.state[0]).toBe(ECS.RESERVED);
  });
});

describe('closing and moving ports', () => {
  it('frees a port looped back to itself instead of leaving it UNBOUND for itself', () => {
    const { hv } = world();
    const h = hv.evtchn(1);
    const port = h.allocUnbound(DOMID_SELF, DOMID_SELF);
    expect(hv.bindLoopback(1, port)).toBe(0);
    expect(h.close(port)).toBe(0);
    expect(hv.eventChannelOp(1, EVTCHNOP.status, { dom: DOMID_SELF, port })).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(h.allocUnbound(DOMID_SELF, 0)).toBe(port); // the lowest free port again
  });

  it('moves an interdomain port to another vCPU (bind_vcpu), and unbinds a VIRQ bound on a later vCPU', () => {
    const { hv } = world();
    const back = hv.evtchn(1).allocUnbound(DOMID_SELF, 0);
    const front = hv.evtchn(0).bindInterdomain(1, back);
    expect(hv.evtchn(0).bindVcpu(front, 1)).toBe(0);
    expect(hv.eventChannelOp(0, EVTCHNOP.status, { dom: DOMID_SELF, port: front })).toMatchObject({ status: 'interdomain', vcpu: 1 });
    const timer = hv.evtchn(1).bindVirq(VIRQ.TIMER, 1);
    expect(hv.evtchn(1).close(timer)).toBe(0);
    expect(hv.domain(1)!.virqToPort.every((p) => p === 0)).toBe(true);
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 1)).toBe(timer); // bindable again
  });
});

describe('the raw struct interface', () => {
  it('returns -ENOSYS for a command that is not an EVTCHNOP number', () => {
    const { hv } = world();
    for (const cmd of [-1, 1.5, 2 ** 32, 99]) expect(hv.eventChannelOp(1, cmd, {})).toEqual({ rc: -ENOSYS });
  });

  it('returns -EFAULT for a struct that is not an object', () => {
    const { hv } = world();
    expect(hv.eventChannelOp(1, EVTCHNOP.send, null as never)).toEqual({ rc: -Errno.EFAULT });
    expect(hv.eventChannelOp(1, EVTCHNOP.send, 5 as never)).toEqual({ rc: -Errno.EFAULT });
  });

  it('returns each status with exactly the fields of its kind', () => {
    const { hv } = world();
    const h = hv.evtchn(1);
    const status = (port: number) => hv.eventChannelOp(1, EVTCHNOP.status, { dom: DOMID_SELF, port });
    const unbound = h.allocUnbound(DOMID_SELF, 0);
    const front = hv.evtchn(0).bindInterdomain(1, h.allocUnbound(DOMID_SELF, 0));
    const virq = h.bindVirq(VIRQ.TIMER, 1);
    const pirq = h.bindPirq(3, 0);
    const ipi = h.bindIpi(1);
    expect(status(unbound)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 0 });
    expect(hv.eventChannelOp(0, EVTCHNOP.status, { dom: DOMID_SELF, port: front })).toEqual({ rc: 0, status: 'interdomain', vcpu: 0, dom: 1, port: unbound + 1 });
    expect(status(virq)).toEqual({ rc: 0, status: 'virq', vcpu: 1, virq: VIRQ.TIMER });
    expect(status(pirq)).toEqual({ rc: 0, status: 'pirq', vcpu: 0, pirq: 3 });
    expect(status(ipi)).toEqual({ rc: 0, status: 'ipi', vcpu: 1 });
    expect(status(60)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(status(64)).toEqual({ rc: -EINVAL });
  });

  it('returns the port of a successful bind and only rc for a failed one', () => {
    const { hv } = world();
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_ipi, { vcpu: 0 })).toEqual({ rc: 0, port: 1 });
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_ipi, { vcpu: 7 })).toEqual({ rc: -Errno.ENOENT }); // no such vCPU (evtchn_bind_ipi)
    expect(hv.eventChannelOp(1, EVTCHNOP.close, { port: 1 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.close, { port: 1 })).toEqual({ rc: -EINVAL }); // ECS_FREE (evtchn_close)
    expect(hv.eventChannelOp(1, EVTCHNOP.close, { port: 99 })).toEqual({ rc: -EINVAL });
  });
});
