import { describe, expect, it } from 'vitest';
import { Errno } from '../errno.js';
import { nullArchitecture } from './null-arch.js';

describe('the null architecture IRQ space', () => {
  it('hands out the lowest free IRQ, reuses freed ones and reports exhaustion', () => {
    const space = nullArchitecture({ nrIrqs: 4 }).createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect([space.allocDynamic(), space.allocDynamic(), space.allocDynamic()]).toEqual([0, 1, 2]);
    space.free(1);
    space.free(1); // freeing twice changes nothing
    expect(space.allocDynamic()).toBe(1);
    expect(space.allocDynamic()).toBe(3);
    expect(space.allocDynamic()).toBe(-Errno.ENOSPC);
    space.free(0);
    expect(space.allocDynamic()).toBe(0);
  });
});
