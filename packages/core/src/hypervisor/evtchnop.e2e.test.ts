/*
 * Every EVTCHNOP of SPEC §1.3 (ops 0–14), each listed error and each listed effect, against
 * the real hypervisor core with the real 2-level (and, for ops 10–13, FIFO) ABI.
 */
import { describe, expect, it } from 'vitest';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import {
  DOMID_SELF,
  ECS,
  EVTCHNOP,
  Errno,
  Hypervisor,
  NR_VIRQS,
  VIRQ,
  nullArchitecture,
  setBit,
  type Architecture,
  type DomainCreateOptions,
  type EventAbi,
  type EvtchnStatus,
  type NullArchitectureOptions,
  type RawOpResult,
} from '@evtchn/core';

const { EINVAL, ESRCH, ENOENT, EBUSY, EEXIST, ENOSPC, EPERM, ENOSYS, EACCES, EOPNOTSUPP, EFAULT } = Errno;

/** dom0 (privileged, 2 vCPUs), dom1 (2 vCPUs, may bind pirqs 5 and 6), dom2 (1 vCPU). */
const STANDARD_DOMAINS: DomainCreateOptions[] = [
  { id: 0, vcpus: 2 },
  { id: 1, vcpus: 2, pirqs: [5, 6] },
  { id: 2, vcpus: 1 },
];

interface WorldOptions {
  domains?: DomainCreateOptions[];
  fifo?: boolean;
  arch?: NullArchitectureOptions | Architecture;
}

function world(opts: WorldOptions = {}): Hypervisor {
  const abis: EventAbi[] = [new TwoLevelAbi()];
  if (opts.fifo) abis.push(new FifoAbi());
  const arch = opts.arch && 'deliverUpcall' in opts.arch ? opts.arch : nullArchitecture(opts.arch as NullArchitectureOptions | undefined);
  const hv = Hypervisor.create({ arch, abis });
  for (const d of opts.domains ?? STANDARD_DOMAINS) hv.createDomain(d);
  return hv;
}

/** EVTCHNOP_status of `dom`'s `port` as `caller` (default: the domain itself) sees it. */
function status(hv: Hypervisor, dom: number, port: number, caller = dom): RawOpResult {
  return hv.eventChannelOp(caller, EVTCHNOP.status, { dom, port });
}

/** The active ABI's pending / masked bits. */
function bits(hv: Hypervisor, dom: number, port: number): { pending: boolean; masked: boolean } {
  const r = hv.query(dom, port);
  expect(r.rc).toBe(0);
  return { pending: r.pending as boolean, masked: r.masked as boolean };
}

function upcalls(hv: Hypervisor, dom: number): number[] {
  return [...hv.domain(dom)!.sharedInfo.upcallPending];
}

/** Sets the 2-level mask bit of a port directly in shared memory (as a guest would). */
function guestMask(hv: Hypervisor, dom: number, port: number): void {
  setBit(hv.domain(dom)!.sharedInfo.evtchnMask, port);
}

/** An x86-like architecture whose pirq backend records calls and can refuse binds. */
function recordingArch(bindRc = 0): Architecture & { calls: string[] } {
  const base = nullArchitecture();
  const calls: string[] = [];
  return {
    name: 'recording',
    calls,
    attachDomain: (info, sink) => base.attachDomain(info, sink),
    detachDomain: (id) => base.detachDomain(id),
    deliverUpcall: (d, v) => base.deliverUpcall(d, v),
    createGuestIrqSpace: (o) => base.createGuestIrqSpace(o),
    pirqs: {
      guestBind: (d, v, p, share) => {
        calls.push(`bind d${d} v${v} p${p} share=${share}`);
        return bindRc;
      },
      guestUnbind: (d, p) => void calls.push(`unbind d${d} p${p}`),
      setAffinity: (d, p, v) => void calls.push(`affinity d${d} p${p} v${v}`),
      eoi: () => 0,
      irqStatusQuery: () => 0,
    },
  };
}

