/*
 * The execution model end to end (ARCHITECTURE "Time and execution"): a sender never runs the
 * receiver, faults stay in their domain, a livelocked vCPU cannot stop virtual time, a
 * destroyed domain's kernel is inert even after its id is reused, and the path of one event
 * takes the hops ARCHITECTURE lists, in that order.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archX86 } from '@evtchn/arch-x86';
import { DOMID_SELF, Errno, Tokens, VIRQ, createPlatform, type Platform } from '@evtchn/core';
import { IRQ_HANDLED, LinuxGuest, guestLinux } from '@evtchn/guest-linux';
import { describe, expect, it } from 'vitest';

function platform(domains = [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 2 }, { id: 2, vcpus: 1 }], fifo = true): Platform {
  return createPlatform({
    arch: archX86({ nrPcpus: 4 }),
    abis: [abi2Level(), abiFifo()],
    guest: guestLinux({ fifo }),
    domains,
  });
}

const guest = (p: Platform, id: number): LinuxGuest => p.domain(id).guest as LinuxGuest;

/** Connects `frontend`'s handler to a port `backend` sends on. @returns the backend's IRQ */
function channel(p: Platform, frontend: number, backend: number, handler: (irq: number) => number): { feIrq: number; beIrq: number; bePort: number } {
  const fport = p.hypervisor.evtchn(frontend).allocUnbound(frontend, backend);
  const feIrq = guest(p, frontend).bindEvtchnToIrqhandler(fport, handler, 0, 'dev', null);
  const beIrq = guest(p, backend).bindInterdomainEvtchnToIrq(frontend, fport);
  expect(feIrq).toBeGreaterThanOrEqual(0);
  expect(beIrq).toBeGreaterThanOrEqual(0);
  return { feIrq, beIrq, bePort: guest(p, backend).evtchnFromIrq(beIrq) };
}

describe('a sender never runs the receiver', () => {
  it('EVTCHNOP_send returns before the receiving handler runs; it runs after the entry latency', () => {
    const p = platform();
    const ran: number[] = [];
    const { bePort } = channel(p, 1, 0, () => (ran.push(p.runner.now()), IRQ_HANDLED));
    expect(p.hypervisor.evtchn(0).send(bePort)).toBe(0);
    expect(ran).toEqual([]);
    p.run(100_000);
    expect(ran).toHaveLength(1);
    // Raised at 0 and entered after the entry latency; the handler's time includes the upcall's,
    // one scan step's and its own cost (work is charged as it starts).
    const c = p.runner.costs;
    expect(ran[0]).toBe(c.entryLatencyNs + c.upcallNs + c.scanStepNs + c.handlerNs);
  });

  for (const fifo of [true, false]) {
    it(`charges a scan step for every port the scan finds, an IRQ-less one too, and each IRQ's own handler cost (${fifo ? 'FIFO' : '2-level'})`, () => {
      const p = platform(undefined, fifo);
      const fe = guest(p, 1);
      // A pending, unmasked port without an IRQ, found by the scan before the IRQ's port: it
      // costs a scan step and stays pending (Linux's handle_irq_for_port ignores it).
      const bare = p.hypervisor.evtchn(1).allocUnbound(1, 0);
      const bareRemote = guest(p, 0).bindInterdomainEvtchnToIrq(1, bare);
      expect(bareRemote).toBeGreaterThanOrEqual(0);
      const ran: number[] = [];
      const { feIrq, bePort } = channel(p, 1, 0, () => (ran.push(p.runner.now()), IRQ_HANDLED));
      // After the IRQ's bind has set up the event words: routed to CPU 0 (2-level) and unmasked.
      fe.abi.bindToCpu(bare, 0, 0);
      fe.abi.unmask(bare, 0);
      expect(bare).toBeLessThan(fe.evtchnFromIrq(feIrq));
      fe.setIrqHandlerCost(feIrq, 777);
      expect(p.hypervisor.evtchn(0).send(guest(p, 0).evtchnFromIrq(bareRemote))).toBe(0);
      expect(p.hypervisor.evtchn(0).send(bePort)).toBe(0);
      p.run(100_000);
      const c = p.runner.costs;
      expect(ran).toEqual([c.entryLatencyNs + c.upcallNs + 2 * c.scanStepNs + 777]);
      // FIFO unlinked the event, so the scan saw it once; a 2-level scan sees the still-pending
      // bit again whenever a later upcall (the timer's) scans its word.
      if (fifo) expect(fe.stats.noIrq).toBe(1);
      else expect(fe.stats.noIrq).toBeGreaterThanOrEqual(1);
      expect(fe.abi.isPending(bare)).toBe(true);
    });
  }
});

