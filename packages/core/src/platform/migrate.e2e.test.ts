/*
 * migrateDomain with a stand-in guest layer: what the toolstack side does (save, destroy on the
 * source, fresh domain on the destination) independently of Linux's resume path, which
 * packages/guest-linux/src/migrate.e2e.test.ts covers.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { describe, expect, it } from 'vitest';
import type { GuestContext, GuestOs } from '../contracts/guest.js';
import type { EvtchnStatus } from '../contracts/hypercalls.js';
import { Errno, XenError } from '../errno.js';
import { archNull } from '../hypervisor/null-arch.js';
import { DOMID_SELF, VIRQ } from '../xen.js';
import { migrateDomain } from './migrate.js';
import { createPlatform, type Platform } from './platform.js';

/** A guest layer that records what it is asked to do. */
class RecordingGuest implements GuestOs {
  readonly name = 'recording';
  readonly abiName = '2level';
  readonly log: string[] = [];
  ctx: GuestContext | undefined;
  constructor(private readonly source: () => Platform) {}
  upcall(): boolean {
    return true;
  }
  procInterrupts(): string {
    return '';
  }
  suspend(): void {
    const d = this.source().hypervisor.domain(1);
    this.log.push(`suspend (source domain ${d ? 'alive' : 'gone'}, paused ${String(d?.paused)})`);
  }
  resume(ctx: GuestContext): void {
    this.ctx = ctx;
    this.log.push(`resume (source domain ${this.source().hypervisor.domain(1) ? 'alive' : 'gone'}, page 5 word 0 = ${ctx.abiContext.memory.page(5)![0]})`);
  }
}

function machine(): Platform {
  return createPlatform({ arch: archNull(), abis: [abi2Level()], domains: [{ id: 0 }] });
}

describe('migrateDomain', () => {
  it('saves the memory, destroys the source domain (peers left UNBOUND), and resumes the guest in a fresh domain', () => {
    const a = machine();
    const b = machine();
    const guest = new RecordingGuest(() => a);
    a.addDomain({ id: 1, vcpus: 2, memPages: 64 }, { attachGuest: () => guest });
    const hc1 = a.domain(1).domain.hypercalls;
    const mem = a.domain(1).domain.memory;
    mem.page(5)![0] = 0x1234;
    expect(mem.allocate()).toBe(1);
    // dom0 watches domain deaths and has a ring to domain 1.
    const hc0 = a.domain(0).domain.hypercalls;
    const domExc = hc0.bindVirq(VIRQ.DOM_EXC, 0);
    expect(domExc).toBe(1);
    const front = hc1.allocUnbound(DOMID_SELF, 0);
    const back = hc0.bindInterdomain(1, front);
    expect(back).toBe(2);
    expect(hc1.bindIpi(1)).toBe(2);
    a.domain(0).domain.abi.clearPending(domExc);

    const r = migrateDomain(a, 1, b);
    expect(guest.log).toEqual(['suspend (source domain alive, paused false)', 'resume (source domain gone, page 5 word 0 = 4660)']);
    expect(r.guest).toBe(guest);
    expect(r.domain).toBe(b.domain(1));
    expect(r.domain.guest).toBe(guest);
    expect(r.pagesCopied).toBe(1);
    expect(r.domain.domain.nrVcpus).toBe(2);
    expect(r.domain.domain.memory.allocate()).toBe(2); // the guest's allocator went on where it was

    // The source: domain gone, its old handle answers -ESRCH, dom0 told by VIRQ_DOM_EXC.
    expect(a.domains.has(1)).toBe(false);
    expect(hc1.allocUnbound(DOMID_SELF, 0)).toBe(-Errno.ESRCH);
    expect(a.domain(0).domain.abi.isPending(domExc)).toBe(true);
    const st: EvtchnStatus = { status: 'closed', vcpu: 0 };
    expect(hc0.status(DOMID_SELF, back, st)).toBe(0);
    expect(st).toEqual({ status: 'unbound', vcpu: 0, dom: 1 });
    expect(hc0.send(back)).toBe(0);
    expect(hc0.bindInterdomain(1, front)).toBe(-Errno.ESRCH);

    // The destination: fresh event-channel state, the context's hypercalls are the new domain's.
    const ctx = guest.ctx!;
    expect(ctx.domid).toBe(1);
    expect(ctx.hypercalls).toBe(r.domain.domain.hypercalls);
    expect(ctx.abiContext.sharedInfo).toBe(r.domain.domain.sharedInfo);
    expect(ctx.hypercalls.status(DOMID_SELF, 1, st)).toBe(0);
    expect(st.status).toBe('closed');
    expect(ctx.hypercalls.allocUnbound(DOMID_SELF, 0)).toBe(1);
    // Memory is a copy: the destroyed source's memory is not the destination's.
    mem.page(5)![0] = 0;
    expect(r.domain.domain.memory.page(5)![0]).toBe(0x1234);
  });

  it('refuses, changing nothing: no domain, no guest, a guest without resume, a taken id', () => {
    const a = machine();
    const b = machine();
    const code = (f: () => unknown): number => {
      try {
        f();
      } catch (e) {
        return (e as XenError).errno;
      }
      return 0;
    };
    expect(code(() => migrateDomain(a, 1, b))).toBe(Errno.ESRCH);
    expect(code(() => migrateDomain(a, 0, b))).toBe(Errno.EOPNOTSUPP); // dom0 has no guest here
    const noResume: GuestOs = { name: 'old', abiName: '2level', upcall: () => true, procInterrupts: () => '' };
    a.addDomain({ id: 1 }, { attachGuest: () => noResume });
    expect(code(() => migrateDomain(a, 1, b))).toBe(Errno.EOPNOTSUPP);
    const guest = new RecordingGuest(() => a);
    a.addDomain({ id: 2 }, { attachGuest: () => guest });
    expect(code(() => migrateDomain(a, 2, b, { config: { id: 0 } }))).toBe(Errno.EEXIST);
    expect(guest.log).toEqual([]);
    expect(a.domain(2).domain.paused).toBe(false);
    // With another id the move is allowed (the destination's toolstack picks the domid).
    expect(migrateDomain(a, 2, b, { config: { id: 5 } }).domain.domain.id).toBe(5);
    expect(guest.ctx!.domid).toBe(5);
  });
});