describe('op 0 bind_interdomain', () => {
  it('connects both ends, sets the local port pending and keeps the remote notify vCPU', () => {
    const hv = world();
    const rport = hv.evtchn(1).allocUnbound(1, 2);
    expect(rport).toBe(1);
    expect(hv.evtchn(1).bindVcpu(rport, 1)).toBe(0);
    const lport = hv.evtchn(2).bindInterdomain(1, rport);
    expect(lport).toBe(1);
    expect(status(hv, 2, lport)).toEqual({ rc: 0, status: 'interdomain', vcpu: 0, dom: 1, port: rport });
    expect(status(hv, 1, rport)).toEqual({ rc: 0, status: 'interdomain', vcpu: 1, dom: 2, port: lport });
    expect(bits(hv, 2, lport)).toEqual({ pending: true, masked: false });
    expect(upcalls(hv, 2)).toEqual([1]);
    expect(bits(hv, 1, rport).pending).toBe(false);
    // The channel works both ways.
    expect(hv.evtchn(2).send(lport)).toBe(0);
    expect(bits(hv, 1, rport).pending).toBe(true);
    expect(upcalls(hv, 1)).toEqual([0, 1]);
  });

  it('resolves DOMID_SELF as the remote domain (a channel inside one domain)', () => {
    const hv = world();
    const a = hv.evtchn(1).allocUnbound(DOMID_SELF, DOMID_SELF);
    expect(status(hv, 1, a)).toMatchObject({ status: 'unbound', dom: 1 });
    const b = hv.evtchn(1).bindInterdomain(DOMID_SELF, a);
    expect(b).toBe(a + 1);
    expect(status(hv, 1, a)).toMatchObject({ status: 'interdomain', dom: 1, port: b });
    expect(status(hv, 1, b)).toMatchObject({ status: 'interdomain', dom: 1, port: a });
  });

  it('-ESRCH for a missing remote domain, before allocating anything', () => {
    const hv = world();
    expect(hv.evtchn(2).bindInterdomain(9, 1)).toBe(-ESRCH);
    expect(hv.evtchn(2).bindInterdomain(0xffff, 1)).toBe(-ESRCH);
    expect(hv.domain(2)!.channels.valid).toBe(64);
    expect(hv.evtchn(2).bindIpi(0)).toBe(1);
  });

  it('-EINVAL when the remote port is not valid, not UNBOUND, or offered to another domain', () => {
    const hv = world();
    const forDom0 = hv.evtchn(1).allocUnbound(1, 0);
    const ipi = hv.evtchn(1).bindIpi(0);
    expect(hv.evtchn(2).bindInterdomain(1, 64)).toBe(-EINVAL);
    expect(hv.evtchn(2).bindInterdomain(1, 4000)).toBe(-EINVAL);
    expect(hv.evtchn(2).bindInterdomain(1, 10)).toBe(-EINVAL); // valid but FREE
    expect(hv.evtchn(2).bindInterdomain(1, 0)).toBe(-EINVAL); // RESERVED
    expect(hv.evtchn(2).bindInterdomain(1, ipi)).toBe(-EINVAL);
    expect(hv.evtchn(2).bindInterdomain(1, forDom0)).toBe(-EINVAL);
    // Nothing changed on either side; the caller's port stayed FREE and is reused.
    expect(status(hv, 1, forDom0)).toMatchObject({ status: 'unbound', dom: 0 });
    expect(status(hv, 1, ipi)).toMatchObject({ status: 'ipi' });
    expect(status(hv, 2, 1)).toMatchObject({ status: 'closed' });
    expect(hv.evtchn(0).bindInterdomain(1, forDom0)).toBe(1);
    expect(hv.evtchn(2).bindIpi(0)).toBe(1);
  });

  it('alloc errors: -ENOSPC when the caller has no free port', () => {
    const hv = world({ domains: [...STANDARD_DOMAINS, { id: 3, maxEvtchnPort: 1 }] });
    const offered = hv.evtchn(1).allocUnbound(1, 3);
    expect(hv.evtchn(3).bindIpi(0)).toBe(1);
    expect(hv.evtchn(3).bindInterdomain(1, offered)).toBe(-ENOSPC);
    expect(hv.evtchn(3).bindInterdomain(9, offered)).toBe(-ESRCH); // the domain lookup comes first
    expect(status(hv, 1, offered)).toMatchObject({ status: 'unbound', dom: 3 });
  });

  it('alloc errors: -EINVAL while the caller is dying', () => {
    const hv = world();
    const offered = hv.evtchn(1).allocUnbound(1, 2);
    hv.domain(2)!.dying = true;
    expect(hv.evtchn(2).bindInterdomain(1, offered)).toBe(-EINVAL);
    expect(status(hv, 1, offered)).toMatchObject({ status: 'unbound', dom: 2 });
  });
});

describe('op 1 bind_virq', () => {
  it('binds a per-vCPU VIRQ on its vCPU; raising it notifies that vCPU', () => {
    const hv = world();
    const port = hv.evtchn(1).bindVirq(VIRQ.TIMER, 1);
    expect(port).toBe(1);
    expect(status(hv, 1, port)).toEqual({ rc: 0, status: 'virq', vcpu: 1, virq: VIRQ.TIMER });
    expect(hv.domain(1)!.virqToPort[1 * NR_VIRQS + VIRQ.TIMER]).toBe(port);
    hv.raiseVirq(1, VIRQ.TIMER, 1);
    expect(bits(hv, 1, port).pending).toBe(true);
    expect(upcalls(hv, 1)).toEqual([0, 1]);
  });

  it('binds the same per-vCPU VIRQ once per vCPU; -EEXIST the second time on one vCPU', () => {
    const hv = world();
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 0)).toBe(1);
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 1)).toBe(2);
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 0)).toBe(-EEXIST);
    expect(status(hv, 1, 3)).toMatchObject({ status: 'closed' });
  });

  it('-EINVAL for virq >= 24, and for a global or per-domain VIRQ on a vCPU other than 0', () => {
    const hv = world();
    expect(hv.evtchn(0).bindVirq(NR_VIRQS, 0)).toBe(-EINVAL);
    expect(hv.evtchn(0).bindVirq(0xffffffff, 0)).toBe(-EINVAL);
    expect(hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 1)).toBe(-EINVAL);
    expect(hv.evtchn(1).bindVirq(VIRQ.ARGO, 1)).toBe(-EINVAL);
    // vCPU 1 exists, so this is the kind check and not -ENOENT; on vCPU 0 both work.
    expect(hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0)).toBe(1);
    expect(hv.evtchn(1).bindVirq(VIRQ.ARGO, 0)).toBe(1);
    expect(status(hv, 0, 2)).toMatchObject({ status: 'closed' });
  });

  it('-EINVAL for a non-per-vCPU VIRQ comes before -ENOENT for a missing vCPU', () => {
    const hv = world();
    expect(hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 7)).toBe(-EINVAL);
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 2)).toBe(-ENOENT);
    expect(hv.evtchn(1).bindVirq(VIRQ.DEBUG, 0xffffffff)).toBe(-ENOENT);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
  });

  it('-EBUSY for a global VIRQ unless the caller is its handler (default dom0)', () => {
    const hv = world();
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.evtchn(1).bindVirq(VIRQ.ARCH_0, 0)).toBe(-EBUSY);
    expect(hv.evtchn(1).bindVirq(5, 0)).toBe(-EBUSY); // undefined numbers count as global
    expect(hv.evtchn(0).bindVirq(5, 0)).toBe(1);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
  });

  it('a global VIRQ may be moved to another vCPU and is delivered there', () => {
    const hv = world();
    const port = hv.evtchn(0).bindVirq(VIRQ.DOM_EXC, 0);
    expect(hv.evtchn(0).bindVcpu(port, 1)).toBe(0);
    hv.sendGlobalVirq(VIRQ.DOM_EXC);
    expect(bits(hv, 0, port).pending).toBe(true);
    expect(upcalls(hv, 0)).toEqual([0, 1]);
  });

  it('alloc errors: -ENOSPC past maxEvtchnPort', () => {
    const hv = world({ domains: [{ id: 0 }, { id: 3, vcpus: 1, maxEvtchnPort: 1 }] });
    expect(hv.evtchn(3).bindVirq(VIRQ.TIMER, 0)).toBe(1);
    expect(hv.evtchn(3).bindVirq(VIRQ.DEBUG, 0)).toBe(-ENOSPC);
    expect(hv.domain(3)!.virqToPort[VIRQ.DEBUG]).toBe(0);
  });
});

