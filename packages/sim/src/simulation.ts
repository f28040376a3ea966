/*
 * `evtchn run`: a discrete-event run of a platform configuration on the virtual clock.
 *
 * Workloads issue hypercalls at seeded Poisson (or periodic) times. The platform's vCPU runner
 * takes each raised upcall after its entry latency, runs the guest's upcall loop and charges
 * its work (per scan step and per handler run) to the vCPU, so a queue of pending events
 * drains in the order the ABI scans it (FIFO: by priority) and latency reflects that order.
 * Latency statistics live in fixed-size histograms: a run's memory does not grow with its
 * virtual duration.
 *
 * On Arm the vCPUs are time-sliced on the configured pCPUs by the platform's round-robin
 * scheduler, and a vCPU takes interrupts only while it runs. `vtimer` workloads are guests'
 * periodic virtual-timer ticks (`PeriodicTickModel`), delivered by the configured strategy;
 * `spi` workloads are level-triggered device interrupts routed to a guest, travelling physical
 * SPI → Xen → vGIC → the guest's handler, which acknowledges the device and EOIs.
 */
import {
  ECS,
  Errno,
  VIRQ,
  createPlatform,
  type Platform,
  type PlatformFileConfig,
  type Plugin,
  LogHistogram,
  type JsonValue,
  type TimerId,
} from '@evtchn/core';
import { ArmArchitecture, PeriodicTickModel, sumTickCounts, type TickTotals, type VcpuTickCounts } from '@evtchn/arch-arm';
import type { X86Architecture } from '@evtchn/arch-x86';
import { IRQF_PERCPU, IRQF_SHARED, IRQ_HANDLED, LinuxGuest } from '@evtchn/guest-linux';
import { SeededRandom } from './rng.js';
import { RunSampler, type RunSamples } from './samples.js';
import { loadRunState, NOT_PENDING, saveRunState, type RunInternals, type SimulationSnapshot } from './snapshot.js';

/** The plugins a run is built from (resolved from the configuration). */
export interface SimulationPlugins {
  /** Architecture plugin. */
  arch: Plugin<'arch'>;
  /** Offered ABI plugins. */
  abis: Plugin<'abi'>[];
  /** Guest-layer plugin (the run needs the Linux guest layer). */
  guest: Plugin<'guest'>;
  /** Security-policy plugin. */
  policy?: Plugin<'policy'>;
}

/** Options of a run. */
export interface SimulationOptions {
  /** Virtual duration in ns. */
  durationNs: number;
  /** Seed of the arrival times. */
  seed: number;
  /** Receives one JSON line per traced event. */
  trace?: (line: string) => void;
  /** Called as virtual time advances (about 100 times per run). */
  onProgress?: (doneNs: number, totalNs: number) => void;
  /** Time from the upcall being raised to the vCPU entering its handler (default: the runner's `entryLatencyNs`, 1500 ns). */
  upcallEntryNs?: number;
  /** Time a vCPU spends per handler run (default: the runner's `handlerNs`, 800 ns). */
  handlerCostNs?: number;
  /** Arm: virtual CPU time a guest's timer tick handler takes (default 50 µs). */
  tickWorkNs?: number;
  /**
   * Number of equal intervals the run's time series ({@link RunDetails.samples}) are kept in;
   * 0 or absent: no time series. The memory is proportional to it, not to the duration.
   */
  samplePoints?: number;
}

/** The latency histogram of one group of deliveries, as `[lowest value of the bucket (ns), count]`. */
export interface LatencyBuckets {
  /** Buckets of the {@link LogHistogram}, ascending; each value is known to within 1.6 %. */
  buckets: Array<[number, number]>;
  /** Deliveries measured. */
  count: number;
}

/**
 * What a run measured beyond its {@link RunReport}, for plots: the latency histograms behind the
 * report's percentiles, per priority and per domain, and the sampled time series.
 */
export interface RunDetails {
  /** Send → handler latency by FIFO priority (`'-'`: ports of 2-level guests), as in {@link RunReport.latency}. */
  latencyByPriority: Array<LatencyBuckets & { priority: number | '-' }>;
  /** Send → handler latency of each domain's ports. */
  latencyByDomain: Array<LatencyBuckets & { domain: number; name: string }>;
  /** Time series, when {@link SimulationOptions.samplePoints} asked for them. */
  samples?: RunSamples;
}

