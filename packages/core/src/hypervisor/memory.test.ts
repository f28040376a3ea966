import { describe, expect, it } from 'vitest';
import { SnapshotError } from '../snapshot/codec.js';
import { PAGE_WORDS } from '../xen.js';
import { GuestMemory, SHARED_BITMAP_WORDS32, SharedInfo } from './memory.js';

describe('GuestMemory pages (get_page_from_gfn)', () => {
  it('has pages for gfns 0..memPages-1 only, zeroed at first use and kept after', () => {
    const m = new GuestMemory(4);
    expect([m.has(0), m.has(3), m.has(4), m.has(-1), m.has(1.5), m.has(Number.NaN)]).toEqual([true, true, false, false, false, false]);
    expect(m.page(4)).toBeUndefined();
    expect(m.page(-1)).toBeUndefined();
    expect(m.touchedPages).toBe(0);
    const p = m.page(3)!;
    expect(p.length).toBe(PAGE_WORDS);
    expect(p.every((w) => w === 0)).toBe(true);
    p[10] = 42;
    expect(m.page(3)).toBe(p); // the same page, contents kept (a re-registered page holds what was written)
    expect(m.page(3)![10]).toBe(42);
    expect(m.touchedPages).toBe(1);
  });

  it('allocates gfns from 1 up, never twice, and -1 when memory runs out', () => {
    const m = new GuestMemory(3);
    expect([m.allocate(), m.allocate(), m.allocate(), m.allocate()]).toEqual([1, 2, -1, -1]);
    expect(new GuestMemory(1).allocate()).toBe(-1);
  });
});

describe('GuestMemory snapshots', () => {
  it('round-trips the touched pages and the allocator, writing into the pages others hold', () => {
    const src = new GuestMemory(16);
    src.allocate();
    src.allocate();
    src.page(5)![0] = 0xffffffff;
    src.page(5)![3] = 9;
    src.page(2)![1] = 1;
    const state = src.getState();
    expect(state.nextFree).toBe(3);
    expect(state.pages.map(([g]) => g)).toEqual([2, 5]);

    const dst = new GuestMemory(16);
    const held = dst.page(5)!; // e.g. an ABI's view of its event array
    dst.page(7)![0] = 3; // not in the snapshot: zeroed
    dst.setState(JSON.parse(JSON.stringify(state)));
    expect(held[0]).toBe(0xffffffff);
    expect(held[3]).toBe(9);
    expect(dst.page(7)![0]).toBe(0);
    expect(dst.allocate()).toBe(3);
    expect(dst.getState()).toEqual({ ...state, nextFree: 4, pages: [...state.pages, [7, []]] });
  });

  it('rejects a broken snapshot with the path of the bad field', () => {
    const m = new GuestMemory(8);
    const bad = (s: unknown) => () => m.setState(s as never, 'domains.2.memory');
    expect(bad({ nextFree: 0, pages: [] })).toThrow(/domains\.2\.memory\.nextFree/);
    expect(bad({ nextFree: 9, pages: [] })).toThrow(/domains\.2\.memory\.nextFree/);
    expect(bad({ nextFree: 1, pages: [[8, []]] })).toThrow(/domains\.2\.memory\.pages\[0\]\[0\]/);
    expect(bad({ nextFree: 1, pages: [[1, []], [1, [2]]] })).toThrow(SnapshotError);
    expect(bad({ nextFree: 1, pages: [[1, []], [1, [2]]] })).toThrow(/page 1 is given twice/);
    expect(bad({ nextFree: 1, pages: [[1]] })).toThrow(/domains\.2\.memory\.pages\[0\]/);
    expect(bad({ nextFree: 1, pages: {} })).toThrow(/domains\.2\.memory\.pages/);
    expect(() => m.setState(null as never)).toThrow(/memory/);
  });
});

describe('SharedInfo (shared_info / vcpu_info)', () => {
  it('has 4096-bit pending and mask bitmaps and per-vCPU selector halves and flags', () => {
    const s = new SharedInfo(3);
    expect(SHARED_BITMAP_WORDS32 * 32).toBe(4096);
    expect([s.evtchnPending.length, s.evtchnMask.length, s.pendingSel.length, s.upcallPending.length, s.upcallMask.length]).toEqual([128, 128, 6, 3, 3]);
  });

  it('round-trips in place (the ABIs hold views on these arrays) and names a bad field', () => {
    const a = new SharedInfo(2);
    a.evtchnPending[0] = 0x80000001;
    a.evtchnMask[127] = 5;
    a.pendingSel[3] = 1;
    a.upcallPending[1] = 1;
    a.upcallMask[0] = 1;
    const b = new SharedInfo(2);
    const view = b.evtchnPending;
    b.evtchnMask[1] = 7; // not in a's state: cleared
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    expect(b.getState()).toEqual(a.getState());
    expect(view[0]).toBe(0x80000001);
    expect(b.evtchnMask[1]).toBe(0);
    expect(() => b.setState({ ...a.getState(), upcallMask: [1, 1, 1] }, 'domains.0.sharedInfo')).toThrow(/domains\.0\.sharedInfo\.upcallMask/);
  });
});

describe('GuestMemory.loadImage (the save/restore page copy)', () => {
  it('copies every page verbatim at the same gfns, and the allocator continues where it was', () => {
    const src = new GuestMemory(64);
    expect([src.allocate(), src.allocate(), src.allocate()]).toEqual([1, 2, 3]);
    src.page(2)![5] = 0xdeadbeef;
    src.page(40)![0] = 7;
    const dst = new GuestMemory(64);
    dst.page(9)![0] = 1; // whatever the new domain had is replaced
    dst.loadImage(src);
    expect(dst.touchedPages).toBe(src.touchedPages);
    expect(dst.page(2)![5]).toBe(0xdeadbeef);
    expect(dst.page(40)![0]).toBe(7);
    expect(dst.page(9)!.every((w) => w === 0)).toBe(true);
    expect(dst.allocate()).toBe(4);
  });

  it('is a copy: writes to one side do not reach the other', () => {
    const src = new GuestMemory(8);
    src.page(1)![0] = 1;
    const dst = new GuestMemory(8);
    dst.loadImage(src);
    src.page(1)![0] = 2;
    dst.page(1)![1] = 3;
    expect([dst.page(1)![0], src.page(1)![1]]).toEqual([1, 0]);
  });

  it('refuses an image larger than the memory', () => {
    expect(() => new GuestMemory(4).loadImage(new GuestMemory(8))).toThrow(RangeError);
  });
});