describe('faults stay where they happen', () => {
  it("a domU driver that throws crashes domU only: dom0's send returns 0, dom0 hears VIRQ_DOM_EXC", () => {
    const p = platform();
    const crashes: Array<[number, unknown]> = [];
    p.bus.on('domain:crash', (d, e) => crashes.push([d, e]));
    let domExc = 0;
    guest(p, 0).bindVirqToIrqhandler(VIRQ.DOM_EXC, 0, () => (domExc++, IRQ_HANDLED), 0, 'dom-exc', null);
    let runs = 0;
    const { bePort } = channel(p, 1, 0, () => {
      runs++;
      throw new Error('oops in a domU driver');
    });
    // dom0 also serves domain 2, which must keep working.
    let dom2Runs = 0;
    const other = channel(p, 2, 0, () => (dom2Runs++, IRQ_HANDLED));

    expect(p.hypervisor.evtchn(0).send(bePort)).toBe(0);
    p.run(100_000);
    expect(runs).toBe(1);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]![0]).toBe(1);
    expect((crashes[0]![1] as Error).message).toBe('oops in a domU driver');
    expect(p.hypervisor.domain(1)!.crashed).toBe(true);
    expect(domExc).toBe(1);

    // The crashed domain's vCPUs no longer run; everyone else goes on.
    expect(p.hypervisor.evtchn(0).send(bePort)).toBe(0);
    expect(p.hypervisor.evtchn(0).send(other.bePort)).toBe(0);
    p.run(100_000);
    expect(runs).toBe(1);
    expect(dom2Runs).toBe(1);
  });

  it('a guest timer callback that throws crashes that domain, not the run', () => {
    const p = platform();
    const crashes: number[] = [];
    p.bus.on('domain:crash', (d) => crashes.push(d));
    p.domain(2).clock.after(1000, () => {
      throw new Error('bad timer');
    });
    let later = false;
    p.domain(1).clock.after(5000, () => void (later = true));
    expect(() => p.run(10_000)).not.toThrow();
    expect(crashes).toEqual([2]);
    expect(later).toBe(true);
  });
});

