/*
 * The snapshot of an `evtchn run` (a Simulation): the configuration and run options, the
 * platform's snapshot, and the run's own state — the workloads' random-number state, each
 * arrival stream's armed timer, the backends' answers in flight, and the counters and latency
 * histograms the report is made of.
 *
 * A resume builds a new simulation of the same configuration, which sets the workloads up
 * again (so every handler closure exists once more), then discards every timer and sets each
 * part's state; each timer owner re-arms its timers with their saved (time, sequence), so the
 * resumed run fires them in the same order and draws the same random numbers as a run that
 * never stopped.
 */
import {
  applyPlatformSnapshot,
  checkSnapshotHeader,
  LogHistogram,
  readArray,
  readInt,
  readNumber,
  readObject,
  readString,
  readTimer,
  setPart,
  snapshotPath as at,
  snapshotPlatform,
  SnapshotError,
  type JsonValue,
  type Platform,
  type PlatformFileConfig,
  type PlatformSnapshot,
  type TimerId,
} from '@evtchn/core';
import type { SeededRandom } from './rng.js';
import type { ArrivalStream, PortStats, SimulationOptions, SpiRunStats } from './simulation.js';

/** The `format` of a run snapshot. */
export const RUN_SNAPSHOT_FORMAT = 'evtchn-lab/run';
/** The run snapshot layout version this build writes and reads. */
export const RUN_SNAPSHOT_VERSION = 1;

/** A run snapshot (see the "Snapshots and migration" guide). */
export interface SimulationSnapshot {
  /** Always {@link RUN_SNAPSHOT_FORMAT}. */
  readonly format: string;
  /** {@link RUN_SNAPSHOT_VERSION} of the build that wrote it. */
  readonly version: number;
  /** The validated configuration the run was built from. */
  readonly config: JsonValue;
  /** Duration, seed and model timings of the run. */
  readonly options: JsonValue;
  /** Virtual time of the snapshot (ns). */
  readonly atNs: number;
  /** The platform's snapshot. */
  readonly platform: PlatformSnapshot;
  /** The run's own state: random numbers, workload timers, counters. */
  readonly run: JsonValue;
}



/**
 * A `firstPending` entry whose sends were all delivered. The entry stays (set, not deleted): a
 * Map that empties and refills on every event reallocates its table each time, and a long run
 * would allocate for nothing (bench/README.md, "Run memory").
 */
export const NOT_PENDING = -1;

/** The parts of a Simulation its snapshot reads and writes (private fields, seen from here). */
export interface RunInternals {
  readonly cfg: PlatformFileConfig;
  readonly opts: SimulationOptions;
  readonly platform: Platform;
  readonly rng: SeededRandom;
  readonly portStats: Map<number, PortStats[]>;
  /** Per domain, port → time of its oldest undelivered send, or {@link NOT_PENDING}. */
  readonly firstPending: Map<number, Map<number, number>>;
  readonly latency: Map<number | '-', LogHistogram>;
  readonly latencyByDomain: Map<number, LogHistogram>;
  readonly sampler: unknown;
  readonly sentTo: Map<number, number>;
  readonly ticks: { getState(): JsonValue; setState(s: JsonValue, path?: string): void } | undefined;
  readonly spis: { readonly domain: number; readonly stats: SpiRunStats; firstRaised: number; readonly latencies: LogHistogram }[];
  stopped: { atNs: number; error: string } | undefined;
  readonly streams: ArrivalStream[];
  progress: ArrivalStream | undefined;
  readonly responders: Map<number, () => void>;
  readonly responses: Map<TimerId, number>;
}

const PORT_FIELDS = ['sent', 'coalesced', 'delivered', 'waits', 'waitSum', 'waitMax'] as const;

function record(p: Platform, id: TimerId, what: string): JsonValue {
  if (id < 0) return null;
  const r = p.clock.timerRecord?.(id);
  if (!r) throw new Error(`the clock cannot save ${what}`);
  return { at: r.at, seq: r.seq };
}