/** Counters of one domain. */
export interface DomainRunStats {
  /** Domain id. */
  id: number;
  /** Display name. */
  name: string;
  /** ABI the guest runs on. */
  abi: string;
  /**
   * Notifications sent towards this domain's ports, counting the pending bit that
   * `bind_interdomain` sets on the binder's new port (so sent = delivered + coalesced, plus
   * what is still pending when the run ends).
   */
  sent: number;
  /** Handler runs in this domain. */
  delivered: number;
  /** Notifications that found their port already pending (merged into one delivery). */
  coalesced: number;
  /** Events lost: no control block, no IRQ for the port, or dropped while the IRQ was active. */
  dropped: number;
  /** Upcalls taken. */
  upcalls: number;
  /** The guest's `/proc/interrupts`. */
  procInterrupts: string;
  /** What each vCPU did: upcalls and the share of the run spent handling interrupts. */
  vcpus: VcpuRunRow[];
  /** Per-port fairness: what each notified port was sent, delivered and merged, and how long it waited. */
  ports: PortRunRow[];
  /** Arm: the domain's periodic virtual-timer ticks (`vtimer` workloads), summed over its vCPUs. */
  vtimer?: VtimerRunStats;
  /** Arm: the physical SPIs routed to this domain (`spi` workloads). */
  spis?: SpiRunStats[];
}

/** One vCPU of a run (times in ns), from the platform's vCPU runner. */
export interface VcpuRunRow {
  /** vCPU id. */
  vcpu: number;
  /** Interrupts taken. */
  upcalls: number;
  /** Time spent handling interrupts. */
  interruptNs: number;
  /** `interruptNs` over the run's duration (1 = the vCPU did nothing else: livelock). */
  interruptShare: number;
  /** Longest single upcall, continuations included. */
  longestUpcallNs: number;
  /** Whether the vCPU was still inside an upcall longer than the livelock threshold at the end. */
  livelocked: boolean;
}

/** One port of a run (times in ns): fairness between the ports of a domain. */
export interface PortRunRow {
  /** Port number. */
  port: number;
  /**
   * The device names of the handlers on the port's IRQ (`request_irq` names, comma-separated for a
   * shared IRQ, as `/proc/interrupts` lists them); absent when no handler is registered.
   */
  name?: string;
  /** Notifications made towards it. */
  sent: number;
  /** Handler runs for it. */
  delivered: number;
  /** Notifications merged into one already pending. */
  coalesced: number;
  /** Mean time from the first undelivered notification to its handler. */
  waitMean: number;
  /** Longest such wait. */
  waitMax: number;
}

/** Virtual-timer tick counts of one domain (times in ns). */
export interface VtimerRunStats extends TickTotals {
  /** vCPUs running a tick. */
  ticks: number;
}

/** Counts of one physical SPI routed to a guest (times in ns). */
export interface SpiRunStats {
  /** Workload name. */
  name: string;
  /** Physical SPI (also the guest's virtual SPI: routed 1:1, like xl's `irqs`). */
  irq: number;
  /** Times the device raised its line. */
  raised: number;
  /** Guest handler runs. */
  delivered: number;
  /** Raises while the line was still up (merged into the pending interrupt). */
  coalesced: number;
  /** Median latency, first unhandled raise to the guest's handler. */
  p50: number;
  /** Largest latency. */
  max: number;
}

/** How the vCPUs were scheduled (Arm runs). */
export interface SchedulerRunStats {
  /** Physical CPUs. */
  pcpus: number;
  /** Time slice (ns). */
  timeSliceNs: number;
  /** Context switches made (a switch to or from idle counts). */
  contextSwitches: number;
  /** Virtual-timer delivery strategy. */
  vtimer: string;
}

/** Latency figures of one priority level. */
export interface LatencyRow {
  /** FIFO priority, or `'-'` for ports of 2-level guests. */
  priority: number | '-';
  /** Number of deliveries measured. */
  count: number;
  /** Median latency (ns). */
  p50: number;
  /** 99th percentile (ns). */
  p99: number;
  /** Maximum (ns). */
  max: number;
}

/** Result of a run. */
export interface RunReport {
  /** Virtual duration (ns). */
  durationNs: number;
  /** Seed used. */
  seed: number;
  /** Architecture name. */
  arch: string;
  /** Offered ABIs. */
  abis: string[];
  /** Per-domain counters. */
  domains: DomainRunStats[];
  /** Send → handler latency by priority. */
  latency: LatencyRow[];
  /** Arm: the vCPU scheduler. */
  scheduler?: SchedulerRunStats;
  /**
   * Set when the run stopped before its end: an exception escaped the model (a plugin hook —
   * ABI, architecture, policy — or the framework itself; a guest's own fault only crashes its
   * domain). The counts are those up to `atNs`.
   */
  stopped?: { atNs: number; error: string };
}

interface SpiState {
  readonly domain: number;
  readonly stats: SpiRunStats;
  /** Time of the first raise the guest has not handled yet, or -1. */
  firstRaised: number;
  readonly latencies: LogHistogram;
}

/** A timer-driven arrival stream: its armed timer (-1 when none) and the callback that re-arms it. */
export interface ArrivalStream {
  id: TimerId;
  readonly tick: () => void;
}

