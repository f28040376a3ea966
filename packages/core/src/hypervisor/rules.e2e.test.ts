/*
 * The rules of SPEC §1.3a that decide results beyond single ops: bucket validity, allocation
 * before later checks, lowest-free reuse, the ABIs' port limits, the global VIRQ handler, the
 * toolstack operations, bad input and the dummy policy's target checks. Real core, real ABIs.
 */
import { describe, expect, it } from 'vitest';
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import {
  DOMID_SELF,
  EVTCHNOP,
  Errno,
  Hypervisor,
  MAX_PAUSE_COUNT,
  VIRQ,
  nullArchitecture,
  type DomainCreateOptions,
  type EventAbi,
  type EvtchnOpName,
  type RawOpResult,
} from '@evtchn/core';

const { EINVAL, ESRCH, EBUSY, ENOSPC, EPERM, EOVERFLOW } = Errno;

const STANDARD_DOMAINS: DomainCreateOptions[] = [
  { id: 0, vcpus: 2 },
  { id: 1, vcpus: 2, pirqs: [5] },
  { id: 2, vcpus: 1 },
];

function world(domains: DomainCreateOptions[] = STANDARD_DOMAINS, fifo = false): Hypervisor {
  const abis: EventAbi[] = [new TwoLevelAbi()];
  if (fifo) abis.push(new FifoAbi());
  const hv = Hypervisor.create({ arch: nullArchitecture(), abis });
  for (const d of domains) hv.createDomain(d);
  return hv;
}

function status(hv: Hypervisor, dom: number, port: number, caller = dom): RawOpResult {
  return hv.eventChannelOp(caller, EVTCHNOP.status, { dom, port });
}

/** Allocates UNBOUND ports in `dom` until allocation fails. @returns the ports and the error */
function fill(hv: Hypervisor, dom: number): { ports: number[]; rc: number } {
  const ports: number[] = [];
  for (;;) {
    const rc = hv.evtchn(dom).allocUnbound(DOMID_SELF, 0);
    if (rc < 0) return { ports, rc };
    ports.push(rc);
  }
}

/** Everything an op could change, in every domain: ports, bits, VIRQ/pirq tables, toolstack state. */
function snapshot(hv: Hypervisor): unknown {
  return hv.allDomains().map((d) => ({
    id: d.id,
    valid: d.channels.valid,
    abi: d.abi.name,
    pause: d.pauseCount,
    ports: Array.from({ length: d.channels.valid }, (_, p) => ({
      ...d.channels.snapshot(p),
      pending: d.abi.isPending(p),
      masked: d.abi.isMasked(p),
    })),
    virqs: [...d.virqToPort],
    pirqs: [...d.pirqToPort],
    upcall: [...d.sharedInfo.upcallPending],
    sel: [...d.sharedInfo.pendingSel],
  }));
}