describe('op 2 bind_pirq', () => {
  it('binds a granted pirq on vCPU 0 through the architecture; the pirq then raises the port', () => {
    const arch = recordingArch();
    const hv = world({ arch });
    const port = hv.evtchn(1).bindPirq(5, 1);
    expect(port).toBe(1);
    expect(arch.calls).toEqual(['bind d1 v0 p5 share=true']);
    expect(status(hv, 1, port)).toEqual({ rc: 0, status: 'pirq', vcpu: 0, pirq: 5 });
    expect(hv.link.sendGuestPirq(1, 5)).toBe(port);
    expect(bits(hv, 1, port).pending).toBe(true);
    expect(upcalls(hv, 1)).toEqual([1, 0]);
    expect(hv.evtchn(1).bindPirq(6, 0)).toBe(2);
    expect(arch.calls[1]).toBe('bind d1 v0 p6 share=false');
  });

  it('-EINVAL for pirq >= nrPirqs, -EPERM without a grant, -EEXIST when bound already', () => {
    const hv = world({ domains: [{ id: 0 }, { id: 1, nrPirqs: 16, pirqs: [5, 20] }] });
    expect(hv.evtchn(1).bindPirq(16, 0)).toBe(-EINVAL);
    expect(hv.evtchn(1).bindPirq(20, 0)).toBe(-EINVAL); // granted but out of range
    expect(hv.evtchn(1).bindPirq(4, 0)).toBe(-EPERM);
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(1);
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(-EEXIST);
    expect(status(hv, 1, 2)).toMatchObject({ status: 'closed' });
    expect(hv.domain(1)!.pirqToPort.get(5)).toBe(1);
  });

  it('alloc errors: -ENOSPC past maxEvtchnPort', () => {
    const arch = recordingArch();
    const hv = world({ arch, domains: [{ id: 0 }, { id: 1, maxEvtchnPort: 1, pirqs: [5, 6] }] });
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(1);
    expect(hv.evtchn(1).bindPirq(6, 0)).toBe(-ENOSPC);
    expect(arch.calls).toEqual(['bind d1 v0 p5 share=false']);
    expect(hv.domain(1)!.pirqToPort.has(6)).toBe(false);
  });

  it('returns the architecture’s pirqGuestBind error and leaves the port free', () => {
    const hv = world({ arch: recordingArch(-EBUSY) });
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(-EBUSY);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
    expect(hv.domain(1)!.pirqToPort.has(5)).toBe(false);
    expect(hv.evtchn(1).bindIpi(0)).toBe(1);
  });

  it('-EOPNOTSUPP on an architecture without pirqs (ARM)', () => {
    const hv = world({ arch: { pirqs: 'none' } });
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(-EOPNOTSUPP);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
  });
});