/** One port's running counts during a run (the report's {@link PortRunRow} is made from them). */
export interface PortStats {
  sent: number;
  coalesced: number;
  delivered: number;
  /** Waits measured (first undelivered notification → handler), their sum and maximum. */
  waits: number;
  waitSum: number;
  waitMax: number;
}

const DEFAULT_TICK_WORK_NS = 50_000;
/** Time slice of the Arm runs' scheduler. */
const ARM_TIME_SLICE_NS = 1_000_000;

/** The `request_irq` names on the IRQ a guest bound `port` to, comma-separated; `undefined` when none. */
function handlerNames(g: LinuxGuest, port: number): string | undefined {
  const irq = g.irqFromEvtchn(port);
  const names: string[] = [];
  for (let a = irq < 0 ? null : (g.irqDesc(irq)?.action ?? null); a; a = a.next) names.push(a.name);
  return names.length ? names.join(',') : undefined;
}

/** One run of a configuration. Build it, call {@link Simulation.run} once. */
export class Simulation {
  /** The platform being run. */
  readonly platform: Platform;
  private readonly rng: SeededRandom;
  private readonly portStats = new Map<number, PortStats[]>();
  /** Time of the oldest undelivered send per (domain, port), or `NOT_PENDING`. */
  private readonly firstPending = new Map<number, Map<number, number>>();
  private readonly latency = new Map<number | '-', LogHistogram>();
  private readonly latencyByDomain = new Map<number, LogHistogram>();
  private readonly sampler: RunSampler | undefined;
  private readonly sentTo = new Map<number, number>();
  /** Arm: the guests' periodic virtual-timer ticks, once a `vtimer` workload asks for one. */
  private ticks: PeriodicTickModel | undefined;
  private readonly spis: SpiState[] = [];
  /** Why and when the run stopped early, if it did. */
  private stopped: { atNs: number; error: string } | undefined;
  /**
   * The workloads' arrival streams in set-up order, each with its armed timer: what a snapshot
   * saves and a restore re-arms (closures are not saved; the same set-up re-creates them).
   */
  private readonly streams: ArrivalStream[] = [];
  /** The progress stream (only with `onProgress`). */
  protected progress: ArrivalStream | undefined;
  /** Each interdomain workload's backend answer (by workload index). */
  private readonly responders = new Map<number, () => void>();
  /** Backend answers armed and not yet run: timer → workload index. */
  private readonly responses = new Map<TimerId, number>();
  private started = false;

  /**
   * @param cfg - the validated configuration
   * @param plugins - the plugins resolved from it
   * @param opts - duration, seed, trace and model timings
   */
  constructor(
    private readonly cfg: PlatformFileConfig,
    plugins: SimulationPlugins,
    private readonly opts: SimulationOptions,
  ) {
    this.rng = new SeededRandom(opts.seed);
    const arm = cfg.arch.name === 'arm' && !cfg.arch.module;
    this.platform = createPlatform({
      arch: plugins.arch,
      abis: plugins.abis,
      guest: plugins.guest,
      policy: plugins.policy,
      domains: cfg.domains,
      // The Arm plugin was given nrPcpus = arch.pcpus ?? 2 too; the two must agree.
      scheduler: arm ? { pcpus: cfg.arch.pcpus ?? 2, timeSliceNs: ARM_TIME_SLICE_NS } : undefined,
      execution: {
        costs: {
          ...(opts.upcallEntryNs !== undefined && { entryLatencyNs: opts.upcallEntryNs }),
          ...(opts.handlerCostNs !== undefined && { handlerNs: opts.handlerCostNs }),
        },
      },
    });
    if (opts.trace) this.platform.bus.on('upcall:enter', (dom, vcpu) => this.traceLine({ ev: 'upcall', dom, vcpu }));
    if (opts.samplePoints) {
      const domains = [...this.platform.domains.values()].map((pd) => ({
        id: pd.domain.id,
        name: pd.config.name ?? `dom${pd.domain.id}`,
        nrVcpus: pd.domain.nrVcpus,
        wordBits: pd.domain.wordBits,
      }));
      const runner = this.platform.runner;
      this.sampler = new RunSampler(opts.samplePoints, opts.durationNs, domains, (d, v) => runner.stats(d, v).interruptNs);
    }
  }

  /** A port's FIFO priority, or `'-'` when its domain is on 2-level. */
  private priorityOf(dom: number, port: number): number | '-' {
    const d = this.platform.hypervisor.domain(dom);
    return d?.abi.name === 'fifo' ? d.channels.priority[port]! : '-';
  }

  private armArch(label: string, what: string): ArmArchitecture {
    const arch = this.platform.arch;
    if (!(arch instanceof ArmArchitecture) || !this.platform.scheduler) throw new Error(`${label}: ${what} workloads need arch arm`);
    return arch;
  }

