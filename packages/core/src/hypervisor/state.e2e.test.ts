/*
 * The hypervisor core's own snapshot (every domain's ports, shared info, memory, counters,
 * VIRQ and pirq tables, and the global VIRQ handlers), domain_crash, the PHYSDEVOP handle and
 * the replay's loopback binding. Real core, real ABIs.
 */
import { describe, expect, it } from 'vitest';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import { DOMID_SELF, ECS, EVTCHNOP, Errno, Hypervisor, SnapshotError, VIRQ, nullArchitecture, type EventAbi } from '@evtchn/core';

const { EINVAL, ESRCH, ENOSYS } = Errno;

function world(pirqs: 'permissive' | 'none' = 'permissive', fifo = false): Hypervisor {
  const abis: EventAbi[] = [new TwoLevelAbi()];
  if (fifo) abis.push(new FifoAbi());
  const hv = Hypervisor.create({ arch: nullArchitecture({ pirqs }), abis });
  hv.createDomain({ id: 0, vcpus: 2, privileged: true });
  hv.createDomain({ id: 1, vcpus: 2, pirqs: [5], nrPirqs: 16 });
  hv.createDomain({ id: 3, vcpus: 1 });
  return hv;
}

/** Ports in several states, a paused domain, a crashed one, a set global VIRQ handler. */
function busy(hv: Hypervisor): void {
  const d0 = hv.evtchn(0);
  const d1 = hv.evtchn(1);
  const back = d1.allocUnbound(DOMID_SELF, 0);
  const front = d0.bindInterdomain(1, back);
  expect(front).toBeGreaterThan(0);
  expect(d1.bindVirq(VIRQ.TIMER, 1)).toBeGreaterThan(0);
  expect(d1.bindPirq(5, 0)).toBeGreaterThan(0);
  expect(d0.bindIpi(1)).toBeGreaterThan(0);
  expect(d1.send(back)).toBe(0);
  expect(d0.send(front)).toBe(0);
  expect(hv.pause(3)).toBe(0);
  expect(hv.setGlobalVirqHandler(VIRQ.DOM_EXC, 1)).toBe(0);
  expect(hv.crash(3)).toBe(0);
}

describe('Hypervisor snapshots', () => {
  it('round-trips into a hypervisor built from the same configuration', () => {
    const a = world();
    busy(a);
    const state = JSON.parse(JSON.stringify(a.getState()));
    expect(state.globalVirqHandler).toEqual([[VIRQ.DOM_EXC, 1]]);
    expect(state.domains).toHaveLength(3);

    const b = world();
    b.setState(state);
    expect(b.getState()).toEqual(state);
    expect(b.globalVirqHandlerOf(VIRQ.DOM_EXC)?.id).toBe(1);
    const d1 = b.domain(1)!;
    expect(d1.pirqToPort.get(5)).toBeGreaterThan(0);
    expect(d1.virqToPort.filter((p) => p !== 0)).toHaveLength(1);
    expect(b.domain(3)!.pauseCount).toBe(1);
    expect(b.domain(3)!.crashed).toBe(true);
    // The restored channels behave: the interdomain pair still delivers.
    const front = a.query(0, 1);
    expect(b.query(0, 1)).toEqual(front);
  });

  it('forgets global VIRQ handlers set after the snapshot', () => {
    const hv = world();
    const state = hv.getState();
    expect(hv.setGlobalVirqHandler(VIRQ.DOM_EXC, 3)).toBe(0);
    hv.setState(state);
    expect(hv.globalVirqHandlerOf(VIRQ.DOM_EXC)?.id).toBe(0);
  });

  it('rejects a snapshot of other domains or a broken one, with the path of the bad field', () => {
    const a = world();
    busy(a);
    const good = JSON.parse(JSON.stringify(a.getState()));
    const b = world();
    const bad = (edit: (s: any) => void) => () => {
      const s = structuredClone(good);
      edit(s);
      b.setState(s);
    };
    expect(bad((s) => s.domains.pop())).toThrow(SnapshotError);
    expect(bad((s) => s.domains.pop())).toThrow(/hypervisor\.domains/);
    expect(bad((s) => (s.domains[1].id = 2))).toThrow(/hypervisor\.domains\[1\]\.id/);
    expect(bad((s) => (s.domains[1].nrVcpus = 3))).toThrow(/hypervisor\.domains\[1\]\.nrVcpus/);
    expect(bad((s) => (s.domains[1].abi = 'fifo'))).toThrow(/hypervisor\.domains\[1\]\.abi/);
    expect(bad((s) => (s.domains[1].pauseCount = -1))).toThrow(/pauseCount/);
    expect(bad((s) => (s.domains[1].dying = 1))).toThrow(/dying/);
    expect(bad((s) => (s.domains[1].crashed = 'no'))).toThrow(/crashed/);
    expect(bad((s) => (s.domains[1].pirqToPort = [[5, 3], [5, 4]]))).toThrow(/pirq 5 is bound twice/);
    expect(bad((s) => (s.domains[1].pirqToPort = [[16, 3]]))).toThrow(/pirqToPort\[0\]\[0\]/);
    expect(bad((s) => (s.domains[1].pirqToPort = [[5, 0]]))).toThrow(/pirqToPort\[0\]\[1\]/);
    expect(bad((s) => (s.domains[1].counters = { droppedNoControlBlock: -1, droppedOther: 0 }))).toThrow(/droppedNoControlBlock/);
    expect(bad((s) => (s.domains[1].counters = { droppedNoControlBlock: 0, droppedOther: 'x' }))).toThrow(/droppedOther/);
    expect(bad((s) => (s.domains[1].pirqGrants = [-1]))).toThrow(/pirqGrants\[0\]/);
    expect(bad((s) => (s.domains[1].virqToPort = [1]))).toThrow(/virqToPort/);
    expect(bad((s) => delete s.domains[1].ports)).toThrow(/hypervisor\.domains\[1\]\.ports/);
    expect(bad((s) => delete s.domains[1].sharedInfo)).toThrow(/hypervisor\.domains\[1\]\.sharedInfo/);
    expect(bad((s) => delete s.domains[1].memory)).toThrow(/hypervisor\.domains\[1\]\.memory/);
    expect(bad((s) => (s.domains[1].abiState = 7))).toThrow(/hypervisor\.domains\[1\]\.abiState/);
    expect(bad((s) => (s.globalVirqHandler = [[VIRQ.DOM_EXC]]))).toThrow(/globalVirqHandler\[0\]/);
    expect(bad((s) => (s.globalVirqHandler = [[24, 1]]))).toThrow(/globalVirqHandler\[0\]\[0\]/);
    expect(bad((s) => (s.globalVirqHandler = [[VIRQ.DOM_EXC, 0x7ff0]]))).toThrow(/globalVirqHandler\[0\]\[1\]/);
    expect(() => b.setState(null, 'hv')).toThrow(/^hv\b/);
  });
});

