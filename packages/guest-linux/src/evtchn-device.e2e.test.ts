import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { DOMID_SELF, Errno, VIRQ, archNull, createPlatform, type EvtchnStatus } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { EFBIG, ENOTCONN, EVTCHN_RING_SIZE, IRQ_HANDLED, guestLinux, type LinuxEra, type LinuxGuest } from './index.js';

const BACKEND = 0;
const FRONTEND = 1;

/** A back-end domain (dom0) using the device and a front-end domU using IRQs. */
function boot(abi: '2level' | 'fifo', era: LinuxEra = 'modern', evtchnRingSize?: number) {
  const p = createPlatform({
    arch: archNull(),
    abis: abi === 'fifo' ? [abiFifo(), abi2Level()] : [abi2Level()],
    guest: guestLinux({ era, evtchnRingSize }),
    domains: [
      { id: BACKEND, vcpus: 1 },
      { id: FRONTEND, vcpus: 1 },
    ],
  });
  const back = p.domain(BACKEND).guest as LinuxGuest;
  const front = p.domain(FRONTEND).guest as LinuxGuest;
  const frontHc = p.domain(FRONTEND).domain.hypercalls;
  const status = (dom: number, port: number): string => {
    const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
    expect(p.hypervisor.evtchn(dom).status(DOMID_SELF, port, out)).toBe(0);
    return out.status;
  };
  /** The front-end binds to a back-end port with an IRQ whose handler counts runs. */
  const connect = (backPort: number): { port: number; runs: () => number } => {
    let runs = 0;
    const irq = front.bindInterdomainEvtchnToIrqhandler(BACKEND, backPort, () => (runs++, IRQ_HANDLED), 0, 'fe', null);
    expect(irq).toBeGreaterThanOrEqual(0);
    return { port: front.evtchnFromIrq(irq), runs: () => runs };
  };
  return { p, back, front, frontHc, status, connect };
}