  private guestOf(id: number): LinuxGuest {
    const g = this.platform.domain(id).guest;
    if (!(g instanceof LinuxGuest)) throw new Error(`domain ${id} has no Linux guest layer (set guest: true and guest.name: linux)`);
    return g;
  }

  private traceLine(obj: Record<string, unknown>): void {
    this.opts.trace?.(JSON.stringify({ t: this.platform.clock.now(), ...obj }));
  }

  private stats(dom: number, port: number): PortStats {
    let rows = this.portStats.get(dom);
    if (!rows) this.portStats.set(dom, (rows = []));
    return (rows[port] ??= { sent: 0, coalesced: 0, delivered: 0, waits: 0, waitSum: 0, waitMax: 0 });
  }

  /** Records the pending bit `bind_interdomain` set on `port` as a notification sent now. */
  private noteBindPending(dom: number, port: number): void {
    if (!this.platform.hypervisor.domain(dom)?.abi.isPending(port)) return;
    this.stats(dom, port).sent++;
    this.sentTo.set(dom, (this.sentTo.get(dom) ?? 0) + 1);
    const pend = this.firstPending.get(dom) ?? this.firstPending.set(dom, new Map()).get(dom)!;
    pend.set(port, this.platform.clock.now());
    this.sampler?.portWaiting(dom, port, this.priorityOf(dom, port), this.platform.clock.now());
  }

  /** Records a notification about to make `port` of `dom` pending. */
  private noteSend(dom: number, port: number): void {
    const d = this.platform.hypervisor.domain(dom);
    if (!d) return;
    const s = this.stats(dom, port);
    s.sent++;
    this.sentTo.set(dom, (this.sentTo.get(dom) ?? 0) + 1);
    const pend = this.firstPending.get(dom) ?? this.firstPending.set(dom, new Map()).get(dom)!;
    if (d.abi.isPending(port) || (pend.get(port) ?? NOT_PENDING) !== NOT_PENDING) s.coalesced++;
    else {
      pend.set(port, this.platform.clock.now());
      this.sampler?.portWaiting(dom, port, this.priorityOf(dom, port), this.platform.clock.now());
    }
    if (this.opts.trace) this.traceLine({ ev: 'send', dom, port });
  }

  /** Called from every handler: the time of this delivery (the running vCPU's time). */
  private noteDelivery(dom: number, port: number, irq: number): number {
    const runner = this.platform.runner;
    const at = runner.now();
    const ps = this.stats(dom, port);
    ps.delivered++;
    const pend = this.firstPending.get(dom);
    const since = pend?.get(port) ?? NOT_PENDING;
    if (since !== NOT_PENDING) {
      pend!.set(port, NOT_PENDING);
      const wait = at - since;
      ps.waits++;
      ps.waitSum += wait;
      if (wait > ps.waitMax) ps.waitMax = wait;
      const prio = this.priorityOf(dom, port);
      let h = this.latency.get(prio);
      if (!h) this.latency.set(prio, (h = new LogHistogram()));
      h.record(at - since);
      let hd = this.latencyByDomain.get(dom);
      if (!hd) this.latencyByDomain.set(dom, (hd = new LogHistogram()));
      hd.record(at - since);
      this.sampler?.portHandled(dom, port, at);
    }
    if (this.opts.trace) this.traceLine({ ev: 'handle', dom, port, irq, cpu: runner.running()?.vcpu ?? 0, at });
    return at;
  }

  /** Schedules `fn` at Poisson arrival times of `rate` per second until the end of the run. */
  private poisson(rate: number, fn: () => void): void {
    const clock = this.platform.clock;
    const stream = {
      id: -1,
      tick: (): void => {
        stream.id = -1;
        fn();
        const next = clock.now() + this.rng.poissonGapNs(rate);
        if (next < this.opts.durationNs) stream.id = clock.at(next, stream.tick);
      },
    };
    this.streams.push(stream);
    const first = this.rng.poissonGapNs(rate);
    if (first < this.opts.durationNs) stream.id = clock.at(first, stream.tick);
  }

  /** Schedules `fn` every `periodNs`, starting at `offsetNs`. */
  private periodic(periodNs: number, offsetNs: number, fn: () => void): ArrivalStream {
    const clock = this.platform.clock;
    const stream = {
      id: -1,
      tick: (): void => {
        stream.id = -1;
        fn();
        const next = clock.now() + periodNs;
        if (next < this.opts.durationNs) stream.id = clock.at(next, stream.tick);
      },
    };
    if (offsetNs < this.opts.durationNs) stream.id = clock.at(offsetNs, stream.tick);
    return stream;
  }