describe('op 3 close', () => {
  it('-EINVAL for a port not valid, FREE, RESERVED or consumed by Xen', () => {
    const hv = world();
    const d = hv.domain(1)!;
    const consumed = hv.evtchn(1).bindIpi(0);
    d.channels.xenConsumer[consumed] = 1;
    expect(hv.evtchn(1).close(64)).toBe(-EINVAL);
    expect(hv.evtchn(1).close(0xffffffff)).toBe(-EINVAL);
    expect(hv.evtchn(1).close(30)).toBe(-EINVAL);
    expect(hv.evtchn(1).close(0)).toBe(-EINVAL);
    expect(hv.evtchn(1).close(consumed)).toBe(-EINVAL);
    expect(d.channels.state[0]).toBe(ECS.RESERVED);
    expect(d.channels.state[consumed]).toBe(ECS.IPI);
  });

  it('frees the port: pending cleared, mask kept, notify vCPU back to 0, port reusable', () => {
    const hv = world();
    const port = hv.evtchn(1).bindIpi(1);
    expect(hv.evtchn(1).send(port)).toBe(0);
    guestMask(hv, 1, port);
    expect(bits(hv, 1, port)).toEqual({ pending: true, masked: true });
    expect(hv.evtchn(1).close(port)).toBe(0);
    expect(status(hv, 1, port)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(bits(hv, 1, port)).toEqual({ pending: false, masked: true });
    expect(hv.evtchn(1).close(port)).toBe(-EINVAL);
    expect(hv.evtchn(1).allocUnbound(1, 0)).toBe(port);
  });

  it('closing one end of an interdomain channel turns the peer UNBOUND towards the closer, untouched otherwise', () => {
    const hv = world();
    const a = hv.evtchn(1).allocUnbound(1, 2);
    const b = hv.evtchn(2).bindInterdomain(1, a);
    expect(hv.evtchn(1).bindVcpu(a, 1)).toBe(0);
    expect(hv.evtchn(2).send(b)).toBe(0);
    guestMask(hv, 1, a);
    expect(hv.evtchn(2).close(b)).toBe(0);
    expect(status(hv, 2, b)).toMatchObject({ status: 'closed' });
    expect(status(hv, 1, a)).toEqual({ rc: 0, status: 'unbound', vcpu: 1, dom: 2 });
    expect(bits(hv, 1, a)).toEqual({ pending: true, masked: true });
    // The peer can be bound again by the closer.
    expect(hv.evtchn(2).bindInterdomain(1, a)).toBe(b);
  });

  it('closing a VIRQ port unbinds the VIRQ so it can be bound again', () => {
    const hv = world();
    const port = hv.evtchn(1).bindVirq(VIRQ.DEBUG, 1);
    expect(hv.evtchn(1).close(port)).toBe(0);
    expect(hv.domain(1)!.virqToPort[NR_VIRQS + VIRQ.DEBUG]).toBe(0);
    hv.raiseVirq(1, VIRQ.DEBUG, 1);
    expect(bits(hv, 1, port).pending).toBe(false);
    expect(hv.evtchn(1).bindVirq(VIRQ.DEBUG, 1)).toBe(port);
  });

  it('closing a PIRQ port unbinds the pirq in the architecture so it can be bound again', () => {
    const arch = recordingArch();
    const hv = world({ arch });
    const port = hv.evtchn(1).bindPirq(5, 0);
    expect(hv.evtchn(1).close(port)).toBe(0);
    expect(arch.calls).toEqual(['bind d1 v0 p5 share=false', 'unbind d1 p5']);
    expect(hv.link.sendGuestPirq(1, 5)).toBe(0);
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(port);
  });
});

describe('op 4 send', () => {
  it('INTERDOMAIN sets the remote port pending on the remote notify vCPU', () => {
    const hv = world();
    const a = hv.evtchn(1).allocUnbound(1, 0);
    const b = hv.evtchn(0).bindInterdomain(1, a);
    expect(hv.evtchn(1).bindVcpu(a, 1)).toBe(0);
    expect(hv.evtchn(0).send(b)).toBe(0);
    expect(bits(hv, 1, a).pending).toBe(true);
    expect(upcalls(hv, 1)).toEqual([0, 1]);
  });

  it('IPI sets the local port pending on its vCPU', () => {
    const hv = world();
    const port = hv.evtchn(1).bindIpi(1);
    expect(hv.evtchn(1).send(port)).toBe(0);
    expect(bits(hv, 1, port).pending).toBe(true);
    expect(upcalls(hv, 1)).toEqual([0, 1]);
  });

  it('UNBOUND drops the notification and returns 0', () => {
    const hv = world();
    const port = hv.evtchn(1).allocUnbound(1, 2);
    expect(hv.evtchn(1).send(port)).toBe(0);
    expect(bits(hv, 1, port).pending).toBe(false);
    expect(upcalls(hv, 1)).toEqual([0, 0]);
    expect(upcalls(hv, 2)).toEqual([0]);
  });

  it('-EINVAL for a port not valid, consumed by Xen, VIRQ, PIRQ, FREE or RESERVED', () => {
    const hv = world();
    const virq = hv.evtchn(1).bindVirq(VIRQ.TIMER, 0);
    const pirq = hv.evtchn(1).bindPirq(5, 0);
    const consumed = hv.evtchn(1).bindIpi(0);
    hv.domain(1)!.channels.xenConsumer[consumed] = 1;
    for (const port of [64, 0xffffffff, consumed, virq, pirq, 40, 0]) expect(hv.evtchn(1).send(port), `port ${port}`).toBe(-EINVAL);
    for (const port of [virq, pirq, consumed]) expect(bits(hv, 1, port).pending).toBe(false);
    expect(upcalls(hv, 1)).toEqual([0, 0]);
  });
});

describe('op 5 status', () => {
  it('reports every state with the notify vCPU and the state’s details', () => {
    const hv = world();
    const unbound = hv.evtchn(1).allocUnbound(1, 0);
    const peer = hv.evtchn(1).allocUnbound(1, 2);
    const inter = hv.evtchn(2).bindInterdomain(1, peer);
    const pirq = hv.evtchn(1).bindPirq(6, 0);
    const virq = hv.evtchn(1).bindVirq(VIRQ.DEBUG, 1);
    const ipi = hv.evtchn(1).bindIpi(1);
    expect(status(hv, 1, 0)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(status(hv, 1, 63)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(status(hv, 1, unbound)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 0 });
    expect(status(hv, 1, peer)).toEqual({ rc: 0, status: 'interdomain', vcpu: 0, dom: 2, port: inter });
    expect(status(hv, 1, pirq)).toEqual({ rc: 0, status: 'pirq', vcpu: 0, pirq: 6 });
    expect(status(hv, 1, virq)).toEqual({ rc: 0, status: 'virq', vcpu: 1, virq: VIRQ.DEBUG });
    expect(status(hv, 1, ipi)).toEqual({ rc: 0, status: 'ipi', vcpu: 1 });
    expect(status(hv, DOMID_SELF, ipi, 1)).toEqual({ rc: 0, status: 'ipi', vcpu: 1 });
    // The bound interface fills the out struct and drops fields of the previous answer.
    const out: EvtchnStatus = { status: 'closed', vcpu: 9 };
    expect(hv.evtchn(1).status(1, peer, out)).toBe(0);
    expect(out).toEqual({ status: 'interdomain', vcpu: 0, dom: 2, port: inter });
    expect(hv.evtchn(1).status(1, ipi, out)).toBe(0);
    expect(out).toEqual({ status: 'ipi', vcpu: 1 });
  });

  it('-ESRCH, then -EINVAL for a port not valid, then -EPERM from the policy', () => {
    const hv = world({ domains: [...STANDARD_DOMAINS, { id: 3, deviceModel: 2 }] });
    expect(status(hv, 9, 1, 2)).toEqual({ rc: -ESRCH });
    expect(status(hv, 1, 64, 2)).toEqual({ rc: -EINVAL });
    expect(status(hv, 1, 1, 2)).toEqual({ rc: -EPERM });
    expect(status(hv, 0, 1, 1)).toEqual({ rc: -EPERM });
    // Allowed: the domain itself, a privileged domain, the target's device model.
    expect(status(hv, 1, 1, 0).rc).toBe(0);
    expect(status(hv, 3, 1, 2).rc).toBe(0);
    expect(status(hv, 2, 1, 3)).toEqual({ rc: -EPERM });
  });
});

describe('op 6 alloc_unbound', () => {
  it('allocates an UNBOUND port; remoteDom is not checked and DOMID_SELF means the caller', () => {
    const hv = world();
    expect(hv.evtchn(1).allocUnbound(1, 999)).toBe(1);
    expect(status(hv, 1, 1)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 999 });
    expect(hv.evtchn(1).allocUnbound(DOMID_SELF, DOMID_SELF)).toBe(2);
    expect(status(hv, 1, 2)).toMatchObject({ dom: 1 });
    // A privileged caller allocates in another domain; DOMID_SELF names the caller.
    expect(hv.evtchn(0).allocUnbound(1, DOMID_SELF)).toBe(3);
    expect(status(hv, 1, 3)).toMatchObject({ status: 'unbound', dom: 0 });
    expect(status(hv, 0, 1)).toMatchObject({ status: 'closed' });
  });

  it('-ESRCH for a missing domain', () => {
    const hv = world();
    expect(hv.evtchn(0).allocUnbound(7, 0)).toBe(-ESRCH);
    expect(hv.evtchn(0).allocUnbound(0xffff, 0)).toBe(-ESRCH);
  });

  it('-EPERM for an unprivileged caller on another domain, with the port freed again', () => {
    const hv = world();
    expect(hv.evtchn(2).allocUnbound(1, 2)).toBe(-EPERM);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
    expect(hv.evtchn(1).allocUnbound(1, 2)).toBe(1);
  });

  it('alloc errors: -ENOSPC at maxEvtchnPort, -EINVAL while dying', () => {
    const hv = world({ domains: [{ id: 0 }, { id: 1, maxEvtchnPort: 2 }] });
    expect(hv.evtchn(1).allocUnbound(1, 0)).toBe(1);
    expect(hv.evtchn(1).allocUnbound(1, 0)).toBe(2);
    expect(hv.evtchn(1).allocUnbound(1, 0)).toBe(-ENOSPC);
    expect(hv.evtchn(0).allocUnbound(1, 0)).toBe(-ENOSPC);
    expect(hv.evtchn(1).close(1)).toBe(0);
    hv.domain(1)!.dying = true;
    expect(hv.evtchn(1).allocUnbound(1, 0)).toBe(-EINVAL);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
  });
});

describe('op 7 bind_ipi', () => {
  it('binds an IPI port notifying the vCPU', () => {
    const hv = world();
    expect(hv.evtchn(0).bindIpi(1)).toBe(1);
    expect(status(hv, 0, 1)).toEqual({ rc: 0, status: 'ipi', vcpu: 1 });
  });

  it('-ENOENT for a missing vCPU; alloc errors', () => {
    const hv = world({ domains: [{ id: 0 }, { id: 1, vcpus: 2, maxEvtchnPort: 1 }] });
    expect(hv.evtchn(1).bindIpi(2)).toBe(-ENOENT);
    expect(hv.evtchn(1).bindIpi(0xffffffff)).toBe(-ENOENT);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
    expect(hv.evtchn(1).bindIpi(1)).toBe(1);
    expect(hv.evtchn(1).bindIpi(0)).toBe(-ENOSPC);
  });
});

describe('op 8 bind_vcpu', () => {
  it('-ENOENT for a missing vCPU is checked before the port', () => {
    const hv = world();
    expect(hv.evtchn(1).bindVcpu(5000, 2)).toBe(-ENOENT);
    expect(hv.evtchn(1).bindVcpu(0, 2)).toBe(-ENOENT);
  });

  it('-EINVAL for a port not valid or consumed by Xen', () => {
    const hv = world();
    const port = hv.evtchn(1).allocUnbound(1, 0);
    hv.domain(1)!.channels.xenConsumer[port] = 1;
    expect(hv.evtchn(1).bindVcpu(64, 1)).toBe(-EINVAL);
    expect(hv.evtchn(1).bindVcpu(port, 1)).toBe(-EINVAL);
    expect(hv.domain(1)!.channels.notifyVcpu[port]).toBe(0);
  });

  it('moves UNBOUND, INTERDOMAIN, global and per-domain VIRQ ports; later events go to the new vCPU', () => {
    const hv = world();
    const unbound = hv.evtchn(1).allocUnbound(1, 0);
    const inter = hv.evtchn(1).allocUnbound(1, 2);
    const remote = hv.evtchn(2).bindInterdomain(1, inter);
    const argo = hv.evtchn(1).bindVirq(VIRQ.ARGO, 0);
    const global = hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0);
    for (const p of [unbound, inter, argo]) expect(hv.evtchn(1).bindVcpu(p, 1)).toBe(0);
    expect(hv.evtchn(0).bindVcpu(global, 1)).toBe(0);
    for (const p of [unbound, inter, argo]) expect(status(hv, 1, p).vcpu).toBe(1);
    expect(status(hv, 0, global).vcpu).toBe(1);
    expect(hv.evtchn(2).send(remote)).toBe(0);
    expect(upcalls(hv, 1)).toEqual([0, 1]);
    hv.raiseVirq(1, VIRQ.ARGO, 0);
    expect(bits(hv, 1, argo).pending).toBe(true);
  });

  it('-EINVAL for per-vCPU VIRQs, IPI, FREE and RESERVED ports', () => {
    const hv = world();
    const timer = hv.evtchn(1).bindVirq(VIRQ.TIMER, 0);
    const ipi = hv.evtchn(1).bindIpi(0);
    for (const p of [timer, ipi, 30, 0]) expect(hv.evtchn(1).bindVcpu(p, 1), `port ${p}`).toBe(-EINVAL);
    expect(status(hv, 1, timer).vcpu).toBe(0);
    expect(status(hv, 1, ipi).vcpu).toBe(0);
  });

  it('moves a PIRQ port and asks the architecture to move the IRQ only when the vCPU changes', () => {
    const arch = recordingArch();
    const hv = world({ arch });
    const port = hv.evtchn(1).bindPirq(5, 0);
    expect(hv.evtchn(1).bindVcpu(port, 0)).toBe(0);
    expect(hv.evtchn(1).bindVcpu(port, 1)).toBe(0);
    expect(arch.calls).toEqual(['bind d1 v0 p5 share=false', 'affinity d1 p5 v1']);
    expect(status(hv, 1, port).vcpu).toBe(1);
    hv.link.sendGuestPirq(1, 5);
    expect(upcalls(hv, 1)).toEqual([0, 1]);
  });
});

