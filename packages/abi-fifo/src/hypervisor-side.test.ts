import { ECS, Errno, type JsonValue } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { FakeDomain, snapshotErrorPath } from './fake-domain.test-util.js';
import { checkInitControlArgs } from './hypervisor-side.js';
import {
  FIFO_BUSY,
  FIFO_CB_HEAD,
  FIFO_CB_READY,
  FIFO_LINK_MASK,
  FIFO_LINKED,
  FIFO_MASKED,
  FIFO_MAX_EVENT_ARRAY_PAGES,
  FIFO_PENDING,
} from './layout.js';

const CB0 = 10;
const CB1 = 11;
const ARRAY0 = 20;

/** A 2-vCPU domain on FIFO with control blocks on gfns 10 and 11 and `pages` event pages from gfn 20. */
function fifoDomain(pages = 1, opts: ConstructorParameters<typeof FakeDomain>[0] = {}): FakeDomain {
  const dom = new FakeDomain(opts);
  expect(dom.initControl(CB0, 0, 0)).toBe(17);
  expect(dom.initControl(CB1, 0, 1)).toBe(17);
  for (let i = 0; i < pages; i++) expect(dom.expandArray(ARRAY0 + i)).toBe(0);
  return dom;
}

function word(dom: FakeDomain, port: number): number {
  return dom.memory.page(ARRAY0 + (port >>> 10))![port & 1023]!;
}

function cb(dom: FakeDomain, vcpu: number): { ready: number; head: (q: number) => number } {
  const page = dom.memory.page(vcpu === 0 ? CB0 : CB1)!;
  return { ready: page[FIFO_CB_READY]!, head: (q) => page[FIFO_CB_HEAD + q]! };
}

/** What a guest consume does to a word: clear LINKED and LINK. */
function unlink(dom: FakeDomain, port: number): void {
  const page = dom.memory.page(ARRAY0 + (port >>> 10))!;
  page[port & 1023] = page[port & 1023]! & ~(FIFO_LINKED | FIFO_LINK_MASK);
}

describe('EVTCHNOP_init_control', () => {
  it('checks the vCPU before the offset, then range, then alignment', () => {
    const dom = new FakeDomain({ nrVcpus: 2, memPages: 64 });
    expect(dom.initControl(10, 0, 2)).toBe(-Errno.ENOENT);
    expect(dom.initControl(10, 4025, 2)).toBe(-Errno.ENOENT);
    expect(dom.initControl(10, 0, 0xffffffff)).toBe(-Errno.ENOENT);
    expect(dom.initControl(10, 4025, 0)).toBe(-Errno.EINVAL);
    expect(dom.initControl(10, 4032, 0)).toBe(-Errno.EINVAL);
    expect(dom.initControl(10, 0xffffffff, 0)).toBe(-Errno.EINVAL);
    expect(dom.initControl(10, 4, 0)).toBe(-Errno.EINVAL);
    expect(dom.initControl(10, 4020, 0)).toBe(-Errno.EINVAL);
    expect(dom.active).toBe(dom.twoLevel);
  });

  it('refuses a gfn without a page and leaves the domain on its old ABI', () => {
    const dom = new FakeDomain({ memPages: 64 });
    expect(dom.initControl(64, 0, 0)).toBe(-Errno.EINVAL);
    expect(dom.initControl(2 ** 40, 0, 0)).toBe(-Errno.EINVAL);
    expect(dom.active).toBe(dom.twoLevel);
    expect(dom.expandArray(11)).toBe(-Errno.EOPNOTSUPP);
  });

  it('switches to FIFO once, then maps one block per vCPU', () => {
    const dom = new FakeDomain({ nrVcpus: 2, memPages: 64 });
    expect(dom.initControl(10, 4024, 0)).toBe(17);
    expect(dom.active.name).toBe('fifo');
    const fifo = dom.fifo;
    expect(fifo.hasControlBlock(0)).toBe(true);
    expect(fifo.hasControlBlock(1)).toBe(false);
    expect(dom.initControl(12, 0, 0)).toBe(-Errno.EINVAL); // vCPU 0 already has one
    expect(dom.initControl(99, 8, 1)).toBe(-Errno.EINVAL); // bad page
    expect(dom.initControl(63, 7, 1)).toBe(-Errno.EINVAL); // unaligned, checked on FIFO too
    expect(dom.initControl(63, 8, 1)).toBe(17);
    expect(dom.initControl(13, 16, 1)).toBe(-Errno.EINVAL);
    expect(dom.active).toBe(fifo); // not replaced by later calls
  });

  it('uses the block at its byte offset inside the page', () => {
    const dom = new FakeDomain({ nrVcpus: 1 });
    expect(dom.initControl(10, 4024, 0)).toBe(17);
    expect(dom.expandArray(20)).toBe(0);
    dom.bind(5);
    dom.setPriority(5, 3);
    dom.send(5);
    const page = dom.memory.page(10)!;
    const base = 4024 / 4;
    expect(page[base + FIFO_CB_READY]).toBe(1 << 3);
    expect(page[base + FIFO_CB_HEAD + 3]).toBe(5);
    expect(page[base + FIFO_CB_HEAD + 15]).toBe(0); // last word of the page, head[15]
    expect(page.slice(0, base).every((w) => w === 0)).toBe(true);
  });
});