  private setUpWorkloads(): void {
    const hv = this.platform.hypervisor;
    const clock = this.platform.clock;
    (this.cfg.workloads ?? []).forEach((w, i) => {
      const label = `workloads[${i}]`;
      switch (w.type) {
        case 'interdomain': {
          const fe = this.guestOf(w.frontend);
          const be = this.guestOf(w.backend);
          const name = w.name ?? `dev${i}`;
          const fport = hv.evtchn(w.frontend).allocUnbound(w.frontend, w.backend);
          if (fport < 0) throw new Error(`${label}: frontend domain ${w.frontend} could not allocate a port (${fport})`);
          let firq = -1;
          let birq = -1;
          firq = fe.bindEvtchnToIrqhandler(
            fport,
            (irq) => {
              this.noteDelivery(w.frontend, fport, irq);
              return IRQ_HANDLED;
            },
            0,
            `${name}-fe`,
            null,
          );
          if (firq < 0) throw new Error(`${label}: frontend bind failed (${firq})`);
          const birqRaw = be.bindInterdomainEvtchnToIrqLateeoi(w.frontend, fport);
          if (birqRaw < 0) throw new Error(`${label}: backend bind_interdomain failed (${birqRaw})`);
          birq = birqRaw;
          const bport = be.evtchnFromIrq(birq);
          // Xen's bind_interdomain sets the new local port pending (SPEC §1.3): count it as a
          // notification, so sent = delivered + coalesced (+ still pending at the end).
          this.noteBindPending(w.backend, bport);
          const respond = (): void => {
            this.noteSend(w.frontend, fport);
            be.notifyRemoteViaIrq(birq);
            be.lateEoi(birq, 0);
          };
          this.responders.set(i, respond);
          const rc = be.requestIrq(
            birq,
            (irq) => {
              const at = this.noteDelivery(w.backend, bport, irq);
              // The backend answers each batch of requests once, when it has handled them.
              const id: TimerId = clock.at(at, () => {
                this.responses.delete(id);
                respond();
              });
              this.responses.set(id, i);
              return IRQ_HANDLED;
            },
            0,
            `${name}-be`,
            null,
          );
          if (rc < 0) throw new Error(`${label}: backend request_irq failed (${rc})`);
          if (w.priority !== undefined) {
            fe.setIrqPriority(firq, w.priority);
            be.setIrqPriority(birq, w.priority);
          }
          if (w.vcpu !== undefined) be.setIrqAffinity(birq, [w.vcpu]);
          this.poisson(w.rate, () => {
            this.noteSend(w.backend, bport);
            fe.notifyRemoteViaIrq(firq);
          });
          break;
        }
        case 'timer': {
          const g = this.guestOf(w.domain);
          const cpus = w.vcpus ?? Array.from({ length: g.nrCpus }, (_, c) => c);
          const period = Math.max(1, Math.round(1e9 / w.hz));
          for (const cpu of cpus) {
            let port = 0;
            const irq = g.bindVirqToIrqhandler(
              VIRQ.TIMER,
              cpu,
              (i) => {
                this.noteDelivery(w.domain, port, i);
                return IRQ_HANDLED;
              },
              IRQF_PERCPU,
              `timer${cpu}`,
              null,
            );
            if (irq < 0) throw new Error(`${label}: binding VIRQ_TIMER on vCPU ${cpu} failed (${irq})`);
            port = g.evtchnFromIrq(irq);
            this.streams.push(
              this.periodic(period, Math.round((period * (cpu + 1)) / (cpus.length + 1)), () => {
                this.noteSend(w.domain, port);
                hv.raiseVirq(w.domain, VIRQ.TIMER, cpu);
              }),
            );
          }
          break;
        }
        case 'ipi': {
          const g = this.guestOf(w.domain);
          // x86 has six Xen IPIs (CALL_FUNCTION is 1); ARM Linux has a single placeholder one.
          const IPI = Math.min(1, g.nrIpis - 1);
          const ports: number[] = [];
          for (let cpu = 0; cpu < g.nrCpus; cpu++) {
            const c = cpu;
            const irq = g.bindIpiToIrqhandler(
              IPI,
              cpu,
              (i) => {
                this.noteDelivery(w.domain, ports[c]!, i);
                return IRQ_HANDLED;
              },
              IRQF_PERCPU,
              `callfunc${cpu}`,
              null,
            );
            if (irq < 0) throw new Error(`${label}: binding an IPI on vCPU ${cpu} failed (${irq})`);
            ports[cpu] = g.evtchnFromIrq(irq);
          }
          this.poisson(w.rate, () => {
            this.noteSend(w.domain, ports[w.to]!);
            g.sendIpi(w.to, IPI);
          });
          break;
        }
        case 'pirq': {
          const arch = this.platform.arch as Partial<X86Architecture>;
          if (!arch.irqs) throw new Error(`${label}: pirq workloads need arch x86`);
          const irqs = arch.irqs;
          const gsi = w.gsi;
          const name = w.name ?? (gsi !== undefined ? `gsi${gsi}` : 'msi');
          const shared = gsi !== undefined && (w.shared ?? w.domains.length > 1);
          const ports: Array<[number, number]> = [];
          let msiIrq = -1;
          for (const dom of w.domains) {
            const g = this.guestOf(dom);
            // The toolstack maps the GSI or a new MSI to a pirq of the domain and grants it
            // (device passthrough), then the guest binds that pirq.
            const pirq = irqs.mapPirq(dom, gsi !== undefined ? { type: 'gsi', gsi } : { type: 'msi', nvec: 1 });
            if (pirq < 0) throw new Error(`${label}: mapping ${name} for domain ${dom} failed (${pirq})`);
            hv.domain(dom)!.grantPirq(pirq);
            // Linux names a pirq's descriptor by its flow, not its driver (arch/x86/pci/xen.c
            // xen_register_pirq: "ioapic-level"/"ioapic-edge"; xen_bind_pirq_msi_to_irq: "msi");
            // the driver's name is the action's, from request_irq. A shared PCI INTx line is level.
            const irq =
              gsi !== undefined ? g.bindPirqGsiToIrq(gsi, pirq, shared, shared ? 'ioapic-level' : 'ioapic-edge') : g.bindPirqMsiToIrq(pirq, 1, 'msi');
            if (irq < 0) throw new Error(`${label}: domain ${dom} could not bind ${name} (${irq})`);
            const rc = g.requestIrq(
              irq,
              (i) => {
                this.noteDelivery(dom, g.evtchnFromIrq(i), i);
                return IRQ_HANDLED;
              },
              shared ? IRQF_SHARED : 0,
              name,
              `${label}:${dom}`,
            );
            if (rc < 0) throw new Error(`${label}: domain ${dom} request_irq of ${name} failed (${rc})`);
            ports.push([dom, g.evtchnFromIrq(irq)]);
            if (gsi === undefined) msiIrq = irqs.irqOfPirq(dom, pirq);
          }
          this.poisson(w.rate, () => {
            for (const [dom, port] of ports) if (hv.domain(dom)?.channels.state[port] === ECS.PIRQ) this.noteSend(dom, port);
            if (gsi !== undefined) irqs.pulseGsi(gsi);
            else irqs.fireMsi(msiIrq);
          });
          break;
        }
        case 'vtimer': {
          const arch = this.armArch(label, 'vtimer');
          const nrVcpus = hv.domain(w.domain)?.nrVcpus ?? 0;
          const ticks = (this.ticks ??= new PeriodicTickModel({
            arch,
            scheduler: this.platform.scheduler!,
            clock,
            handlerWork: this.opts.tickWorkNs ?? DEFAULT_TICK_WORK_NS,
            onDelivery: this.opts.trace
              ? (c, latency) => this.traceLine({ ev: 'vtimer', dom: c.domid, vcpu: c.vcpu, latency })
              : undefined,
          }));
          const period = Math.max(1, Math.round(w.periodUs * 1000));
          for (const vcpu of w.vcpu !== undefined ? [w.vcpu] : Array.from({ length: nrVcpus }, (_, v) => v)) {
            try {
              ticks.add(w.domain, vcpu, period);
            } catch (e) {
              throw new Error(`${label}: ${(e as Error).message}`);
            }
          }
          break;
        }
        case 'spi':
          this.setUpSpi(label, w.name ?? `spi${w.irq}`, w.irq, w.domain, w.rate);
          break;
        default:
          throw new Error(`${label}: workload type "${(w as { type: string }).type}" is not run by \`evtchn run\` on this architecture`);
      }
    });
  }