describe('op 9 unmask', () => {
  it('-EINVAL only for a port not valid; 0 and nothing touched on an unusable valid port', () => {
    const hv = world();
    guestMask(hv, 1, 20);
    guestMask(hv, 1, 0);
    expect(hv.evtchn(1).unmask(64)).toBe(-EINVAL);
    expect(hv.evtchn(1).unmask(20)).toBe(0);
    expect(hv.evtchn(1).unmask(0)).toBe(0);
    expect(bits(hv, 1, 20).masked).toBe(true);
    expect(bits(hv, 1, 0).masked).toBe(true);
  });

  it('unmasks a usable port and re-delivers an event that arrived while masked', () => {
    const hv = world();
    const port = hv.evtchn(1).bindIpi(1);
    guestMask(hv, 1, port);
    expect(hv.evtchn(1).send(port)).toBe(0);
    expect(bits(hv, 1, port)).toEqual({ pending: true, masked: true });
    expect(upcalls(hv, 1)).toEqual([0, 0]);
    expect(hv.evtchn(1).unmask(port)).toBe(0);
    expect(bits(hv, 1, port)).toEqual({ pending: true, masked: false });
    expect(upcalls(hv, 1)).toEqual([0, 1]);
  });

  it('does not touch a port consumed by Xen', () => {
    const hv = world();
    const port = hv.evtchn(1).bindIpi(0);
    hv.domain(1)!.channels.xenConsumer[port] = 1;
    guestMask(hv, 1, port);
    expect(hv.evtchn(1).unmask(port)).toBe(0);
    expect(bits(hv, 1, port).masked).toBe(true);
  });
});

