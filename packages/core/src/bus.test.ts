import { describe, expect, it } from 'vitest';
import { PlatformEventBus, type PlatformEventName } from './bus.js';

describe('PlatformEventBus', () => {
  it('knows whether an event has listeners as they come and go', () => {
    const bus = new PlatformEventBus();
    const seen: Array<[number, number, number]> = [];
    const a = (d: number, p: number, v: number): void => void seen.push([d, p, v]);
    const b = (): void => {};
    expect(bus.listening('evtchn:pending')).toBe(false);
    bus.on('evtchn:pending', a).on('evtchn:pending', b);
    expect(bus.listening('evtchn:pending')).toBe(true);
    expect(bus.listening('warn')).toBe(false);
    bus.emit('evtchn:pending', 1, 2, 3);
    bus.off('evtchn:pending', a);
    expect(bus.listening('evtchn:pending')).toBe(true);
    bus.off('evtchn:pending', b);
    expect(bus.listening('evtchn:pending')).toBe(false);
    bus.emit('evtchn:pending', 4, 5, 6);
    expect(seen).toEqual([[1, 2, 3]]);
  });

  it('tracks every event on its own, whichever way it keeps the count', () => {
    const names: PlatformEventName[] = [
      'evtchn:pending',
      'evtchn:bind',
      'evtchn:close',
      'evtchn:dropped',
      'upcall:deliver',
      'upcall:enter',
      'irq:handled',
      'warn',
      'domain:crash',
      'domain:destroyed',
      'vcpu:livelock',
    ];
    const bus = new PlatformEventBus();
    const fn = (): void => {};
    for (const name of names) {
      bus.on(name, fn);
      expect(names.filter((n) => bus.listening(n))).toEqual([name]);
      bus.off(name, fn);
      expect(names.some((n) => bus.listening(n))).toBe(false);
    }
  });
});