  /**
   * A device on physical SPI `irq` passed through to `domain` (SPEC §5.2): Xen routes the SPI
   * to the guest as the same virtual SPI; the guest's driver enables it and its handler
   * acknowledges the device (the line drops) and EOIs, which deactivates the physical SPI.
   * The device raises its level-triggered line at Poisson times.
   */
  private setUpSpi(label: string, name: string, irq: number, domain: number, rate: number): void {
    const arch = this.armArch(label, 'spi');
    const clock = this.platform.clock;
    let rc = arch.configureIrqType(irq, 'level');
    if (rc === 0) rc = arch.routeIrqToGuest(domain, irq, irq);
    if (rc < 0) {
      const hint =
        rc === -Errno.EINVAL
          ? ` (the SPI must be below ${arch.gic.nrLines} and, as a virtual SPI, below 32 + the domain's nrSpis: arch.options.nrSpis)`
          : rc === -Errno.EBUSY
            ? ' (already routed)'
            : '';
      throw new Error(`${label}: routing SPI ${irq} to domain ${domain} failed (${rc})${hint}`);
    }
    const spi: SpiState = {
      domain,
      stats: { name, irq, raised: 0, delivered: 0, coalesced: 0, p50: 0, max: 0 },
      firstRaised: -1,
      latencies: new LogHistogram(),
    };
    this.spis.push(spi);
    const vgic = arch.vgic(domain);
    vgic.enable(vgic.spiTarget(irq), irq);
    arch.setGuestIrqHandler(domain, irq, (vcpu) => {
      arch.gic.setLine(irq, false);
      spi.stats.delivered++;
      if (spi.firstRaised >= 0) spi.latencies.record(this.platform.runner.now() - spi.firstRaised);
      spi.firstRaised = -1;
      if (this.opts.trace) this.traceLine({ ev: 'spi', dom: domain, vcpu, irq });
    });
    this.poisson(rate, () => {
      spi.stats.raised++;
      if (spi.firstRaised >= 0) spi.stats.coalesced++;
      else spi.firstRaised = clock.now();
      if (this.opts.trace) this.traceLine({ ev: 'raise', irq });
      arch.gic.setLine(irq, true);
    });
  }

