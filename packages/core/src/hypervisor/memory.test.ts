import { describe, expect, it } from 'vitest';
import { GuestMemory } from './memory.js';

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