describe('validity grows by buckets of 64 ports and never shrinks', () => {
  it('ports 0–63 are valid at creation; the first port past the range is -EINVAL everywhere', () => {
    const hv = world();
    const ops = hv.evtchn(1);
    expect(hv.domain(1)!.channels.valid).toBe(64);
    expect(status(hv, 1, 63)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(ops.unmask(63)).toBe(0);
    expect(ops.close(63)).toBe(-EINVAL);
    expect(hv.query(1, 63)).toEqual({ rc: 0, pending: false, masked: false });
    expect(status(hv, 1, 64)).toEqual({ rc: -EINVAL });
    expect(ops.unmask(64)).toBe(-EINVAL);
    expect(ops.close(64)).toBe(-EINVAL);
    expect(ops.send(64)).toBe(-EINVAL);
    expect(ops.bindVcpu(64, 0)).toBe(-EINVAL);
    expect(ops.setPriority(64, 0)).toBe(-EINVAL);
    expect(hv.query(1, 64)).toEqual({ rc: -EINVAL });
    expect(hv.evtchn(2).bindInterdomain(1, 64)).toBe(-EINVAL);
  });

  it('allocating port 64 makes ports up to 127 valid; closing and reset keep the range', () => {
    const hv = world();
    const ops = hv.evtchn(1);
    for (let p = 1; p < 64; p++) expect(ops.bindIpi(0)).toBe(p);
    expect(hv.domain(1)!.channels.valid).toBe(64);
    expect(status(hv, 1, 64)).toEqual({ rc: -EINVAL });
    expect(ops.bindIpi(0)).toBe(64);
    expect(hv.domain(1)!.channels.valid).toBe(128);
    expect(status(hv, 1, 127)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(ops.unmask(127)).toBe(0);
    expect(status(hv, 1, 128)).toEqual({ rc: -EINVAL });
    expect(ops.unmask(128)).toBe(-EINVAL);
    for (let p = 1; p <= 64; p++) expect(ops.close(p)).toBe(0);
    expect(status(hv, 1, 127).rc).toBe(0);
    expect(ops.reset(DOMID_SELF)).toBe(0);
    expect(status(hv, 1, 127).rc).toBe(0);
    expect(hv.domain(1)!.channels.valid).toBe(128);
  });

  it('a refused alloc_unbound still grows the target’s range', () => {
    const hv = world();
    for (let p = 1; p < 64; p++) expect(hv.evtchn(1).bindIpi(0)).toBe(p);
    expect(hv.evtchn(2).allocUnbound(1, 2)).toBe(-EPERM);
    expect(hv.domain(1)!.channels.valid).toBe(128);
    expect(status(hv, 1, 64)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
    expect(status(hv, 1, 100)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
  });

  it('a bind_interdomain refused for its remote port still grows the caller’s range', () => {
    const hv = world();
    for (let p = 1; p < 64; p++) expect(hv.evtchn(2).bindIpi(0)).toBe(p);
    expect(hv.evtchn(2).bindInterdomain(1, 30)).toBe(-EINVAL);
    expect(hv.domain(2)!.channels.valid).toBe(128);
    expect(status(hv, 2, 64)).toEqual({ rc: 0, status: 'closed', vcpu: 0 });
  });
});

describe('allocation happens before later checks', () => {
  it('alloc_unbound: -ENOSPC wins over -EPERM', () => {
    const hv = world([{ id: 0 }, { id: 1, maxEvtchnPort: 3 }, { id: 2 }]);
    expect(fill(hv, 1)).toEqual({ ports: [1, 2, 3], rc: -ENOSPC });
    expect(hv.evtchn(2).allocUnbound(1, 2)).toBe(-ENOSPC);
    expect(hv.evtchn(1).close(2)).toBe(0);
    expect(hv.evtchn(2).allocUnbound(1, 2)).toBe(-EPERM);
    expect(status(hv, 1, 2)).toMatchObject({ status: 'closed' });
  });

  it('bind_interdomain: -ENOSPC comes before looking at the remote port (-EINVAL)', () => {
    const hv = world([{ id: 0 }, { id: 1, maxEvtchnPort: 1 }, { id: 2 }]);
    expect(hv.evtchn(1).bindIpi(0)).toBe(1);
    expect(hv.evtchn(1).bindInterdomain(2, 9999)).toBe(-ENOSPC);
    expect(hv.evtchn(1).bindInterdomain(2, 5)).toBe(-ENOSPC);
    expect(hv.evtchn(1).close(1)).toBe(0);
    expect(hv.evtchn(1).bindInterdomain(2, 5)).toBe(-EINVAL);
  });
});

describe('lowest free port', () => {
  it('reuses the lowest closed port first, then continues upwards', () => {
    const hv = world();
    const ops = hv.evtchn(1);
    for (let p = 1; p <= 6; p++) expect(ops.allocUnbound(1, 0)).toBe(p);
    expect(ops.close(4)).toBe(0);
    expect(ops.close(2)).toBe(0);
    expect(ops.close(5)).toBe(0);
    expect(ops.bindIpi(0)).toBe(2);
    expect(ops.bindVirq(VIRQ.TIMER, 0)).toBe(4);
    expect(ops.allocUnbound(1, 0)).toBe(5);
    expect(ops.allocUnbound(1, 0)).toBe(7);
    expect(ops.close(1)).toBe(0);
    expect(ops.allocUnbound(1, 0)).toBe(1);
  });

  it('a port allocated by a failed op stays free and is handed out next', () => {
    const hv = world();
    expect(hv.evtchn(2).allocUnbound(1, 2)).toBe(-EPERM);
    expect(hv.evtchn(1).bindIpi(0)).toBe(1);
  });

  it('FIFO: a closed port still LINKED on a queue is busy and skipped until it is consumed', () => {
    const hv = world(STANDARD_DOMAINS, true);
    const ops = hv.evtchn(1);
    expect(ops.initControl(1, 0, 0)).toBe(17);
    expect(ops.expandArray(2)).toBe(0);
    const port = ops.bindIpi(0);
    expect(port).toBe(1);
    expect(ops.send(port)).toBe(0);
    expect(ops.close(port)).toBe(0);
    expect(status(hv, 1, port)).toMatchObject({ status: 'closed' });
    expect(hv.domain(1)!.abi.isBusy!(port)).toBe(true);
    expect(ops.bindIpi(0)).toBe(2);
    // The guest consumes the event: it clears LINKED in the event word (page of gfn 2, word 1).
    const page = hv.domain(1)!.memory.page(2)!;
    page[1] = page[1]! & ~(1 << 29);
    expect(ops.bindIpi(0)).toBe(1);
  });
});

describe('each ABI touches only its own bits (FIFO → 2-level)', () => {
  it('2-level pending bits left from before the switch survive reset; a port allocated there inherits them', () => {
    const hv = world(STANDARD_DOMAINS, true);
    const ops = hv.evtchn(1);
    const port = ops.bindIpi(0);
    expect(ops.send(port)).toBe(0);
    expect(ops.initControl(1, 0, 0)).toBe(17);
    expect(ops.close(port)).toBe(0); // FIFO clearPending: no event word, the 2-level bit stays
    expect(ops.reset(DOMID_SELF)).toBe(0);
    expect(hv.domain(1)!.abi.name).toBe('2level');
    expect(hv.query(1, port)).toEqual({ rc: 0, pending: true, masked: false });
    expect(ops.bindIpi(0)).toBe(port);
    expect(hv.query(1, port)).toEqual({ rc: 0, pending: true, masked: false });
  });

  it('the sticky FIFO pending flag raises a free port when a later expand_array covers it', () => {
    const hv = world(STANDARD_DOMAINS, true);
    const ops = hv.evtchn(1);
    expect(ops.initControl(1, 0, 0)).toBe(17);
    const port = ops.bindIpi(0);
    expect(ops.send(port)).toBe(0); // no event word: sets the flag only
    expect(ops.reset(DOMID_SELF)).toBe(0);
    expect(hv.domain(1)!.channels.pendingFlag[port]).toBe(1);
    expect(ops.initControl(1, 0, 0)).toBe(17);
    expect(ops.expandArray(2)).toBe(0);
    expect(status(hv, 1, port)).toMatchObject({ status: 'closed' });
    expect(hv.query(1, port)).toEqual({ rc: 0, pending: true, masked: false });
    expect(hv.domain(1)!.abi.isBusy!(port)).toBe(true);
    expect(ops.bindIpi(0)).toBe(port + 1);
  });
});

describe('2-level port limits', () => {
  it('a 64-bit guest gets -ENOSPC at port 4096', () => {
    const hv = world([{ id: 0, vcpus: 1 }]);
    const { ports, rc } = fill(hv, 0);
    expect(rc).toBe(-ENOSPC);
    expect(ports.length).toBe(4095);
    expect(ports.at(-1)).toBe(4095);
    expect(hv.domain(0)!.channels.valid).toBe(4096);
    expect(hv.evtchn(0).bindIpi(0)).toBe(-ENOSPC);
    expect(hv.evtchn(0).close(4000)).toBe(0);
    expect(hv.evtchn(0).bindIpi(0)).toBe(4000);
  });

  it('a 32-bit guest gets -ENOSPC at port 1024, whatever its maxEvtchnPort', () => {
    for (const opts of [
      { id: 0, wordBits: 32 as const },
      { id: 5, wordBits: 32 as const, maxEvtchnPort: 100000 },
    ]) {
      const hv = world([opts]);
      const { ports, rc } = fill(hv, opts.id);
      expect(rc).toBe(-ENOSPC);
      expect(ports.at(-1)).toBe(1023);
      expect(hv.domain(opts.id)!.channels.valid).toBe(1024);
      expect(status(hv, opts.id, 1024)).toEqual({ rc: -EINVAL });
    }
  });

  it('maxEvtchnPort below the ABI limit decides first (default 1023 for guests)', () => {
    const hv = world([{ id: 0 }, { id: 1 }, { id: 2, maxEvtchnPort: 70 }]);
    expect(fill(hv, 1).ports.at(-1)).toBe(1023);
    const small = fill(hv, 2);
    expect(small).toEqual({ ports: Array.from({ length: 70 }, (_, i) => i + 1), rc: -ENOSPC });
    expect(hv.domain(2)!.channels.valid).toBe(128);
  });

  it('FIFO raises the limit to 131072 ports', () => {
    const hv = world([{ id: 0 }], true);
    expect(hv.evtchn(0).initControl(1, 0, 0)).toBe(17);
    const { ports, rc } = fill(hv, 0);
    expect(rc).toBe(-ENOSPC);
    expect(ports.at(-1)).toBe(131071);
  });
});

describe('global VIRQ handler', () => {
  it('set_global_virq_handler: -EINVAL for virq >= 24 or a VIRQ that is not global', () => {
    const hv = world();
    expect(hv.setGlobalVirqHandler(24, 1)).toBe(-EINVAL);
    expect(hv.setGlobalVirqHandler(VIRQ.TIMER, 1)).toBe(-EINVAL);
    expect(hv.setGlobalVirqHandler(VIRQ.XENPMU, 1)).toBe(-EINVAL);
    expect(hv.setGlobalVirqHandler(VIRQ.ARGO, 1)).toBe(-EINVAL);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
  });

  it('set_global_virq_handler: a missing domain is -ESRCH before any virq check (a domctl looks the domain up first)', () => {
    // Xen 4.x xen/common/domctl.c: do_domctl resolves op->domain before XEN_DOMCTL_set_virq_handler
    // reaches set_global_virq_handler's virq checks (SPEC §1.3a).
    const hv = world();
    expect(hv.setGlobalVirqHandler(40, 5)).toBe(-ESRCH);
    expect(hv.setGlobalVirqHandler(VIRQ.TIMER, 5)).toBe(-ESRCH);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 5)).toBe(-ESRCH);
    expect(hv.setGlobalVirqHandler(40, 1)).toBe(-EINVAL);
  });

  it('0 when the domain already handles it (dom0 by default); the handler binds, others get -EBUSY', () => {
    const hv = world();
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 0)).toBe(0);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0);
    expect(hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.evtchn(2).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    const port = hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0);
    expect(port).toBe(1);
    hv.sendGlobalVirq(VIRQ.CONSOLE);
    expect(hv.query(1, port)).toMatchObject({ pending: true });
    // Other global VIRQs still belong to dom0.
    expect(hv.evtchn(1).bindVirq(VIRQ.DOM_EXC, 0)).toBe(-EBUSY);
    expect(hv.evtchn(0).bindVirq(VIRQ.DOM_EXC, 0)).toBe(1);
  });

  it('-EBUSY while the current handler has it bound; allowed once it closes the port', () => {
    const hv = world();
    const port = hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(-EBUSY);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.evtchn(0).close(port)).toBe(0);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(1);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 2)).toBe(-EBUSY);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
  });

  it('-EINVAL for a dying domain', () => {
    const hv = world();
    hv.domain(2)!.dying = true;
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 2)).toBe(-EINVAL);
    hv.domain(2)!.dying = false;
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 2)).toBe(0);
  });

  it('with no hardware domain nobody handles a global VIRQ until one is set', () => {
    const hv = world([{ id: 1 }, { id: 2 }]);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.evtchn(2).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 2)).toBe(0);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
    expect(hv.evtchn(2).bindVirq(VIRQ.CONSOLE, 0)).toBe(1);
  });

  it('destroying the handler domain hands its VIRQs back to the default', () => {
    const hv = world();
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(0);
    expect(hv.setGlobalVirqHandler(VIRQ.TBUF, 1)).toBe(0);
    expect(hv.evtchn(1).bindVirq(VIRQ.CONSOLE, 0)).toBe(1);
    expect(hv.evtchn(0).bindVirq(VIRQ.TBUF, 0)).toBe(-EBUSY);
    expect(hv.destroy(1)).toBe(0);
    expect(hv.evtchn(0).bindVirq(VIRQ.CONSOLE, 0)).toBe(1);
    expect(hv.evtchn(0).bindVirq(VIRQ.TBUF, 0)).toBe(2);
    expect(hv.evtchn(2).bindVirq(VIRQ.CONSOLE, 0)).toBe(-EBUSY);
  });
});

