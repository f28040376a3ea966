import { describe, expect, it } from 'vitest';
import type { VcpuInterruptEntry, VcpuRunner } from '../contracts/sim.js';
import { Errno } from '../errno.js';
import { SnapshotError } from '../snapshot/codec.js';
import { nullArchitecture } from './null-arch.js';

const info = (id: number, nrVcpus = 2) => ({ id, nrVcpus, privileged: false, nrPirqs: 0 });

/** A runner double that keeps what the architecture registers and raises. */
function fakeRunner() {
  const entries = new Map<number, VcpuInterruptEntry>();
  const raised: Array<[number, number]> = [];
  const detached: number[] = [];
  const runner = {
    attach: (domid: number, _n: number, entry: VcpuInterruptEntry) => entries.set(domid, entry),
    detach: (domid: number) => detached.push(domid),
    raise: (domid: number, vcpu: number) => raised.push([domid, vcpu]),
  } as unknown as VcpuRunner;
  return { runner, entries, raised, detached };
}

describe('the null architecture IRQ space', () => {
  it('hands out the lowest free IRQ, reuses freed ones and reports exhaustion', () => {
    const space = nullArchitecture({ nrIrqs: 4 }).createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect(space.nrIrqs()).toBe(4);
    expect([space.allocDynamic(), space.allocDynamic(), space.allocDynamic()]).toEqual([0, 1, 2]);
    space.free(1);
    space.free(1); // freeing twice changes nothing
    expect(space.allocDynamic()).toBe(1);
    expect(space.allocDynamic()).toBe(3);
    expect(space.allocDynamic()).toBe(-Errno.ENOSPC);
    space.free(0);
    expect(space.allocDynamic()).toBe(0);
  });

  it('has 4096 IRQs by default and ignores frees of IRQs it never handed out', () => {
    const space = nullArchitecture().createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    expect(space.nrIrqs()).toBe(4096);
    expect(space.allocDynamic()).toBe(0);
    space.free(-1);
    space.free(4096);
    space.free(7); // in range, never allocated: the hint must not move down to it
    expect(space.allocDynamic()).toBe(1);
    expect(space.allocDynamic()).toBe(2);
  });

  it('finds the lowest free IRQ above a freed one the hint has moved past', () => {
    const space = nullArchitecture({ nrIrqs: 8 }).createGuestIrqSpace({ domid: 1, nrCpus: 1, privileged: false });
    for (let i = 0; i < 6; i++) space.allocDynamic();
    space.free(4);
    space.free(2);
    expect(space.allocDynamic()).toBe(2);
    expect(space.allocDynamic()).toBe(4);
    expect(space.allocDynamic()).toBe(6);
  });
});

