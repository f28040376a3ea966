import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';

describe('VirtualClock', () => {
  it('runs timers in time order, same-time timers in arming order', () => {
    const c = new VirtualClock();
    const log: string[] = [];
    c.at(20, () => log.push('b'));
    c.at(10, () => log.push('a'));
    c.at(20, () => log.push('c'));
    c.runUntil(100);
    expect(log).toEqual(['a', 'b', 'c']);
    expect(c.now()).toBe(100);
  });

  it('does not run cancelled timers and lets timers arm timers', () => {
    const c = new VirtualClock();
    const log: number[] = [];
    const id = c.after(5, () => log.push(5));
    c.after(1, () => c.after(1, () => log.push(c.now())));
    c.cancel(id);
    c.runUntil(10);
    expect(log).toEqual([2]);
    expect(c.pending).toBe(0);
  });

  it('stops at the requested time and keeps later timers', () => {
    const c = new VirtualClock();
    let fired = false;
    c.at(50, () => (fired = true));
    c.runUntil(49);
    expect(fired).toBe(false);
    expect(c.nextDue()).toBe(50);
    expect(c.step()).toBe(true);
    expect(fired).toBe(true);
    expect(c.step()).toBe(false);
  });
});
