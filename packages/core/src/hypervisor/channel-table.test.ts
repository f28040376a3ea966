import { describe, expect, it } from 'vitest';
import { SnapshotError } from '../snapshot/codec.js';
import { ECS } from '../xen.js';
import { ChannelTable, EVTCHNS_PER_BUCKET } from './channel-table.js';

describe('ChannelTable buckets (xen/common/event_channel.c: ports become valid 64 at a time)', () => {
  it('rounds its capacity up to whole buckets, at least one', () => {
    expect(EVTCHNS_PER_BUCKET).toBe(64);
    expect(new ChannelTable().capacity).toBe(64);
    expect(new ChannelTable(0).capacity).toBe(64);
    expect(new ChannelTable(65).capacity).toBe(128);
    expect(new ChannelTable(128).capacity).toBe(128);
    expect(new ChannelTable(65).valid).toBe(0); // capacity is not validity
  });

  it('makes the whole bucket of a port valid, never shrinks, and keeps data when it grows', () => {
    const t = new ChannelTable();
    t.validateBucketOf(0);
    expect(t.valid).toBe(64);
    t.validateBucketOf(63);
    expect(t.valid).toBe(64);
    t.state[5] = ECS.IPI;
    t.detail[5] = 0xfffffffe;
    t.notifyVcpu[5] = 300;
    t.validateBucketOf(64);
    expect(t.valid).toBe(128);
    expect(t.capacity).toBe(128);
    t.validateBucketOf(1000); // capacity doubles until the bucket fits
    expect(t.valid).toBe(1024);
    expect(t.capacity).toBe(1024);
    expect([t.state[5], t.detail[5], t.notifyVcpu[5]]).toEqual([ECS.IPI, 0xfffffffe, 300]);
    t.validateBucketOf(10);
    expect(t.valid).toBe(1024);
  });

  it('tells valid ports (port_is_valid) and usable ones (evtchn_usable) apart', () => {
    const t = new ChannelTable();
    t.validateBucketOf(0);
    expect(t.isValid(0)).toBe(true);
    expect(t.isValid(63)).toBe(true);
    expect(t.isValid(64)).toBe(false);
    expect(t.isValid(-1)).toBe(false);
    expect(t.isValid(1.5)).toBe(false);
    expect(t.isValid(2 ** 32)).toBe(false);

    t.state[1] = ECS.FREE;
    t.state[2] = ECS.RESERVED;
    t.state[3] = ECS.UNBOUND;
    t.state[4] = ECS.IPI;
    t.xenConsumer[4] = 1;
    t.state[5] = ECS.INTERDOMAIN;
    expect([1, 2, 3, 4, 5].map((p) => t.isUsable(p))).toEqual([false, false, true, false, true]);
    expect(t.isUsable(64)).toBe(false);
    expect(t.isUsable(-3)).toBe(false);
    expect(t.isUsable(3.5)).toBe(false);
  });

  it('copies one port out', () => {
    const t = new ChannelTable();
    t.validateBucketOf(0);
    t.state[7] = ECS.INTERDOMAIN;
    t.notifyVcpu[7] = 2;
    t.priority[7] = 3;
    t.pendingFlag[7] = 1;
    t.remoteDom[7] = 4;
    t.detail[7] = 9;
    expect(t.snapshot(7)).toEqual({ port: 7, state: ECS.INTERDOMAIN, notifyVcpu: 2, xenConsumer: 0, priority: 3, pendingFlag: true, remoteDom: 4, detail: 9 });
    expect(t.snapshot(8).pendingFlag).toBe(false);
  });
});

describe('ChannelTable snapshots', () => {
  const filled = () => {
    const t = new ChannelTable();
    t.validateBucketOf(130);
    t.state[3] = ECS.UNBOUND;
    t.remoteDom[3] = 7;
    t.state[129] = ECS.VIRQ;
    t.detail[129] = 1;
    t.notifyVcpu[129] = 3;
    t.priority[129] = 15;
    t.lastVcpu[129] = 2;
    t.lastPriority[129] = 4;
    t.pendingFlag[129] = 1;
    t.xenConsumer[100] = 1;
    return t;
  };

  it('round-trips every field of the valid ports, growing a smaller table', () => {
    const state = filled().getState();
    expect(state.valid).toBe(192);
    const t = new ChannelTable();
    t.setState(JSON.parse(JSON.stringify(state)));
    expect(t.valid).toBe(192);
    expect(t.getState()).toEqual(state);
    expect(t.snapshot(129)).toEqual(filled().snapshot(129));
    expect([t.lastVcpu[129], t.lastPriority[129]]).toEqual([2, 4]);
  });

  it('clears the ports above the restored range', () => {
    const t = filled();
    t.validateBucketOf(300);
    t.state[250] = ECS.IPI;
    const small = new ChannelTable();
    small.validateBucketOf(0);
    small.state[1] = ECS.IPI;
    t.setState(small.getState());
    expect(t.valid).toBe(64);
    expect(t.state[1]).toBe(ECS.IPI);
    expect([t.state[3], t.state[129], t.state[250], t.detail[129], t.pendingFlag[129]]).toEqual([0, 0, 0, 0, 0]);
  });

  it('rejects a broken snapshot with the path of the bad field', () => {
    const t = new ChannelTable();
    const good = filled().getState();
    const bad = (patch: Record<string, unknown>) => () => t.setState({ ...good, ...patch } as never, 'domains.1.ports');
    expect(bad({ valid: 100 })).toThrow(SnapshotError);
    expect(bad({ valid: 100 })).toThrow(/domains\.1\.ports\.valid.*multiple of 64/);
    expect(bad({ valid: -64 })).toThrow(/domains\.1\.ports\.valid/);
    expect(bad({ state: [0, 0, 0, 7] })).toThrow(/domains\.1\.ports\.state\[3\].*got 7/);
    expect(bad({ priority: [0, 16] })).toThrow(/domains\.1\.ports\.priority\[1\].*0\.\.15, got 16/);
    expect(bad({ detail: 'x' })).toThrow(/domains\.1\.ports\.detail/);
    expect(() => t.setState([] as never)).toThrow(/ports/);
  });
});