describe('domain snapshots and the ABI plugin hook', () => {
  /** A 2-level ABI whose hypervisor half hides `getState`/`setState`, or whose setState throws. */
  function abiWithout(kind: 'no-hook' | 'throws'): EventAbi {
    const abi = new TwoLevelAbi();
    const create = abi.createHypervisorSide.bind(abi);
    abi.createHypervisorSide = (ctx) => {
      const ops = create(ctx);
      return new Proxy(ops, {
        get(target, key, receiver) {
          if (kind === 'no-hook' && (key === 'getState' || key === 'setState')) return undefined;
          if (kind === 'throws' && key === 'setState')
            return () => {
              throw new Error('bad words');
            };
          return Reflect.get(target, key, receiver);
        },
      });
    };
    return abi;
  }

  it('sorts pirq grants and bindings, and a granted pirq (xc_domain_irq_permission) can be bound', () => {
    const hv = world();
    const d1 = hv.evtchn(1);
    expect(d1.bindPirq(9, 0)).toBe(-Errno.EPERM);
    hv.domain(1)!.grantPirq(9);
    hv.domain(1)!.grantPirq(2);
    const p9 = d1.bindPirq(9, 0);
    const p5 = d1.bindPirq(5, 0);
    expect(p9).toBeGreaterThan(0);
    const state = hv.domain(1)!.getState() as { pirqGrants: number[]; pirqToPort: number[][] };
    expect(state.pirqGrants).toEqual([2, 5, 9]);
    expect(state.pirqToPort).toEqual([
      [5, p5],
      [9, p9],
    ]);
  });

  it('says which ABI plugin has no snapshot hook, and wraps its errors with the abiState path', () => {
    const plain = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
    plain.createDomain({ id: 1 });
    const saved = plain.getState();

    const noHook = Hypervisor.create({ arch: nullArchitecture(), abis: [abiWithout('no-hook')] });
    noHook.createDomain({ id: 1 });
    expect(() => noHook.getState()).toThrow(/ABI plugin '2level' \(hypervisor half\) has no getState\(\)/);
    expect(() => noHook.setState(saved)).toThrow(/hypervisor\.domains\[0\]\.abiState.*has no setState\(\)/);

    const throws = Hypervisor.create({ arch: nullArchitecture(), abis: [abiWithout('throws')] });
    throws.createDomain({ id: 1 });
    expect(() => throws.setState(saved)).toThrow(SnapshotError);
    expect(() => throws.setState(saved)).toThrow(/hypervisor\.domains\[0\]\.abiState: bad words/);
  });

  it('hands upcalls to the guest entry attached to the domain', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture({ deliver: true }), abis: [new TwoLevelAbi()] });
    const d = hv.createDomain({ id: 1, vcpus: 2 });
    const seen: number[] = [];
    const early = hv.evtchn(1).bindIpi(0);
    const port = hv.evtchn(1).bindIpi(1);
    hv.evtchn(1).unmask(early);
    hv.evtchn(1).unmask(port);
    expect(hv.evtchn(1).send(early)).toBe(0); // no guest yet: the upcall has nobody to reach
    expect(d.sharedInfo.upcallPending[0]).toBe(1);
    d.attachGuest({ upcall: (vcpu) => void seen.push(vcpu) });
    expect(hv.evtchn(1).send(port)).toBe(0);
    expect(seen).toEqual([1]);
  });
});

