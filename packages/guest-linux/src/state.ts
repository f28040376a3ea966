/*
 * Snapshot state of the Linux guest layer (`GuestOs.getState/setState`): its IRQ tables, the
 * per-CPU upcall-loop and late-EOI state, the ABI guest half's state and the late-EOI workers'
 * timers as `TimerRecord`s.
 *
 * Closures are not saved: which IRQs exist, their chips and their handlers (the drivers'
 * `request_irq` actions) are structure that the restoring program re-creates by running the
 * same bindings on the fresh platform; `setState` checks every descriptor matches (IRQ number,
 * chip, binding type, port, action names) and then restores everything that changes while a
 * guest runs. A mismatch fails naming the field, e.g. `irqs[3].port: expected 5 ..., got 7`.
 */
import {
  expectSame,
  readArray,
  readArrayInto,
  readBool,
  readInt,
  readNumber,
  readObject,
  readTimer,
  snapshotPath as at,
  SnapshotError,
  writeArray,
  type AbiGuestOps,
  type Clock,
  type JsonValue,
} from '@evtchn/core';
import type { IrqDesc } from './irq-desc.js';
import type { IrqInfo } from './irq-info.js';

/** The parts of a `LinuxGuest` its snapshot reads and writes (private fields, seen from here). */
export interface LinuxGuestInternals {
  readonly domid: number;
  readonly nrCpus: number;
  readonly abiName: string;
  readonly abi: AbiGuestOps;
  readonly era: string;
  currentCpu: number;
  upcallDepth: number;
  readonly online: Uint8Array;
  readonly channelsOnCpu: Int32Array;
  readonly irqTable: { counts: Uint32Array; ensure(irq: number): void };
  readonly irqEpoch: Uint32Array;
  readonly virqToIrq: Int32Array;
  readonly ipiToIrq: Int32Array;
  readonly ipiToPort: Int32Array;
  readonly stats: { noIrq: number; droppedActive: number };
  readonly clock: Clock;
  readonly irqCosts: Map<number, number>;
  readonly upcallYielded: Uint8Array;
  readonly descs: (IrqDesc | undefined)[];
  readonly loopCount: Uint32Array;
  readonly loopTimeout: Float64Array;
  readonly loopDeferEoi: Uint8Array;
  readonly eoiLists: IrqInfo[][];
  readonly eoiTimers: number[];
  readonly eoiWorkers: (() => void)[];
  readonly evtchnDevice: { unowned: number; portUser?: Map<number, unknown> };
}

/** IrqInfo fields that change while the guest runs (restored as saved). */
const INFO_NUMBERS = ['cpu', 'refcount', 'maskReason', 'isActive', 'spuriousCnt', 'eoiCpu', 'irqEpoch', 'spuriousThreshold', 'vector', 'pirqFlags', 'pirqDomid'] as const;
/** Upper bounds of the numbers stored narrower than a JS number (`isActive` is a byte of the guest's IRQ table). */
const INFO_MAX: Partial<Record<(typeof INFO_NUMBERS)[number], number>> = { isActive: 1 };
const INFO_BOOLS = ['isStatic', 'isAccounted', 'onEoiList', 'lateEoi'] as const;
/** IrqInfo fields that say what the IRQ is bound to (must match the re-created binding). */
const INFO_BINDING = ['type', 'port', 'virq', 'ipi', 'pirq', 'gsi'] as const;

function actionNames(d: IrqDesc): string[] {
  const out: string[] = [];
  for (let a = d.action; a !== null; a = a.next) out.push(a.name);
  return out;
}