describe('carry-over from 2-level at the switch', () => {
  it('flags every valid port the old ABI reads pending and gives every valid port priority 7', () => {
    const dom = new FakeDomain({ twoLevelPending: [3, 70, 300] });
    dom.bind(3);
    dom.bind(70); // ports 0..127 valid; 300 is beyond the valid range
    dom.channels.priority[5] = 2;
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    const ch = dom.channels;
    expect([3, 70].map((p) => ch.pendingFlag[p])).toEqual([1, 1]);
    expect(ch.pendingFlag[4]).toBe(0);
    expect(ch.pendingFlag[300]).toBe(0); // scan stopped at the first invalid port
    expect(ch.priority[5]).toBe(7);
    expect(ch.priority[127]).toBe(7);
    expect(ch.priority[128]).toBe(0);
    expect(ch.priority[300]).toBe(0);
    // No event word yet: FIFO reads them not pending and masked.
    expect(dom.fifo.isPending(3)).toBe(false);
    expect(dom.fifo.isMasked(3)).toBe(true);
  });

  it('raises the flagged ports when expand_array covers them, bound or free', () => {
    const dom = new FakeDomain({ twoLevelPending: [3, 70] });
    dom.bind(3);
    dom.bind(70);
    dom.channels.state[70] = ECS.FREE; // closed after the bit was set
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    expect(dom.upcalls).toEqual([]);
    expect(dom.expandArray(ARRAY0)).toBe(0);
    expect(dom.fifo.isPending(3)).toBe(true);
    expect(dom.fifo.isPending(70)).toBe(true);
    expect(dom.fifo.isBusy(70)).toBe(true); // linked, so not reallocated until consumed
    expect(cb(dom, 0).head(7)).toBe(3);
    expect(word(dom, 3) & FIFO_LINK_MASK).toBe(70);
    expect(dom.upcalls).toEqual([0]);
    expect(dom.channels.pendingFlag[3]).toBe(1); // sticky
  });
});