/** Saves a run (see the module comment). */
export function saveRunState(r: RunInternals): SimulationSnapshot {
  if (r.sampler !== undefined) throw new Error('runs that sample time series (samplePoints) cannot be snapshotted: the samples are not saved');
  const p = r.platform;
  const o = r.opts;
  return {
    format: RUN_SNAPSHOT_FORMAT,
    version: RUN_SNAPSHOT_VERSION,
    config: JSON.parse(JSON.stringify(r.cfg)) as JsonValue,
    options: {
      durationNs: o.durationNs,
      seed: o.seed,
      ...(o.upcallEntryNs !== undefined && { upcallEntryNs: o.upcallEntryNs }),
      ...(o.handlerCostNs !== undefined && { handlerCostNs: o.handlerCostNs }),
      ...(o.tickWorkNs !== undefined && { tickWorkNs: o.tickWorkNs }),
    },
    atNs: p.clock.now(),
    platform: snapshotPlatform(p),
    run: {
      rng: r.rng.getState(),
      streams: r.streams.map((s, i) => record(p, s.id, `workload stream ${i}'s timer`)),
      progress: r.progress ? record(p, r.progress.id, 'the progress timer') : null,
      responses: [...r.responses].map(([id, wl]) => [wl, record(p, id, `workloads[${wl}]'s backend answer`)]),
      portStats: [...r.portStats].map(([dom, rows]) => [dom, rows.flatMap((row, port) => (row ? [[port, ...PORT_FIELDS.map((k) => row[k])]] : []))]),
      // By port: the order of a map whose entries are kept is its ports' first sends, which a
      // resumed run (built from the pending ones only) would not share.
      firstPending: [...r.firstPending].map(([dom, m]) => [dom, [...m].filter(([, t]) => t !== NOT_PENDING).sort((a, b) => a[0] - b[0])]),
      latency: [...r.latency].map(([prio, h]) => [prio, h.getState()]),
      latencyByDomain: [...r.latencyByDomain].map(([dom, h]) => [dom, h.getState()]),
      sentTo: [...r.sentTo],
      spis: r.spis.map((s) => ({ ...s.stats, firstRaised: s.firstRaised, latencies: s.latencies.getState() })),
      ticks: r.ticks ? r.ticks.getState() : null,
      stopped: r.stopped ? { atNs: r.stopped.atNs, error: r.stopped.error } : null,
    },
  };
}

/**
 * Restores a run: `build` makes a new simulation of the snapshot's configuration and options
 * and sets its workloads up; then every part's state is set. Returns the new simulation only
 * when all of it succeeded.
 */
export function loadRunState(doc: JsonValue, build: (cfg: PlatformFileConfig, options: SimulationOptions) => RunInternals): RunInternals {
  const top = checkSnapshotHeader(doc, RUN_SNAPSHOT_FORMAT, RUN_SNAPSHOT_VERSION);
  const cfg = readObject(top.config, 'config') as unknown as PlatformFileConfig;
  const oo = readObject(top.options, 'options');
  const options: SimulationOptions = {
    durationNs: readNumber(oo.durationNs, 'options.durationNs', 0),
    seed: readInt(oo.seed, 'options.seed', 0, 0xffffffff),
    ...(oo.upcallEntryNs !== undefined && { upcallEntryNs: readNumber(oo.upcallEntryNs, 'options.upcallEntryNs', 0) }),
    ...(oo.handlerCostNs !== undefined && { handlerCostNs: readNumber(oo.handlerCostNs, 'options.handlerCostNs', 0) }),
    ...(oo.tickWorkNs !== undefined && { tickWorkNs: readNumber(oo.tickWorkNs, 'options.tickWorkNs', 0) }),
  };
  const atNs = readNumber(top.atNs, 'atNs', 0);
  let r: RunInternals;
  try {
    r = build(cfg, options);
  } catch (e) {
    throw new SnapshotError('config', `the snapshot's configuration could not be built again: ${e instanceof Error ? e.message : String(e)}`);
  }
  const p = r.platform;
  applyPlatformSnapshot(p, top.platform ?? null, 'platform');
  const clockNow = p.clock.now();
  if (clockNow !== atNs) throw new SnapshotError('atNs', `expected the platform clock's time ${clockNow}, got ${atNs}`);
  setPart('run', () => setRunState(r, readObject(top.run, '')));
  return r;
}

