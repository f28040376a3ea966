import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IrqBitmap } from './irq-bitmap.js';
import { DYN_IRQ_POLICIES, X86GuestIrqSpace } from './irq-space.js';

/** What a linear scan over a boolean array answers. */
function linearNext(taken: boolean[], from: number): number {
  let i = from;
  while (i < taken.length && taken[i]) i++;
  return i;
}
function linearPrev(taken: boolean[], from: number): number {
  let i = Math.min(from, taken.length - 1);
  if (from >= taken.length) return from;
  while (i >= 0 && taken[i]) i--;
  return i;
}

describe('IrqBitmap', () => {
  it('answers nextFree/prevFree as a linear scan does, across word and summary boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(2200)), { maxLength: 400 }), fc.nat(2300), (ops, probe) => {
        const size = 2112; // 66 words: the summary needs 3 words, the last one partial
        const b = new IrqBitmap(size);
        const ref: boolean[] = new Array<boolean>(b.capacity).fill(false);
        for (const [take, raw] of ops) {
          const irq = raw % size;
          if (take) b.set(irq);
          else b.clear(irq);
          ref[irq] = take;
        }
        // Fill a whole run of words too, so that the summary's "full" bits are exercised.
        for (let i = 64; i < 64 + 32 * 35; i++) {
          b.set(i);
          ref[i] = true;
        }
        for (const from of [probe, 0, 63, 64, 1023, 1024, 1183, 1184, size - 1]) {
          expect(b.nextFree(from)).toBe(linearNext(ref, from));
          expect(b.prevFree(from)).toBe(linearPrev(ref, from));
        }
      }),
    );
  });

  it('keeps its flags when it grows', () => {
    const b = new IrqBitmap(40);
    for (let i = 0; i < 64; i++) b.set(i);
    b.grow(5000);
    expect(b.nextFree(0)).toBe(64);
    expect(b.prevFree(4999)).toBe(4999);
    for (let i = 64; i < b.capacity; i++) b.set(i);
    expect(b.nextFree(0)).toBe(b.capacity);
    expect(b.prevFree(b.capacity - 1)).toBe(-1);
  });
});

/**
 * The policies of X86GuestIrqSpace with the bitmap give the IRQs the plain linear scans gave
 * (the reference below is the scan the space used before the bitmap: lowest free run up
 * from a bound, highest free run down to a floor, with each policy's fallbacks).
 */
describe('X86GuestIrqSpace with the bitmap', () => {
  for (const policy of DYN_IRQ_POLICIES) {
    it(`${policy}: random alloc/alloc-range/free sequences match a linear-scan reference`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'r', 'f'), fc.nat(300), fc.integer({ min: 1, max: 5 })), { maxLength: 300 }), (ops) => {
          const nrIrqs = 256;
          const gsiTop = 24;
          const nrIrqsGsi = 40;
          const max = 400;
          const s = new X86GuestIrqSpace({ policy, nrIrqs, gsiTop, nrIrqsGsi, identityGsi: true, maxNrIrqs: max });
          const used = new Uint8Array(1024);
          for (let i = 0; i < 16; i++) used[i] = 1;
          let size = nrIrqs;
          const runFree = (f: number, c: number): boolean => {
            for (let i = f; i < f + c; i++) if (used[i]) return false;
            return true;
          };
          const up = (from: number, c: number): number => {
            for (let i = from; i + c <= size; i++) if (runFree(i, c)) return i;
            return -1;
          };
          const growing = (from: number, c: number): number => {
            let i = up(from, c);
            if (i < 0) {
              i = Math.max(from, size);
              while (i > from && !used[i - 1]) i--;
              if (i + c > max) return -1;
              size = i + c;
            }
            return i;
          };
          const refAlloc = (c: number): number => {
            switch (policy) {
              case 'scan-down':
                for (let i = size - c; i > nrIrqsGsi; i--) if (runFree(i, c)) return i;
                return -1;
              case 'encroach':
                for (let first = nrIrqsGsi; ; first = Math.max(16, first - 16)) {
                  const i = up(first, c);
                  if (i >= 0) return i;
                  if (first <= 16) return -1;
                }
              case 'alloc-from':
                return growing(nrIrqsGsi, c);
              case 'lower-bound':
                return growing(gsiTop, c);
            }
          };
          for (const [op, n, c] of ops) {
            if (op === 'f') {
              const irq = n % size;
              s.free(irq);
              if (irq >= 16) used[irq] = 0;
              continue;
            }
            const count = op === 'a' ? 1 : c;
            const got = op === 'a' ? s.allocDynamic() : s.allocDynamicRange(count);
            const want = refAlloc(count);
            if (want < 0) {
              expect(got).toBeLessThan(0);
              continue;
            }
            expect(got).toBe(want);
            for (let i = want; i < want + count; i++) used[i] = 1;
          }
          expect(s.nrIrqs()).toBe(size);
        }),
        { numRuns: 200 },
      );
    });
  }
});