describe('EVTCHNOP_expand_array', () => {
  it('adds pages up to 128 and refuses the 129th with -ENOSPC', () => {
    const dom = new FakeDomain({ nrVcpus: 1, memPages: 1024 });
    expect(dom.initControl(1, 0, 0)).toBe(17);
    for (let i = 0; i < 128; i++) expect(dom.expandArray(100 + i)).toBe(0);
    expect(dom.fifo.eventArrayPages).toBe(128);
    expect(dom.expandArray(300)).toBe(-Errno.ENOSPC);
    expect(dom.expandArray(5000)).toBe(-Errno.ENOSPC); // -ENOSPC is checked before the page
    expect(dom.fifo.eventArrayPages).toBe(128);
  });

  it('refuses a gfn without a page and adds nothing', () => {
    const dom = new FakeDomain({ nrVcpus: 1, memPages: 40 });
    expect(dom.initControl(10, 0, 0)).toBe(17);
    expect(dom.expandArray(40)).toBe(-Errno.EINVAL);
    expect(dom.expandArray(2 ** 40)).toBe(-Errno.EINVAL);
    expect(dom.fifo.eventArrayPages).toBe(0);
    expect(dom.expandArray(39)).toBe(0);
    expect(dom.fifo.eventArrayPages).toBe(1);
  });

  it('leaves the page contents alone', () => {
    const dom = new FakeDomain({ nrVcpus: 1 });
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    const page = dom.memory.page(ARRAY0)!;
    page[9] = FIFO_MASKED | FIFO_PENDING;
    expect(dom.expandArray(ARRAY0)).toBe(0);
    expect(dom.memory.page(ARRAY0)).toBe(page);
    expect(page[9]).toBe((FIFO_MASKED | FIFO_PENDING) >>> 0);
    expect(dom.fifo.isMasked(9)).toBe(true);
    expect(dom.fifo.isMasked(10)).toBe(false);
  });

  it('re-raises a port sent before its page existed, on its notify vCPU', () => {
    const dom = fifoDomain(1);
    dom.bind(1500, 1); // on page 1, not there yet
    dom.send(1500);
    expect(dom.channels.pendingFlag[1500]).toBe(1);
    expect(dom.fifo.isPending(1500)).toBe(false);
    expect(dom.upcalls).toEqual([]);
    expect(dom.expandArray(ARRAY0 + 1)).toBe(0);
    expect(dom.fifo.isPending(1500)).toBe(true);
    expect(cb(dom, 1).head(7)).toBe(1500);
    expect(dom.upcalls).toEqual([1]);
  });

  it('takes memory in proportion to the pages registered', () => {
    const dom = new FakeDomain({ nrVcpus: 1 });
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    expect(dom.memory.touchedPages).toBe(1);
    for (let i = 0; i < 3; i++) expect(dom.expandArray(ARRAY0 + i)).toBe(0);
    expect(dom.memory.touchedPages).toBe(4);
    // Ports on the pages work; the next page's ports have no word.
    dom.bind(3071);
    dom.send(3071);
    expect(dom.fifo.isPending(3071)).toBe(true);
    dom.bind(3072);
    dom.send(3072);
    expect(dom.fifo.eventWord(3072)).toBeUndefined();
    expect(dom.memory.touchedPages).toBe(4);
  });
});

