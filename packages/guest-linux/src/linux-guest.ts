/*
 * Linux's Xen event-channel IRQ layer for one guest: models drivers/xen/events/events_base.c
 * (irq_info, the port→IRQ table, per-CPU VIRQ/IPI tables, the bind and unbind APIs, mask
 * reasons, affinity, the upcall loop, late EOI with its storm back-off) together with the
 * parts of kernel/irq/manage.c it relies on (request_irq/free_irq, disable/enable_irq).
 * Written from the described behaviour (SPEC §3), not from the GPL sources.
 */
import {
  DOMID_SELF,
  Errno,
  NR_VIRQS,
  VIRQ,
  XenError,
  type AbiGuestOps,
  type Clock,
  type EventBus,
  type EventChannelOps,
  type EventDispatcher,
  type EvtchnStatus,
  type GuestContext,
  type GuestIrqSpace,
  type GuestOs,
  type JsonValue,
  type PhysdevOps,
  type ExecutionCosts,
  type VcpuRunner,
  BIND_PIRQ_WILL_SHARE,
  DEFAULT_EXECUTION_COSTS,
} from '@evtchn/core';
import {
  DEFAULT_HZ,
  DEFAULT_SPURIOUS_THRESHOLD,
  EVENT_EOI_DELAY_JIFFIES,
  EventLoop,
  EVENT_LOOP_TIMEOUT_JIFFIES,
  IRQ_NOREQUEST,
  IRQ_PER_CPU,
  IRQD_STARTED,
  IRQF_EARLY_RESUME,
  IRQF_FORCE_RESUME,
  IRQF_NO_SUSPEND,
  IRQF_PERCPU,
  IRQF_SHARED,
  IrqReturnCode,
  IrqStatusBit,
  IrqType,
  MASK_REASON_EOI_PENDING,
  MASK_REASON_EXPLICIT,
  MASK_REASON_TEMPORARY,
  PIRQ_MSI_GROUP,
  PIRQ_NEEDS_EOI,
  PIRQ_SHAREABLE,
  XEN_EOI_FLAG_SPURIOUS,
  XEN_NR_IPIS_ARM,
  XEN_NR_IPIS_X86,
  XENIRQSTAT_NEEDS_EOI,
  type IrqTypeValue,
} from './constants.js';
import { XenDynChip, XenLateEoiChip, XenPercpuChip, XenPirqChip, type XenChipHost } from './chips.js';
import { EvtchnIrqMap } from './evtchn-map.js';
import { edgeActions, handleEdgeIrq, runFlow, type FlowObserver } from './flows.js';
import {
  IrqAction,
  IrqDesc,
  IrqFlow,
  checkIrqResend,
  irqDisable,
  irqEnable,
  irqShutdown,
  irqStartup,
  setupIrqAction,
  type IrqChip,
  type IrqFlowKind,
  type IrqHandler,
  removeIrqAction,
} from './irq-desc.js';
import { IrqFastMark, IrqTable } from './irq-table.js';
import { IrqInfo } from './irq-info.js';
import { LINUX_2007_NO_PIRQS, Linux2007IrqSpace, choose2007Abi, requestIrq2007, type LinuxEra } from './era-2007.js';
import { EvtchnDevice } from './evtchn-device.js';
import { procInterruptsTable, renderProcInterrupts, type ProcInterruptsTable } from './proc-interrupts.js';
import { xenIrqResume, type IrqResumeReport, type ResumeHook, type ResumeHost } from './resume.js';
import { loadLinuxGuest, saveLinuxGuest, type LinuxGuestInternals } from './state.js';

/** Options of the Linux guest layer. */
export interface LinuxGuestOptions {
  /** Prefer the FIFO ABI and fall back to 2-level when the hypervisor refuses it (default `true`). */
  readonly fifo?: boolean;
  /** Kernel tick rate; a jiffy is `1e9 / hz` ns of virtual time (default 250). */
  readonly hz?: number;
  /** Spurious late EOIs tolerated before EOIs are delayed (default 1). */
  readonly spuriousThreshold?: number;
  /** Jiffies the upcall loop may run before it defers EOIs (`event_loop_timeout`, default 2). */
  readonly eventLoopTimeout?: number;
  /** Jiffies a deferred EOI waits (`event_eoi_delay`, default 10). */
  readonly eventEoiDelay?: number;
  /**
   * Which Linux to model (default `'modern'`). `'2007'` is the first paravirt_ops event code:
   * 2-level only with the lowest-first scan, `find_unbound_irq` (panics when no IRQ is free),
   * `irq_bindcount` and the request_irq rules of the time (SPEC §7).
   */
  readonly era?: LinuxEra;
  /** NR_IRQS of an era-`'2007'` guest (default 224); ignored by modern guests. */
  readonly nrIrqs2007?: number;
  /** Ring entries of each handle of the user-space event-channel device (a power of two, default 1024). */
  readonly evtchnRingSize?: number;
}

/** Counters of events that did not reach a handler. */
export interface LinuxGuestStats {
  /** Events on ports with no IRQ (left pending; FIFO: unlinked by the scan). */
  noIrq: number;
  /** Events dropped because their IRQ was still active. */
  droppedActive: number;
}

/** Number of IPIs of an architecture (`XEN_NR_IPIS`). */
function nrIpisFor(arch: string): number {
  return arch === 'arm' ? XEN_NR_IPIS_ARM : XEN_NR_IPIS_X86;
}

/**
 * Picks the guest half of an event ABI at boot: FIFO first unless disabled (a `XenError`
 * from its set-up falls back), then 2-level, then whatever else the platform offers.
 */
function chooseAbi(ctx: GuestContext, preferFifo: boolean): AbiGuestOps {
  const order: string[] = preferFifo ? ['fifo', '2level'] : ['2level'];
  for (const abi of ctx.abis) if (!order.includes(abi.name)) order.push(abi.name);
  let lastError: unknown;
  for (const name of order) {
    const abi = ctx.abis.find((a) => a.name === name);
    if (abi === undefined) continue;
    try {
      return abi.createGuestSide(ctx.abiContext);
    } catch (e) {
      if (!(e instanceof XenError)) throw e;
      lastError = e;
    }
  }
  if (lastError !== undefined) throw lastError;
  throw new XenError('guest-linux: xen_init_IRQ', Errno.ENOSYS, 'the platform offers no event ABI');
}

/**
 * The Linux guest's event-channel IRQ layer in one domain. It is the domain's
 * `GuestOs` (the upcall entry) and the `EventDispatcher` the ABI's scan calls
 * for every pending port. Methods mirror Linux's API (names in each method's doc) and return
 * an IRQ or 0 on success and a negative errno on failure, as Linux does.
 */
export class LinuxGuest implements GuestOs, EventDispatcher, FlowObserver, XenChipHost {
  /** `'linux'`. */
  readonly name = 'linux';
  /** Name of the ABI chosen at boot. */
  get abiName(): string {
    return this.currentAbi.name;
  }
  /** The guest half of the ABI in use (a migration may replace it, see {@link LinuxGuest.resume}). */
  get abi(): AbiGuestOps {
    return this.currentAbi;
  }
  private currentAbi: AbiGuestOps;
  /** Domain id (a migration may give the guest another one). */
  get domid(): number {
    return this.currentDomid;
  }
  private currentDomid: number;
  /** Number of CPUs. */
  readonly nrCpus: number;
  /** Number of IPIs per CPU (6 on x86, 1 on ARM). */
  readonly nrIpis: number;
  /** Kernel tick rate. */
  readonly hz: number;
  /** The CPU the code runs on now: the upcall's CPU inside it, else 0 (or as set by the caller). */
  currentCpu = 0;
  /** Nesting of the upcall loop (0 = not inside it). */
  private upcallDepth = 0;
  /** Era `'2007'`: scan passes made, one per upcall. */
  passes2007 = 0;
  /** The platform's `xen_force_evtchn_callback`, when it offers one. */
  private forceEventCallback: ((vcpu: number) => void) | undefined;
  /** Per-CPU online flags (affinity only picks online CPUs). */
  readonly online: Uint8Array;
  /** Per-CPU number of channels bound there (`channels_on_cpu`), for affinity. */
  readonly channelsOnCpu: Int32Array;
  /**
   * Every IRQ's per-CPU interrupt counts (`kstat_irqs`) and the state each event reads
   * (descriptor status, active flag), one table for all descriptors.
   */
  readonly irqTable: IrqTable;
  /** @deprecated The counts are in {@link LinuxGuest.irqTable} (`counts`), with the rest of the per-IRQ state. */
  get irqStats(): IrqTable {
    return this.irqTable;
  }
  /** Per-CPU IRQ epoch, bumped after every upcall loop. */
  readonly irqEpoch: Uint32Array;
  /** Per-CPU VIRQ→IRQ table, `NR_VIRQS` entries per CPU, -1 = none. */
  readonly virqToIrq: Int32Array;
  /** Per-CPU IPI→IRQ table, `nrIpis` entries per CPU, -1 = none. */
  readonly ipiToIrq: Int32Array;
  /** Per-CPU IPI→port table, 0 = none. */
  readonly ipiToPort: Int32Array;
  /** Events that did not reach a handler. */
  readonly stats: LinuxGuestStats = { noIrq: 0, droppedActive: 0 };
  /** The Linux era modelled. */
  readonly era: LinuxEra;
  /** Era `'2007'`: the IRQ numbers and `irq_bindcount`; `undefined` for modern guests. */
  readonly irqs2007: Linux2007IrqSpace | undefined;
  /** The user-space event-channel device (/dev/xen/evtchn); ports it binds have no IRQ. */
  readonly evtchnDevice: EvtchnDevice;