describe('toolstack', () => {
  it('pause counts up to 255, then -EOVERFLOW; unpause counts down, -EINVAL at 0', () => {
    const hv = world();
    const d = hv.domain(1)!;
    expect(d.paused).toBe(false);
    expect(hv.unpause(1)).toBe(-EINVAL);
    for (let i = 0; i < MAX_PAUSE_COUNT; i++) expect(hv.pause(1)).toBe(0);
    expect(MAX_PAUSE_COUNT).toBe(255);
    expect(d.pauseCount).toBe(255);
    expect(hv.pause(1)).toBe(-EOVERFLOW);
    expect(d.pauseCount).toBe(255);
    for (let i = 0; i < 254; i++) expect(hv.unpause(1)).toBe(0);
    expect(d.paused).toBe(true);
    expect(hv.unpause(1)).toBe(0);
    expect(d.paused).toBe(false);
    expect(hv.unpause(1)).toBe(-EINVAL);
    expect(d.pauseCount).toBe(0);
  });

  it('pause, unpause and destroy: -ESRCH for a missing domain, -EINVAL for a bad id', () => {
    const hv = world();
    for (const op of ['pause', 'unpause', 'destroy'] as const) {
      expect(hv[op](9)).toBe(-ESRCH);
      expect(hv[op](-1)).toBe(-EINVAL);
      expect(hv[op](0x10000)).toBe(-EINVAL);
      expect(hv[op](1.5)).toBe(-EINVAL);
    }
  });

  it('destroy: peers become UNBOUND towards it, VIRQ_DOM_EXC reaches the handler, then -ESRCH', () => {
    const hv = world();
    const exc = hv.evtchn(0).bindVirq(VIRQ.DOM_EXC, 0);
    const raised: number[] = [];
    hv.bus.on('evtchn:pending', (dom, port) => {
      if (dom === 0 && port === exc) raised.push(port);
    });
    const offered = hv.evtchn(1).allocUnbound(1, 2);
    const dom2port = hv.evtchn(2).bindInterdomain(1, offered);
    const towards1 = hv.evtchn(2).allocUnbound(2, 1);
    expect(hv.evtchn(1).bindVirq(VIRQ.TIMER, 1)).toBe(2);
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(3);

    expect(hv.destroy(1)).toBe(0);
    expect(status(hv, 2, dom2port)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 1 });
    expect(status(hv, 2, towards1)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 1 });
    // Raised at kill and again at final destruction; the pending bit coalesces.
    expect(raised).toEqual([exc, exc]);
    expect(hv.query(0, exc)).toEqual({ rc: 0, pending: true, masked: false });
    expect(hv.domain(0)!.sharedInfo.upcallPending[0]).toBe(1);

    expect(hv.domain(1)).toBeUndefined();
    expect(hv.allDomains().map((d) => d.id)).toEqual([0, 2]);
    expect(status(hv, 1, 1, 0)).toEqual({ rc: -ESRCH });
    expect(hv.query(1, 1)).toEqual({ rc: -ESRCH });
    expect(hv.pause(1)).toBe(-ESRCH);
    expect(hv.unpause(1)).toBe(-ESRCH);
    expect(hv.destroy(1)).toBe(-ESRCH);
    expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, 1)).toBe(-ESRCH);
    expect(hv.evtchn(0).allocUnbound(1, 0)).toBe(-ESRCH);
    expect(hv.evtchn(2).bindInterdomain(1, offered)).toBe(-ESRCH);
    expect(hv.evtchn(1).bindIpi(0)).toBe(-ESRCH);
    expect(hv.eventChannelOp(1, EVTCHNOP.bind_ipi, { vcpu: 0 })).toEqual({ rc: -ESRCH });
    // The peer still works as an UNBOUND port: sending is dropped.
    expect(hv.evtchn(2).send(dom2port)).toBe(0);
  });

  it('destroy with no VIRQ_DOM_EXC binding changes nothing elsewhere', () => {
    const hv = world();
    const before = snapshot(hv) as { id: number }[];
    expect(hv.destroy(2)).toBe(0);
    expect(snapshot(hv)).toEqual(before.filter((d) => d.id !== 2));
  });

  it('a paused domain can be reset by the toolstack; domains are created running', () => {
    const hv = world();
    expect(hv.domain(2)!.paused).toBe(false);
    expect(hv.evtchn(0).reset(2)).toBe(-EINVAL);
    expect(hv.pause(2)).toBe(0);
    expect(hv.evtchn(0).reset(2)).toBe(0);
    expect(hv.unpause(2)).toBe(0);
    expect(hv.evtchn(0).reset(2)).toBe(-EINVAL);
  });
});