describe('setPending', () => {
  it('drops and counts an event for a vCPU without a control block', () => {
    const dom = new FakeDomain({ nrVcpus: 2 });
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    expect(dom.expandArray(ARRAY0)).toBe(0);
    dom.bind(4, 1);
    dom.send(4);
    expect(dom.counters.droppedNoControlBlock).toBe(1);
    expect(dom.warnings.some((w) => w.includes('control block'))).toBe(true);
    expect(dom.fifo.isPending(4)).toBe(false);
    expect(dom.upcalls).toEqual([]);
  });

  it('links events of one queue in order and notifies only when the queue was empty', () => {
    const dom = fifoDomain();
    for (const p of [5, 6, 7]) dom.bind(p);
    dom.send(6);
    dom.send(5);
    dom.send(7);
    expect(dom.upcalls).toEqual([0]);
    expect(cb(dom, 0).ready).toBe(1 << 7);
    expect(cb(dom, 0).head(7)).toBe(6);
    expect(word(dom, 6) & FIFO_LINK_MASK).toBe(5);
    expect(word(dom, 5) & FIFO_LINK_MASK).toBe(7);
    expect(word(dom, 7) & FIFO_LINK_MASK).toBe(0);
    expect(dom.fifo.queueTail(0, 7)).toBe(7);
    // A second send of a queued event changes nothing.
    const before = word(dom, 5);
    dom.send(5);
    expect(word(dom, 5)).toBe(before);
  });

  it('sets ready only for a queue that becomes non-empty, per priority', () => {
    const dom = fifoDomain();
    dom.bind(1);
    dom.bind(2);
    dom.setPriority(2, 0);
    dom.send(1);
    dom.sharedInfo.upcallPending[0] = 0; // the guest took the upcall but has not scanned yet
    dom.send(2);
    expect(cb(dom, 0).ready).toBe((1 << 7) | (1 << 0));
    expect(dom.upcalls).toEqual([0, 0]);
    // The ready bit is still set: another event on queue 7 does not notify again.
    dom.sharedInfo.upcallPending[0] = 0;
    dom.bind(3);
    dom.send(3);
    expect(dom.upcalls).toEqual([0, 0]);
  });

  it('does not notify when the ready bit of the queue is still set', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.memory.page(CB0)![FIFO_CB_READY] = 1 << 7; // the guest has not scanned queue 7 yet
    dom.send(5);
    expect(cb(dom, 0).head(7)).toBe(5);
    expect(dom.upcalls).toEqual([]);
  });

  it('marks a masked event pending without linking or notifying; unmask links it', () => {
    const dom = fifoDomain();
    dom.bind(5);
    const page = dom.memory.page(ARRAY0)!;
    page[5] = FIFO_MASKED;
    dom.send(5);
    expect(dom.fifo.isPending(5)).toBe(true);
    expect(dom.fifo.isBusy(5)).toBe(false);
    expect(dom.upcalls).toEqual([]);
    dom.fifo.unmask(5);
    expect(dom.fifo.isMasked(5)).toBe(false);
    expect(dom.fifo.isBusy(5)).toBe(true);
    expect(cb(dom, 0).head(7)).toBe(5);
    expect(dom.upcalls).toEqual([0]);
  });

  it('links a PENDING but unlinked event again', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.send(5);
    unlink(dom, 5); // consumed without an ack: still PENDING
    expect(dom.fifo.isPending(5)).toBe(true);
    dom.send(5);
    expect(dom.fifo.isBusy(5)).toBe(true);
  });

  it('starts a new queue when the old tail was consumed (the tail is no longer LINKED)', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.bind(6);
    dom.send(5);
    unlink(dom, 5);
    dom.sharedInfo.upcallPending[0] = 0;
    const page = dom.memory.page(CB0)!;
    page[FIFO_CB_READY] = 0; // the guest emptied the queue
    dom.send(6);
    expect(word(dom, 5) & FIFO_LINK_MASK).toBe(0);
    expect(cb(dom, 0).head(7)).toBe(6);
    expect(dom.upcalls).toEqual([0, 0]);
  });

  it('clears BUSY when it writes the link into the tail', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.bind(6);
    dom.send(5);
    const page = dom.memory.page(ARRAY0)!;
    page[5] = page[5]! | FIFO_BUSY;
    dom.send(6);
    expect(page[5]! & FIFO_BUSY).toBe(0);
    expect(page[5]! & FIFO_LINK_MASK).toBe(6);
  });

  it('resets the old tail when the event moves to another priority', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.bind(6);
    dom.send(5); // queue (0,7) tail 5
    unlink(dom, 5);
    dom.fifo.clearPending(5);
    expect(dom.setPriority(5, 3)).toBe(0);
    dom.send(5); // moves to (0,3)
    expect(dom.fifo.queueTail(0, 7)).toBe(0);
    expect(dom.fifo.queueTail(0, 3)).toBe(5);
    expect(dom.channels.lastPriority[5]).toBe(3);
    // Port 6 on (0,7) must not be spliced after 5, which is now on (0,3).
    dom.send(6);
    expect(word(dom, 5) & FIFO_LINK_MASK).toBe(0);
    expect(cb(dom, 0).head(7)).toBe(6);
    expect(cb(dom, 0).head(3)).toBe(5);
  });

  it('resets the old tail when the event moves to another vCPU', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.bind(6);
    dom.send(5);
    unlink(dom, 5);
    dom.fifo.clearPending(5);
    dom.rebind(5, 1);
    dom.send(5);
    expect(dom.fifo.queueTail(0, 7)).toBe(0);
    expect(dom.fifo.queueTail(1, 7)).toBe(5);
    expect(dom.channels.lastVcpu[5]).toBe(1);
    expect(cb(dom, 1).head(7)).toBe(5);
    dom.send(6);
    expect(cb(dom, 0).head(7)).toBe(6);
    expect(word(dom, 5) & FIFO_LINK_MASK).toBe(0);
  });

  it('leaves an already queued event where it is on rebind or priority change', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.send(5);
    dom.rebind(5, 1);
    expect(dom.setPriority(5, 1)).toBe(0);
    dom.send(5);
    expect(dom.fifo.queueTail(0, 7)).toBe(5);
    expect(cb(dom, 1).ready).toBe(0);
  });
});