  /** Sets up the workloads (once; {@link Simulation.run} and {@link Simulation.runUntil} call it). */
  private start(): void {
    if (this.started) return;
    this.started = true;
    this.setUpWorkloads();
    const clock = this.platform.clock;
    const total = this.opts.durationNs;
    if (this.opts.onProgress) {
      const step = Math.max(1, Math.floor(total / 100));
      const onProgress = this.opts.onProgress;
      this.progress = this.periodic(step, step, () => onProgress(clock.now(), total));
    }
  }

  /**
   * Runs up to virtual time `atNs` (at most the run's duration) and stops there, between clock
   * steps, where {@link Simulation.snapshot} can save the run; {@link Simulation.run} continues.
   * An exception escaping the model stops the run as in `run`.
   * @returns false when the run has stopped early (then there is nothing to save: report it)
   */
  runUntil(atNs: number): boolean {
    this.start();
    if (this.stopped) return false;
    const clock = this.platform.clock;
    try {
      clock.runUntil(Math.min(atNs, this.opts.durationNs));
    } catch (e) {
      this.stopped = { atNs: clock.now(), error: e instanceof Error ? e.message : String(e) };
      return false;
    }
    return true;
  }

  /**
   * The run as one versioned JSON snapshot (see the "Snapshots and migration" guide): the
   * configuration and options, the platform's snapshot, and the run's own state (workload
   * timers, random-number state, counters). Take it after {@link Simulation.runUntil}.
   */
  snapshot(): SimulationSnapshot {
    this.start();
    return saveRunState(this as unknown as RunInternals);
  }

  /**
   * Continues a run saved by {@link Simulation.snapshot}: builds a new simulation of the
   * snapshot's configuration (with `plugins` resolved from it, and `opts` giving the trace and
   * progress callbacks; duration and seed come from the snapshot), re-creates its workloads,
   * then sets every part's state. The returned simulation's {@link Simulation.run} finishes
   * the run exactly as the uninterrupted run would have.
   * @throws SnapshotError naming the JSON path of a bad field (nothing is half-restored: the
   *   new simulation is only returned when everything was set)
   */
  static resume(snapshot: JsonValue, plugins: SimulationPlugins, opts: Omit<SimulationOptions, 'durationNs' | 'seed' | 'samplePoints'> = {}): Simulation {
    return loadRunState(snapshot, (cfg, options) => {
      const sim = new Simulation(cfg, plugins, { ...opts, ...options });
      sim.start();
      return sim as unknown as RunInternals;
    }) as unknown as Simulation;
  }

  /** Runs the configuration for the configured duration (or what is left of it) and reports what happened. */
  run(): RunReport {
    this.start();
    const clock = this.platform.clock;
    const total = this.opts.durationNs;
    if (this.stopped) return this.report();
    try {
      // Stopping at each sample time adds no event: the run is the same as in one go.
      if (this.sampler)
        for (const t of this.sampler.times) {
          clock.runUntil(t);
          this.sampler.sample(t);
        }
      clock.runUntil(total);
      this.opts.onProgress?.(total, total);
    } catch (e) {
      this.stopped = { atNs: clock.now(), error: e instanceof Error ? e.message : String(e) };
      return this.report();
    }
    const sched = this.platform.scheduler;
    if (this.ticks && sched) {
      // A deadline due less than a scheduler round before the end may still be delivered: pending.
      let vcpus = 0;
      for (const pd of this.platform.domains.values()) vcpus += pd.domain.nrVcpus;
      this.ticks.finish(sched.timeSlice * Math.ceil(vcpus / sched.nrPcpus) + (this.opts.tickWorkNs ?? DEFAULT_TICK_WORK_NS));
    }
    return this.report();
  }