describe('bad input is -EINVAL with nothing changed', () => {
  const BAD: unknown[] = [-1, -4096, 1.5, Number.NaN, Infinity, 2 ** 53, '1', undefined, null, true, {}, [1]];
  const BAD_U32: unknown[] = [...BAD, 2 ** 32];
  const BAD_DOMID: unknown[] = [...BAD, 0x10000, 2 ** 32];
  // A gfn is 64 bits wide, but a number above 2^53 - 1 no longer names one integer: bad input too.
  const BAD_GFN: unknown[] = [...BAD, 2 ** 64, 2 ** 64 * 2];

  /** A valid argument struct for each op, and which of its fields hold which type. */
  const OPS: Array<[EvtchnOpName, Record<string, number>, Record<string, unknown[]>]> = [
    ['bind_interdomain', { remote_dom: 1, remote_port: 1 }, { remote_dom: BAD_DOMID, remote_port: BAD_U32 }],
    ['bind_virq', { virq: 0, vcpu: 0 }, { virq: BAD_U32, vcpu: BAD_U32 }],
    ['bind_pirq', { pirq: 5, flags: 0 }, { pirq: BAD_U32, flags: BAD_U32 }],
    ['close', { port: 1 }, { port: BAD_U32 }],
    ['send', { port: 2 }, { port: BAD_U32 }],
    ['status', { dom: 1, port: 1 }, { dom: BAD_DOMID, port: BAD_U32 }],
    ['alloc_unbound', { dom: 2, remote_dom: 1 }, { dom: BAD_DOMID, remote_dom: BAD_DOMID }],
    ['bind_ipi', { vcpu: 0 }, { vcpu: BAD_U32 }],
    ['bind_vcpu', { port: 2, vcpu: 0 }, { port: BAD_U32, vcpu: BAD_U32 }],
    ['unmask', { port: 2 }, { port: BAD_U32 }],
    ['reset', { dom: 2 }, { dom: BAD_DOMID }],
    ['init_control', { control_gfn: 1, offset: 0, vcpu: 0 }, { control_gfn: BAD_GFN, offset: BAD_U32, vcpu: BAD_U32 }],
    ['expand_array', { array_gfn: 2 }, { array_gfn: BAD_GFN }],
    ['set_priority', { port: 2, priority: 3 }, { port: BAD_U32, priority: BAD_U32 }],
    ['reset_cont', { dom: 2 }, { dom: BAD_DOMID }],
  ];

  function scenario(): Hypervisor {
    const hv = world(STANDARD_DOMAINS, true);
    hv.evtchn(2).allocUnbound(2, 1); // dom2 port 1, offered to dom1
    hv.evtchn(2).bindIpi(0); // dom2 port 2
    hv.evtchn(2).send(2);
    return hv;
  }

  for (const [op, good, fields] of OPS) {
    it(`${op}: every bad value in every field (raw interface)`, () => {
      const hv = scenario();
      const before = snapshot(hv);
      for (const [field, values] of Object.entries(fields)) {
        for (const value of values) {
          const args: Record<string, unknown> = { ...good, [field]: value };
          if (value === undefined) delete args[field];
          expect(hv.eventChannelOp(2, EVTCHNOP[op], args), `${field}=${String(value)}`).toEqual({ rc: -EINVAL });
        }
      }
      expect(snapshot(hv)).toEqual(before);
    });
  }

  it('the same values through the bound interface', () => {
    const hv = scenario();
    const ops = hv.evtchn(2);
    const before = snapshot(hv);
    const calls: Array<[string, (v: number) => number]> = [
      ['allocUnbound.dom', (v) => ops.allocUnbound(v, 1)],
      ['allocUnbound.remoteDom', (v) => ops.allocUnbound(2, v)],
      ['bindInterdomain.remoteDom', (v) => ops.bindInterdomain(v, 1)],
      ['bindInterdomain.remotePort', (v) => ops.bindInterdomain(1, v)],
      ['bindVirq.virq', (v) => ops.bindVirq(v, 0)],
      ['bindVirq.vcpu', (v) => ops.bindVirq(0, v)],
      ['bindPirq.pirq', (v) => ops.bindPirq(v, 0)],
      ['bindPirq.flags', (v) => ops.bindPirq(0, v)],
      ['bindIpi.vcpu', (v) => ops.bindIpi(v)],
      ['close.port', (v) => ops.close(v)],
      ['send.port', (v) => ops.send(v)],
      ['status.dom', (v) => ops.status(v, 1, { status: 'closed', vcpu: 0 })],
      ['status.port', (v) => ops.status(2, v, { status: 'closed', vcpu: 0 })],
      ['bindVcpu.port', (v) => ops.bindVcpu(v, 0)],
      ['bindVcpu.vcpu', (v) => ops.bindVcpu(2, v)],
      ['unmask.port', (v) => ops.unmask(v)],
      ['reset.dom', (v) => ops.reset(v)],
      ['resetCont.dom', (v) => ops.resetCont(v)],
      ['initControl.gfn', (v) => ops.initControl(v, 0, 0)],
      ['initControl.offset', (v) => ops.initControl(1, v, 0)],
      ['initControl.vcpu', (v) => ops.initControl(1, 0, v)],
      ['expandArray.gfn', (v) => ops.expandArray(v)],
      ['setPriority.port', (v) => ops.setPriority(v, 0)],
      ['setPriority.priority', (v) => ops.setPriority(2, v)],
    ];
    for (const [name, call] of calls) {
      const values = name.endsWith('dom') || name.endsWith('Dom') ? BAD_DOMID : name.endsWith('gfn') ? BAD_GFN : BAD_U32;
      for (const value of values) expect(call(value as number), `${name}=${String(value)}`).toBe(-EINVAL);
    }
    expect(snapshot(hv)).toEqual(before);
  });

  it('query and set_global_virq_handler treat bad values the same way', () => {
    const hv = scenario();
    const before = snapshot(hv);
    for (const value of BAD_DOMID) expect(hv.query(value as number, 1)).toEqual({ rc: -EINVAL });
    for (const value of BAD_U32) expect(hv.query(2, value as number)).toEqual({ rc: -EINVAL });
    for (const value of BAD_U32) expect(hv.setGlobalVirqHandler(value as number, 1)).toBe(-EINVAL);
    for (const value of BAD_DOMID) expect(hv.setGlobalVirqHandler(VIRQ.CONSOLE, value as number)).toBe(-EINVAL);
    for (const value of BAD_DOMID) expect(hv.pause(value as number)).toBe(-EINVAL);
    expect(snapshot(hv)).toEqual(before);
  });

  it('the largest in-range values are not bad input: they reach the op’s own checks', () => {
    const hv = scenario();
    const ops = hv.evtchn(2);
    expect(ops.close(0xffffffff)).toBe(-EINVAL);
    expect(ops.bindIpi(0xffffffff)).toBe(-Errno.ENOENT);
    expect(ops.allocUnbound(0xffff, 0)).toBe(-ESRCH);
    expect(ops.allocUnbound(2, 0xffff)).toBe(3);
    expect(ops.setPriority(2, 0xffffffff)).toBe(-Errno.ENOSYS);
    expect(ops.expandArray(2 ** 53 - 1)).toBe(-Errno.EOPNOTSUPP);
    expect(ops.initControl(2 ** 53 - 1, 0, 0)).toBe(-EINVAL); // no such page
  });
});

