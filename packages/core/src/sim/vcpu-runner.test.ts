import { describe, expect, it } from 'vitest';
import type { VcpuInterruptEntry } from '../contracts/sim.js';
import { PlatformEventBus } from '../bus.js';
import { VirtualClock } from './clock.js';
import { LogHistogram } from './histogram.js';
import { RoundRobinScheduler } from './scheduler.js';
import { ClockedVcpuRunner, DEFAULT_EXECUTION_COSTS } from './vcpu-runner.js';

/**
 * A vCPU interrupt controller with one latch per vCPU whose handler records the time it ran
 * (as the runner sees it) and may do work, raise again or yield.
 */
class FakeEntry implements VcpuInterruptEntry {
  readonly latched: number[];
  readonly runs: Array<[vcpu: number, at: number]> = [];
  onTake: ((vcpu: number) => boolean) | undefined;
  constructor(
    private readonly runner: ClockedVcpuRunner,
    nr: number,
  ) {
    this.latched = new Array<number>(nr).fill(0);
  }
  raise(dom: number, vcpu: number): void {
    this.latched[vcpu] = 1;
    this.runner.raise(dom, vcpu);
  }
  canTake(vcpu: number): boolean {
    return this.latched[vcpu] === 1;
  }
  take(vcpu: number): boolean {
    this.latched[vcpu] = 0;
    this.runs.push([vcpu, this.runner.now()]);
    return this.onTake ? this.onTake(vcpu) : true;
  }
}