describe('domain_crash', () => {
  it('marks the domain crashed and raises VIRQ_DOM_EXC at its handler once; ports stay', () => {
    const hv = world();
    const d0 = hv.evtchn(0);
    const port = d0.bindVirq(VIRQ.DOM_EXC, 0);
    const ipi = hv.evtchn(3).bindIpi(0);
    const pending = () => hv.query(0, port).pending;
    expect(pending()).toBe(false);
    expect(hv.crash(3)).toBe(0);
    expect(hv.domain(3)!.crashed).toBe(true);
    expect(pending()).toBe(true);
    expect(hv.evtchn(0).unmask(port)).toBe(0);
    hv.domain(0)!.abi.clearPending(port);
    expect(hv.crash(3)).toBe(0); // already crashed: nothing raised again
    expect(pending()).toBe(false);
    expect(hv.query(3, ipi)).toMatchObject({ rc: 0 });
    expect(hv.domain(3)!.channels.state[ipi]).toBe(ECS.IPI);
    expect(hv.crash(9)).toBe(-ESRCH);
  });
});

describe('PHYSDEVOP handle', () => {
  it('checks the pirq against the domain, and answers through the architecture', () => {
    const hv = world();
    const pd = hv.physdev(1);
    expect(pd.irqStatusQuery(5)).toBe(-EINVAL); // not bound yet (the permissive backend)
    expect(hv.evtchn(1).bindPirq(5, 0)).toBeGreaterThan(0);
    expect(pd.irqStatusQuery(5)).toBe(0);
    expect(pd.eoi(5)).toBe(0);
    expect(pd.eoi(16)).toBe(-EINVAL);
    expect(pd.eoi(-1)).toBe(-EINVAL);
    expect(pd.irqStatusQuery(16)).toBe(-EINVAL);
    expect(pd.irqStatusQuery(1.5)).toBe(-EINVAL);
    expect(hv.physdev(9).eoi(0)).toBe(-ESRCH);
    expect(hv.physdev(9).irqStatusQuery(0)).toBe(-ESRCH);
  });

  it('belongs to the domain of its id when it was made: -ESRCH after destroy, even once the id is reused', () => {
    const hv = world();
    const pd = hv.physdev(3);
    expect(pd.eoi(0)).toBe(0);
    expect(hv.destroy(3)).toBe(0);
    expect(pd.eoi(0)).toBe(-ESRCH);
    hv.createDomain({ id: 3, vcpus: 1, nrPirqs: 8 });
    expect(pd.eoi(0)).toBe(-ESRCH);
    expect(pd.irqStatusQuery(0)).toBe(-ESRCH);
    expect(hv.physdev(3).eoi(0)).toBe(0);
  });

  it('is -ENOSYS on an architecture without pirqs', () => {
    const hv = world('none');
    expect(hv.physdev(1).eoi(0)).toBe(-ENOSYS);
    expect(hv.physdev(1).irqStatusQuery(0)).toBe(-ENOSYS);
  });
});

describe('loopback binding (the delivery replay\'s bind)', () => {
  it('turns a port UNBOUND for its own domain into a channel to itself', () => {
    const hv = world();
    const d1 = hv.evtchn(1);
    const port = d1.allocUnbound(DOMID_SELF, DOMID_SELF);
    expect(hv.bindLoopback(1, port)).toBe(0);
    expect(hv.eventChannelOp(1, EVTCHNOP.status, { dom: DOMID_SELF, port })).toMatchObject({ rc: 0, status: 'interdomain', dom: 1, port });
    expect(d1.unmask(port)).toBe(0);
    expect(d1.send(port)).toBe(0);
    expect(hv.query(1, port).pending).toBe(true);
  });

  it('refuses anything else', () => {
    const hv = world();
    const d1 = hv.evtchn(1);
    const toDom0 = d1.allocUnbound(DOMID_SELF, 0);
    expect(hv.bindLoopback(1, toDom0)).toBe(-EINVAL); // unbound for another domain
    const ipi = d1.bindIpi(0);
    expect(hv.bindLoopback(1, ipi)).toBe(-EINVAL);
    expect(hv.bindLoopback(1, 200)).toBe(-EINVAL);
    expect(hv.bindLoopback(1, -1)).toBe(-EINVAL);
    expect(hv.bindLoopback(9, 1)).toBe(-ESRCH);
    const self = d1.allocUnbound(DOMID_SELF, DOMID_SELF);
    expect(hv.bindLoopback(1, self)).toBe(0);
    expect(hv.bindLoopback(1, self)).toBe(-EINVAL); // already bound
  });
});