describe('dummy policy target checks', () => {
  it('alloc_unbound, status and reset of another domain: -EPERM unless privileged or its device model', () => {
    const hv = world([{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3, deviceModel: 2 }]);
    expect(hv.pause(1)).toBe(0);
    expect(hv.pause(3)).toBe(0);
    expect(hv.evtchn(2).allocUnbound(1, 2)).toBe(-EPERM);
    expect(status(hv, 1, 0, 2)).toEqual({ rc: -EPERM });
    expect(hv.evtchn(2).reset(1)).toBe(-EPERM);
    // Its device model may act on dom3; dom3 may not act on its device model.
    expect(hv.evtchn(2).allocUnbound(3, 2)).toBe(1);
    expect(status(hv, 3, 1, 2)).toEqual({ rc: 0, status: 'unbound', vcpu: 0, dom: 2 });
    expect(hv.evtchn(2).reset(3)).toBe(0);
    expect(hv.evtchn(3).allocUnbound(2, 3)).toBe(-EPERM);
    // A privileged domain may act on anyone; a non-privileged dom0 may not.
    expect(hv.evtchn(0).allocUnbound(1, 2)).toBe(1);
    expect(status(hv, 1, 1, 0).rc).toBe(0);
    expect(hv.evtchn(0).reset(1)).toBe(0);
    const unprivileged = world([{ id: 0, privileged: false }, { id: 1 }]);
    expect(unprivileged.evtchn(0).allocUnbound(1, 0)).toBe(-EPERM);
    const privilegedGuest = world([{ id: 0 }, { id: 7, privileged: true }, { id: 1 }]);
    expect(privilegedGuest.evtchn(7).allocUnbound(1, 7)).toBe(1);
  });

  it('hook checks allow: unprivileged domains bind each other’s offered ports and send', () => {
    const hv = world();
    const offered = hv.evtchn(1).allocUnbound(1, 2);
    const local = hv.evtchn(2).bindInterdomain(1, offered);
    expect(local).toBe(1);
    expect(hv.evtchn(2).send(local)).toBe(0);
    expect(hv.query(1, offered)).toMatchObject({ pending: true });
  });

  it('pirqs: only granted pirqs bind (-EPERM otherwise), privileged or not', () => {
    const hv = world([{ id: 0 }, { id: 1, pirqs: [5] }]);
    expect(hv.evtchn(0).bindPirq(5, 0)).toBe(-EPERM);
    expect(hv.evtchn(1).bindPirq(6, 0)).toBe(-EPERM);
    expect(hv.evtchn(1).bindPirq(5, 0)).toBe(1);
  });
});