describe('a livelocked vCPU cannot stop virtual time', () => {
  for (const fifo of [true, false]) {
    it(`an IPI handler that re-raises itself (${fifo ? 'FIFO' : '2-level'}): runUntil(1 ms) returns and reports the livelock`, () => {
      const p = platform([{ id: 0, vcpus: 1 }, { id: 1, vcpus: 2 }], fifo);
      const g = guest(p, 1);
      const livelocks: Array<[number, number]> = [];
      p.bus.on('vcpu:livelock', (d, v) => livelocks.push([d, v]));
      let storm = 0;
      const irq = g.bindIpiToIrqhandler(0, 0, () => {
        storm++;
        g.sendIpi(0, 0);
        return IRQ_HANDLED;
      }, 0, 'storm', null);
      expect(irq).toBeGreaterThanOrEqual(0);
      // vCPU 1 of the same domain, and dom0, still get their events handled.
      let calm = 0;
      const calmIrq = g.bindIpiToIrqhandler(1, 1, () => (calm++, IRQ_HANDLED), 0, 'calm', null);
      expect(calmIrq).toBeGreaterThanOrEqual(0);

      expect(g.sendIpi(0, 0)).toBe(0);
      p.run(1_000_000);
      expect(p.clock.now()).toBe(1_000_000);
      const s = p.runner.stats(1, 0);
      expect(s.livelocked).toBe(true);
      // Interrupt time is all of the run but the first entry latency.
      expect(s.interruptNs).toBeGreaterThan(1_000_000 - 2 * p.runner.costs.entryLatencyNs);
      expect(livelocks).toEqual([[1, 0]]);
      // Each handler run costs a scan step and a handler: about 1 ms / 820 ns of them.
      const perRun = p.runner.costs.handlerNs + p.runner.costs.scanStepNs;
      expect(storm).toBeGreaterThan(1_000_000 / perRun - 10);
      expect(storm).toBeLessThan(1_000_000 / perRun + 10);

      expect(g.sendIpi(1, 1)).toBe(0);
      p.run(100_000);
      expect(calm).toBe(1);
      expect(p.runner.stats(1, 1).livelocked).toBe(false);
    });
  }

  it("Linux's event-loop deadline becomes reachable: late EOIs are deferred once the loop has run 2 jiffies", () => {
    const p = platform([{ id: 0, vcpus: 1 }, { id: 1, vcpus: 1 }]);
    const g = guest(p, 1);
    // A late-EOI port whose handler is slow, and an IPI storm that keeps the loop going.
    const port = p.hypervisor.evtchn(1).allocUnbound(1, 0);
    const irq = g.bindEvtchnToIrqhandlerLateeoi(port, () => IRQ_HANDLED, 0, 'lateeoi', null);
    g.bindIpiToIrqhandler(0, 0, () => (g.sendIpi(0, 0), IRQ_HANDLED), 0, 'storm', null);
    g.sendIpi(0, 0);
    const be = guest(p, 0).bindInterdomainEvtchnToIrq(1, port);
    // 10 ms later (past 2 jiffies at HZ 250) the loop is still running: the event arrives.
    p.run(10_000_000);
    expect(guest(p, 0).notifyRemoteViaIrq(be)).toBe(0);
    p.run(100_000);
    g.lateEoi(irq);
    // The EOI was deferred to the CPU's list (the loop is past its deadline), not done at once.
    expect(g.pendingEois(0).map((i) => i.irq)).toEqual([irq]);
  });
});

describe('lifecycle: a destroyed domain is inert, even after its id is reused', () => {
  it("the dead kernel's timers, hypercall and physdev handles act on nothing", () => {
    const p = platform([{ id: 0, vcpus: 1 }, { id: 1, vcpus: 1 }, { id: 2, vcpus: 1 }]);
    const oldDom1 = p.domain(1);
    const staleHc = oldDom1.domain.hypercalls;
    const stalePhysdev = p.hypervisor.physdev(1);
    let dom2Runs = 0;
    const { bePort } = channel(p, 2, 1, () => (dom2Runs++, IRQ_HANDLED));
    // The old dom1 kernel notifies dom2 every ms from a timer of its own.
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      staleHc.send(bePort);
      oldDom1.clock.after(1_000_000, tick);
    };
    oldDom1.clock.after(1_000_000, tick);
    p.run(3_500_000);
    expect(ticks).toBe(3);
    expect(dom2Runs).toBe(3);

    expect(p.destroyDomain(1)).toBe(0);
    expect(p.domains.has(1)).toBe(false);
    const fresh = p.addDomain({ id: 1, vcpus: 1 });
    // The new dom1 has a port with the same number bound to dom2 again.
    const again = channel(p, 2, 1, () => (dom2Runs++, IRQ_HANDLED));
    expect(again.bePort).toBe(bePort);

    p.run(10_000_000);
    expect(ticks).toBe(3);
    expect(dom2Runs).toBe(3);
    expect(oldDom1.clock.pending).toBe(0);
    expect(staleHc.send(bePort)).toBe(-Errno.ESRCH);
    expect(staleHc.allocUnbound(DOMID_SELF, 0)).toBe(-Errno.ESRCH);
    expect(stalePhysdev.irqStatusQuery(1)).toBe(-Errno.ESRCH);
    // The new domain's own handles work.
    expect(fresh.domain.hypercalls.send(bePort)).toBe(0);
    p.run(100_000);
    expect(dom2Runs).toBe(4);
  });

  it('hypervisor.destroy() directly keeps the platform in step', () => {
    const p = platform();
    expect(p.hypervisor.destroy(2)).toBe(0);
    expect(p.domains.has(2)).toBe(false);
    expect(() => p.domain(2)).toThrow(/no domain 2/);
    expect(p.addDomain({ id: 2, vcpus: 1 }).domain.id).toBe(2);
  });
});