describe('other port operations', () => {
  it('keeps a LINKED port busy after clearPending (close) until it is consumed', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.send(5);
    dom.close(5);
    expect(dom.fifo.isPending(5)).toBe(false);
    expect(dom.fifo.isBusy(5)).toBe(true);
    unlink(dom, 5);
    expect(dom.fifo.isBusy(5)).toBe(false);
  });

  it('set_priority accepts 0..15 and refuses larger values', () => {
    const dom = fifoDomain();
    dom.bind(1);
    expect(dom.setPriority(1, 16)).toBe(-Errno.EINVAL);
    expect(dom.setPriority(1, 0xffffffff)).toBe(-Errno.EINVAL);
    expect(dom.channels.priority[1]).toBe(7);
    expect(dom.setPriority(1, 15)).toBe(0);
    expect(dom.channels.priority[1]).toBe(15);
    expect(dom.setPriority(1, 0)).toBe(0);
    expect(dom.setPriority(0, 1)).toBe(-Errno.EACCES);
    expect(dom.setPriority(64, 1)).toBe(-Errno.EINVAL);
  });

  it('init resets the priority and warns about a port still queued', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.setPriority(5, 2);
    dom.send(5);
    dom.close(5);
    dom.bind(5);
    expect(dom.channels.priority[5]).toBe(7);
    expect(dom.warnings.some((w) => w.includes('already on a queue'))).toBe(true);
  });

  it('prints the dump column like Xen', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.bind(12);
    expect(dom.fifo.printState(5)).toBe('  -   ');
    dom.send(5);
    dom.send(12);
    expect(dom.fifo.printState(5)).toBe('  12  ');
    expect(dom.fifo.printState(12)).toBe('  0   ');
    const page = dom.memory.page(ARRAY0)!;
    page[5] = page[5]! | FIFO_BUSY;
    expect(dom.fifo.printState(5)).toBe('B 12  ');
    unlink(dom, 5);
    expect(dom.fifo.printState(5)).toBe('B -   ');
    expect(dom.fifo.printState(2000)).toBe('?     ');
  });

  it('unmask without an event word does nothing', () => {
    const dom = fifoDomain();
    dom.bind(2000);
    dom.fifo.unmask(2000);
    expect(dom.fifo.isMasked(2000)).toBe(true);
    expect(dom.channels.pendingFlag[2000]).toBe(0);
  });
});

