/*
 * The per-domain event-channel table (Xen's `struct evtchn` buckets), stored as a struct of
 * typed arrays so that 131072 ports per domain and 1000 domains cost no per-port objects.
 * Models xen/common/event_channel.c's bucket scheme: ports become valid 64 at a time.
 */
import type { JsonValue } from '../contracts/snapshot.js';
import { at, readArrayInto, readInt, readObject, SnapshotError, writeArray } from '../snapshot/codec.js';
import { ECS } from '../xen.js';

/** Ports per bucket: validity grows by this many ports (`EVTCHNS_PER_BUCKET`). */
export const EVTCHNS_PER_BUCKET = 64;

/**
 * Channel state of one domain as a struct of arrays indexed by port.
 *
 * Arrays are replaced when the table grows, so read them through the table each time
 * (`table.state[port]`) instead of keeping a reference across calls that may allocate ports.
 */
export class ChannelTable {
  /** Number of valid ports; always a multiple of {@link EVTCHNS_PER_BUCKET}; never shrinks. */
  valid = 0;
  /** `ECS_*` state per port. */
  state: Uint8Array;
  /** vCPU notified when the port becomes pending. */
  notifyVcpu: Uint16Array;
  /** Non-zero when the port is consumed by Xen itself (not guest-owned). */
  xenConsumer: Uint8Array;
  /** FIFO priority (0 highest .. 15 lowest). */
  priority: Uint8Array;
  /** FIFO's sticky `pending` flag, used while the port has no event word. */
  pendingFlag: Uint8Array;
  /** FIFO: vCPU of the queue the port was last linked on. */
  lastVcpu: Uint16Array;
  /** FIFO: priority of the queue the port was last linked on. */
  lastPriority: Uint8Array;
  /** UNBOUND: remote domain allowed to bind; INTERDOMAIN: remote domain. */
  remoteDom: Uint16Array;
  /** INTERDOMAIN: remote port; PIRQ: pirq; VIRQ: virq. */
  detail: Uint32Array;

  /** @param capacity - initial capacity in ports (rounded up to a bucket) */
  constructor(capacity = EVTCHNS_PER_BUCKET) {
    const n = Math.max(EVTCHNS_PER_BUCKET, Math.ceil(capacity / EVTCHNS_PER_BUCKET) * EVTCHNS_PER_BUCKET);
    this.state = new Uint8Array(n);
    this.notifyVcpu = new Uint16Array(n);
    this.xenConsumer = new Uint8Array(n);
    this.priority = new Uint8Array(n);
    this.pendingFlag = new Uint8Array(n);
    this.lastVcpu = new Uint16Array(n);
    this.lastPriority = new Uint8Array(n);
    this.remoteDom = new Uint16Array(n);
    this.detail = new Uint32Array(n);
  }

  /** Allocated length of the arrays (≥ {@link ChannelTable.valid}). */
  get capacity(): number {
    return this.state.length;
  }

  /** Whether `port` is below the valid range (Xen's `port_is_valid`). */
  isValid(port: number): boolean {
    return port >>> 0 === port && port < this.valid;
  }

  /**
   * Whether `port` is valid, bound (state above RESERVED) and guest-owned
   * (Xen's `evtchn_usable`).
   */
  isUsable(port: number): boolean {
    return port >>> 0 === port && port < this.valid && this.state[port]! > ECS.RESERVED && this.xenConsumer[port] === 0;
  }

  /** Makes every port of `port`'s bucket valid (Xen allocates a bucket on first use). */
  validateBucketOf(port: number): void {
    const end = (Math.floor(port / EVTCHNS_PER_BUCKET) + 1) * EVTCHNS_PER_BUCKET;
    if (end <= this.valid) return;
    if (end > this.capacity) this.grow(end);
    this.valid = end;
  }

