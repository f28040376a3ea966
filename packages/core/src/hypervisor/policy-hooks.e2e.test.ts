import { TwoLevelAbi } from '@evtchn/abi-2level';
import { describe, expect, it } from 'vitest';
import type { PolicySubject } from '../contracts/policy.js';
import { Errno } from '../errno.js';
import { DummySecurityPolicy } from './dummy-policy.js';
import { Hypervisor } from './hypervisor.js';
import { nullArchitecture } from './null-arch.js';

/** Denies sends from domain 2 to domain 1, allows the rest like Xen's dummy policy. */
class NoSendTo1 extends DummySecurityPolicy {
  readonly calls: Array<[number, number | undefined]> = [];
  override evtchnSend(caller: PolicySubject, remote: PolicySubject | undefined): number {
    this.calls.push([caller.id, remote?.id]);
    return caller.id === 2 && remote?.id === 1 ? -Errno.EACCES : 0;
  }
}

describe('EVTCHNOP_send consults the policy', () => {
  it('asks with the remote domain of an interdomain port and honours a refusal', () => {
    const policy = new NoSendTo1();
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()], policy });
    for (const id of [0, 1, 2]) hv.createDomain({ id });
    const p1 = hv.evtchn(1).allocUnbound(1, 2);
    const l2 = hv.evtchn(2).bindInterdomain(1, p1);
    const before = hv.query(1, p1);
    expect(hv.evtchn(2).send(l2)).toBe(-Errno.EACCES);
    expect(hv.query(1, p1)).toEqual(before);
    expect(policy.calls).toContainEqual([2, 1]);
    const ipi = hv.evtchn(0).bindIpi(0);
    expect(hv.evtchn(0).send(ipi)).toBe(0);
    expect(policy.calls).toContainEqual([0, undefined]);
  });
});