describe('reset and re-init', () => {
  it('forgets the array on destroy while the pages and sticky flags persist', () => {
    const dom = fifoDomain();
    dom.bind(5);
    dom.send(5);
    dom.close(5); // still LINKED in the page
    dom.bind(1500); // page 1 never registered
    dom.send(1500);
    const fifo = dom.fifo;
    fifo.destroy();
    dom.active = dom.twoLevel; // the core returns the domain to 2-level
    expect(fifo.isBusy(5)).toBe(false);
    expect(dom.memory.page(ARRAY0)![5]! & FIFO_LINKED).not.toBe(0);

    // Guest registers the same pages again.
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    expect(dom.fifo).not.toBe(fifo);
    expect(dom.expandArray(ARRAY0)).toBe(0);
    expect(dom.fifo.isBusy(5)).toBe(true); // the old LINKED bit is still in the page
    expect(dom.expandArray(ARRAY0 + 1)).toBe(0);
    expect(dom.fifo.isPending(1500)).toBe(true); // sticky flag raised on the new page
  });
});

// Found by mutation testing (pnpm mutation): boundaries and direct callers the core's argument
// checks hide.
describe('edges of the hypervisor half', () => {
  it('the first port past the event array has no word: clear pending, unmask and send leave it alone', () => {
    const dom = fifoDomain(1);
    const p = dom.bind(1024);
    expect(dom.fifo.eventWord(p)).toBeUndefined();
    expect(() => {
      dom.send(p);
      dom.active.unmask(p);
      dom.active.clearPending(p);
    }).not.toThrow();
    // The send was remembered in the sticky flag, nothing else moved.
    expect(dom.channels.pendingFlag[p]).toBe(1);
    expect(dom.active.isPending(p)).toBe(false);
    expect(dom.active.isMasked(p)).toBe(true);
    expect(dom.upcalls).toEqual([]);
    // The last covered port has a word and works.
    const last = dom.bind(1023);
    dom.send(last);
    expect(dom.active.isPending(last)).toBe(true);
  });

  it('warns when a port is bound while its event is still on a queue, and only then', () => {
    const dom = fifoDomain(1);
    const p = dom.bind(5);
    dom.send(p);
    expect(dom.warnings).toEqual([]);
    dom.close(p);
    dom.bind(p);
    expect(dom.warnings).toEqual(['domain 1, port 5 already on a queue']);
    unlink(dom, p);
    dom.close(p);
    dom.bind(p);
    expect(dom.warnings).toHaveLength(1);
  });

  it('checkInitControlArgs refuses negative and fractional vCPUs and offsets on its own', () => {
    expect(checkInitControlArgs(2, 0, -1)).toBe(-Errno.ENOENT);
    expect(checkInitControlArgs(2, 0, 0.5)).toBe(-Errno.ENOENT);
    expect(checkInitControlArgs(2, 0, 2)).toBe(-Errno.ENOENT);
    expect(checkInitControlArgs(2, -8, 0)).toBe(-Errno.EINVAL);
    expect(checkInitControlArgs(2, 8.5, 0)).toBe(-Errno.EINVAL);
    expect(checkInitControlArgs(2, 4024, 1)).toBe(0);
  });

  it('setPriority refuses a negative or fractional priority on its own', () => {
    const dom = fifoDomain(1);
    const p = dom.bind(3);
    expect(dom.fifo.setPriority(p, -1)).toBe(-Errno.EINVAL);
    expect(dom.fifo.setPriority(p, 2.5)).toBe(-Errno.EINVAL);
    expect(dom.fifo.setPriority(p, 16)).toBe(-Errno.EINVAL);
    expect(dom.channels.priority[p]).toBe(7);
    expect(dom.fifo.setPriority(p, 0)).toBe(0);
    expect(dom.channels.priority[p]).toBe(0);
  });
});

