import { Errno, XenError, type JsonValue } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { FakeDomain, RecordingDispatcher, snapshotErrorPath } from './fake-domain.test-util.js';
import { FifoGuestSide } from './guest-side.js';
import { FIFO_BUSY, FIFO_LINKED, FIFO_MASKED } from './layout.js';

interface Booted {
  dom: FakeDomain;
  guest: FifoGuestSide;
  rec: RecordingDispatcher;
  /** Binds the next port like the replay's `bind`: setup, priority, notify vCPU, unmask. */
  bind(port: number, vcpu?: number, prio?: number): number;
  upcall(cpu: number): number[];
}

/** The event-array page the guest registered in `slot`, found from its expand_array calls. */
function arrayPage(dom: FakeDomain, slot: number): Uint32Array {
  const gfns = dom.hypercallLog.filter((l) => l.startsWith('expand_array ')).map((l) => Number(l.split(' ')[1]));
  return dom.memory.page(gfns[slot]!)!;
}

function boot(nrVcpus = 2): Booted {
  const dom = new FakeDomain({ nrVcpus });
  const guest = dom.bootGuest();
  const rec = new RecordingDispatcher(guest);
  return {
    dom,
    guest,
    rec,
    bind(port, vcpu = 0, prio = 7) {
      dom.bind(port, 0);
      expect(guest.setup(port)).toBe(0);
      guest.mask(port);
      expect(dom.setPriority(port, prio)).toBe(0);
      dom.rebind(port, vcpu);
      guest.unmask(port, 0);
      return port;
    },
    upcall(cpu) {
      dom.sharedInfo.upcallPending[cpu] = 0;
      guest.handleEvents(cpu, rec);
      return rec.take();
    },
  };
}