describe('ops 10 reset and 14 reset_cont', () => {
  function populated(): Hypervisor {
    const hv = world();
    hv.evtchn(1).bindIpi(0); // 1
    const offered = hv.evtchn(1).allocUnbound(1, 2); // 2
    hv.evtchn(2).bindInterdomain(1, offered); // dom2 port 1
    hv.evtchn(1).bindVirq(VIRQ.TIMER, 1); // 3
    hv.evtchn(1).bindPirq(5, 0); // 4
    return hv;
  }

  it('closes every guest port from 1 up; port 0 stays RESERVED; peers become UNBOUND', () => {
    const hv = populated();
    const consumed = hv.evtchn(1).bindIpi(0);
    hv.domain(1)!.channels.xenConsumer[consumed] = 1;
    expect(hv.evtchn(1).reset(DOMID_SELF)).toBe(0);
    for (const p of [1, 2, 3, 4]) expect(status(hv, 1, p)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(hv.domain(1)!.channels.state[0]).toBe(ECS.RESERVED);
    expect(hv.domain(1)!.channels.state[consumed]).toBe(ECS.IPI);
    expect(status(hv, 2, 1)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 1 });
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 1)).toBe(1);
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(2);
  });

  it('-ESRCH; -EPERM from the policy; -EINVAL when the target is another, unpaused domain', () => {
    const hv = populated();
    expect(hv.evtchn(0).reset(9)).toBe(-ESRCH);
    expect(hv.evtchn(2).reset(1)).toBe(-EPERM); // before the pause check
    expect(hv.evtchn(0).reset(1)).toBe(-EINVAL);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'ipi' });
    expect(hv.pause(1)).toBe(0);
    expect(hv.evtchn(2).reset(1)).toBe(-EPERM);
    expect(hv.evtchn(0).reset(1)).toBe(0);
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
  });

  it('reset_cont: -EBUSY when no reset runs, after the same -ESRCH/-EPERM/-EINVAL checks', () => {
    const hv = populated();
    expect(hv.evtchn(1).resetCont(1)).toBe(-EBUSY);
    expect(hv.evtchn(0).resetCont(9)).toBe(-ESRCH);
    expect(hv.evtchn(2).resetCont(1)).toBe(-EPERM);
    expect(hv.evtchn(0).resetCont(1)).toBe(-EINVAL);
    expect(hv.eventChannelOp(1, EVTCHNOP.reset_cont, { dom: 1 })).toEqual({ rc: -EBUSY });
    expect(status(hv, 1, 1)).toMatchObject({ status: 'ipi' });
  });

  it('returns a FIFO domain to 2-level, after which init_control works again', () => {
    const hv = world({ fifo: true });
    expect(hv.evtchn(1).initControl(100, 0, 0)).toBe(17);
    expect(hv.domain(1)!.abi.name).toBe('fifo');
    expect(hv.evtchn(1).bindIpi(0)).toBe(1);
    expect(hv.evtchn(1).reset(1)).toBe(0);
    expect(hv.domain(1)!.abi.name).toBe('2level');
    expect(hv.evtchn(1).setPriority(1, 3)).toBe(-ENOSYS);
    expect(hv.evtchn(1).expandArray(101)).toBe(-EOPNOTSUPP);
    expect(hv.evtchn(1).initControl(100, 0, 0)).toBe(17);
    expect(hv.domain(1)!.abi.name).toBe('fifo');
  });
});