describe('the path of one event (ARCHITECTURE.md)', () => {
  it('takes the hops ARCHITECTURE lists, in order, and the send returns before the receiver runs', () => {
    const p = platform();
    const hops: string[] = [];
    const { feIrq, beIrq } = channel(p, 1, 0, (irq) => (hops.push(`driver handler irq ${irq}`), IRQ_HANDLED));
    p.bus.on('evtchn:pending', (d, port) => hops.push(`abi.hypervisor.setPending d${d} port ${port}`));
    p.bus.on('upcall:deliver', (d, v) => hops.push(`markEventsPending → arch.raise d${d}v${v}`));
    p.bus.on('upcall:enter', (d, v) => hops.push(`runner → guest.upcall d${d}v${v}`));
    p.bus.on('irq:handled', (d, irq) => hops.push(`flow → handler done d${d} irq ${irq}`));
    const fport = guest(p, 1).evtchnFromIrq(feIrq);
    expect(guest(p, 0).notifyRemoteViaIrq(beIrq)).toBe(0);
    hops.push('send returned');
    p.run(100_000);
    expect(hops).toEqual([
      `abi.hypervisor.setPending d1 port ${fport}`,
      'markEventsPending → arch.raise d1v0',
      'send returned',
      'runner → guest.upcall d1v0',
      `driver handler irq ${feIrq}`,
      `flow → handler done d1 irq ${feIrq}`,
    ]);
  });
});

describe('a plugin hook that throws under guest code stops the platform', () => {
  it("a policy hook throwing inside a domU handler's send is the policy's fault: runUntil throws, the domain is not crashed", () => {
    const allow = (): number => 0;
    let sends = 0;
    const p = createPlatform({
      arch: archX86({ nrPcpus: 2 }),
      abis: [abi2Level(), abiFifo()],
      guest: guestLinux(),
      policy: {
        name: 'brittle',
        kind: 'policy',
        register(c) {
          c.register(Tokens.SecurityPolicy, {
            useValue: {
              name: 'brittle',
              evtchnUnbound: allow,
              evtchnInterdomain: allow,
              evtchnSend: () => {
                if (++sends === 2) throw new Error('brittle broke');
                return 0;
              },
              evtchnStatus: allow,
              evtchnReset: allow,
              pirqAccess: allow,
            },
          });
        },
      },
      domains: [{ id: 0, vcpus: 1 }, { id: 1, vcpus: 1 }],
    });
    const crashes: number[] = [];
    p.bus.on('domain:crash', (d) => crashes.push(d));
    // domU's handler answers each notification with a send of its own (the second send throws).
    const fport = p.hypervisor.evtchn(1).allocUnbound(1, 0);
    guest(p, 1).bindEvtchnToIrqhandler(fport, () => (guest(p, 1).notifyRemoteViaEvtchn(fport), IRQ_HANDLED), 0, 'fe', null);
    const beIrq = guest(p, 0).bindInterdomainEvtchnToIrq(1, fport);
    expect(guest(p, 0).notifyRemoteViaIrq(beIrq)).toBe(0);
    expect(() => p.run(100_000)).toThrow(/security policy 'brittle': hook evtchnSend threw: Error: brittle broke/);
    expect(crashes).toEqual([]);
    expect(p.hypervisor.domain(1)!.crashed).toBe(false);
  });
});