describe.each([
  ['2level', 'modern'],
  ['fifo', 'modern'],
  ['2level', '2007'],
] as const)('user-space event-channel device (%s, %s)', (abi, era) => {
  it('queues a fired port masked and cleared; the caller unmasks it', () => {
    const t = boot(abi, era);
    const dev = t.back.evtchnDevice.open();
    const port = dev.bindUnboundPort(FRONTEND);
    expect(port).toBeGreaterThan(0);
    expect(t.back.irqFromEvtchn(port)).toBe(-1);
    expect(t.back.evtchnDevice.owns(port)).toBe(true);
    expect(t.back.abi.isMasked(port)).toBe(false);
    const fe = t.connect(port);
    expect(dev.pending()).toBe(-Errno.EAGAIN);

    expect(t.front.notifyRemoteViaEvtchn(fe.port)).toBe(0);
    t.back.upcall(0);
    expect(dev.queued).toBe(1);
    expect(dev.pending()).toBe(port);
    expect(t.back.abi.isMasked(port)).toBe(true);
    expect(t.back.abi.isPending(port)).toBe(false);
    expect(dev.pending()).toBe(-Errno.EAGAIN);

    // While masked a second event stays pending and is not queued.
    t.front.notifyRemoteViaEvtchn(fe.port);
    t.back.upcall(0);
    expect(dev.queued).toBe(0);
    expect(t.back.abi.isPending(port)).toBe(true);
    // Unmasking re-raises it.
    expect(dev.unmask(port)).toBe(0);
    t.back.upcall(0);
    expect(dev.pending()).toBe(port);
  });

  it('notifies the peer, binds interdomain and VIRQs, and refuses ports it does not own', () => {
    const t = boot(abi, era);
    const dev = t.back.evtchnDevice.open();
    const port = dev.bindUnboundPort(FRONTEND);
    const fe = t.connect(port);
    expect(dev.notify(port)).toBe(0);
    t.front.upcall(0);
    expect(fe.runs()).toBe(1);

    const other = t.back.evtchnDevice.open();
    expect(other.notify(port)).toBe(-ENOTCONN);
    // Linux drivers/xen/evtchn.c evtchn_write: a port the handle does not own is skipped and
    // the write returns the bytes written (success); the ioctls answer -ENOTCONN.
    t.back.abi.mask(port);
    expect(other.unmask(port)).toBe(0);
    expect(t.back.abi.isMasked(port)).toBe(true);
    t.back.abi.unmask(port, 0);
    expect(other.unbind(port)).toBe(-ENOTCONN);

    // bind_interdomain to a port the front-end offers.
    const offered = t.frontHc.allocUnbound(DOMID_SELF, BACKEND);
    const local = dev.bindInterdomain(FRONTEND, offered);
    expect(local).toBeGreaterThan(0);
    expect(t.status(BACKEND, local)).toBe('interdomain');
    expect(t.frontHc.send(offered)).toBe(0);
    t.back.upcall(0);
    // bind_interdomain sets the local port pending at once, so it may already be queued.
    expect(dev.pending()).toBe(local);

    // A global VIRQ goes to dom0's device.
    const vport = dev.bindVirq(VIRQ.CONSOLE);
    expect(vport).toBeGreaterThan(0);
    t.p.hypervisor.raiseVirq(BACKEND, VIRQ.CONSOLE, 0);
    t.back.upcall(0);
    expect(dev.pending()).toBe(vport);
    expect(dev.boundPorts()).toEqual([port, local, vport].sort((a, b) => a - b));
  });

  it('unbind masks and closes the port; close unbinds everything', () => {
    const t = boot(abi, era);
    const dev = t.back.evtchnDevice.open();
    const a = dev.bindUnboundPort(FRONTEND);
    const b = dev.bindUnboundPort(FRONTEND);
    expect(dev.unbind(a)).toBe(0);
    expect(t.status(BACKEND, a)).toBe('closed');
    expect(t.back.evtchnDevice.owns(a)).toBe(false);
    expect(dev.unbind(a)).toBe(-ENOTCONN);
    dev.close();
    expect(t.status(BACKEND, b)).toBe('closed');
    expect(dev.boundPorts()).toEqual([]);
  });

  it('reports a ring overflow instead of losing ports silently, until reset', () => {
    const t = boot(abi, era, 2);
    const dev = t.back.evtchnDevice.open();
    const ports = [dev.bindUnboundPort(FRONTEND), dev.bindUnboundPort(FRONTEND), dev.bindUnboundPort(FRONTEND)];
    const fes = ports.map((p) => t.connect(p));
    for (const fe of fes) t.front.notifyRemoteViaEvtchn(fe.port);
    t.back.upcall(0);
    expect(dev.queued).toBe(2);
    expect(dev.overflow).toBe(true);
    expect(dev.pending()).toBe(-EFBIG);
    // Every port that fired was still masked and cleared, queued or not.
    for (const p of ports) {
      expect(t.back.abi.isMasked(p)).toBe(true);
      expect(t.back.abi.isPending(p)).toBe(false);
    }
    dev.reset();
    expect(dev.overflow).toBe(false);
    expect(dev.pending()).toBe(-Errno.EAGAIN);
    for (const p of ports) dev.unmask(p);
    t.front.notifyRemoteViaEvtchn(fes[2]!.port);
    t.back.upcall(0);
    expect(dev.pending()).toBe(ports[2]);
  });
});

describe('user-space event-channel device: set-up', () => {
  it('has a one-page ring by default and insists on a power of two', () => {
    expect(EVTCHN_RING_SIZE).toBe(1024);
    expect(boot('2level').back.evtchnDevice.ringSize).toBe(1024);
    expect(() => boot('2level', 'modern', 3)).toThrow(/power of two/);
  });

  it('leaves ports with no IRQ and no device owner pending, as before', () => {
    const t = boot('2level');
    const port = t.p.hypervisor.evtchn(BACKEND).allocUnbound(DOMID_SELF, FRONTEND);
    t.back.abi.bindToCpu(port, 0, 0);
    t.back.abi.unmask(port, 0);
    const fe = t.connect(port);
    expect(t.front.notifyRemoteViaEvtchn(fe.port)).toBe(0);
    t.back.upcall(0);
    expect(t.back.stats.noIrq).toBeGreaterThan(0);
    expect(t.back.abi.isPending(port)).toBe(true);
    expect(t.back.evtchnDevice.unowned).toBe(0);
  });
});