describe('op 11 init_control', () => {
  it('-EOPNOTSUPP when the hypervisor offers no FIFO ABI', () => {
    const hv = world();
    expect(hv.evtchn(1).initControl(100, 0, 0)).toBe(-EOPNOTSUPP);
    expect(hv.domain(1)!.abi.name).toBe('2level');
  });

  it('returns 17 link bits and switches the domain to FIFO', () => {
    const hv = world({ fifo: true });
    expect(hv.evtchn(1).initControl(100, 4024, 0)).toBe(17);
    expect(hv.domain(1)!.abi.name).toBe('fifo');
    expect(hv.evtchn(1).initControl(100, 0, 1)).toBe(17);
    expect(hv.domain(2)!.abi.name).toBe('2level');
  });

  it('-ENOENT for a missing vCPU first, then -EINVAL for a bad offset, a second block, a bad page', () => {
    const hv = world({ fifo: true, domains: [{ id: 0 }, { id: 1, vcpus: 2, memPages: 4096 }] });
    expect(hv.evtchn(1).initControl(5000, 4, 2)).toBe(-ENOENT);
    expect(hv.evtchn(1).initControl(100, 4025, 0)).toBe(-EINVAL);
    expect(hv.evtchn(1).initControl(100, 4028, 0)).toBe(-EINVAL);
    expect(hv.evtchn(1).initControl(100, 12, 0)).toBe(-EINVAL);
    expect(hv.evtchn(1).initControl(4096, 0, 0)).toBe(-EINVAL);
    expect(hv.domain(1)!.abi.name).toBe('2level');
    expect(hv.evtchn(1).initControl(4095, 8, 0)).toBe(17);
    expect(hv.evtchn(1).initControl(100, 0, 0)).toBe(-EINVAL);
    // Once on FIFO the same checks apply to further vCPUs.
    expect(hv.evtchn(1).initControl(100, 0, 2)).toBe(-ENOENT);
    expect(hv.evtchn(1).initControl(100, 4, 1)).toBe(-EINVAL);
    expect(hv.evtchn(1).initControl(4096, 0, 1)).toBe(-EINVAL);
    expect(hv.evtchn(1).initControl(101, 0, 1)).toBe(17);
  });

  it('carries every port’s 2-level pending bit into its FIFO pending flag at priority 7', () => {
    const hv = world({ fifo: true });
    const sent = hv.evtchn(1).bindIpi(0);
    const quiet = hv.evtchn(1).bindIpi(0);
    expect(hv.evtchn(1).send(sent)).toBe(0);
    expect(hv.evtchn(1).initControl(100, 0, 0)).toBe(17);
    const ch = hv.domain(1)!.channels;
    expect([ch.pendingFlag[sent], ch.pendingFlag[quiet]]).toEqual([1, 0]);
    expect([ch.priority[sent], ch.priority[quiet]]).toEqual([7, 7]);
    // No event array yet: nothing reads pending until the page covering it is added.
    expect(bits(hv, 1, sent)).toEqual({ pending: false, masked: true });
    expect(hv.evtchn(1).expandArray(101)).toBe(0);
    expect(bits(hv, 1, sent)).toEqual({ pending: true, masked: false });
    expect(bits(hv, 1, quiet)).toEqual({ pending: false, masked: false });
  });
});