  /** The histograms behind the report's latency figures and the sampled time series (call after {@link run}). */
  details(): RunDetails {
    const buckets = (h: LogHistogram): LatencyBuckets => ({ buckets: h.buckets(), count: h.count });
    return {
      latencyByPriority: [...this.latency.entries()]
        .sort(([a], [b]) => (a === '-' ? 1 : b === '-' ? -1 : a - b))
        .map(([priority, h]) => ({ priority, ...buckets(h) })),
      latencyByDomain: [...this.latencyByDomain.entries()]
        .sort(([a], [b]) => a - b)
        .map(([domain, h]) => ({ domain, name: this.platform.domains.get(domain)?.config.name ?? `dom${domain}`, ...buckets(h) })),
      ...(this.sampler && { samples: this.sampler.result() }),
    };
  }

  private report(): RunReport {
    const domains: DomainRunStats[] = [];
    for (const pd of this.platform.domains.values()) {
      const id = pd.domain.id;
      const rows = this.portStats.get(id) ?? [];
      let delivered = 0;
      let coalesced = 0;
      for (const r of rows) if (r) ((delivered += r.delivered), (coalesced += r.coalesced));
      const g = pd.guest instanceof LinuxGuest ? pd.guest : undefined;
      const c = pd.domain.counters;
      domains.push({
        id,
        name: pd.config.name ?? `dom${id}`,
        abi: g?.abiName ?? pd.domain.abi.name,
        sent: this.sentTo.get(id) ?? 0,
        delivered,
        coalesced,
        dropped: c.droppedNoControlBlock + c.droppedOther + (g ? g.stats.noIrq + g.stats.droppedActive : 0),
        upcalls: this.upcallsOf(id, pd.domain.nrVcpus),
        procInterrupts: g?.procInterrupts() ?? '',
        vcpus: this.vcpuRows(id, pd.domain.nrVcpus),
        ports: rows.flatMap((r, port) => {
          if (!r) return [];
          const name = g ? handlerNames(g, port) : undefined;
          const waitMean = r.waits ? r.waitSum / r.waits : 0;
          return [{ port, ...(name && { name }), sent: r.sent, delivered: r.delivered, coalesced: r.coalesced, waitMean, waitMax: r.waitMax }];
        }),
        ...this.armStats(id),
      });
    }
    const latency: LatencyRow[] = [...this.latency.entries()]
      .sort(([a], [b]) => (a === '-' ? 1 : b === '-' ? -1 : a - b))
      .map(([priority, h]) => {
        const s = h.summary();
        return { priority, count: s.count, p50: s.p50, p99: s.p99, max: s.max };
      });
    const sched = this.platform.scheduler;
    const arch = this.platform.arch;
    return {
      durationNs: this.opts.durationNs,
      seed: this.opts.seed,
      arch: arch.name,
      abis: this.platform.abis.map((a) => a.name),
      domains,
      latency,
      ...(this.stopped && { stopped: this.stopped }),
      ...(sched && {
        scheduler: {
          pcpus: sched.nrPcpus,
          timeSliceNs: sched.timeSlice,
          contextSwitches: sched.contextSwitches,
          vtimer: arch instanceof ArmArchitecture ? arch.vtimerStrategy : '-',
        },
      }),
    };
  }

  /** Each vCPU's interrupt time, from the runner. */
  private vcpuRows(dom: number, nrVcpus: number): VcpuRunRow[] {
    const out: VcpuRunRow[] = [];
    for (let v = 0; v < nrVcpus; v++) {
      const st = this.platform.runner.stats(dom, v);
      out.push({
        vcpu: v,
        upcalls: st.upcalls,
        interruptNs: st.interruptNs,
        interruptShare: this.opts.durationNs > 0 ? Math.min(1, st.interruptNs / this.opts.durationNs) : 0,
        longestUpcallNs: st.longestUpcallNs,
        livelocked: st.livelocked,
      });
    }
    return out;
  }

  /** Upcalls the runner ran on a domain's vCPUs. */
  private upcallsOf(dom: number, nrVcpus: number): number {
    let n = 0;
    for (let v = 0; v < nrVcpus; v++) n += this.platform.runner.stats(dom, v).upcalls;
    return n;
  }

  /** The Arm-only counters of a domain (absent when it has no such workload). */
  private armStats(dom: number): Pick<DomainRunStats, 'vtimer' | 'spis'> {
    const out: Pick<DomainRunStats, 'vtimer' | 'spis'> = {};
    const ticks: Readonly<VcpuTickCounts>[] = (this.ticks?.counts ?? []).filter((c) => c.domid === dom);
    if (ticks.length) out.vtimer = { ticks: ticks.length, ...sumTickCounts(ticks) };
    const spis = this.spis.filter((s) => s.domain === dom);
    if (spis.length) {
      out.spis = spis.map((s) => ({ ...s.stats, p50: s.latencies.percentile(0.5), max: s.latencies.summary().max }));
    }
    return out;
  }
}