describe('the control-block view and snapshot state', () => {
  /** vCPU 1's control block at a non-zero offset, so a view reading from the page start would differ. */
  function offsetDomain(): FakeDomain {
    const dom = new FakeDomain({ nrVcpus: 2, memPages: 64 });
    expect(dom.initControl(CB0, 0, 0)).toBe(17);
    expect(dom.initControl(CB1, 512, 1)).toBe(17);
    expect(dom.expandArray(ARRAY0)).toBe(0);
    return dom;
  }

  it('controlBlock shows each queue head and the READY bits of the vCPU, from its offset; undefined before init_control', () => {
    const half = new FakeDomain({ nrVcpus: 2, memPages: 64 });
    expect(half.initControl(CB0, 0, 0)).toBe(17);
    expect(half.fifo.controlBlock(1)).toBeUndefined();
    const dom = offsetDomain();
    const [a, b, c] = [dom.bind(4, 1), dom.bind(5, 1), dom.bind(6, 1)];
    expect(dom.fifo.setPriority(a, 3)).toBe(0);
    expect(dom.fifo.setPriority(b, 9)).toBe(0);
    expect(dom.fifo.setPriority(c, 15)).toBe(0);
    dom.send(a);
    dom.send(b);
    dom.send(c);
    const heads = new Array<number>(16).fill(0);
    heads[3] = a;
    heads[9] = b;
    heads[15] = c;
    expect(dom.fifo.controlBlock(1)).toEqual({ ready: (1 << 3) | (1 << 9) | (1 << 15), heads });
    // The view is the page's words at the registered offset (Xen's struct evtchn_fifo_control_block).
    const page = dom.memory.page(CB1)!;
    expect(page[512 / 4 + FIFO_CB_HEAD + 9]).toBe(b);
    expect(page[512 / 4 + FIFO_CB_READY]).toBe((1 << 3) | (1 << 9) | (1 << 15));
    expect(dom.fifo.controlBlock(0)).toEqual({ ready: 0, heads: new Array<number>(16).fill(0) });
  });

  it('state saved and restored keeps the queues: the next send links behind the saved tail', () => {
    const dom = offsetDomain();
    const [p, q] = [dom.bind(7, 1), dom.bind(8, 1)];
    dom.send(p);
    const saved = JSON.parse(JSON.stringify(dom.fifo.getState())) as JsonValue;
    dom.fifo.destroy();
    expect(dom.fifo.hasControlBlock(1)).toBe(false);
    dom.fifo.setState(saved);
    expect(dom.fifo.hasControlBlock(1)).toBe(true);
    expect(dom.fifo.eventArrayPages).toBe(1);
    expect(dom.fifo.queueTail(1, 7)).toBe(p);
    dom.send(q);
    expect(word(dom, p) & FIFO_LINK_MASK).toBe(q);
    expect(dom.fifo.queueTail(1, 7)).toBe(q);
    expect(dom.fifo.controlBlock(1)!.heads[7]).toBe(p);
  });

  it('a restored state naming frames outside guest memory, or too many pages, fails at the field', () => {
    const dom = offsetDomain();
    const good = dom.fifo.getState() as Record<string, JsonValue>;
    const tooMany = new Array<number>(FIFO_MAX_EVENT_ARRAY_PAGES + 1).fill(ARRAY0);
    const cases: Array<[Record<string, JsonValue>, string]> = [
      [{ ...good, eventGfns: [ARRAY0, 4096] }, 'eventGfns[1]'],
      [{ ...good, eventGfns: [-1] }, 'eventGfns[0]'],
      [{ ...good, eventGfns: tooMany }, 'eventGfns'],
      [{ ...good, controlGfns: [CB0, 9999] }, 'controlGfns[1]'],
      [{ ...good, controlGfns: [CB0, -2] }, 'controlGfns[1]'],
    ];
    for (const [state, path] of cases) expect(snapshotErrorPath(() => dom.fifo.setState(state))).toBe(path);
    // -1 is "no control block" for a vCPU, not an error.
    dom.fifo.setState({ ...good, controlGfns: [-1, CB1] });
    expect(dom.fifo.hasControlBlock(0)).toBe(false);
    expect(dom.fifo.hasControlBlock(1)).toBe(true);
  });
});