describe('op 12 expand_array', () => {
  it('-EOPNOTSUPP before FIFO is initialised', () => {
    const hv = world({ fifo: true });
    expect(hv.evtchn(1).expandArray(101)).toBe(-EOPNOTSUPP);
  });

  it('adds one page of 1024 event words per call; -EINVAL for a bad page; -ENOSPC after 128 pages', () => {
    const hv = world({ fifo: true, domains: [{ id: 0 }, { id: 1, memPages: 4096 }] });
    expect(hv.evtchn(1).initControl(1, 0, 0)).toBe(17);
    const port = hv.evtchn(1).bindIpi(0);
    expect(bits(hv, 1, port).masked).toBe(true); // no event word yet
    expect(hv.evtchn(1).expandArray(4096)).toBe(-EINVAL);
    expect(bits(hv, 1, port).masked).toBe(true);
    for (let i = 0; i < 128; i++) expect(hv.evtchn(1).expandArray(2 + i)).toBe(0);
    expect(bits(hv, 1, port).masked).toBe(false);
    expect(hv.evtchn(1).expandArray(200)).toBe(-ENOSPC);
    expect(hv.evtchn(1).send(port)).toBe(0);
    expect(bits(hv, 1, port).pending).toBe(true);
  });

  it('raises newly covered ports whose pending flag is set', () => {
    const hv = world({ fifo: true });
    expect(hv.evtchn(1).initControl(1, 0, 0)).toBe(17);
    const port = hv.evtchn(1).bindIpi(0);
    expect(hv.evtchn(1).send(port)).toBe(0); // no event word: only the sticky flag
    expect(hv.domain(1)!.channels.pendingFlag[port]).toBe(1);
    expect(upcalls(hv, 1)).toEqual([0, 0]);
    expect(hv.evtchn(1).expandArray(2)).toBe(0);
    expect(bits(hv, 1, port).pending).toBe(true);
    expect(upcalls(hv, 1)).toEqual([1, 0]);
  });
});

describe('op 13 set_priority', () => {
  it('on 2-level: -EINVAL for a port not valid, else -ENOSYS', () => {
    const hv = world({ fifo: true });
    const port = hv.evtchn(1).bindIpi(0);
    expect(hv.evtchn(1).setPriority(64, 3)).toBe(-EINVAL);
    expect(hv.evtchn(1).setPriority(port, 3)).toBe(-ENOSYS);
    expect(hv.evtchn(1).setPriority(30, 3)).toBe(-ENOSYS);
    expect(hv.evtchn(1).setPriority(port, 99)).toBe(-ENOSYS);
  });

  it('on FIFO: -EINVAL not valid, -EACCES not usable, -EINVAL priority > 15; else sets it', () => {
    const hv = world({ fifo: true });
    const port = hv.evtchn(1).bindIpi(0);
    const consumed = hv.evtchn(1).bindIpi(0);
    hv.domain(1)!.channels.xenConsumer[consumed] = 1;
    expect(hv.evtchn(1).initControl(1, 0, 0)).toBe(17);
    const ch = hv.domain(1)!.channels;
    expect(hv.evtchn(1).setPriority(64, 3)).toBe(-EINVAL);
    expect(hv.evtchn(1).setPriority(30, 3)).toBe(-EACCES);
    expect(hv.evtchn(1).setPriority(0, 3)).toBe(-EACCES);
    expect(hv.evtchn(1).setPriority(consumed, 3)).toBe(-EACCES);
    expect(hv.evtchn(1).setPriority(30, 16)).toBe(-EACCES); // usability before the range
    expect(hv.evtchn(1).setPriority(port, 16)).toBe(-EINVAL);
    expect(ch.priority[port]).toBe(7);
    expect(hv.evtchn(1).setPriority(port, 15)).toBe(0);
    expect(ch.priority[port]).toBe(15);
    expect(hv.evtchn(1).setPriority(port, 0)).toBe(0);
    expect(ch.priority[port]).toBe(0);
  });
});

describe('unknown ops and unreadable arguments', () => {
  it('-ENOSYS for an op number outside 0..14', () => {
    const hv = world();
    for (const cmd of [15, 16, 99, 0xffffffff, -1, 1.5]) expect(hv.eventChannelOp(1, cmd, {})).toEqual({ rc: -ENOSYS });
  });

  it('-EFAULT when there is no argument struct to read', () => {
    const hv = world();
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_ipi, null as unknown as Record<string, unknown>)).toEqual({ rc: -EFAULT });
    expect(status(hv, 1, 1)).toMatchObject({ status: 'closed' });
  });

  it('the raw interface answers with the op’s outputs under the public header’s names', () => {
    const hv = world({ fifo: true });
    expect(hv.eventChannelOp(1, EVTCHNOP.alloc_unbound, { dom: 1, remote_dom: 2 })).toEqual({ rc: 0, port: 1 });
    expect(hv.eventChannelOp(2, EVTCHNOP.bind_interdomain, { remote_dom: 1, remote_port: 1 })).toEqual({ rc: 0, local_port: 1 });
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_virq, { virq: 0, vcpu: 1 })).toEqual({ rc: 0, port: 2 });
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_pirq, { pirq: 5, flags: 0 })).toEqual({ rc: 0, port: 3 });
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_ipi, { vcpu: 1 })).toEqual({ rc: 0, port: 4 });
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_vcpu, { port: 1, vcpu: 1 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.send, { port: 4 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.unmask, { port: 4 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.close, { port: 4 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.status, { dom: 1, port: 3 })).toEqual({ rc: 0, status: 'pirq', vcpu: 0, pirq: 5 });
    expect(hv.eventChannelOp(1, EVTCHNOP.init_control, { control_gfn: 9, offset: 0, vcpu: 0 })).toEqual({ rc: 0, link_bits: 17 });
    expect(hv.eventChannelOp(1, EVTCHNOP.expand_array, { array_gfn: 10 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.set_priority, { port: 1, priority: 2 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(1, EVTCHNOP.reset, { dom: 1 })).toEqual({ rc: 0 });
    expect(hv.eventChannelOp(9, EVTCHNOP.bind_ipi, { vcpu: 0 })).toEqual({ rc: -ESRCH });
  });
});
