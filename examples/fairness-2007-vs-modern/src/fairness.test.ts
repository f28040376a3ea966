import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, formatFairness, runFairness } from './fairness.js';

describe('fairness example: 2007 lowest-first scan vs modern round-robin vs FIFO', () => {
  const results = (['2007', 'modern', 'fifo'] as const).map((v) => runFairness(v));
  const [old, modern, fifo] = results as [ReturnType<typeof runFairness>, ReturnType<typeof runFairness>, ReturnType<typeof runFairness>];

  it('puts the flood on the lowest port and one high port in the second word', () => {
    for (const r of results) {
      expect(r.ports[0]!.role).toBe('flood');
      const high = r.ports.slice(1).map((p) => p.port);
      expect(Math.min(...high)).toBeGreaterThan(r.ports[0]!.port);
      expect(Math.max(...high)).toBeGreaterThanOrEqual(64);
    }
  });

  it('starves every high port under the 2007 scan until the flood stops', () => {
    expect(old.starved).toBe(DEFAULT_PARAMS.highPorts);
    for (const p of old.ports.slice(1)) {
      expect(p.sends).toBeGreaterThan(10);
      expect(p.deliveriesDuringFlood).toBe(0);
      expect(p.deliveries).toBe(1); // everything sent coalesced into one late event
      expect(p.maxLatencyUs).toBeGreaterThan(DEFAULT_PARAMS.durationNs / 1000 / 2);
    }
    // Meanwhile the flood port runs back to back.
    expect(old.ports[0]!.deliveries).toBeGreaterThan((DEFAULT_PARAMS.durationNs / DEFAULT_PARAMS.handleNs) * 0.9);
  });

  it('starves nobody under the modern scan or FIFO', () => {
    for (const r of [modern, fifo]) {
      expect(r.starved).toBe(0);
      for (const p of r.ports.slice(1)) {
        expect(p.deliveries).toBe(p.sends);
        expect(p.maxLatencyUs).toBeLessThan(10 * (DEFAULT_PARAMS.highPorts + 1) * (DEFAULT_PARAMS.handleNs / 1000));
      }
      expect(r.ports[0]!.deliveries).toBeGreaterThan(0);
    }
  });

  it('prints a table with one line per variant and port', () => {
    const out = formatFairness(results);
    expect(out).toMatch(/^2007\s+\d+\s+flood/m);
    expect(out).toMatch(/^modern\s+\d+\s+high/m);
    expect(out).toMatch(/2007\s+starved high ports \(waited > 1 ms\): 3/);
    expect(out).toMatch(/fifo\s+starved high ports \(waited > 1 ms\): 0/);
  });
});
