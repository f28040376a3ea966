import { describe, expect, it } from 'vitest';
import { Errno } from '@evtchn/core';
import { EVTCHN_PER_ROW } from './constants.js';
import { EvtchnIrqMap } from './evtchn-map.js';

describe('EvtchnIrqMap', () => {
  it('reads -1 for unmapped ports and allocates rows only when mapping', () => {
    const map = new EvtchnIrqMap(131072);
    expect(map.get(70000)).toBe(-1);
    expect(map.set(70000, -1)).toBe(0);
    expect(map.allocatedRows).toBe(0);
    expect(map.set(70000, 42)).toBe(0);
    expect(map.allocatedRows).toBe(1);
    expect(map.get(70000)).toBe(42);
    expect(map.get(70001)).toBe(-1);
    expect(map.set(5, 7)).toBe(0);
    expect(map.allocatedRows).toBe(2);
    expect(map.set(70000, -1)).toBe(0);
    expect(map.get(70000)).toBe(-1);
  });

  it('keeps rows of EVTCHN_PER_ROW entries apart', () => {
    const map = new EvtchnIrqMap(4 * EVTCHN_PER_ROW);
    map.set(EVTCHN_PER_ROW - 1, 1);
    map.set(EVTCHN_PER_ROW, 2);
    expect(map.get(EVTCHN_PER_ROW - 1)).toBe(1);
    expect(map.get(EVTCHN_PER_ROW)).toBe(2);
    expect(map.allocatedRows).toBe(2);
  });

  it('refuses ports outside the table', () => {
    const map = new EvtchnIrqMap(1024);
    expect(map.set(1024, 1)).toBe(-Errno.EINVAL);
    expect(map.set(-1, 1)).toBe(-Errno.EINVAL);
    expect(map.get(1024)).toBe(-1);
  });

  it('reads -1 past the table even where the last row covers the port, and for ports that are not uint32', () => {
    // 1500 ports: the second row covers ports 1024-2047, of which 1500-2047 are outside.
    const map = new EvtchnIrqMap(1500);
    expect(map.set(1499, 9)).toBe(0);
    expect(map.set(1500, 9)).toBe(-Errno.EINVAL);
    expect(map.get(1499)).toBe(9);
    for (const port of [1500, 2047, 2048, -1, -1024, 1499.5, 0.5, Number.NaN, 2 ** 32 + 1499]) expect(map.get(port)).toBe(-1);
    map.set(1, 3);
    expect(map.get(1.5)).toBe(-1);
    expect(map.get(1)).toBe(3);
  });
});