  // The domain-given context: replaced when the guest resumes in another domain (resume.ts).
  private hypercalls: EventChannelOps;
  private physdev: PhysdevOps | undefined;
  private readonly irqSpace: GuestIrqSpace;
  private clock: Clock;
  /** The platform's vCPU runner, charged for the loop's work when it runs timed. */
  private runner: VcpuRunner | undefined;
  /** Whether work is charged (a timed runner). */
  private timed: boolean;
  /**
   * What the ABI's scan dispatches to when the guest runs timed: it charges each event's
   * virtual cost, then handles it. Untimed, the scan dispatches to the guest itself, whose
   * `handlePort` then has no timed check on every event's path (V8's inlining budget,
   * bench/README.md, optimisation 11).
   */
  private readonly timedDispatch: EventDispatcher = {
    handlePort: (port, cpu) => {
      this.chargeEvent(this.evtchnToIrq.get(port));
      this.handlePort(port, cpu);
    },
    timerPort: (cpu) => this.timerPort(cpu),
    shouldYield: () => this.shouldYield(),
  };
  private costs: Readonly<ExecutionCosts>;
  /** Handler costs set per IRQ (`setIrqHandlerCost`), overriding the runner's `handlerNs`. */
  private readonly irqCosts = new Map<number, number>();
  /** Per CPU: the upcall loop yielded its slice and is continued by the next `upcall`. */
  private readonly upcallYielded: Uint8Array;
  private bus: EventBus;
  private upcallPending: Uint8Array;
  /** Drivers' resume callbacks ({@link LinuxGuest.onResume}). */
  private readonly resumeHooks: ResumeHook<LinuxGuest>[] = [];
  /** Jiffies when the guest suspended (deferred EOIs keep their distance across a move). */
  private suspendJiffies = -1;
  private readonly evtchnToIrq: EvtchnIrqMap;
  private readonly descs: (IrqDesc | undefined)[] = [];
  private readonly jiffyNs: number;
  private readonly spuriousThreshold: number;
  private readonly loopTimeoutNs: number;
  private readonly eoiDelay: number;
  private readonly dynChip: XenDynChip;
  private readonly lateEoiChip: XenLateEoiChip;
  private readonly percpuChip: XenPercpuChip;
  private readonly pirqChip: XenPirqChip;
  // Upcall loop control per CPU (`struct evtchn_loop_ctrl`).
  private readonly loopCount: Uint32Array;
  private readonly loopTimeout: Float64Array;
  private readonly loopDeferEoi: Uint8Array;
  // Deferred late EOIs per CPU, sorted by eoiTime, with the worker's timer.
  private readonly eoiLists: IrqInfo[][] = [];
  private readonly eoiTimers: number[] = [];
  private readonly eoiWorkers: (() => void)[] = [];
  private readonly statusScratch: EvtchnStatus = { status: 'closed', vcpu: 0 };

  /**
   * Boots the layer (`xen_init_IRQ`): picks the ABI, builds the tables and masks every
   * channel the ABI can address now ("no event channel is live yet").
   * @param ctx - what the platform gives the guest
   * @param options - layer options
   */
  constructor(ctx: GuestContext, options: LinuxGuestOptions = {}) {
    this.currentDomid = ctx.domid;
    this.nrCpus = ctx.nrCpus;
    this.nrIpis = nrIpisFor(ctx.arch);
    this.hypercalls = ctx.hypercalls;
    this.physdev = ctx.physdev;
    this.forceEventCallback = ctx.forceEventCallback;
    this.era = options.era ?? 'modern';
    if (this.era !== 'modern' && this.era !== '2007')
      throw new RangeError(`guest-linux: era must be '2007' or 'modern' (got ${String(this.era)})`);
    this.irqs2007 = this.era === '2007' ? new Linux2007IrqSpace(options.nrIrqs2007) : undefined;
    this.irqSpace = this.irqs2007 ?? ctx.irqSpace;
    this.clock = ctx.clock;
    this.runner = ctx.runner;
    this.timed = ctx.runner?.mode === 'timed';
    this.costs = ctx.runner?.costs ?? DEFAULT_EXECUTION_COSTS;
    this.bus = ctx.bus;
    this.hz = options.hz ?? DEFAULT_HZ;
    if (!(this.hz > 0)) throw new RangeError(`guest-linux: hz must be positive (got ${this.hz})`);
    this.jiffyNs = 1e9 / this.hz;
    this.spuriousThreshold = options.spuriousThreshold ?? DEFAULT_SPURIOUS_THRESHOLD;
    this.loopTimeoutNs = (options.eventLoopTimeout ?? EVENT_LOOP_TIMEOUT_JIFFIES) * this.jiffyNs;
    this.eoiDelay = options.eventEoiDelay ?? EVENT_EOI_DELAY_JIFFIES;

    this.currentAbi = this.era === '2007' ? choose2007Abi(ctx) : chooseAbi(ctx, options.fifo ?? true);
    this.upcallPending = ctx.abiContext.sharedInfo.upcallPending;
    this.evtchnToIrq = new EvtchnIrqMap(this.abi.maxChannels());

    const n = this.nrCpus;
    this.online = new Uint8Array(n).fill(1);
    this.channelsOnCpu = new Int32Array(n);
    this.irqTable = new IrqTable(n);
    this.irqEpoch = new Uint32Array(n);
    this.virqToIrq = new Int32Array(n * NR_VIRQS).fill(-1);
    this.ipiToIrq = new Int32Array(n * this.nrIpis).fill(-1);
    this.ipiToPort = new Int32Array(n * this.nrIpis);
    this.loopCount = new Uint32Array(n);
    this.loopTimeout = new Float64Array(n);
    this.loopDeferEoi = new Uint8Array(n);
    this.upcallYielded = new Uint8Array(n);
    for (let cpu = 0; cpu < n; cpu++) {
      this.eoiLists.push([]);
      this.eoiTimers.push(-1);
      this.eoiWorkers.push(() => this.runEoiWorker(cpu));
    }

    this.dynChip = new XenDynChip(this);
    this.irqTable.fastChip = this.dynChip;
    this.lateEoiChip = new XenLateEoiChip(this);
    this.percpuChip = new XenPercpuChip(this);
    this.pirqChip = new XenPirqChip(this);
    this.evtchnDevice = new EvtchnDevice(this, ctx.hypercalls, options.evtchnRingSize);

    const live = this.abi.nrChannels();
    for (let port = 0; port < live; port++) this.abi.mask(port);
  }

  // ---------------------------------------------------------------- snapshots (state.ts)

  /**
   * The layer's state as JSON (see the "Snapshots and migration" guide): IRQ tables, upcall-loop
   * and late-EOI state, the ABI guest half's state. Bindings are structure: a restore checks
   * them against those the restoring program re-created.
   */
  getState(): JsonValue {
    return saveLinuxGuest(this as unknown as LinuxGuestInternals);
  }

  /** Restores {@link LinuxGuest.getState} into a guest whose bindings were re-created; throws naming the bad field. */
  setState(state: JsonValue): void {
    loadLinuxGuest(this as unknown as LinuxGuestInternals, state);
  }

  // ---------------------------------------------------------------- lookups

  /** The IRQ bound to `port`, or -1 (`get_evtchn_to_irq`). */
  irqFromEvtchn(port: number): number {
    return this.evtchnToIrq.get(port);
  }

  /** The port of `irq`, or 0 (`evtchn_from_irq`). */
  evtchnFromIrq(irq: number): number {
    return this.descs[irq]?.info?.port ?? 0;
  }