describe('guest boot', () => {
  it('registers a zeroed control block per CPU', () => {
    const dom = new FakeDomain({ nrVcpus: 3 });
    // Dirty the pages the guest will get, to see them zeroed.
    for (let gfn = 1; gfn <= 3; gfn++) dom.memory.page(gfn)!.fill(0xdeadbeef);
    const guest = dom.bootGuest();
    expect(dom.hypercallLog).toEqual(['init_control 1 0 0', 'init_control 2 0 1', 'init_control 3 0 2']);
    expect(dom.fifo.hasControlBlock(2)).toBe(true);
    expect(dom.memory.page(2)!.every((w) => w === 0)).toBe(true);
    expect(guest.nrChannels()).toBe(0);
    expect(guest.maxChannels()).toBe(131072);
  });

  it('throws XenError when CPU 0 is refused, and only warns for a later CPU', () => {
    const dom = new FakeDomain({ nrVcpus: 2 });
    dom.hypercalls.initControl = () => -Errno.EOPNOTSUPP;
    const err = (() => {
      try {
        dom.bootGuest();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(XenError);
    expect((err as XenError).errno).toBe(Errno.EOPNOTSUPP);
    expect((err as XenError).op).toBe('EVTCHNOP_init_control');

    const dom2 = new FakeDomain({ nrVcpus: 2 });
    const real = dom2.hypercalls.initControl.bind(dom2.hypercalls);
    dom2.hypercalls.initControl = (gfn, offset, vcpu) => (vcpu === 1 ? -Errno.EINVAL : real(gfn, offset, vcpu));
    dom2.bootGuest();
    expect(dom2.fifo.hasControlBlock(0)).toBe(true);
    expect(dom2.warnings.some((w) => w.includes('CPU1'))).toBe(true);
  });
});

describe('guest setup', () => {
  it('adds masked pages until the port is covered, one page per 1024 ports', () => {
    const { dom, guest } = boot();
    const before = dom.memory.touchedPages;
    expect(guest.setup(5000)).toBe(0);
    expect(guest.nrChannels()).toBe(5 * 1024);
    expect(dom.fifo.eventArrayPages).toBe(5);
    expect(dom.memory.touchedPages).toBe(before + 5);
    for (const p of [0, 1023, 1024, 5000, 5119]) expect(guest.isMasked(p)).toBe(true);
    expect(guest.setup(10)).toBe(0);
    expect(dom.fifo.eventArrayPages).toBe(5);
  });

  it('refuses ports beyond 128 pages and passes hypercall errors on', () => {
    const { dom, guest } = boot();
    expect(guest.setup(131072)).toBe(-Errno.EINVAL);
    expect(guest.nrChannels()).toBe(0);
    dom.hypercalls.expandArray = () => -Errno.ENOSPC;
    expect(guest.setup(1)).toBe(-Errno.ENOSPC);
    expect(guest.nrChannels()).toBe(0);
  });
});

describe('guest delivery', () => {
  it('serves queues in strict priority order and each queue in FIFO order', () => {
    const t = boot(1);
    t.bind(1, 0, 7);
    t.bind(2, 0, 7);
    t.bind(3, 0, 3);
    t.bind(4, 0, 0);
    for (const p of [1, 2, 3, 4]) t.dom.send(p);
    expect(t.upcall(0)).toEqual([4, 3, 1, 2]);

    t.bind(5, 0, 9);
    t.bind(6, 0, 9);
    t.bind(7, 0, 9);
    for (const p of [6, 7, 5]) t.dom.send(p);
    expect(t.upcall(0)).toEqual([6, 7, 5]);
  });

  it('stops where the vCPU must yield and goes on from there in the next pass, READY and heads kept', () => {
    const t = boot(1);
    for (const p of [1, 2, 3]) t.bind(p, 0, 7);
    t.bind(4, 0, 2);
    for (const p of [4, 1, 2, 3]) t.dom.send(p);
    // A dispatcher whose slice ends after its second event.
    let budget = 2;
    const yielding = Object.assign(Object.create(t.rec) as typeof t.rec, { shouldYield: () => --budget <= 0 });
    t.guest.handleEvents(0, yielding);
    expect(t.rec.take()).toEqual([4, 1]);
    expect(t.dom.fifo.controlBlock(0)!.ready).toBe(1 << 7);
    budget = Infinity;
    t.guest.handleEvents(0, yielding);
    expect(t.rec.take()).toEqual([2, 3]);
    expect(t.dom.fifo.controlBlock(0)!.ready).toBe(0);
  });

  it('treats a queue whose head has no event word as empty: READY cleared, nothing dispatched, the queue usable again', () => {
    const t = boot(1);
    t.bind(1, 0, 7);
    expect(t.guest.nrChannels()).toBe(1024);
    const cb = t.dom.memory.page(1)!; // CPU 0's control block (the first init_control)
    cb[0] = 1 << 7;
    cb[2 + 7] = 5000; // head[7]: a port beyond the one registered event-array page
    expect(t.upcall(0)).toEqual([]);
    expect(cb[0]).toBe(0);
    t.dom.send(1);
    expect(t.upcall(0)).toEqual([1]);
  });

  it('serves an event raised by a handler at a higher priority next', () => {
    const t = boot(1);
    t.bind(1, 0, 7);
    t.bind(2, 0, 7);
    t.bind(3, 0, 3);
    t.rec.reactions.set(1, () => t.dom.send(3));
    t.dom.send(1);
    t.dom.send(2);
    expect(t.upcall(0)).toEqual([1, 3, 2]);
  });

  it('delivers an event re-sent by its own handler again in the same upcall', () => {
    const t = boot(1);
    t.bind(2);
    let times = 1;
    t.rec.reactions.set(2, () => {
      if (times-- > 0) t.dom.send(2);
    });
    t.dom.send(2);
    expect(t.upcall(0)).toEqual([2, 2]);
  });

  it('upcalls only when a queue goes from empty to non-empty', () => {
    const t = boot(1);
    t.bind(1);
    t.bind(2);
    t.dom.send(1);
    t.dom.send(2);
    expect(t.dom.upcalls).toEqual([0]);
    t.upcall(0);
    t.dom.send(1);
    expect(t.dom.upcalls).toEqual([0, 0]);
  });

  it('relinks an event that is still PENDING after being consumed', () => {
    const t = boot(1);
    t.bind(1);
    t.rec.ack = false;
    t.dom.send(1);
    expect(t.upcall(0)).toEqual([1]);
    expect(t.guest.isPending(1)).toBe(true);
    expect(t.dom.fifo.isBusy(1)).toBe(false);
    t.dom.send(1); // PENDING already set, LINKED clear: linked again
    expect(t.dom.fifo.isBusy(1)).toBe(true);
    expect(t.upcall(0)).toEqual([1]);
  });

  it('consumes a masked event without dispatching it; unmask re-delivers through the hypervisor', () => {
    const t = boot(2);
    t.bind(1, 0);
    t.bind(2, 1);
    t.guest.mask(1);
    t.dom.send(1);
    expect(t.dom.fifo.isBusy(1)).toBe(false);
    expect(t.upcall(0)).toEqual([]);
    t.guest.unmask(1, 0);
    expect(t.dom.hypercallLog.at(-1)).toBe('unmask 1');
    expect(t.dom.fifo.isBusy(1)).toBe(true);
    expect(t.upcall(0)).toEqual([1]);

    t.dom.send(2);
    t.guest.mask(2);
    expect(t.upcall(1)).toEqual([]); // unlinked but not dispatched
    expect(t.dom.fifo.isBusy(2)).toBe(false);
    expect(t.dom.fifo.isPending(2)).toBe(true);
    t.guest.unmask(2, 0);
    expect(t.upcall(1)).toEqual([2]);
  });

  it('unmasks a non-pending port locally, without a hypercall', () => {
    const t = boot(1);
    t.bind(1);
    t.guest.mask(1);
    const n = t.dom.hypercallLog.length;
    t.guest.unmask(1, 0);
    expect(t.guest.isMasked(1)).toBe(false);
    expect(t.dom.hypercallLog.length).toBe(n);
  });

  it('does not clear MASKED while the hypervisor holds the word BUSY', () => {
    const t = boot(1);
    t.bind(1);
    t.guest.mask(1);
    const page = arrayPage(t.dom, 0);
    expect(page[1]! & FIFO_MASKED).not.toBe(0);
    page[1] = page[1]! | FIFO_BUSY;
    t.guest.unmask(1, 0);
    expect(t.guest.isMasked(1)).toBe(true);
    expect(t.dom.warnings.some((w) => w.includes('BUSY'))).toBe(true);
    page[1] = page[1]! & ~FIFO_BUSY;
    t.guest.unmask(1, 0);
    expect(t.guest.isMasked(1)).toBe(false);
  });

  it('keeps a closed but queued port busy until the guest consumes it', () => {
    const t = boot(1);
    t.bind(1);
    t.bind(2);
    t.bind(3);
    t.dom.send(2);
    t.dom.send(3);
    t.guest.mask(2);
    t.dom.close(2);
    expect(t.dom.fifo.isPending(2)).toBe(false);
    expect(t.dom.fifo.isBusy(2)).toBe(true);
    expect(t.upcall(0)).toEqual([3]);
    expect(t.dom.fifo.isBusy(2)).toBe(false);
    const word = t.dom.fifo.eventWord(2)!;
    expect(word & FIFO_LINKED).toBe(0);
  });

  it('keeps an event queued where it was when the port moves vCPU; the next one goes to the new vCPU', () => {
    const t = boot(2);
    t.bind(1, 0);
    t.dom.send(1);
    t.dom.rebind(1, 1);
    expect(t.upcall(1)).toEqual([]);
    expect(t.upcall(0)).toEqual([1]);
    t.dom.send(1);
    expect(t.upcall(0)).toEqual([]);
    expect(t.upcall(1)).toEqual([1]);
  });

  it('drops the queued events of a CPU going offline, with a warning', () => {
    const t = boot(2);
    t.bind(1, 1);
    t.bind(2, 1);
    t.dom.send(1);
    t.dom.send(2);
    expect(t.guest.percpuDeinit(1)).toBe(0);
    expect(t.dom.warnings.filter((w) => w.includes('dropping')).length).toBe(2);
    expect(t.dom.fifo.isBusy(1)).toBe(false);
    expect(t.upcall(1)).toEqual([]);
    // Back online: the block the hypervisor knows is reused.
    const n = t.dom.hypercallLog.length;
    expect(t.guest.percpuInit(1)).toBe(0);
    expect(t.dom.hypercallLog.length).toBe(n);
    t.dom.send(1);
    expect(t.upcall(1)).toEqual([1]);
  });

  it('re-registers its pages on resume after the hypervisor forgot them', () => {
    const t = boot(1);
    t.bind(1);
    const pagesBefore = t.dom.memory.touchedPages;
    t.dom.fifo.destroy();
    t.dom.active = t.dom.twoLevel; // EVTCHNOP_reset returned the domain to 2-level
    t.guest.resume();
    expect(t.dom.active.name).toBe('fifo');
    expect(t.guest.nrChannels()).toBe(0);
    expect(t.guest.setup(1)).toBe(0);
    expect(t.dom.memory.touchedPages).toBe(pagesBefore);
    t.dom.bind(1);
    t.guest.unmask(1, 0);
    t.dom.send(1);
    expect(t.upcall(0)).toEqual([1]);
  });

  it('starts every online CPU from empty local heads on resume, whatever a yielded scan left', () => {
    const t = boot(2);
    for (const [p, cpu] of [[1, 0], [2, 0], [3, 1], [4, 1]] as const) t.bind(p, cpu, 7);
    for (const p of [1, 2, 3, 4]) t.dom.send(p);
    // Each CPU's scan yields after its first event: each keeps the second port as its local head.
    for (const cpu of [0, 1]) {
      let budget = 1;
      const yielding = Object.assign(Object.create(t.rec) as typeof t.rec, { shouldYield: () => --budget <= 0 });
      t.guest.handleEvents(cpu, yielding);
    }
    expect(t.rec.take()).toEqual([1, 3]);
    t.dom.fifo.destroy();
    t.dom.active = t.dom.twoLevel;
    t.guest.resume();
    for (const p of [1, 2, 3, 4, 5, 6]) expect(t.guest.setup(p)).toBe(0);
    t.bind(5, 0, 7);
    t.bind(6, 1, 7);
    t.dom.send(5);
    t.dom.send(6);
    // A head left from before would lead the scan into the old chain (ports 2 and 4).
    expect(t.upcall(0)).toEqual([5]);
    expect(t.upcall(1)).toEqual([6]);
  });

  it('a CPU coming up with a fresh control block keeps the local heads of the other CPUs', () => {
    const t = boot(2);
    expect(t.guest.percpuDeinit(1)).toBe(0);
    t.dom.fifo.destroy();
    t.dom.active = t.dom.twoLevel;
    t.guest.resume(); // CPU 1 was offline: its block is given up
    for (const p of [7, 8]) {
      expect(t.guest.setup(p)).toBe(0);
      t.bind(p, 0, 7);
      t.dom.send(p);
    }
    let budget = 1;
    const yielding = Object.assign(Object.create(t.rec) as typeof t.rec, { shouldYield: () => --budget <= 0 });
    t.guest.handleEvents(0, yielding);
    expect(t.rec.take()).toEqual([7]);
    expect(t.guest.percpuInit(1)).toBe(0); // a new block for CPU 1, its local heads zeroed
    t.guest.handleEvents(0, t.rec);
    expect(t.rec.take()).toEqual([8]);
  });

  it('moves to a copy of its memory with migrate: same gfns, control blocks cleared, array regrown', () => {
    const t = boot(2);
    t.bind(1, 1);
    t.dom.send(1); // queued on CPU 1: READY and HEAD set in its control block (gfn 2)
    expect(t.dom.memory.page(2)!.some((w) => w !== 0)).toBe(true);
    const dest = new FakeDomain({ nrVcpus: 2 });
    dest.memory.loadImage(t.dom.memory);
    t.guest.migrate(dest.guestContext());
    t.guest.resume();
    expect(dest.hypercallLog).toEqual(['init_control 1 0 0', 'init_control 2 0 1']);
    expect(dest.memory.page(2)!.every((w) => w === 0)).toBe(true);
    expect(t.dom.memory.page(2)!.some((w) => w !== 0)).toBe(true); // the source's copy is its own
    expect(t.guest.setup(1)).toBe(0);
    expect(dest.hypercallLog[2]).toBe('expand_array 3'); // the same event-array page again
    dest.bind(1, 0);
    dest.rebind(1, 1);
    t.guest.unmask(1, 0);
    dest.send(1);
    dest.sharedInfo.upcallPending[1] = 0;
    t.guest.handleEvents(1, t.rec);
    expect(t.rec.take()).toEqual([1]);
    expect(t.dom.hypercallLog.filter((l) => l.startsWith('init_control')).length).toBe(2); // nothing went to the source
  });

  it('refuses to migrate to a domain with another number of CPUs', () => {
    const t = boot(2);
    expect(() => t.guest.migrate(new FakeDomain({ nrVcpus: 1 }).guestContext())).toThrow(RangeError);
  });
});

describe('guest snapshot state', () => {
  it('round-trips: a restored guest half goes on scanning where it was, from a yielded queue', () => {
    const t = boot(2);
    for (const p of [1, 2, 3]) t.bind(p, 1, 7);
    for (const p of [1, 2, 3]) t.dom.send(p);
    let budget = 1;
    const yielding = Object.assign(Object.create(t.rec) as typeof t.rec, { shouldYield: () => --budget <= 0 });
    t.guest.handleEvents(1, yielding);
    expect(t.rec.take()).toEqual([1]);
    const saved = JSON.parse(JSON.stringify(t.guest.getState())) as JsonValue;
    // Another guest half on the same memory and hypervisor takes the state over.
    const other = new FifoGuestSide(t.dom.guestContext());
    other.setState(saved);
    expect(other.nrChannels()).toBe(t.guest.nrChannels());
    other.handleEvents(1, t.rec);
    expect(t.rec.take()).toEqual([2, 3]);
  });

  it('fails at the field for frames outside guest memory or more pages in use than listed', () => {
    const t = boot(2);
    t.bind(1);
    const good = t.guest.getState() as Record<string, JsonValue>;
    const cases: Array<[Record<string, JsonValue>, string]> = [
      [{ ...good, eventGfns: [9999] }, 'eventGfns[0]'],
      [{ ...good, nrEventPages: 2 }, 'nrEventPages'],
      [{ ...good, controlGfns: [1, 9999] }, 'controlGfns[1]'],
      [{ ...good, controlGfns: [1, -2] }, 'controlGfns[1]'],
    ];
    for (const [state, path] of cases) expect(snapshotErrorPath(() => t.guest.setState(state))).toBe(path);
    // A CPU without a control block (-1) scans nothing.
    t.guest.setState({ ...good, controlGfns: [1, -1] });
    t.bind(2, 1);
    t.dom.send(2);
    expect(t.upcall(1)).toEqual([]);
    expect(t.upcall(0)).toEqual([]);
  });
});