describe('the null architecture', () => {
  it('is named "none" unless told otherwise', () => {
    expect(nullArchitecture().name).toBe('none');
    expect(nullArchitecture({ name: 'test-arch' }).name).toBe('test-arch');
  });

  it('has a permissive pirq backend by default, and none with pirqs: none', () => {
    const pirqs = nullArchitecture().pirqs!;
    expect(pirqs.irqStatusQuery(1, 5)).toBe(-Errno.EINVAL);
    expect(pirqs.guestBind(1, 0, 5, false)).toBe(0);
    expect(pirqs.irqStatusQuery(1, 5)).toBe(0);
    expect(pirqs.irqStatusQuery(2, 5)).toBe(-Errno.EINVAL); // bound per domain
    expect(pirqs.eoi(1, 5)).toBe(0);
    pirqs.guestUnbind(1, 5);
    expect(pirqs.irqStatusQuery(1, 5)).toBe(-Errno.EINVAL);
    expect(nullArchitecture({ pirqs: 'none' }).pirqs).toBeUndefined();
  });

  it('records upcalls only while record is on', () => {
    const arch = nullArchitecture();
    arch.deliverUpcall(1, 0);
    expect(arch.upcalls).toEqual([]);
    arch.record = true;
    arch.deliverUpcall(1, 0);
    arch.deliverUpcall(2, 1);
    expect(arch.upcalls).toEqual([
      [1, 0],
      [2, 1],
    ]);
  });

  it('without deliver, never calls the guest', () => {
    const arch = nullArchitecture();
    const calls: number[] = [];
    arch.attachDomain(info(1), { upcall: (v) => void calls.push(v) });
    arch.deliverUpcall(1, 0);
    expect(calls).toEqual([]);
  });

  it('with deliver and no runner, runs the upcall at once and latches one raised inside it (never nested)', () => {
    const arch = nullArchitecture({ deliver: true });
    const log: string[] = [];
    let depth = 0;
    let again = 2;
    arch.attachDomain(info(1), {
      upcall: (v) => {
        depth++;
        log.push(`enter v${v} depth ${depth}`);
        // The handler raises the same vCPU's upcall twice (latched once), then another vCPU's.
        if (again > 0) {
          again--;
          arch.deliverUpcall(1, v);
          arch.deliverUpcall(1, v);
        }
        depth--;
      },
    });
    arch.deliverUpcall(1, 0);
    expect(log).toEqual(['enter v0 depth 1', 'enter v0 depth 1', 'enter v0 depth 1']);
    arch.deliverUpcall(7, 0); // no such domain: ignored
    arch.detachDomain(1);
    arch.deliverUpcall(1, 0);
    expect(log).toHaveLength(3);
  });

  it('lets an upcall on another vCPU run inside one (only the same vCPU is latched)', () => {
    const arch = nullArchitecture({ deliver: true });
    const log: string[] = [];
    arch.attachDomain(info(1), {
      upcall: (v) => {
        log.push(`in v${v}`);
        if (v === 0) arch.deliverUpcall(1, 1);
        log.push(`out v${v}`);
      },
    });
    arch.deliverUpcall(1, 0);
    expect(log).toEqual(['in v0', 'in v1', 'out v1', 'out v0']);
  });

  it('with deliver and a runner, latches the upcall line and raises it at the runner', () => {
    const { runner, entries, raised, detached } = fakeRunner();
    const arch = nullArchitecture({ deliver: true, runner });
    const calls: number[] = [];
    let yieldNext = false;
    arch.attachDomain(info(3, 2), {
      upcall: (v) => {
        calls.push(v);
        return yieldNext ? false : undefined;
      },
    });
    const entry = entries.get(3)!;
    expect(entry.canTake(0)).toBe(false);
    arch.deliverUpcall(3, 1);
    arch.deliverUpcall(3, 2); // no vCPU 2: ignored
    arch.deliverUpcall(3, -1);
    expect(raised).toEqual([[3, 1]]);
    expect(calls).toEqual([]); // nothing runs until the runner takes it
    expect(entry.canTake(1)).toBe(true);
    expect(entry.canTake(0)).toBe(false);
    expect(entry.take(1)).toBe(true);
    expect(calls).toEqual([1]);
    expect(entry.canTake(1)).toBe(false);

    // A handler that yields leaves the vCPU suspended: it can be taken again, to continue.
    arch.deliverUpcall(3, 0);
    yieldNext = true;
    expect(entry.take(0)).toBe(false);
    expect(entry.canTake(0)).toBe(true);
    yieldNext = false;
    expect(entry.take(0)).toBe(true);
    expect(entry.canTake(0)).toBe(false);
    expect(calls).toEqual([1, 0, 0]);

    arch.detachDomain(3);
    expect(detached).toEqual([3]);
  });

  it('with a runner but without deliver, registers nothing with it', () => {
    const { runner, entries } = fakeRunner();
    nullArchitecture({ runner }).attachDomain(info(1), { upcall: () => {} });
    expect(entries.size).toBe(0);
  });
});

describe('null architecture snapshots', () => {
  it('round-trips the recorded upcalls and the latches of each domain', () => {
    const make = () => {
      const { runner, entries } = fakeRunner();
      const arch = nullArchitecture({ deliver: true, runner });
      arch.record = true;
      arch.attachDomain(info(1, 2), { upcall: () => false });
      arch.attachDomain(info(2, 1), { upcall: () => {} });
      return { arch, entries };
    };
    const a = make();
    a.arch.deliverUpcall(1, 1);
    a.arch.deliverUpcall(2, 0);
    a.entries.get(1)!.take(1); // yields: vCPU 1 of domain 1 suspended, its latch cleared
    a.arch.deliverUpcall(1, 1);
    const state = a.arch.getState();
    expect(state).toEqual({
      upcalls: [
        [1, 1],
        [2, 0],
        [1, 1],
      ],
      latches: [
        [1, [0, 1], [0, 1]],
        [2, [1], [0]],
      ],
    });

    const b = make();
    b.arch.deliverUpcall(2, 0);
    b.arch.setState(JSON.parse(JSON.stringify(state)));
    expect(b.arch.getState()).toEqual(state);
    expect(b.entries.get(1)!.canTake(1)).toBe(true);
    expect(b.entries.get(1)!.canTake(0)).toBe(false);
  });

  it('rejects a snapshot of other domains or of another shape, naming the field', () => {
    const { runner } = fakeRunner();
    const arch = nullArchitecture({ deliver: true, runner });
    arch.attachDomain(info(1, 1), { upcall: () => {} });
    const good = arch.getState();
    expect(() => arch.setState({ upcalls: [], latches: [[2, [0], [0]]] })).toThrow(SnapshotError);
    expect(() => arch.setState({ upcalls: [], latches: [[2, [0], [0]]] })).toThrow(/latches/);
    expect(() => arch.setState({ upcalls: [[1]], latches: [[1, [0], [0]]] })).toThrow(/upcalls/);
    expect(() => arch.setState({ upcalls: [], latches: [] })).toThrow(/latches/);
    expect(() => arch.setState({ upcalls: [], latches: [[1, [0, 0], [0]]] })).toThrow(/latches/);
    expect(arch.getState()).toEqual(good);
  });
});