  /** The IRQ of `virq` on `cpu`, or -1 (`irq_from_virq`). */
  irqFromVirq(cpu: number, virq: number): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus || virq >>> 0 !== virq || virq >= NR_VIRQS) return -1;
    return this.virqToIrq[cpu * NR_VIRQS + virq]!;
  }

  /** The IRQ of IPI `ipi` on `cpu`, or -1. */
  irqFromIpi(cpu: number, ipi: number): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus || ipi >>> 0 !== ipi || ipi >= this.nrIpis) return -1;
    return this.ipiToIrq[cpu * this.nrIpis + ipi]!;
  }

  /** The descriptor of `irq`, if the IRQ exists. */
  irqDesc(irq: number): IrqDesc | undefined {
    return this.descs[irq];
  }

  /** The event-channel state of `irq`, if it is a Xen IRQ. */
  irqInfo(irq: number): IrqInfo | undefined {
    return this.descs[irq]?.info ?? undefined;
  }

  /** Every existing descriptor, in IRQ order. */
  descriptors(): IrqDesc[] {
    return this.descs.filter((d): d is IrqDesc => d !== undefined);
  }

  // ---------------------------------------------------------------- mask reasons and ABI

  /** Adds a mask reason; the first one masks the port in the ABI (`do_mask`). */
  doMask(info: IrqInfo, reason: number): void {
    if (info.maskReason === 0) this.abi.mask(info.port);
    info.maskReason |= reason;
  }

  /**
   * Removes a mask reason; when none is left the port is unmasked in the ABI, on the
   * current CPU, even if it was not masked (`do_unmask`).
   */
  doUnmask(info: IrqInfo, reason: number): void {
    info.maskReason &= ~reason;
    if (info.maskReason !== 0) return;
    const cpu = this.currentCpu;
    this.abi.unmask(info.port, cpu);
    // The local unmask path may have raised the upcall flag itself; outside the upcall loop
    // (which re-reads it) the kernel forces the callback when it re-enables interrupts.
    if (this.upcallDepth === 0 && this.upcallPending[cpu] !== 0) this.forceEventCallback?.(cpu);
  }

  /** Clears `port`'s pending bit (`clear_evtchn`). */
  clearEvtchn(port: number): void {
    this.currentAbi.clearPending(port);
  }

  /** Sets `port`'s pending bit (`set_evtchn`). */
  setEvtchn(port: number): void {
    this.abi.setPending(port);
  }

  // ---------------------------------------------------------------- IRQ allocation

  /** Creates the descriptor and info of a freshly allocated IRQ number (`xen_irq_init`). */
  private initIrq(irq: number): IrqInfo {
    const desc = new IrqDesc(irq, this.irqTable);
    desc.status |= IRQ_NOREQUEST;
    const info = new IrqInfo(irq, this.irqTable);
    info.spuriousThreshold = this.spuriousThreshold;
    desc.info = info;
    this.descs[irq] = desc;
    return info;
  }

  /** Allocates a dynamic IRQ (`xen_allocate_irq_dynamic`). @returns the info or a negative errno */
  private allocateIrqDynamic(): IrqInfo | number {
    const irq = this.irqSpace.allocDynamic();
    if (irq < 0) return irq;
    return this.initIrq(irq);
  }

  /** Sets chip, flow and flow name (`irq_set_chip_and_handler_name`). */
  private setChipAndHandler(info: IrqInfo, chip: IrqChip, flow: IrqFlowKind, name: string): void {
    this.descs[info.irq]!.setChipAndHandler(chip, flow, name);
  }

  /**
   * Records the binding and maps the port (`xen_irq_info_common_setup`): masked with reason
   * EXPLICIT (the ABI mask bit is not touched), requestable, ABI `setup`.
   * @returns 0 or -errno
   */
  private commonSetup(info: IrqInfo, type: IrqTypeValue, port: number, cpu: number): number {
    info.type = type;
    info.port = port;
    info.cpu = cpu;
    info.maskReason = MASK_REASON_EXPLICIT;
    this.descs[info.irq]!.status &= ~IRQ_NOREQUEST;
    if (port === 0) return 0;
    const rc = this.evtchnToIrq.set(port, info.irq);
    if (rc < 0) return rc;
    return this.abi.setup(port);
  }

  private channelsOnCpuDec(info: IrqInfo): void {
    if (!info.isAccounted) return;
    info.isAccounted = false;
    if (info.cpu < this.nrCpus && this.channelsOnCpu[info.cpu]! > 0) this.channelsOnCpu[info.cpu]!--;
  }

  private channelsOnCpuInc(info: IrqInfo): void {
    if (info.cpu >= this.nrCpus) return;
    this.channelsOnCpu[info.cpu]!++;
    info.isAccounted = true;
  }

  /** Moves the port to `cpu` in the ABI and in the accounting (`bind_evtchn_to_cpu`). */
  private bindEvtchnToCpu(info: IrqInfo, cpu: number): void {
    this.abi.bindToCpu(info.port, cpu, info.cpu);
    this.channelsOnCpuDec(info);
    info.cpu = cpu;
    this.channelsOnCpuInc(info);
  }

  /** Forgets the port (`xen_irq_info_cleanup`): mapping cleared, ABI `remove`, port 0. */
  private infoCleanup(info: IrqInfo): void {
    this.evtchnToIrq.set(info.port, -1);
    this.abi.remove(info.port, info.cpu);
    info.port = 0;
    this.channelsOnCpuDec(info);
  }

  /** Releases the IRQ number and its state (`xen_free_irq`). */
  private freeIrqInfo(info: IrqInfo): void {
    if (info.onEoiList) this.lateEoiListDel(info);
    this.channelsOnCpuDec(info);
    this.descs[info.irq] = undefined;
    this.irqSpace.free(info.irq);
  }

  // ---------------------------------------------------------------- bind APIs

  private bindEvtchnToIrqChip(port: number, chip: IrqChip, shared: boolean, lateEoi: boolean): number {
    if (port >>> 0 !== port || port >= this.abi.maxChannels()) return -Errno.ENOMEM;
    const existing = this.evtchnToIrq.get(port);
    if (existing !== -1) {
      const info = this.descs[existing]!.info!;
      if (this.irqs2007) this.irqs2007.bind(existing);
      else if (info.type === IrqType.EVTCHN && shared && info.refcount > 0) info.refcount++;
      return existing;
    }
    const info = this.allocateIrqDynamic();
    if (typeof info === 'number') return info;
    info.lateEoi = lateEoi;
    this.setChipAndHandler(info, chip, this.irqs2007 ? IrqFlow.LEVEL : IrqFlow.EDGE, 'event');
    const rc = this.commonSetup(info, IrqType.EVTCHN, port, 0);
    if (rc < 0) {
      this.unbindInfo(info);
      return rc;
    }
    // New channels start on CPU 0: that sets the port up in the ABI's CPU view.
    this.bindEvtchnToCpu(info, 0);
    return info.irq;
  }

  /**
   * `bind_evtchn_to_irq`: maps an existing port to an IRQ (chip `xen-dyn`, edge flow),
   * masked (EXPLICIT) on CPU 0 until `requestIrq` starts it. A mapped port returns its IRQ.
   * @returns the IRQ, or -errno (`-ENOMEM` when the port is beyond the ABI's limit)
   */
  bindEvtchnToIrq(port: number): number {
    return this.bindEvtchnToIrqChip(port, this.dynChip, false, false);
  }

  /** `bind_evtchn_to_irq_lateeoi`: as {@link LinuxGuest.bindEvtchnToIrq} with the late-EOI chip. */
  bindEvtchnToIrqLateeoi(port: number): number {
    return this.bindEvtchnToIrqChip(port, this.lateEoiChip, false, true);
  }

  private withHandler(irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    if (irq < 0) return irq;
    const rc = this.requestIrq(irq, handler, flags, name, devId);
    if (rc !== 0) {
      this.unbindFromIrq(irq);
      return rc;
    }
    return irq;
  }

  /**
   * `bind_evtchn_to_irqhandler`: binds the port and requests the IRQ; on failure the binding
   * is undone. With `IRQF_SHARED` a refcounted mapping gains a reference.
   * @returns the IRQ or -errno
   */
  bindEvtchnToIrqhandler(port: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    const irq = this.bindEvtchnToIrqChip(port, this.dynChip, (flags & IRQF_SHARED) !== 0, false);
    return this.withHandler(irq, handler, flags, name, devId);
  }

  /** `bind_evtchn_to_irqhandler_lateeoi`: the late-EOI variant. @returns the IRQ or -errno */
  bindEvtchnToIrqhandlerLateeoi(port: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    const irq = this.bindEvtchnToIrqChip(port, this.lateEoiChip, (flags & IRQF_SHARED) !== 0, true);
    return this.withHandler(irq, handler, flags, name, devId);
  }

  private bindInterdomain(remoteDom: number, remotePort: number, chip: IrqChip, shared: boolean, lateEoi: boolean): number {
    const local = this.hypercalls.bindInterdomain(remoteDom, remotePort);
    if (local < 0) return local;
    return this.bindEvtchnToIrqChip(local, chip, shared, lateEoi);
  }

  /**
   * `bind_interdomain_evtchn_to_irq`: EVTCHNOP_bind_interdomain, then binds the local port
   * (chip `xen-dyn`). @returns the IRQ or -errno
   */
  bindInterdomainEvtchnToIrq(remoteDom: number, remotePort: number): number {
    return this.bindInterdomain(remoteDom, remotePort, this.dynChip, false, false);
  }

  /** `bind_interdomain_evtchn_to_irq_lateeoi`: the same with the late-EOI chip. @returns the IRQ or -errno */
  bindInterdomainEvtchnToIrqLateeoi(remoteDom: number, remotePort: number): number {
    return this.bindInterdomain(remoteDom, remotePort, this.lateEoiChip, false, true);
  }

  /** `bind_interdomain_evtchn_to_irqhandler`. @returns the IRQ or -errno */
  bindInterdomainEvtchnToIrqhandler(
    remoteDom: number,
    remotePort: number,
    handler: IrqHandler,
    flags: number,
    name: string,
    devId: unknown,
  ): number {
    const irq = this.bindInterdomain(remoteDom, remotePort, this.dynChip, (flags & IRQF_SHARED) !== 0, false);
    return this.withHandler(irq, handler, flags, name, devId);
  }

  /** `bind_interdomain_evtchn_to_irqhandler_lateeoi`. @returns the IRQ or -errno */
  bindInterdomainEvtchnToIrqhandlerLateeoi(
    remoteDom: number,
    remotePort: number,
    handler: IrqHandler,
    flags: number,
    name: string,
    devId: unknown,
  ): number {
    const irq = this.bindInterdomain(remoteDom, remotePort, this.lateEoiChip, (flags & IRQF_SHARED) !== 0, true);
    return this.withHandler(irq, handler, flags, name, devId);
  }

  /**
   * Finds the port of `virq` on `cpu` by asking EVTCHNOP_status for every port (`find_virq`),
   * used when EVTCHNOP_bind_virq says the VIRQ is already bound.
   * @returns the port or `-ENOENT`
   */
  private findVirq(virq: number, cpu: number): number {
    const st = this.statusScratch;
    const max = this.abi.maxChannels();
    for (let port = 0; port < max; port++) {
      const rc = this.hypercalls.status(DOMID_SELF, port, st);
      // Ports are valid from 0 up without gaps: the first invalid one ends the search.
      if (rc === -Errno.EINVAL) break;
      if (rc < 0 || st.status !== 'virq') continue;
      if (st.virq === virq && st.vcpu === cpu) return port;
    }
    return -Errno.ENOENT;
  }

  /**
   * `bind_virq_to_irq`: the per-CPU mapping if one exists, else a new IRQ bound with
   * EVTCHNOP_bind_virq (on `-EEXIST` the port is found by a status scan), chip `xen-percpu`
   * (percpu flow) or `xen-dyn` (edge), bound to `cpu`.
   * @returns the IRQ, -1 when no IRQ number is free, or -errno
   */
  bindVirqToIrq(virq: number, cpu: number, percpu: boolean): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus || virq >>> 0 !== virq || virq >= NR_VIRQS) return -Errno.EINVAL;
    const slot = cpu * NR_VIRQS + virq;
    const existing = this.virqToIrq[slot]!;
    if (existing !== -1) {
      this.irqs2007?.bind(existing);
      return existing;
    }
    const info = this.allocateIrqDynamic();
    if (typeof info === 'number') return -1;
    // 2007: every VIRQ is a xen-dyn IRQ with handle_level_irq (seed 000).
    if (this.irqs2007) this.setChipAndHandler(info, this.dynChip, IrqFlow.LEVEL, 'virq');
    else if (percpu) this.setChipAndHandler(info, this.percpuChip, IrqFlow.PERCPU, 'virq');
    else this.setChipAndHandler(info, this.dynChip, IrqFlow.EDGE, 'virq');
    let port = this.hypercalls.bindVirq(virq, cpu);
    if (port === -Errno.EEXIST) port = this.findVirq(virq, cpu);
    if (port < 0) {
      this.unbindInfo(info);
      return port;
    }
    info.virq = virq;
    this.virqToIrq[slot] = info.irq;
    return this.finishPerCpuBind(info, IrqType.VIRQ, port, cpu);
  }

  /** `bind_virq_to_irqhandler`: `IRQF_PERCPU` selects the per-CPU chip. @returns the IRQ or -errno */
  bindVirqToIrqhandler(virq: number, cpu: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    const irq = this.bindVirqToIrq(virq, cpu, (flags & IRQF_PERCPU) !== 0);
    return this.withHandler(irq, handler, flags, name, devId);
  }

  /**
   * `bind_ipi_to_irq`: the per-CPU mapping if one exists, else a new IRQ (chip `xen-percpu`)
   * bound with EVTCHNOP_bind_ipi to `cpu`.
   * @returns the IRQ or -errno (Linux treats a refused EVTCHNOP_bind_ipi as a bug)
   */
  bindIpiToIrq(ipi: number, cpu: number): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus || ipi >>> 0 !== ipi || ipi >= this.nrIpis) return -Errno.EINVAL;
    const slot = cpu * this.nrIpis + ipi;
    const existing = this.ipiToIrq[slot]!;
    if (existing !== -1) {
      this.irqs2007?.bind(existing);
      return existing;
    }
    const info = this.allocateIrqDynamic();
    if (typeof info === 'number') return info;
    this.setChipAndHandler(info, this.percpuChip, IrqFlow.PERCPU, 'ipi');
    const port = this.hypercalls.bindIpi(cpu);
    if (port < 0) {
      this.unbindInfo(info);
      return port;
    }
    info.ipi = ipi;
    this.ipiToIrq[slot] = info.irq;
    this.ipiToPort[slot] = port;
    return this.finishPerCpuBind(info, IrqType.IPI, port, cpu);
  }

  /** The common set-up of a VIRQ or IPI binding, then its CPU binding; undone on failure. @returns the IRQ or -errno */
  private finishPerCpuBind(info: IrqInfo, type: IrqTypeValue, port: number, cpu: number): number {
    const rc = this.commonSetup(info, type, port, cpu);
    if (rc < 0) {
      this.unbindInfo(info);
      return rc;
    }
    this.bindEvtchnToCpu(info, cpu);
    return info.irq;
  }

  /** `bind_ipi_to_irqhandler`: adds the IPI resume flags and requests the IRQ. @returns the IRQ or -errno */
  bindIpiToIrqhandler(ipi: number, cpu: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    const irq = this.bindIpiToIrq(ipi, cpu);
    return this.withHandler(irq, handler, flags | IRQF_NO_SUSPEND | IRQF_FORCE_RESUME | IRQF_EARLY_RESUME, name, devId);
  }

  /** Reads whether the pirq needs PHYSDEVOP_eoi (`pirq_query_unmask`). */
  private pirqQueryUnmask(info: IrqInfo): void {
    let flags = this.physdev ? this.physdev.irqStatusQuery(info.pirq) : 0;
    if (flags < 0) flags = 0;
    info.pirqFlags &= ~PIRQ_NEEDS_EOI;
    if (flags & XENIRQSTAT_NEEDS_EOI) info.pirqFlags |= PIRQ_NEEDS_EOI;
  }

  /** The IRQ already bound to `gsi`, or -1 (`xen_irq_from_gsi`). */
  irqFromGsi(gsi: number): number {
    for (const desc of this.descs) {
      const info = desc?.info;
      if (info && info.type === IrqType.PIRQ && info.gsi === gsi) return info.irq;
    }
    return -1;
  }

  /**
   * `xen_bind_pirq_gsi_to_irq`: the IRQ for `gsi` (the same one when already bound; identity
   * where the architecture maps GSIs, else dynamic), chip `xen-pirq` with the fasteoi flow if
   * shareable else edge. The port is bound when the IRQ starts.
   * @param name - flow name shown by `/proc/interrupts` (e.g. `ioapic-level`)
   * @returns the IRQ or -errno (`-ENOSYS` for an era-`'2007'` guest, which had no pirqs)
   */
  bindPirqGsiToIrq(gsi: number, pirq: number, shareable: boolean, name: string): number {
    if (this.irqs2007) return this.noPirqs2007('xen_bind_pirq_gsi_to_irq');
    const existing = this.irqFromGsi(gsi);
    if (existing !== -1) return existing;
    const irq = this.irqSpace.irqForGsi ? this.irqSpace.irqForGsi(gsi) : this.irqSpace.allocDynamic();
    if (irq < 0) return irq;
    if (this.descs[irq] !== undefined) return -Errno.EEXIST;
    const info = this.initIrq(irq);
    info.pirq = pirq;
    info.gsi = gsi;
    info.pirqDomid = DOMID_SELF;
    info.pirqFlags = shareable ? PIRQ_SHAREABLE : 0;
    const rc = this.commonSetup(info, IrqType.PIRQ, 0, 0);
    if (rc < 0) {
      this.unbindInfo(info);
      return rc;
    }
    this.pirqQueryUnmask(info);
    this.setChipAndHandler(info, this.pirqChip, shareable ? IrqFlow.FASTEOI : IrqFlow.EDGE, name);
    return irq;
  }

  /**
   * `xen_bind_pirq_msi_to_irq`: `nvec` contiguous IRQs for pirqs `pirq`…`pirq+nvec-1`
   * (chip `xen-pirq`, edge flow; vectors after the first are flagged MSI_GROUP).
   * @param domid - domain owning the pirqs (DOMID_SELF for the guest's own)
   * @returns the first IRQ or -errno (`-ENOSYS` for an era-`'2007'` guest)
   */
  bindPirqMsiToIrq(pirq: number, nvec: number, name: string, domid: number = DOMID_SELF): number {
    if (this.irqs2007) return this.noPirqs2007('xen_bind_pirq_msi_to_irq');
    if (nvec >>> 0 !== nvec || nvec === 0) return -Errno.EINVAL;
    let first: number;
    if (nvec === 1) first = this.irqSpace.allocDynamic();
    else if (this.irqSpace.allocDynamicRange) first = this.irqSpace.allocDynamicRange(nvec);
    else return -Errno.ENOSPC;
    if (first < 0) return first;
    for (let i = 0; i < nvec; i++) {
      const info = this.initIrq(first + i);
      this.setChipAndHandler(info, this.pirqChip, IrqFlow.EDGE, name);
      info.pirq = pirq + i;
      info.gsi = -1;
      info.pirqDomid = domid;
      info.pirqFlags = i === 0 ? 0 : PIRQ_MSI_GROUP;
      this.commonSetup(info, IrqType.PIRQ, 0, 0);
    }
    return first;
  }

  /** Era `'2007'`: no pirqs at all ({@link LINUX_2007_NO_PIRQS}); warns and answers `-ENOSYS`. */
  private noPirqs2007(op: string): number {
    this.warn(`${op}: era '2007' guest has no pirqs ("${LINUX_2007_NO_PIRQS}")`);
    return -Errno.ENOSYS;
  }

  // ---------------------------------------------------------------- pirq chip hooks

  /** `startup_pirq`: binds the port on first start (WILL_SHARE if shareable), then unmasks and EOIs. */
  startupPirq(info: IrqInfo): void {
    if (info.port === 0) {
      const flags = info.pirqFlags & PIRQ_SHAREABLE ? BIND_PIRQ_WILL_SHARE : 0;
      const port = this.hypercalls.bindPirq(info.pirq, flags);
      if (port < 0) {
        this.warn(`Failed to obtain physical IRQ ${info.irq} (${port})`);
        return;
      }
      this.pirqQueryUnmask(info);
      let rc = this.evtchnToIrq.set(port, info.irq);
      if (rc === 0) {
        info.port = port;
        this.bindEvtchnToCpu(info, 0);
        rc = this.abi.setup(port);
      }
      if (rc < 0) {
        this.warn(`irq${info.irq}: Failed to set port to irq mapping (${rc})`);
        this.hypercalls.close(port);
        return;
      }
    }
    this.doUnmask(info, MASK_REASON_EXPLICIT);
    this.eoiPirq(info);
  }

  /** `shutdown_pirq`: masks, forgets and closes the port. */
  shutdownPirq(info: IrqInfo): void {
    const port = info.port;
    if (port === 0) return;
    this.doMask(info, MASK_REASON_EXPLICIT);
    this.infoCleanup(info);
    this.hypercalls.close(port);
  }

  /** `eoi_pirq`: ends the event and sends PHYSDEVOP_eoi when the pirq needs it. */
  eoiPirq(info: IrqInfo): void {
    if (info.port === 0) return;
    info.isActive = 0;
    this.abi.clearPending(info.port);
    if (info.pirqFlags & PIRQ_NEEDS_EOI && this.physdev) {
      const rc = this.physdev.eoi(info.pirq);
      if (rc !== 0) this.warn(`PHYSDEVOP_eoi(${info.pirq}) returned ${rc}`);
    }
  }

  // ---------------------------------------------------------------- unbind and refcounts

  /**
   * `__unbind_from_irq`: a refcounted IRQ only loses a reference until the last one; then
   * the VIRQ/IPI tables are cleared, the mapping removed and the ABI told (`remove`), and
   * only then is the port closed (closing first would let a concurrent bind reuse the port
   * and lose its mapping). Finally the IRQ number is released.
   */
  private unbindInfo(info: IrqInfo): void {
    if (this.irqs2007) {
      if (this.irqs2007.unbind(info.irq) !== 0) return;
    } else if (info.refcount > 0) {
      info.refcount--;
      if (info.refcount !== 0) return;
    }
    const port = info.port;
    if (port !== 0) {
      const cpu = info.cpu;
      if (info.type === IrqType.VIRQ && info.virq >= 0) {
        const slot = cpu * NR_VIRQS + info.virq;
        if (this.virqToIrq[slot] === info.irq) this.virqToIrq[slot] = -1;
      } else if (info.type === IrqType.IPI && info.ipi >= 0) {
        const slot = cpu * this.nrIpis + info.ipi;
        if (this.ipiToIrq[slot] === info.irq) {
          this.ipiToIrq[slot] = -1;
          this.ipiToPort[slot] = 0;
        }
      }
      this.infoCleanup(info);
      if (!info.isStatic) this.hypercalls.close(port);
    } else if (info.type === IrqType.VIRQ || info.type === IrqType.IPI) {
      // Set-up failed after the table entry was written.
      this.clearPerCpuEntry(info);
    }
    this.freeIrqInfo(info);
  }

  private clearPerCpuEntry(info: IrqInfo): void {
    for (let i = 0; i < this.virqToIrq.length; i++) if (this.virqToIrq[i] === info.irq) this.virqToIrq[i] = -1;
    for (let i = 0; i < this.ipiToIrq.length; i++) {
      if (this.ipiToIrq[i] === info.irq) {
        this.ipiToIrq[i] = -1;
        this.ipiToPort[i] = 0;
      }
    }
  }

  /** `unbind_from_irq`: drops a reference or tears the binding down (see `__unbind_from_irq`). */
  unbindFromIrq(irq: number): void {
    const info = this.descs[irq]?.info;
    if (!info) return;
    this.unbindInfo(info);
  }

  /** `unbind_from_irqhandler`: `freeIrq(irq, devId)`, then {@link LinuxGuest.unbindFromIrq}. */
  unbindFromIrqhandler(irq: number, devId: unknown): void {
    this.freeIrq(irq, devId);
    this.unbindFromIrq(irq);
  }

  /**
   * `evtchn_make_refcounted`: from now on `evtchnGet`/`evtchnPut` count references to the
   * port's IRQ and the last `put` unbinds it. `isStatic` ports are not closed at unbind.
   * @returns 0 or `-ENOENT` when the port has no IRQ
   */
  evtchnMakeRefcounted(port: number, isStatic = false): number {
    const irq = this.evtchnToIrq.get(port);
    if (irq === -1) return -Errno.ENOENT;
    const info = this.descs[irq]!.info!;
    if (info.refcount !== -1) this.warn(`evtchn_make_refcounted: port ${port} already refcounted`);
    info.refcount = 1;
    info.isStatic = isStatic;
    return 0;
  }

  /**
   * `evtchn_get`: takes a reference on a refcounted port's IRQ.
   * @returns 0, `-EINVAL` (port out of range, not refcounted, or count saturated), `-ENOENT` (no IRQ)
   */
  evtchnGet(port: number): number {
    if (port >>> 0 !== port || port >= this.abi.maxChannels()) return -Errno.EINVAL;
    const irq = this.evtchnToIrq.get(port);
    if (irq === -1) return -Errno.ENOENT;
    const info = this.descs[irq]!.info!;
    if (info.refcount <= 0 || info.refcount === 0x7fff) return -Errno.EINVAL;
    info.refcount++;
    return 0;
  }

  /** `evtchn_put`: drops a reference; the last one unbinds the IRQ. */
  evtchnPut(port: number): void {
    const irq = this.evtchnToIrq.get(port);
    if (irq === -1) {
      this.warn(`evtchn_put: port ${port} has no IRQ`);
      return;
    }
    this.unbindFromIrq(irq);
  }

  // ---------------------------------------------------------------- request_irq / free_irq

  /**
   * `request_irq`: adds an action to the IRQ. The first action starts the IRQ (startup or
   * enable → unmask EXPLICIT).
   * @returns 0; `-EINVAL` when SHARED comes without `devId`, the IRQ is ≥ nr_irqs, does not
   * exist or may not be requested, or there is no handler; `-ENOSYS` when the IRQ has no chip;
   * `-EBUSY` when an action exists and not both are SHARED (or they disagree on PERCPU).
   * Era `'2007'` follows the rules of its time instead (`requestIrq2007`).
   */
  requestIrq(irq: number, handler: IrqHandler, flags: number, name: string, devId: unknown): number {
    if (this.irqs2007) return requestIrq2007(this.descs[irq], irq, this.irqs2007.nrIrqs(), handler, flags, name, devId);
    if (flags & IRQF_SHARED && (devId === undefined || devId === null)) return -Errno.EINVAL;
    if (irq >>> 0 !== irq || irq >= this.irqSpace.nrIrqs()) return -Errno.EINVAL;
    const desc = this.descs[irq];
    if (desc === undefined || desc.status & IRQ_NOREQUEST) return -Errno.EINVAL;
    if (typeof handler !== 'function') return -Errno.EINVAL;
    if (desc.chip === null) return -Errno.ENOSYS;
    return setupIrqAction(desc, new IrqAction(handler, flags, name, devId), IRQF_PERCPU);
  }

  /**
   * `free_irq`: removes the action registered with `devId`; the last one shuts the IRQ down
   * (mask EXPLICIT; a pirq closes its port).
   * @returns the action's name, or `undefined` when there was no such action
   */
  freeIrq(irq: number, devId: unknown): string | undefined {
    const desc = this.descs[irq];
    if (desc === undefined) return undefined;
    const a = removeIrqAction(desc, devId);
    if (a === null) {
      this.warn(`Trying to free already-free IRQ ${irq}`);
      return undefined;
    }
    if (desc.action === null) {
      desc.status &= ~IRQ_PER_CPU;
      irqShutdown(desc);
    }
    return a.name;
  }

  /** `disable_irq`: the first disable masks the IRQ at the chip. */
  disableIrq(irq: number): void {
    const desc = this.descs[irq];
    if (desc === undefined) return;
    if (desc.depth++ === 0) irqDisable(desc, false);
  }

  /** `enable_irq`: the last enable unmasks the IRQ and replays an event that arrived meanwhile. */
  enableIrq(irq: number): void {
    const desc = this.descs[irq];
    if (desc === undefined) return;
    if (desc.depth === 0) {
      this.warn(`Unbalanced enable for IRQ ${irq}`);
      return;
    }
    if (desc.depth === 1) {
      if (desc.status & IRQD_STARTED) {
        irqEnable(desc);
        checkIrqResend(desc);
      } else {
        irqStartup(desc);
      }
    }
    desc.depth--;
  }

  /** Calls the chip's `mask` directly (the IRQ core's `irq_mask`; Xen chips: mask EXPLICIT). */
  maskIrq(irq: number): void {
    const desc = this.descs[irq];
    desc?.chip?.mask?.(desc);
  }

  /** Calls the chip's `unmask` directly (the IRQ core's `irq_unmask`; Xen chips: unmask EXPLICIT). */
  unmaskIrq(irq: number): void {
    const desc = this.descs[irq];
    desc?.chip?.unmask?.(desc);
  }

  // ---------------------------------------------------------------- notify, IPIs, priority

  /** `notify_remote_via_evtchn`: EVTCHNOP_send. @returns its result */
  notifyRemoteViaEvtchn(port: number): number {
    return this.hypercalls.send(port);
  }

  /** `notify_remote_via_irq`: EVTCHNOP_send on the IRQ's port; no-op without a port. @returns the send's result or 0 */
  notifyRemoteViaIrq(irq: number): number {
    const port = this.evtchnFromIrq(irq);
    return port !== 0 ? this.hypercalls.send(port) : 0;
  }

  /** `xen_send_IPI_one`: EVTCHNOP_send on `cpu`'s port for `ipi`. @returns the send's result, or `-EINVAL` without a binding */
  sendIpi(cpu: number, ipi: number): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus || ipi >>> 0 !== ipi || ipi >= this.nrIpis) return -Errno.EINVAL;
    const port = this.ipiToPort[cpu * this.nrIpis + ipi]!;
    return port !== 0 ? this.hypercalls.send(port) : -Errno.EINVAL;
  }

  /** `xen_set_irq_priority`: EVTCHNOP_set_priority on the IRQ's port. @returns its result (`-ENOSYS` on 2-level) */
  setIrqPriority(irq: number, priority: number): number {
    return this.hypercalls.setPriority(this.evtchnFromIrq(irq), priority);
  }

  // ---------------------------------------------------------------- affinity

  /**
   * `select_target_cpu`: the online CPU of `cpus` with the fewest bound channels (lowest
   * number on a tie); any online CPU when `cpus` has none.
   */
  selectTargetCpu(cpus: readonly number[]): number {
    let best = -1;
    let min = Infinity;
    for (const cpu of cpus) {
      if (cpu >>> 0 !== cpu || cpu >= this.nrCpus || !this.online[cpu]) continue;
      const n = this.channelsOnCpu[cpu]!;
      if (n < min || (n === min && cpu < best)) {
        min = n;
        best = cpu;
      }
    }
    if (best !== -1) return best;
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      if (!this.online[cpu]) continue;
      const n = this.channelsOnCpu[cpu]!;
      if (n < min) {
        min = n;
        best = cpu;
      }
    }
    return best === -1 ? 0 : best;
  }

  /**
   * `xen_rebind_evtchn_to_cpu`: with a TEMPORARY mask, EVTCHNOP_bind_vcpu; only if the
   * hypervisor accepted, the ABI's CPU binding and the accounting move. Returns 0 even when
   * the hypercall fails (normal for per-vCPU VIRQs and IPIs).
   * @returns 0, or -1 when the IRQ has no port
   */
  rebindIrqToCpu(irq: number, cpu: number): number {
    const info = this.descs[irq]?.info;
    if (!info || info.port === 0) return -1;
    this.doMask(info, MASK_REASON_TEMPORARY);
    if (this.hypercalls.bindVcpu(info.port, cpu) >= 0) this.bindEvtchnToCpu(info, cpu);
    this.doUnmask(info, MASK_REASON_TEMPORARY);
    return 0;
  }

  /** `set_affinity_irq` (the Xen chips' `irq_set_affinity`). @returns 0 or -1 */
  setAffinityIrq(desc: IrqDesc, cpus: readonly number[]): number {
    return this.rebindIrqToCpu(desc.irq, this.selectTargetCpu(cpus));
  }

  /**
   * `irq_set_affinity`: asks the chip to move the IRQ to one of `cpus`.
   * @returns 0, `-EINVAL` when the IRQ does not exist, is per-CPU or its chip cannot move it
   */
  setIrqAffinity(irq: number, cpus: readonly number[]): number {
    const desc = this.descs[irq];
    if (desc === undefined || desc.status & IRQ_PER_CPU || !desc.chip?.setAffinity) return -Errno.EINVAL;
    return desc.chip.setAffinity(desc, cpus);
  }

  /** `xen_set_affinity_evtchn`: moves the IRQ to exactly `cpu`. @returns 0 or a negative value */
  setAffinityEvtchn(irq: number, cpu: number): number {
    return this.setIrqAffinity(irq, [cpu]);
  }

  // ---------------------------------------------------------------- upcall loop

  /**
   * `xen_evtchn_do_upcall` on `cpu`: scan until the upcall-pending flag stays clear, then
   * bump the CPU's IRQ epoch (so late EOIs from now on are not "inside the loop") and run
   * the deferred EOIs that are due. Era `'2007'` makes one pass (the flag cleared once); an
   * event raised meanwhile comes back as a new callback, as Xen re-enters the guest when its
   * exit path finds the flag set.
   *
   * On a timed platform the loop stops when the vCPU's slice is used up
   * (`VcpuRunner.shouldYield`) and returns false; the runner calls `upcall` again later and
   * the loop goes on where it stopped, with its deadline and loop count kept. Linux has no
   * such exit: the real vCPU would simply stay in the loop, which is what the runner's
   * continuations model while virtual time moves on.
   * @returns false when the loop yielded and must be continued, true when it finished
   */
  upcall(cpu: number): boolean {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus) throw new RangeError(`guest-linux: no CPU ${cpu}`);
    const prevCpu = this.currentCpu;
    this.currentCpu = cpu;
    if (this.upcallYielded[cpu] === 0) {
      this.loopCount[cpu] = 0;
      this.loopTimeout[cpu] = 0;
      this.loopDeferEoi[cpu] = 0;
    }
    this.upcallYielded[cpu] = 0;
    const upcallPending = this.upcallPending;
    const runner = this.timed ? this.runner : undefined;
    const dispatch = runner !== undefined ? this.timedDispatch : this;
    this.upcallDepth++;
    try {
      if (this.irqs2007) {
        this.passes2007++;
        upcallPending[cpu] = 0;
        this.abi.handleEvents(cpu, dispatch);
      } else {
        do {
          upcallPending[cpu] = 0;
          this.abi.handleEvents(cpu, dispatch);
          if (runner !== undefined && runner.shouldYield()) {
            this.upcallYielded[cpu] = 1;
            return false;
          }
        } while (upcallPending[cpu] !== 0);
      }
      this.irqEpoch[cpu]!++;
      this.processEoiList(cpu);
    } finally {
      this.upcallDepth--;
      this.currentCpu = prevCpu;
    }
    // Era '2007': the flag was raised during the one pass, so Xen delivers the callback again;
    // the runner takes it after this one returns (never nested).
    if (this.irqs2007 && this.upcallDepth === 0 && upcallPending[cpu] !== 0) this.forceEventCallback?.(cpu);
    return true;
  }

  /**
   * Whether the vCPU running this loop has used up its slice: the FIFO scan checks it between
   * events and leaves the rest queued for the loop's continuation.
   */
  shouldYield(): boolean {
    return this.timed && this.runner!.shouldYield();
  }

  /**
   * Sets the virtual time one run of `irq`'s handlers costs (default: the runner's
   * `handlerNs`); `undefined` returns to the default.
   */
  setIrqHandlerCost(irq: number, ns: number | undefined): void {
    if (ns === undefined) {
      this.irqCosts.delete(irq);
      return;
    }
    if (!Number.isFinite(ns) || ns < 0) throw new RangeError(`guest-linux: handler cost must be a finite number of ns >= 0, got ${ns}`);
    this.irqCosts.set(irq, ns);
  }

  /** Charges one scan step and, when `irq` runs its handlers, their cost. */
  private chargeEvent(irq: number): void {
    const c = this.costs;
    let ns = c.scanStepNs;
    if (irq >= 0) ns += this.irqCosts.size === 0 ? c.handlerNs : (this.irqCosts.get(irq) ?? c.handlerNs);
    this.runner!.charge(ns);
  }

  /**
   * `handle_irq_for_port`: a port found pending by the ABI's scan. No IRQ → ignored (stays
   * pending). Every 256 events the loop checks its deadline; once past it, EOIs of the rest
   * of the loop are deferred. An IRQ already active drops the event; else the flow runs.
   *
   * An ordinary event-channel IRQ (edge flow, the dynamic event chip, one action: the guest's
   * {@link IrqTable} marks it) runs in a short form written against that table: the same steps
   * as `handle_edge_irq` with `ack_dynirq`, reading no per-IRQ object (bench/README.md,
   * optimisation 13). Anything else, and any event that finds the IRQ in progress, disabled or
   * with an edge to replay, goes the general way through the descriptor.
   */
  handlePort(port: number, cpu: number): void {
    // The rare branches live in their own methods so that the whole event path stays small
    // enough for V8 to inline into the ABI's scan.
    const irq = this.evtchnToIrq.get(port);
    if (irq === -1) return this.portWithoutIrq(port);
    const deferEoi = this.loopDeferEoi;
    if (deferEoi[cpu] === 0 && (++this.loopCount[cpu]! & EventLoop.CHECK_MASK) === 0) this.checkLoopDeadline(cpu);
    const t = this.irqTable;
    if (t.fast[irq] !== IrqFastMark.EDGE_DYN) return this.handleIrq(irq, cpu);
    if (t.active[irq] !== 0) return this.dropActive();
    // handle_irq_for_port sets `is_active` here and ack_dynirq clears it, on every route below
    // (the general edge flow's ack and mask+ack included) before anything reads it: the short
    // form writes neither.
    if (deferEoi[cpu] !== 0) this.deferEoi(irq, cpu);
    // handle_edge_irq: clear REPLAY; in progress, disabled or pending → the general flow.
    const status = t.status[irq]! & ~IrqStatusBit.REPLAY;
    if (status & (IrqStatusBit.INPROGRESS | IrqStatusBit.DISABLED | IrqStatusBit.PENDING)) return this.edgeSlow(irq, cpu);
    t.status[irq] = status;
    t.counts[irq * t.nrCpus + cpu]!++;
    // ack_dynirq: the port's pending bit cleared. The port is the IRQ's own: `evtchn_to_irq`
    // maps a port to an IRQ only while its info holds that port.
    this.currentAbi.clearPending(port);
    // handle_irq_event: in progress while the one action runs. The handler may change
    // anything, the table's arrays included (a bind can grow them): re-read after it.
    t.status[irq] = status | IrqStatusBit.INPROGRESS;
    const handler = t.handler[irq]!;
    if ((handler(irq, t.devId[irq]) | 0) === IrqReturnCode.NONE) this.noteUnhandled(irq);
    if (this.bus.listening('irq:handled')) this.emitHandled(irq, cpu);
    const after = t.status[irq]! & ~IrqStatusBit.INPROGRESS;
    t.status[irq] = after;
    if ((after & (IrqStatusBit.PENDING | IrqStatusBit.DISABLED)) === IrqStatusBit.PENDING) this.edgeReplay(irq, cpu);
  }

  /**
   * `handle_irq_for_port` through the descriptor: IRQs of other chips, flows or several
   * actions, and the first event after any of those changed (which decides whether the next
   * events take the short form).
   */
  private handleIrq(irq: number, cpu: number): void {
    const desc = this.descs[irq];
    const info = desc?.info;
    if (!info) return;
    if (this.irqTable.fast[irq] === IrqFastMark.UNKNOWN) desc!.qualifyFast();
    if (info.isActive !== 0) return this.dropActive();
    info.isActive = 1;
    if (this.loopDeferEoi[cpu] !== 0) this.deferEoi(irq, cpu);
    runFlow(desc!, cpu, this);
  }

  /** The short form's event found its IRQ in progress, disabled or pending: the general edge flow. */
  private edgeSlow(irq: number, cpu: number): void {
    handleEdgeIrq(this.descs[irq]!, cpu, this);
  }

  /** An edge arrived while the short form's handler ran: the edge flow's loop replays it. */
  private edgeReplay(irq: number, cpu: number): void {
    const desc = this.descs[irq];
    if (desc !== undefined) edgeActions(desc, cpu, this);
  }

  /** Every action of the short form's IRQ returned `IRQ_NONE`. */
  private noteUnhandled(irq: number): void {
    const desc = this.descs[irq];
    if (desc !== undefined) desc.unhandled++;
  }

  /** The IRQ of a pending port is still active (its late EOI has not come): the event is dropped. */
  private dropActive(): void {
    this.stats.droppedActive++;
  }

  /** A pending port with no IRQ: the evtchn device's, or counted and left pending. */
  private portWithoutIrq(port: number): void {
    if (this.evtchnDevice.owns(port)) this.evtchnDevice.upcall(port);
    else this.stats.noIrq++;
  }

  /** Every 256 events: arms the loop's deadline, or defers EOIs once it has passed. */
  private checkLoopDeadline(cpu: number): void {
    const now = this.clock.now();
    if (this.loopTimeout[cpu] === 0) this.loopTimeout[cpu] = now + this.loopTimeoutNs;
    else if (now > this.loopTimeout[cpu]!) this.loopDeferEoi[cpu] = 1;
  }

  /** Past the loop's deadline: the event's EOI waits for the worker, `eoiDelay` jiffies on. */
  private deferEoi(irq: number, cpu: number): void {
    const info = this.descs[irq]!.info!;
    info.eoiCpu = cpu;
    info.irqEpoch = this.irqEpoch[cpu]!;
    info.eoiTime = this.jiffies() + this.eoiDelay;
  }

  /** The port of `cpu`'s VIRQ_TIMER binding, or 0 (the 2-level scan handles it first). */
  timerPort(cpu: number): number {
    const irq = this.virqToIrq[cpu * NR_VIRQS + VIRQ.TIMER];
    if (irq === undefined || irq === -1) return 0;
    return this.descs[irq]?.info?.port ?? 0;
  }

  /** Called by the flows after the actions ran: publishes `irq:handled` when someone listens. */
  irqHandled(desc: IrqDesc, cpu: number): void {
    if (this.bus.listening('irq:handled')) this.emitHandled(desc.irq, cpu);
  }

  /** Publishes `irq:handled` (out of line: the check before it is on every event's path). */
  private emitHandled(irq: number, cpu: number): void {
    this.bus.emit('irq:handled', this.currentDomid, irq, cpu);
  }

  // ---------------------------------------------------------------- late EOI

  /** Current time in jiffies of the virtual clock. */
  jiffies(): number {
    return Math.floor(this.clock.now() / this.jiffyNs);
  }

  /**
   * `xen_irq_lateeoi`: the driver of a late-EOI IRQ finished an event. A spurious EOI
   * (`XEN_EOI_FLAG_SPURIOUS`: the event had no work) counts towards the storm back-off:
   * past the threshold the EOI is delayed by 2^(count-1-threshold) jiffies, capped at HZ.
   * A delayed EOI, or one from inside a loop that defers EOIs, waits on the CPU's
   * time-sorted list; otherwise the IRQ is inactive again and EOI_PENDING is unmasked.
   */
  lateEoi(irq: number, flags = 0): void {
    const info = this.descs[irq]?.info;
    if (!info || info.port === 0 || info.onEoiList) return;
    let delay = 0;
    if (flags & XEN_EOI_FLAG_SPURIOUS) {
      const threshold = info.spuriousThreshold;
      if (1 << info.spuriousCnt < this.hz * 4 && info.spuriousCnt !== 0xff) info.spuriousCnt++;
      if (info.spuriousCnt > threshold) {
        delay = Math.min(2 ** (info.spuriousCnt - 1 - threshold), this.hz);
        if (info.eoiTime === 0) info.eoiCpu = this.currentCpu;
        info.eoiTime = this.jiffies() + delay;
      }
    } else {
      info.spuriousCnt = 0;
    }
    const cpu = info.eoiCpu;
    if (info.eoiTime !== 0 && (info.irqEpoch === this.irqEpoch[cpu] || delay !== 0)) {
      this.lateEoiListAdd(info);
      return;
    }
    info.eoiTime = 0;
    info.isActive = 0;
    this.doUnmask(info, MASK_REASON_EOI_PENDING);
  }

  /** IRQs waiting on `cpu`'s deferred-EOI list, earliest first. */
  pendingEois(cpu: number): readonly IrqInfo[] {
    return this.eoiLists[cpu] ?? [];
  }

  private lateEoiListAdd(info: IrqInfo): void {
    const cpu = info.eoiCpu < this.nrCpus ? info.eoiCpu : 0;
    info.eoiCpu = cpu;
    const list = this.eoiLists[cpu]!;
    let i = list.length;
    while (i > 0 && list[i - 1]!.eoiTime > info.eoiTime) i--;
    list.splice(i, 0, info);
    info.onEoiList = true;
    if (i === 0) this.armEoiWorker(cpu, info.eoiTime);
  }

  private lateEoiListDel(info: IrqInfo): void {
    const list = this.eoiLists[info.eoiCpu];
    const i = list ? list.indexOf(info) : -1;
    if (i >= 0) list!.splice(i, 1);
    info.onEoiList = false;
  }

  /** (Re)arms `cpu`'s EOI worker for jiffy `at` (at least one jiffy from now, as delayed work does). */
  private armEoiWorker(cpu: number, at: number): void {
    const old = this.eoiTimers[cpu]!;
    if (old !== -1) this.clock.cancel(old);
    const when = Math.max(at, this.jiffies() + 1) * this.jiffyNs;
    this.eoiTimers[cpu] = this.clock.at(when, this.eoiWorkers[cpu]!);
  }

  private runEoiWorker(cpu: number): void {
    this.eoiTimers[cpu] = -1;
    const prevCpu = this.currentCpu;
    this.currentCpu = cpu;
    this.processEoiList(cpu);
    this.currentCpu = prevCpu;
  }

  /** `xen_irq_lateeoi_worker`: EOIs every listed IRQ whose time has come; re-arms for the rest. */
  private processEoiList(cpu: number): void {
    const list = this.eoiLists[cpu]!;
    const now = this.jiffies();
    while (list.length > 0) {
      const info = list[0]!;
      if (now < info.eoiTime) {
        if (this.eoiTimers[cpu] === -1) this.armEoiWorker(cpu, info.eoiTime);
        return;
      }
      list.shift();
      info.onEoiList = false;
      // Lost its port in a resume: nothing to EOI (`xen_irq_lateeoi_locked` needs a valid port).
      if (info.port === 0) continue;
      info.eoiTime = 0;
      info.isActive = 0;
      this.doUnmask(info, MASK_REASON_EOI_PENDING);
    }
  }

  // ---------------------------------------------------------------- CPUs

  /** Takes `cpu` offline: affinity no longer picks it, the ABI drops its state. @returns the ABI's result or 0 */
  cpuOffline(cpu: number): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus) return -Errno.EINVAL;
    this.online[cpu] = 0;
    return this.abi.percpuDeinit ? this.abi.percpuDeinit(cpu) : 0;
  }

  /** Brings `cpu` back online. @returns the ABI's result or 0 */
  cpuOnline(cpu: number): number {
    if (cpu >>> 0 !== cpu || cpu >= this.nrCpus) return -Errno.EINVAL;
    const rc = this.abi.percpuInit ? this.abi.percpuInit(cpu) : 0;
    if (rc >= 0) this.online[cpu] = 1;
    return rc;
  }

  // ---------------------------------------------------------------- suspend and resume (resume.ts)

  /**
   * Registers a driver's resume callback (a xenbus frontend's `resume`): after the guest
   * resumed in a new domain, the callback reconnects the channels the driver owned (their IRQs
   * are still allocated but have no port). @returns a function that unregisters it
   */
  onResume(hook: ResumeHook<LinuxGuest>): () => void {
    this.resumeHooks.push(hook);
    return () => {
      const i = this.resumeHooks.indexOf(hook);
      if (i >= 0) this.resumeHooks.splice(i, 1);
    };
  }

  /** Migration, source side: notes the time; the guest is then paused and saved. */
  suspend(): void {
    this.suspendJiffies = this.jiffies();
  }

  /**
   * Migration, destination side: attaches the layer to the new domain `ctx` (its hypercalls,
   * shared info, memory, clock and runner; the ABI's guest half moves with `migrate` or is
   * created anew), runs `xen_irq_resume` (see resume.ts), then the drivers' resume callbacks.
   * @returns what the kernel rebound itself
   */
  resume(ctx: GuestContext): IrqResumeReport {
    if (ctx.nrCpus !== this.nrCpus) throw new RangeError(`guest-linux: a ${this.nrCpus}-CPU guest cannot resume with ${ctx.nrCpus} vCPUs`);
    const oldJiffies = this.suspendJiffies >= 0 ? this.suspendJiffies : this.jiffies();
    this.currentDomid = ctx.domid;
    this.hypercalls = ctx.hypercalls;
    this.physdev = ctx.physdev;
    this.clock = ctx.clock;
    this.runner = ctx.runner;
    this.timed = ctx.runner?.mode === 'timed';
    this.costs = ctx.runner?.costs ?? DEFAULT_EXECUTION_COSTS;
    this.bus = ctx.bus;
    this.forceEventCallback = ctx.forceEventCallback;
    this.upcallPending = ctx.abiContext.sharedInfo.upcallPending;
    if (this.abi.migrate) this.abi.migrate(ctx.abiContext);
    else {
      const abi = ctx.abis.find((a) => a.name === this.abiName);
      if (!abi) throw new XenError('guest-linux: xen_irq_resume', Errno.ENOSYS, `the destination does not offer the '${this.abiName}' ABI`);
      this.currentAbi = abi.createGuestSide(ctx.abiContext);
    }
    this.evtchnDevice.resume(ctx.hypercalls);
    this.upcallYielded.fill(0);
    // The old domain's timers died with it: deferred EOIs are re-armed on the new clock, as far
    // in the future as they were.
    const shift = this.jiffies() - oldJiffies;
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      this.eoiTimers[cpu] = -1;
      const list = this.eoiLists[cpu]!;
      for (const info of list) info.eoiTime += shift;
      if (list.length > 0) this.armEoiWorker(cpu, list[0]!.eoiTime);
    }
    this.suspendJiffies = -1;
    const report = xenIrqResume(this.resumeHost());
    for (const hook of [...this.resumeHooks]) hook(this);
    return report;
  }

  private resumeHost(): ResumeHost {
    return {
      nrCpus: this.nrCpus,
      nrIpis: this.nrIpis,
      abi: this.abi,
      hypercalls: this.hypercalls,
      virqToIrq: this.virqToIrq,
      ipiToIrq: this.ipiToIrq,
      ipiToPort: this.ipiToPort,
      descriptors: () => this.descriptors(),
      zapPort: (info) => {
        info.port = 0;
        this.channelsOnCpuDec(info);
      },
      clearEvtchnToIrq: () => this.evtchnToIrq.clear(),
      setupPort: (info, type, port, cpu) => {
        const rc = this.commonSetup(info, type, port, cpu);
        if (rc >= 0) this.bindEvtchnToCpu(info, cpu);
        return rc;
      },
      startupPirq: (info) => this.startupPirq(info),
      warn: (message) => this.warn(message),
    };
  }

  // ---------------------------------------------------------------- views

  /** `/proc/interrupts`: one line per IRQ with actions or counts (per-CPU counts, chip, flow name, actions). */
  procInterrupts(): string {
    return renderProcInterrupts(this.descriptors(), this.nrCpus, this.online, this.irqSpace.nrIrqs());
  }

  /** `/proc/interrupts` as data: the same rows as {@link procInterrupts}, for JSON output. */
  procInterruptsTable(): ProcInterruptsTable {
    return procInterruptsTable(this.descriptors(), this.nrCpus, this.online);
  }

  private warn(message: string): void {
    if (this.bus.listening('warn')) this.bus.emit('warn', `guest-linux d${this.domid}`, message);
  }
}
