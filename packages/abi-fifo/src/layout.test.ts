import { describe, expect, it } from 'vitest';
import {
  FIFO_BUSY,
  FIFO_EVENT_WORDS_PER_PAGE,
  FIFO_LINK_BITS,
  FIFO_LINK_MASK,
  FIFO_LINKED,
  FIFO_MASKED,
  FIFO_MAX_EVENT_ARRAY_PAGES,
  FIFO_MAX_PORTS,
  FIFO_MAX_QUEUES,
  FIFO_PENDING,
  FIFO_PRIORITY_DEFAULT,
  FIFO_PRIORITY_MAX,
  FIFO_PRIORITY_MIN,
  formatEventWord,
} from './layout.js';

describe('FIFO event word layout', () => {
  // Xen's public header xen/include/public/event_channel.h (since Xen 4.4, the FIFO ABI):
  // EVTCHN_FIFO_PENDING 31, _MASKED 30, _LINKED 29, _BUSY 28, EVTCHN_FIFO_LINK_BITS 17,
  // EVTCHN_FIFO_MAX_QUEUES 16, priorities 0 (max) .. 15 (min), default 7.
  it('has the bit positions and limits of Xen 4.4+ event_channel.h', () => {
    expect([FIFO_PENDING, FIFO_MASKED, FIFO_LINKED, FIFO_BUSY].map((b) => 31 - Math.clz32(b))).toEqual([31, 30, 29, 28]);
    expect(FIFO_LINK_BITS).toBe(17);
    expect(FIFO_LINK_MASK).toBe((1 << 17) - 1);
    expect(FIFO_MAX_PORTS).toBe(131072);
    expect(FIFO_MAX_QUEUES).toBe(16);
    expect([FIFO_PRIORITY_MAX, FIFO_PRIORITY_DEFAULT, FIFO_PRIORITY_MIN]).toEqual([0, 7, 15]);
    // One 4 KiB page holds 1024 32-bit event words; 128 pages cover every port.
    expect(FIFO_EVENT_WORDS_PER_PAGE * FIFO_MAX_EVENT_ARRAY_PAGES).toBe(FIFO_MAX_PORTS);
  });

  it('formats each flag in its place and the LINK field as five digits', () => {
    expect(formatEventWord(0)).toBe('----:00000');
    expect(formatEventWord(FIFO_PENDING >>> 0)).toBe('P---:00000');
    expect(formatEventWord(FIFO_MASKED)).toBe('-M--:00000');
    expect(formatEventWord(FIFO_LINKED)).toBe('--L-:00000');
    expect(formatEventWord(FIFO_BUSY)).toBe('---B:00000');
    expect(formatEventWord((FIFO_PENDING | FIFO_LINKED | 12) >>> 0)).toBe('P-L-:00012');
    expect(formatEventWord((FIFO_PENDING | FIFO_MASKED | FIFO_LINKED | FIFO_BUSY | FIFO_LINK_MASK) >>> 0)).toBe('PMLB:131071');
  });

  it('shows only the LINK field of the low bits (bits 17..27 are reserved)', () => {
    expect(formatEventWord((1 << 17) | (1 << 27) | 5)).toBe('----:00005');
  });
});