/** The guest layer's state as JSON (see the module comment). */
export function saveLinuxGuest(g: LinuxGuestInternals): JsonValue {
  if (g.upcallDepth !== 0) throw new Error(`guest d${g.domid}: cannot be saved while it runs its upcall`);
  if (g.era !== 'modern') throw new Error(`guest d${g.domid}: snapshots of the '${g.era}' era guest layer are not supported`);
  if ((g.evtchnDevice.portUser?.size ?? 0) > 0) throw new Error(`guest d${g.domid}: /dev/xen/evtchn has bound ports; its rings are not saved by snapshots`);
  const abi = g.abi as AbiGuestOps & { getState?(): JsonValue };
  if (typeof abi.getState !== 'function') throw new Error(`ABI plugin '${abi.name}' (guest half) has no getState(): guest d${g.domid} cannot be snapshotted`);
  return {
    domid: g.domid,
    abi: g.abiName,
    abiState: abi.getState(),
    currentCpu: g.currentCpu,
    online: [...g.online],
    channelsOnCpu: [...g.channelsOnCpu],
    irqCounts: writeArray(g.irqTable.counts),
    irqEpoch: [...g.irqEpoch],
    virqToIrq: [...g.virqToIrq],
    ipiToIrq: [...g.ipiToIrq],
    ipiToPort: [...g.ipiToPort],
    noIrq: g.stats.noIrq,
    droppedActive: g.stats.droppedActive,
    evtchnUnowned: g.evtchnDevice.unowned,
    irqCosts: [...g.irqCosts].sort((a, b) => a[0] - b[0]),
    upcallYielded: [...g.upcallYielded],
    loopCount: [...g.loopCount],
    loopTimeout: [...g.loopTimeout],
    loopDeferEoi: [...g.loopDeferEoi],
    eoiLists: g.eoiLists.map((l) => l.map((info) => info.irq)),
    eoiTimers: g.eoiTimers.map((id, cpu) => {
      if (id === -1) return null;
      const r = g.clock.timerRecord?.(id);
      if (!r) throw new Error(`guest d${g.domid}: the clock cannot save CPU ${cpu}'s late-EOI timer`);
      return { at: r.at, seq: r.seq };
    }),
    irqs: g.descs.flatMap((d) => {
      if (d === undefined) return [];
      const info = d.info;
      const i: Record<string, JsonValue> | null = info ? { eoiTime: info.eoiTime } : null;
      if (info && i) {
        for (const k of INFO_BINDING) i[k] = info[k];
        for (const k of INFO_NUMBERS) i[k] = info[k];
        for (const k of INFO_BOOLS) i[k] = info[k];
      }
      return [
        {
          irq: d.irq,
          chip: d.chip?.name ?? null,
          flow: d.flow,
          name: d.name,
          status: d.status,
          depth: d.depth,
          unhandled: d.unhandled,
          actions: actionNames(d),
          info: i,
        },
      ];
    }),
  };
}