  private grow(minPorts: number): void {
    let n = this.capacity;
    while (n < minPorts) n *= 2;
    const copy = <T extends Uint8Array | Uint16Array | Uint32Array>(a: T, make: (len: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.state = copy(this.state, (l) => new Uint8Array(l));
    this.notifyVcpu = copy(this.notifyVcpu, (l) => new Uint16Array(l));
    this.xenConsumer = copy(this.xenConsumer, (l) => new Uint8Array(l));
    this.priority = copy(this.priority, (l) => new Uint8Array(l));
    this.pendingFlag = copy(this.pendingFlag, (l) => new Uint8Array(l));
    this.lastVcpu = copy(this.lastVcpu, (l) => new Uint16Array(l));
    this.lastPriority = copy(this.lastPriority, (l) => new Uint8Array(l));
    this.remoteDom = copy(this.remoteDom, (l) => new Uint16Array(l));
    this.detail = copy(this.detail, (l) => new Uint32Array(l));
  }

  /**
   * The table as JSON: `valid` and one array per field over the valid ports (trailing zeros
   * dropped, see the snapshot codec).
   */
  getState(): ChannelTableState {
    const out: Record<string, JsonValue> = { valid: this.valid };
    for (const k of CHANNEL_FIELDS) out[k] = writeArray(this[k].subarray(0, this.valid));
    return out as unknown as ChannelTableState;
  }

  /** Restores {@link ChannelTable.getState}; `path` names the table in error messages. */
  setState(state: JsonValue, path = 'ports'): void {
    const o = readObject(state, path);
    const valid = readInt(o.valid, at(path, 'valid'), 0, 0x7fffffff);
    if (valid % EVTCHNS_PER_BUCKET !== 0) throw new SnapshotError(at(path, 'valid'), `expected a multiple of ${EVTCHNS_PER_BUCKET}, got ${valid}`);
    if (valid > this.capacity) this.grow(valid);
    for (const k of CHANNEL_FIELDS) readArrayInto(o[k], at(path, k), this[k].subarray(0, valid));
    const states = Object.values(ECS) as number[];
    for (let port = 0; port < valid; port++) {
      const st = this.state[port]!;
      if (!states.includes(st))
        throw new SnapshotError(at(at(path, 'state'), port), `expected one of ${Object.entries(ECS).map(([n, v]) => `${v} (${n})`).join(', ')}, got ${st}`);
      if (this.priority[port]! > 15) throw new SnapshotError(at(at(path, 'priority'), port), `expected a FIFO priority 0..15, got ${this.priority[port]}`);
    }
    for (const k of CHANNEL_FIELDS) this[k].fill(0, valid);
    this.valid = valid;
  }

  /** Returns a copy of one port's fields (for dumps and tests; not for the hot path). */
  snapshot(port: number): ChannelSnapshot {
    return {
      port,
      state: this.state[port]!,
      notifyVcpu: this.notifyVcpu[port]!,
      xenConsumer: this.xenConsumer[port]!,
      priority: this.priority[port]!,
      pendingFlag: this.pendingFlag[port] !== 0,
      remoteDom: this.remoteDom[port]!,
      detail: this.detail[port]!,
    };
  }
}

/** One port's channel fields, copied out of a {@link ChannelTable}. */
export interface ChannelSnapshot {
  /** The port number. */
  port: number;
  /** `ECS_*` state. */
  state: number;
  /** Notify vCPU. */
  notifyVcpu: number;
  /** Xen consumer id (0 = guest-owned). */
  xenConsumer: number;
  /** FIFO priority. */
  priority: number;
  /** FIFO sticky pending flag. */
  pendingFlag: boolean;
  /** Remote domain (UNBOUND, INTERDOMAIN). */
  remoteDom: number;
  /** Remote port (INTERDOMAIN), pirq (PIRQ) or virq (VIRQ). */
  detail: number;
}

/** The per-port arrays of a {@link ChannelTable}, in snapshot order. */
const CHANNEL_FIELDS = [
  'state',
  'notifyVcpu',
  'xenConsumer',
  'priority',
  'pendingFlag',
  'lastVcpu',
  'lastPriority',
  'remoteDom',
  'detail',
] as const;

/** What {@link ChannelTable.getState} saves: `valid` plus one number array per port field (trailing zeros dropped). */
export type ChannelTableState = {
  /** Number of valid ports. */
  readonly valid: number;
  /** `ECS_*` state per port. */
  readonly state: number[];
  /** Notify vCPU per port. */
  readonly notifyVcpu: number[];
  /** Xen consumer per port. */
  readonly xenConsumer: number[];
  /** FIFO priority per port. */
  readonly priority: number[];
  /** FIFO sticky pending flag per port. */
  readonly pendingFlag: number[];
  /** FIFO last queue's vCPU per port. */
  readonly lastVcpu: number[];
  /** FIFO last queue's priority per port. */
  readonly lastPriority: number[];
  /** Remote domain per port. */
  readonly remoteDom: number[];
  /** Remote port, pirq or virq per port. */
  readonly detail: number[];
};
