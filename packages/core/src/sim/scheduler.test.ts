import { describe, expect, it } from 'vitest';
import type { VcpuRef } from '../contracts/sim.js';
import { VirtualClock } from './clock.js';
import { RoundRobinScheduler } from './scheduler.js';

const name = (r: VcpuRef | undefined): string => (r ? `d${r.domid}v${r.vcpu}` : 'idle');

function setup(nrPcpus = 2, timeSlice = 100) {
  const clock = new VirtualClock();
  const sched = new RoundRobinScheduler(clock, { nrPcpus, timeSlice });
  const log: string[] = [];
  sched.onSwitch((p, prev, next) => log.push(`${clock.now()} p${p} ${name(prev)}->${name(next)}`));
  const placement = () => Array.from({ length: nrPcpus }, (_, p) => name(sched.current(p)));
  return { clock, sched, log, placement };
}

describe('RoundRobinScheduler', () => {
  it('rejects bad options and duplicate vCPUs', () => {
    const clock = new VirtualClock();
    expect(() => new RoundRobinScheduler(clock, { nrPcpus: 0, timeSlice: 1 })).toThrow(RangeError);
    expect(() => new RoundRobinScheduler(clock, { nrPcpus: 1, timeSlice: 0 })).toThrow(RangeError);
    const s = new RoundRobinScheduler(clock, { nrPcpus: 1, timeSlice: 1 });
    s.addVcpu(1, 0);
    expect(() => s.addVcpu(1, 0)).toThrow(RangeError);
    expect(() => s.addVcpu(1, 1, { affinity: 1 })).toThrow(RangeError);
  });

  it('places vCPUs on idle pCPUs at start and rotates 3 vCPUs over 2 pCPUs every slice', () => {
    const { clock, sched, placement } = setup();
    sched.addVcpu(1, 0);
    sched.addVcpu(1, 1);
    sched.addVcpu(2, 0);
    expect(placement()).toEqual(['idle', 'idle']);
    sched.start();
    expect(placement()).toEqual(['d1v0', 'd1v1']);
    clock.runUntil(100);
    expect(placement()).toEqual(['d2v0', 'd1v0']);
    clock.runUntil(200);
    expect(placement()).toEqual(['d1v1', 'd2v0']);
    clock.runUntil(300);
    expect(placement()).toEqual(['d1v0', 'd1v1']);
    expect(sched.processorOf(1, 0)).toBe(0);
    expect(sched.processorOf(2, 0)).toBe(-1);
    expect(sched.stateOf(2, 0)).toBe('runnable');
  });

  it('reports every switch to listeners with prev and next, switch-out before switch-in', () => {
    const { clock, sched, log } = setup();
    sched.addVcpu(1, 0);
    sched.addVcpu(1, 1);
    sched.addVcpu(1, 2);
    sched.start();
    clock.runUntil(100);
    expect(log).toEqual([
      '0 p0 idle->d1v0',
      '0 p1 idle->d1v1',
      '100 p0 d1v0->d1v2',
      '100 p1 d1v1->d1v0',
    ]);
    expect(sched.contextSwitches).toBe(4);
  });

  it('does not switch when a pCPU has nothing else to run', () => {
    const { clock, sched, log } = setup(2);
    sched.addVcpu(1, 0);
    sched.start();
    clock.runUntil(1000);
    expect(log).toEqual(['0 p0 idle->d1v0']);
  });

  it('honours hard affinity', () => {
    const { clock, sched } = setup(2);
    sched.addVcpu(1, 0, { affinity: 1 });
    sched.addVcpu(1, 1, { affinity: 1 });
    sched.start();
    for (let t = 0; t <= 500; t += 100) {
      clock.runUntil(t);
      expect(sched.current(0)).toBeUndefined();
      expect(sched.current(1)?.domid).toBe(1);
    }
  });

  it('block frees the pCPU at once; kick wakes onto an idle pCPU at once', () => {
    const { clock, sched, placement } = setup(2);
    sched.addVcpu(1, 0);
    sched.addVcpu(1, 1);
    sched.start();
    clock.runUntil(50);
    sched.block(1, 0);
    expect(placement()).toEqual(['idle', 'd1v1']);
    expect(sched.stateOf(1, 0)).toBe('blocked');
    expect(sched.processorOf(1, 0)).toBe(-1);
    sched.kick(1, 0);
    expect(placement()).toEqual(['d1v0', 'd1v1']);
    sched.kick(1, 0); // kicking a running vCPU changes nothing
    expect(placement()).toEqual(['d1v0', 'd1v1']);
  });

  it('a blocked vCPU is skipped by the rotation until kicked', () => {
    const { clock, sched, placement } = setup(1);
    sched.addVcpu(1, 0);
    sched.addVcpu(1, 1, { blocked: true });
    sched.start();
    clock.runUntil(300);
    expect(placement()).toEqual(['d1v0']);
    sched.kick(1, 1);
    clock.runUntil(400);
    expect(placement()).toEqual(['d1v1']);
  });

  it('handles kicks and blocks from inside a switch listener without nesting switches', () => {
    const { clock, sched, log } = setup(2);
    sched.addVcpu(1, 0);
    sched.addVcpu(1, 1, { blocked: true });
    let depth = 0;
    let maxDepth = 0;
    sched.onSwitch((_p, _prev, next) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      if (next?.vcpu === 0) sched.kick(1, 1);
      depth--;
    });
    sched.start();
    expect(maxDepth).toBe(1);
    expect(log).toEqual(['0 p0 idle->d1v0', '0 p1 idle->d1v1']);
    clock.runUntil(0);
  });

  it('removeDomain takes its vCPUs off their pCPUs', () => {
    const { sched, placement } = setup(2);
    sched.addVcpu(1, 0);
    sched.addVcpu(2, 0);
    sched.addVcpu(2, 1);
    sched.start();
    expect(placement()).toEqual(['d1v0', 'd2v0']);
    sched.removeDomain(1);
    expect(placement()).toEqual(['d2v1', 'd2v0']);
    expect(sched.stateOf(1, 0)).toBeUndefined();
  });

  it('stop() ends slicing and the unsubscribe function removes a listener', () => {
    const { clock, sched } = setup(1);
    let calls = 0;
    const off = sched.onSwitch(() => calls++);
    sched.addVcpu(1, 0);
    sched.addVcpu(1, 1);
    sched.start();
    expect(calls).toBe(1);
    off();
    clock.runUntil(100);
    expect(calls).toBe(1);
    sched.stop();
    const at = sched.current(0);
    clock.runUntil(1000);
    expect(sched.current(0)).toEqual(at);
  });

  it('is deterministic: two runs give the same switch log', () => {
    const run = () => {
      const { clock, sched, log } = setup(2, 70);
      for (let v = 0; v < 5; v++) sched.addVcpu(v % 2, v);
      sched.start();
      clock.after(130, () => sched.block(0, 2));
      clock.after(390, () => sched.kick(0, 2));
      clock.runUntil(1000);
      return log;
    };
    expect(run()).toEqual(run());
  });
});