/** Restores {@link saveLinuxGuest} into a guest whose bindings were re-created (see the module comment). */
export function loadLinuxGuest(g: LinuxGuestInternals, state: JsonValue): void {
  const o = readObject(state, '');
  expectSame(o.domid, 'domid', g.domid);
  expectSame(o.abi, 'abi', g.abiName);
  const n = g.nrCpus;
  const abi = g.abi as AbiGuestOps & { setState?(s: JsonValue): void };
  if (typeof abi.setState !== 'function') throw new SnapshotError('abiState', `ABI plugin '${abi.name}' (guest half) has no setState()`);
  try {
    abi.setState(o.abiState ?? null);
  } catch (e) {
    if (e instanceof SnapshotError) throw new SnapshotError(at('abiState', e.path), e.problem);
    throw new SnapshotError('abiState', e instanceof Error ? e.message : String(e));
  }
  g.currentCpu = readInt(o.currentCpu, 'currentCpu', 0, n - 1);
  for (const k of ['online', 'channelsOnCpu', 'irqEpoch', 'upcallYielded', 'loopCount', 'loopTimeout', 'loopDeferEoi'] as const)
    readArrayInto(readArray(o[k], k, g[k].length), k, g[k]);
  for (const k of ['virqToIrq', 'ipiToIrq', 'ipiToPort'] as const) {
    const arr = readArray(o[k], k, g[k].length);
    arr.forEach((v, i) => expectSame(v, at(k, i), g[k][i]!));
  }
  g.stats.noIrq = readInt(o.noIrq, 'noIrq', 0);
  g.stats.droppedActive = readInt(o.droppedActive, 'droppedActive', 0);
  g.evtchnDevice.unowned = readInt(o.evtchnUnowned, 'evtchnUnowned', 0);
  g.irqCosts.clear();
  readArray(o.irqCosts, 'irqCosts').forEach((e, i) => {
    const pair = readArray(e, at('irqCosts', i), 2);
    g.irqCosts.set(readInt(pair[0], at(at('irqCosts', i), 0), 0), readNumber(pair[1], at(at('irqCosts', i), 1), 0));
  });

  const descs = g.descs.filter((d): d is IrqDesc => d !== undefined);
  const irqs = readArray(o.irqs, 'irqs', descs.length);
  const maxIrq = descs.length ? descs[descs.length - 1]!.irq : 0;
  g.irqTable.ensure(maxIrq);
  readArrayInto(o.irqCounts, 'irqCounts', g.irqTable.counts);
  irqs.forEach((s, i) => {
    const p = at('irqs', i);
    const so = readObject(s, p);
    const d = descs[i]!;
    expectSame(so.irq, at(p, 'irq'), d.irq);
    expectSame(so.chip, at(p, 'chip'), d.chip?.name ?? 'null');
    expectSame(so.name, at(p, 'name'), d.name);
    const actions = readArray(so.actions, at(p, 'actions'));
    const want = actionNames(d);
    if (actions.length !== want.length || actions.some((a, k) => a !== want[k]))
      throw new SnapshotError(at(p, 'actions'), `expected the handlers ${JSON.stringify(want)} (as re-created on the platform being restored into), got ${JSON.stringify(actions)}`);
    d.flow = readInt(so.flow, at(p, 'flow'), 0, 3) as IrqDesc['flow'];
    d.status = readInt(so.status, at(p, 'status'), 0, 0x7fffffff);
    d.depth = readInt(so.depth, at(p, 'depth'), 0);
    d.unhandled = readInt(so.unhandled, at(p, 'unhandled'), 0);
    const ip = at(p, 'info');
    if ((so.info === null) !== (d.info === null))
      throw new SnapshotError(ip, d.info ? 'expected the IRQ\'s event-channel state (it is a Xen IRQ here)' : 'expected null (not a Xen IRQ here)');
    if (d.info && so.info !== null) {
      const info = d.info;
      const io = readObject(so.info, ip);
      for (const k of INFO_BINDING) expectSame(io[k], at(ip, k), info[k]);
      for (const k of INFO_NUMBERS) (info as unknown as Record<string, number>)[k] = readInt(io[k], at(ip, k), Number.MIN_SAFE_INTEGER, INFO_MAX[k]);
      for (const k of INFO_BOOLS) (info as unknown as Record<string, boolean>)[k] = readBool(io[k], at(ip, k));
      info.eoiTime = readNumber(io.eoiTime, at(ip, 'eoiTime'));
    }
  });

  const lists = readArray(o.eoiLists, 'eoiLists', n);
  lists.forEach((l, cpu) => {
    const p = at('eoiLists', cpu);
    const infos = readArray(l, p).map((irq, k) => {
      const info = g.descs[readInt(irq, at(p, k), 0)]?.info;
      if (!info) throw new SnapshotError(at(p, k), `IRQ ${String(irq)} is not a Xen IRQ`);
      return info;
    });
    g.eoiLists[cpu]!.length = 0;
    g.eoiLists[cpu]!.push(...infos);
  });
  const timers = readArray(o.eoiTimers, 'eoiTimers', n).map((t, cpu) => readTimer(t, at('eoiTimers', cpu)));
  timers.forEach((t, cpu) => {
    g.eoiTimers[cpu] = -1;
    if (!t) return;
    if (!g.clock.rearm) throw new Error('the guest clock cannot re-arm saved timers');
    g.eoiTimers[cpu] = g.clock.rearm(t, g.eoiWorkers[cpu]!);
  });
}