describe('ClockedVcpuRunner', () => {
  it('timed: takes a raised interrupt after the entry latency, never inside the raise', () => {
    const clock = new VirtualClock();
    const r = new ClockedVcpuRunner(clock);
    const e = new FakeEntry(r, 2);
    r.attach(1, 2, e);
    e.raise(1, 1);
    expect(e.runs).toEqual([]);
    clock.runUntil(10_000);
    expect(e.runs).toEqual([[1, DEFAULT_EXECUTION_COSTS.entryLatencyNs + DEFAULT_EXECUTION_COSTS.upcallNs]]);
    expect(r.stats(1, 1).upcalls).toBe(1);
    expect(r.stats(1, 0).upcalls).toBe(0);
  });

  it('a raise while the vCPU is in its handler is latched and taken after the handler returns, not nested', () => {
    const clock = new VirtualClock();
    const r = new ClockedVcpuRunner(clock, { costs: { entryLatencyNs: 100, upcallNs: 0 } });
    const e = new FakeEntry(r, 1);
    r.attach(1, 1, e);
    let depth = 0;
    e.onTake = () => {
      depth++;
      expect(depth).toBe(1);
      r.charge(500);
      if (e.runs.length === 1) e.raise(1, 0);
      depth--;
      return true;
    };
    e.raise(1, 0);
    clock.runUntil(10_000);
    // The second run starts after the first's 500 ns of work and another entry latency.
    expect(e.runs).toEqual([
      [0, 100],
      [0, 100 + 500 + 100],
    ]);
  });

  it('a vCPU that is not on a pCPU waits for its switch-in', () => {
    const clock = new VirtualClock();
    const sched = new RoundRobinScheduler(clock, { nrPcpus: 1, timeSlice: 1_000_000 });
    sched.addVcpu(1, 0);
    sched.addVcpu(2, 0);
    sched.start();
    const r = new ClockedVcpuRunner(clock, { scheduler: sched });
    const e = new FakeEntry(r, 1);
    r.attach(2, 1, e);
    expect(sched.processorOf(2, 0)).toBe(-1);
    e.raise(2, 0);
    clock.runUntil(999_999);
    expect(e.runs).toEqual([]);
    clock.runUntil(2_000_000);
    expect(e.runs).toHaveLength(1);
    expect(e.runs[0]![1]).toBeGreaterThanOrEqual(1_000_000);
  });

  it('slices a handler that never ends; runUntil returns and the livelock is reported once', () => {
    const clock = new VirtualClock();
    const bus = new PlatformEventBus();
    const livelocks: number[] = [];
    bus.on('vcpu:livelock', (_d, v) => livelocks.push(v));
    const r = new ClockedVcpuRunner(clock, { bus, maxSliceNs: 10_000, livelockNs: 50_000 });
    const e = new FakeEntry(r, 1);
    r.attach(1, 1, e);
    e.onTake = () => {
      while (!r.shouldYield()) r.charge(100);
      return false;
    };
    e.raise(1, 0);
    clock.runUntil(1_000_000);
    expect(clock.now()).toBe(1_000_000);
    const s = r.stats(1, 0);
    expect(s.upcalls).toBe(1);
    expect(s.livelocked).toBe(true);
    expect(livelocks).toEqual([0]);
    // Slices end at the maximum slice: about 100 continuations in 1 ms.
    expect(e.runs.length).toBeGreaterThan(90);
    expect(e.runs.length).toBeLessThan(110);
  });

  it('ends a slice where the next timer is due, so other events interleave', () => {
    const clock = new VirtualClock();
    const r = new ClockedVcpuRunner(clock, { costs: { entryLatencyNs: 0, upcallNs: 0 } });
    const e = new FakeEntry(r, 1);
    r.attach(1, 1, e);
    let left = 10;
    e.onTake = () => {
      while (left > 0 && !r.shouldYield()) {
        r.charge(1000);
        left--;
      }
      return left === 0;
    };
    const seen: number[] = [];
    clock.at(3500, () => seen.push(e.runs.length));
    e.raise(1, 0);
    clock.runUntil(100_000);
    // The first slice stopped at 4000 (the first charge past 3500); the timer ran before the continuation.
    expect(seen).toEqual([1]);
    expect(e.runs.map(([, at]) => at)).toEqual([0, 4000]);
  });

  it('immediate mode: nothing runs by itself; runNow runs to completion at no cost', () => {
    const clock = new VirtualClock();
    const r = new ClockedVcpuRunner(clock, { mode: 'immediate' });
    const e = new FakeEntry(r, 1);
    r.attach(1, 1, e);
    e.raise(1, 0);
    clock.runUntil(1_000_000);
    expect(e.runs).toEqual([]);
    e.onTake = () => {
      r.charge(1000);
      expect(r.shouldYield()).toBe(false);
      if (e.runs.length < 3) e.latched[0] = 1;
      return true;
    };
    r.runNow(1, 0);
    expect(e.runs.map(([, at]) => at)).toEqual([1_000_000, 1_000_000, 1_000_000]);
  });

  it('a fault in guest code goes to onFault and stops nothing else', () => {
    const clock = new VirtualClock();
    const faults: Array<[number, number, unknown]> = [];
    const r = new ClockedVcpuRunner(clock, { onFault: (d, v, err) => faults.push([d, v, err]) });
    const bad = new FakeEntry(r, 1);
    const good = new FakeEntry(r, 1);
    r.attach(1, 1, bad);
    r.attach(2, 1, good);
    bad.onTake = () => {
      throw new Error('boom');
    };
    bad.raise(1, 0);
    good.raise(2, 0);
    clock.runUntil(10_000);
    expect(faults.map(([d, v]) => [d, v])).toEqual([[1, 0]]);
    expect(good.runs).toHaveLength(1);
  });

  it('a slice opened inside another (runNow from a handler) keeps each its own time and charge, also after a fault', () => {
    const clock = new VirtualClock();
    const faults: number[] = [];
    const r = new ClockedVcpuRunner(clock, { costs: { entryLatencyNs: 100, upcallNs: 0 }, onFault: (d) => faults.push(d) });
    const outer = new FakeEntry(r, 1);
    const inner = new FakeEntry(r, 1);
    r.attach(1, 1, outer);
    r.attach(2, 1, inner);
    inner.onTake = () => {
      r.charge(300);
      if (inner.runs.length === 1) throw new Error('inner fault');
      return true;
    };
    const seen: number[] = [];
    outer.onTake = () => {
      r.charge(1000);
      seen.push(r.now());
      r.runNow(2, 0); // faults after charging 300
      seen.push(r.now());
      r.runNow(2, 0);
      seen.push(r.now());
      r.charge(50);
      seen.push(r.now());
      expect(r.running()).toEqual({ domid: 1, vcpu: 0 });
      return true;
    };
    outer.raise(1, 0);
    clock.runUntil(10_000);
    // The inner slices start at the clock's time (the outer slice's start) and charge their own
    // vCPU; the outer slice's time and charge go on where they were.
    expect(seen).toEqual([1100, 1100, 1100, 1150]);
    expect(inner.runs).toEqual([
      [0, 100],
      [0, 100],
    ]);
    expect(faults).toEqual([2]);
    expect(r.stats(1, 0).interruptNs).toBe(1050);
    expect(r.stats(2, 0).interruptNs).toBe(600);
    expect(r.running()).toBeUndefined();
  });

  it('detach cancels what was armed', () => {
    const clock = new VirtualClock();
    const r = new ClockedVcpuRunner(clock);
    const e = new FakeEntry(r, 1);
    r.attach(1, 1, e);
    e.raise(1, 0);
    r.detach(1);
    clock.runUntil(10_000);
    expect(e.runs).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('rejects a cost model that would let work take no time, and bad options', () => {
    const clock = new VirtualClock();
    expect(() => new ClockedVcpuRunner(clock, { costs: { handlerNs: 0, scanStepNs: 0 } })).toThrow(/must be > 0/);
    expect(() => new ClockedVcpuRunner(clock, { costs: { handlerNs: -1 } })).toThrow(/handlerNs/);
    expect(() => new ClockedVcpuRunner(clock, { costs: { handlerNs: Number.NaN } })).toThrow(/handlerNs/);
    expect(() => new ClockedVcpuRunner(clock, { mode: 'later' as never })).toThrow(/mode/);
    expect(() => new ClockedVcpuRunner(clock, { maxSliceNs: 0 })).toThrow(/maxSliceNs/);
    expect(() => new ClockedVcpuRunner(clock, { mode: 'immediate', costs: { handlerNs: 0, scanStepNs: 0 } })).not.toThrow();
  });
});

describe('LogHistogram', () => {
  it('is exact below 128 and within 1/64 above, with exact min, max and mean', () => {
    const h = new LogHistogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    expect(h.summary()).toMatchObject({ count: 100, min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    const g = new LogHistogram();
    const values = [1500, 2300, 2320, 10_000, 1e6, 3.7e9];
    for (const v of values) g.record(v);
    for (const [i, v] of values.entries()) {
      const q = (i + 1) / values.length;
      const got = g.percentile(q);
      expect(got).toBeLessThanOrEqual(v);
      expect(got).toBeGreaterThan(v * (1 - 1 / 64));
    }
    expect(g.percentile(1)).toBe(3.7e9);
    expect(g.summary().max).toBe(3.7e9);
  });

  it('keeps its size however many values it records, and merges', () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    for (let i = 0; i < 100_000; i++) (i % 2 ? a : b).record(i * 37);
    a.merge(b);
    expect(a.count).toBe(100_000);
    expect(a.summary().min).toBe(0);
    expect(a.summary().max).toBe(99_999 * 37);
    expect(a.buckets().length).toBeLessThan(1000);
    expect(new LogHistogram().summary()).toMatchObject({ count: 0, min: 0, max: 0, p50: 0, mean: 0 });
  });
});
