/*
 * Isolation (SPEC §1.3, §1.3a, §1.5 dummy policy): whatever state random hypercall traffic
 * has left behind, an unprivileged domain cannot allocate an unbound port in another domain,
 * bind an interdomain port that was not offered to it, read another domain's status, reset
 * another domain, bind a pirq it was not granted, or bind a global VIRQ it does not handle.
 * Each attempt fails with its errno and changes nothing (a refused allocation may only have
 * grown the target's valid range by empty buckets, SPEC §1.3a).
 */
import { DOMID_SELF, ECS, Errno, VIRQ, virqKind, type Domain } from '@evtchn/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty, scaled, hypercallScenario } from './arbitraries.js';
import { fingerprint } from './fixture.js';
import { buildHypervisor, runRealStep } from './real-system.js';

const { EPERM, EINVAL, EBUSY, ENOSPC } = Errno;

type Attempt = 'alloc_unbound' | 'bind_interdomain' | 'status' | 'reset' | 'bind_pirq' | 'bind_virq';

const GLOBAL_VIRQS = Array.from({ length: 24 }, (_, v) => v).filter((v) => virqKind(v) === 'global');

/** Whether `d` could allocate a port now (a FREE, non-busy port, or room to grow). */
function canAllocate(d: Domain): boolean {
  const limit = Math.min(d.maxEvtchnPort, d.abi.maxPorts - 1);
  for (let p = 1; p <= limit; p++) {
    if (p >= d.channels.valid) return true;
    if (d.channels.state[p] === ECS.FREE && !(d.abi.isBusy?.(p) ?? false)) return true;
  }
  return false;
}

const attemptArb = fc.record({
  attempt: fc.constantFrom<Attempt>('alloc_unbound', 'bind_interdomain', 'status', 'reset', 'bind_pirq', 'bind_virq'),
  callerPick: fc.nat(),
  targetPick: fc.nat(),
  portPick: fc.nat(),
  pirqPick: fc.nat(),
  virqPick: fc.constantFrom(...GLOBAL_VIRQS),
  paused: fc.boolean(),
});

describe('isolation between domains', () => {
  it('an unprivileged domain is refused, with the SPEC errno and no state change, whatever state traffic left', () => {
    const seen = new Map<Attempt, number>();
    checkProperty(
      'isolation (unprivileged caller vs another domain)',
      fc.record({ sc: hypercallScenario, a: attemptArb }),
      ({ sc, a }) => {
        const hv = buildHypervisor(sc);
        for (const step of sc.steps) runRealStep(hv, step);
        const live = hv.allDomains();
        const callers = live.filter((d) => !d.privileged);
        fc.pre(callers.length > 0);
        const caller = callers[a.callerPick % callers.length]!;
        const others = live.filter((d) => d !== caller);
        fc.pre(others.length > 0);
        const target = others[a.targetPick % others.length]!;
        // A paused target must not make a cross-domain reset legal.
        if (a.paused && a.attempt === 'reset') hv.pause(target.id);
        const e = hv.evtchn(caller.id);
        const limits = new Map(live.map((d) => [d.id, d.channels.valid]));
        const before = fingerprint(hv);
        const beforeInOldRange = fingerprint(hv, limits);
        const what = `d${caller.id} → d${target.id} ${a.attempt}`;
        let rc: number;
        let mayGrow = false;
        let expected: number[];
        switch (a.attempt) {
          case 'alloc_unbound':
            mayGrow = true;
            expected = canAllocate(target) ? [-EPERM] : [-ENOSPC];
            rc = e.allocUnbound(target.id, a.portPick % 2 ? DOMID_SELF : caller.id);
            break;
          case 'bind_interdomain': {
            // Any port of the target that is not UNBOUND-for-the-caller, including unused ones.
            const ch = target.channels;
            const candidates: number[] = [];
            for (let p = 0; p < ch.valid + 3; p++) if (!(ch.state[p] === ECS.UNBOUND && ch.remoteDom[p] === caller.id)) candidates.push(p);
            const port = candidates[a.portPick % candidates.length]!;
            mayGrow = true;
            expected = canAllocate(caller) ? [-EINVAL] : [-ENOSPC];
            rc = e.bindInterdomain(target.id, port);
            break;
          }
          case 'status':
            rc = e.status(target.id, a.portPick % target.channels.valid, { status: 'closed', vcpu: 0 });
            expected = [-EPERM];
            break;
          case 'reset':
            rc = e.reset(target.id);
            expected = [-EPERM];
            break;
          case 'bind_pirq': {
            const notGranted: number[] = [];
            for (let p = 0; p < caller.nrPirqs; p++) if (!caller.pirqGrants.has(p)) notGranted.push(p);
            fc.pre(notGranted.length > 0);
            rc = e.bindPirq(notGranted[a.pirqPick % notGranted.length]!, a.portPick & 1);
            expected = [-EPERM];
            break;
          }
          case 'bind_virq': {
            fc.pre(hv.globalVirqHandlerOf(a.virqPick) !== caller);
            rc = e.bindVirq(a.virqPick, 0);
            expected = [-EBUSY];
            break;
          }
        }
        seen.set(a.attempt, (seen.get(a.attempt) ?? 0) + 1);
        expect(expected, `${what}: rc`).toContain(rc);
        if (!mayGrow) expect(fingerprint(hv), `${what}: state`).toBe(before);
        else {
          expect(fingerprint(hv, limits), `${what}: state in the old valid range`).toBe(beforeInOldRange);
          for (const d of hv.allDomains())
            for (let p = limits.get(d.id)!; p < d.channels.valid; p++)
              if (d.channels.state[p] !== ECS.FREE) expect.fail(`${what}: d${d.id} port ${p} of a grown bucket is not FREE`);
        }
      },
      250,
    );
    console.log(`[property] isolation attempts by kind: ${[...seen].map(([k, n]) => `${k}=${n}`).join(', ')}`);
    for (const kind of ['alloc_unbound', 'bind_interdomain', 'status', 'reset', 'bind_pirq', 'bind_virq'] as const)
      expect(seen.get(kind) ?? 0, `${kind} attempts generated`).toBeGreaterThan(scaled(5));
  });

  it('the same attempts by the target itself or by dom0 are not refused by the policy (control)', () => {
    const hv = buildHypervisor({
      fifoOffered: false,
      domains: [0, 1, 2].map((id) => ({ id, vcpus: 1, privileged: id === 0, nrPirqs: 16, pirqs: id === 2 ? [4] : [], memPages: 16 })),
    });
    expect(hv.evtchn(1).allocUnbound(2, 1)).toBe(-EPERM);
    expect(hv.evtchn(0).allocUnbound(2, 1)).toBe(1);
    expect(hv.evtchn(2).allocUnbound(DOMID_SELF, 0)).toBe(2);
    expect(hv.evtchn(1).bindInterdomain(2, 2)).toBe(-EINVAL);
    expect(hv.evtchn(1).bindInterdomain(2, 1)).toBe(1);
    expect(hv.evtchn(1).status(2, 1, { status: 'closed', vcpu: 0 })).toBe(-EPERM);
    expect(hv.evtchn(0).status(2, 1, { status: 'closed', vcpu: 0 })).toBe(0);
    expect(hv.evtchn(1).bindPirq(4, 0)).toBe(-EPERM);
    expect(hv.evtchn(2).bindPirq(4, 0)).toBeGreaterThan(0);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBeGreaterThan(0);
    expect(hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.pause(2)).toBe(0);
    expect(hv.evtchn(1).reset(2)).toBe(-EPERM);
    expect(hv.evtchn(0).reset(2)).toBe(0);
  });
});
