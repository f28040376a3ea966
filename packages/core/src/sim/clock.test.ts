import fc from 'fast-check';
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

  it('saves timers as records and re-arms them on a new clock in the same firing order', () => {
    const a = new VirtualClock();
    const log: string[] = [];
    a.at(5, () => log.push('early'));
    const t1 = a.at(30, () => log.push('x'));
    a.runUntil(10);
    const t2 = a.at(30, () => log.push('y'));
    const t3 = a.at(20, () => log.push('z'));
    const cancelled = a.at(25, () => log.push('never'));
    a.cancel(cancelled);
    expect(a.timerRecord(cancelled)).toBeUndefined();
    const saved = { clock: a.getState(), timers: [t2, t1, t3].map((id) => a.timerRecord(id)!) };

    // Re-armed in a different order than they were armed: the sequence keeps the firing order.
    const b = new VirtualClock();
    b.setState(saved.clock);
    const names = ['y', 'x', 'z'];
    saved.timers.forEach((r, i) => b.rearm(r, () => log.push(names[i]!)));
    const fresh = b.at(30, () => log.push('fresh'));
    expect(fresh).toBeGreaterThan(Math.max(t1, t2, t3));
    log.length = 0;
    b.runUntil(100);
    expect(log).toEqual(['z', 'x', 'y', 'fresh']);
    expect(b.now()).toBe(100);
  });

  it('refuses to re-arm onto a live timer or to restore over armed timers', () => {
    const c = new VirtualClock();
    const id = c.at(10, () => {});
    expect(() => c.rearm({ at: 10, seq: id }, () => {})).toThrow(/already holds/);
    expect(() => c.rearm({ at: 10, seq: 0 }, () => {})).toThrow(RangeError);
    expect(() => c.setState({ now: 0, seq: 0 })).toThrow(/armed timers/);
  });

  it('discardTimers forgets every armed timer without running it, keeping time and sequence (the first step of a restore)', () => {
    const c = new VirtualClock();
    const ran: string[] = [];
    c.at(5, () => ran.push('early'));
    c.runUntil(5);
    c.at(10, () => ran.push('a'));
    const b = c.at(20, () => ran.push('b'));
    c.cancel(b);
    const before = c.getState();
    c.discardTimers();
    expect(c.pending).toBe(0);
    expect(c.nextDue()).toBeUndefined();
    expect(c.getState()).toEqual(before);
    // A restore can now set the state and re-arm; a fresh timer still comes after every old one.
    c.setState(before);
    expect(c.at(30, () => ran.push('fresh'))).toBeGreaterThan(b);
    c.runUntil(100);
    expect(ran).toEqual(['early', 'fresh']);
  });

  it('fires exactly like a sorted list of (time, arming order) under any mix of arming, cancelling and running', () => {
    // The reference keeps every timer in a list and fires by sorting it. Timers may arm a
    // follow-up when they fire (as the vCPU runner's continuations do); ids are the arming
    // sequence, so the model predicts them.
    type Op = ['at' | 'chain' | 'cancel' | 'run', number];
    const op = fc.tuple(fc.constantFrom<Op[0]>('at', 'chain', 'cancel', 'run'), fc.integer({ min: 0, max: 50 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops: Op[]) => {
        const c = new VirtualClock();
        const fired: number[] = [];
        const model: Array<{ at: number; id: number; then: number | undefined; live: boolean }> = [];
        const expected: number[] = [];
        let seq = 0;
        let now = 0;
        const armClock = (at: number, then?: number): number => {
          const id = c.at(at, () => {
            fired.push(id);
            if (then !== undefined) armClock(c.now() + then);
          });
          return id;
        };
        const arm = (at: number, then?: number): void => {
          const id = armClock(at, then);
          model.push({ at: Math.max(at, now), id: ++seq, then, live: true });
          expect(id).toBe(seq);
        };
        const runModel = (until: number): void => {
          for (;;) {
            const due = model.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
            if (!due) break;
            due.live = false;
            now = Math.max(now, due.at);
            expected.push(due.id);
            if (due.then !== undefined) model.push({ at: now + due.then, id: ++seq, then: undefined, live: true });
          }
          now = Math.max(now, until);
        };
        for (const [kind, n] of ops) {
          if (kind === 'at') arm(now + n);
          else if (kind === 'chain') arm(now + n, n % 7);
          else if (kind === 'cancel' && model.length > 0) {
            const t = model[n % model.length]!;
            c.cancel(t.id);
            t.live = false;
          } else if (kind === 'run') {
            const until = now + n;
            runModel(until);
            c.runUntil(until);
            expect(c.now()).toBe(now);
          }
          expect(fired).toEqual(expected);
          expect(c.pending).toBe(model.filter((t) => t.live).length);
        }
        c.runUntil(now + 1000);
        runModel(now + 1000);
        expect(fired).toEqual(expected);
      }),
    );
  });
});
