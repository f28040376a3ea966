import { describe, expect, it } from 'vitest';
import { DEVICES, formatScale, scaleDom0 } from './scale.js';

describe('dom0 scale example', () => {
  it('runs out of 2-level ports at 4096 and keeps going on FIFO', () => {
    const twoLevel = scaleDom0('2level', 1500);
    // Ports 1..4095 are usable; each guest takes one dom0 port per device.
    expect(twoLevel.stoppedBy).toBe('dom0 ENOSPC');
    expect(twoLevel.highestPort).toBe(4095);
    expect(twoLevel.guests).toBe(Math.floor(4095 / DEVICES.length));
    const fifo = scaleDom0('fifo', twoLevel.guests + 50);
    expect(fifo.stoppedBy).toBe('limit');
    expect(fifo.guests).toBe(twoLevel.guests + 50);
    expect(fifo.highestPort).toBeGreaterThan(4096);
    expect(formatScale([twoLevel, fifo])).toMatch(/2level\s+1023\s+4095\s+4095\s+dom0 ENOSPC/);
  });
});