function setRunState(r: RunInternals, o: { readonly [k: string]: JsonValue }): void {
  const clock = r.platform.clock;
  const rearm = (rec: { at: number; seq: number }, fn: () => void): TimerId => {
    if (!clock.rearm) throw new Error('the platform clock cannot re-arm saved timers');
    return clock.rearm(rec, fn);
  };
  r.rng.setState(readInt(o.rng, 'rng', 0, 0xffffffff));
  const streams = readArray(o.streams, 'streams', r.streams.length);
  streams.forEach((t, i) => {
    const rec = readTimer(t, at('streams', i));
    const s = r.streams[i]!;
    s.id = rec ? rearm(rec, s.tick) : -1;
  });
  const prog = readTimer(o.progress, 'progress');
  if (prog) {
    // The saved run had a progress timer: keep it (a no-op without a progress display), since
    // every armed timer shapes how the runner slices long handlers.
    const stream: ArrivalStream = r.progress ?? {
      id: -1,
      tick: () => {
        stream.id = -1;
        const next = clock.now() + Math.max(1, Math.floor(r.opts.durationNs / 100));
        if (next < r.opts.durationNs) stream.id = clock.at(next, stream.tick);
      },
    };
    stream.id = rearm(prog, stream.tick);
    r.progress = stream;
  } else if (r.progress) r.progress.id = -1;
  r.responses.clear();
  readArray(o.responses, 'responses').forEach((e, i) => {
    const p = at('responses', i);
    const pair = readArray(e, p, 2);
    const wl = readInt(pair[0], at(p, 0), 0);
    const respond = r.responders.get(wl);
    if (!respond) throw new SnapshotError(at(p, 0), `workloads[${wl}] is not an interdomain workload`);
    const rec = readTimer(pair[1], at(p, 1));
    if (!rec) throw new SnapshotError(at(p, 1), 'expected a timer');
    const id: TimerId = rearm(rec, () => {
      r.responses.delete(id);
      respond();
    });
    r.responses.set(id, wl);
  });
  r.portStats.clear();
  readArray(o.portStats, 'portStats').forEach((e, i) => {
    const p = at('portStats', i);
    const pair = readArray(e, p, 2);
    const rows: PortStats[] = [];
    readArray(pair[1], at(p, 1)).forEach((row, j) => {
      const rp = at(at(p, 1), j);
      const v = readArray(row, rp, 1 + PORT_FIELDS.length);
      const port = readInt(v[0], at(rp, 0), 0, 0x7fffffff);
      const st = {} as PortStats;
      PORT_FIELDS.forEach((k, n) => (st[k] = readNumber(v[n + 1], at(rp, n + 1), 0)));
      rows[port] = st;
    });
    r.portStats.set(readInt(pair[0], at(p, 0), 0), rows);
  });
  r.firstPending.clear();
  readArray(o.firstPending, 'firstPending').forEach((e, i) => {
    const p = at('firstPending', i);
    const pair = readArray(e, p, 2);
    const m = new Map<number, number>();
    readArray(pair[1], at(p, 1)).forEach((x, j) => {
      const q = readArray(x, at(at(p, 1), j), 2);
      m.set(readInt(q[0], at(at(at(p, 1), j), 0), 0), readNumber(q[1], at(at(at(p, 1), j), 1), 0));
    });
    r.firstPending.set(readInt(pair[0], at(p, 0), 0), m);
  });
  r.latency.clear();
  readArray(o.latency, 'latency').forEach((e, i) => {
    const p = at('latency', i);
    const pair = readArray(e, p, 2);
    const prio = pair[0] === '-' ? '-' : readInt(pair[0], at(p, 0), 0, 15);
    const h = new LogHistogram();
    h.setState(pair[1] ?? null, at(p, 1));
    r.latency.set(prio, h);
  });
  r.latencyByDomain.clear();
  readArray(o.latencyByDomain, 'latencyByDomain').forEach((e, i) => {
    const p = at('latencyByDomain', i);
    const pair = readArray(e, p, 2);
    const h = new LogHistogram();
    h.setState(pair[1] ?? null, at(p, 1));
    r.latencyByDomain.set(readInt(pair[0], at(p, 0), 0), h);
  });
  r.sentTo.clear();
  readArray(o.sentTo, 'sentTo').forEach((e, i) => {
    const pair = readArray(e, at('sentTo', i), 2);
    r.sentTo.set(readInt(pair[0], at(at('sentTo', i), 0), 0), readInt(pair[1], at(at('sentTo', i), 1), 0));
  });
  readArray(o.spis, 'spis', r.spis.length).forEach((e, i) => {
    const p = at('spis', i);
    const so = readObject(e, p);
    const s = r.spis[i]!;
    if (readString(so.name, at(p, 'name')) !== s.stats.name) throw new SnapshotError(at(p, 'name'), `expected ${JSON.stringify(s.stats.name)}`);
    s.stats.raised = readInt(so.raised, at(p, 'raised'), 0);
    s.stats.delivered = readInt(so.delivered, at(p, 'delivered'), 0);
    s.stats.coalesced = readInt(so.coalesced, at(p, 'coalesced'), 0);
    s.firstRaised = readNumber(so.firstRaised, at(p, 'firstRaised'), -1);
    s.latencies.setState(so.latencies ?? null, at(p, 'latencies'));
  });
  if ((o.ticks === null) !== (r.ticks === undefined))
    throw new SnapshotError('ticks', r.ticks ? 'expected the vtimer tick model (the run has vtimer workloads)' : 'expected null (the run has no vtimer workload)');
  if (r.ticks) r.ticks.setState(o.ticks ?? null, 'ticks');
  if (o.stopped === null) r.stopped = undefined;
  else {
    const so = readObject(o.stopped, 'stopped');
    r.stopped = { atNs: readNumber(so.atNs, 'stopped.atNs', 0), error: readString(so.error, 'stopped.error') };
  }
}
