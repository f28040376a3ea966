/*
 * The Arm architecture plugin: Xen on Arm's interrupt plumbing (xen/arch/arm/irq.c, gic.c,
 * vgic.c, vtimer.c) around the GIC model. Physical interrupts are taken by Xen's handler
 * (acknowledge, priority drop, then Xen's own action, a guest injection, or a vLPI); event-channel
 * upcalls are the domain's event PPI (31 for a domU, the first free PPI for the hardware
 * domain); the guest's side of each vCPU's virtual CPU interface runs the
 * registered handler per virtual IRQ (Linux: a per-CPU devid IRQ whose handler is the upcall
 * loop), never re-entering a vCPU that is still in a handler. Modern Xen has no pirqs on Arm, so
 * the core answers EVTCHNOP_bind_pirq with -EOPNOTSUPP; the `xenarmPirqs` option brings back
 * the early Xen ARM port's pirqs (`XenArmPirqs`, SPEC §7).
 */
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import {
  Architecture as ArchitectureToken,
  Clock as ClockToken,
  Errno,
  PLUGIN_API_VERSION,
  Scheduler as SchedulerToken,
  VcpuRunner as VcpuRunnerToken,
  XenError,
  type ArchDomainInfo,
  type Architecture,
  type Clock,
  type GuestIrqSpace,
  type GuestIrqSpaceOptions,
  type HypervisorLink,
  type PirqBackend,
  type Plugin,
  type Scheduler,
  type VcpuRunner,
  type UpcallSink,
  type VcpuRef,
  type JsonValue,
  readArray,
  readArrayInto,
  readInt,
  readNumber,
  readObject,
  readBool,
  readTimer,
  SnapshotError,
  type TimerId,
  snapshotPath as at,
  expectSame,
  underPath,
} from '@evtchn/core';
import {
  GIC_PRI_IRQ,
  GIC_SPURIOUS,
  Gic,
  LPI_BASE,
  NR_LOCAL_IRQS,
  PPI_EVTCHN_UPCALL,
  PPI_VIRT_TIMER,
  allocateHwdomEvtchnPpi,
  irqClass,
  type SgiTargetMode,
} from './gic.js';
import { ArmGuestIrqSpace } from './guest-irq-space.js';
import { Vgic, type InjectResult } from './vgic.js';
import { XenArmPirqs, type XenArmPirqOptions } from './xenarm-pirq.js';
import {
  GenericTimer,
  createVtimerStrategy,
  newVtimerContext,
  type GuestVirtualTimer,
  type VtimerContext,
  type VtimerStrategy,
  type VtimerStrategyName,
} from './vtimer.js';

/** Options of {@link ArmArchitecture} and {@link archArm}. */
export interface ArchArmOptions {
  /** Number of physical CPUs (default: the scheduler's, else 1). */
  readonly nrPcpus?: number;
  /** List registers per vCPU (default 4). */
  readonly listRegisters?: number;
  /** Virtual-timer delivery strategy (default `'xen-owned'`, what Xen ships). */
  readonly vtimer?: VtimerStrategyName;
  /** Physical GIC lines including the 32 local ones (default 256). */
  readonly nrLines?: number;
  /** Virtual SPIs per domain (default 64). */
  readonly nrSpis?: number;
  /** The virtual clock (needed for the virtual timer). */
  readonly clock?: Clock;
  /** The vCPU scheduler; without one every vCPU counts as running and upcalls are synchronous. */
  readonly scheduler?: Scheduler;
  /**
   * The platform's vCPU runner (a platform passes its own): a vCPU then takes its virtual IRQs
   * when the runner runs it, after the entry latency. Without one a running vCPU takes them at
   * once, inside whatever injected them.
   */
  readonly runner?: VcpuRunner;
  /**
   * Physical IRQs for guests as the early Xen ARM port had them (`true` or options: foreground
   * domain, HID lines). Default off: modern Xen, EVTCHNOP_bind_pirq is `-EOPNOTSUPP`.
   */
  readonly xenarmPirqs?: boolean | XenArmPirqOptions;
}

/** The IRQ type Xen knows for a physical interrupt (from the device tree / ACPI). */
export type IrqType = 'edge' | 'level';

/**
 * A guest's handler for one virtual IRQ, called after the guest acknowledged it. Return
 * `'deferred'` to finish later with {@link ArmArchitecture.guestEoi}; anything else EOIs now.
 */
export type GuestIrqHandler = (vcpu: number, virq: number) => 'deferred' | void;

/** Physical IRQ descriptor flag: a guest owns the IRQ (Xen's `IRQ_GUEST`). */
export const IRQ_GUEST = 1 << 0;
/** Descriptor flag: injected into a guest, not yet deactivated by its EOI (`IRQ_INPROGRESS`). */
export const IRQ_INPROGRESS = 1 << 1;

interface IrqDesc {
  type: IrqType | undefined;
  flags: number;
  xenHandler: ((cpu: number, irq: number) => void) | undefined;
  domid: number;
  virq: number;
}

interface ArmDomain {
  readonly info: ArchDomainInfo;
  readonly sink: UpcallSink;
  readonly vgic: Vgic;
  readonly handlers: Map<number, GuestIrqHandler>;
  /** Virtual IRQ each vCPU's guest is handling, or -1. */
  readonly busy: Int16Array;
  readonly looping: Uint8Array;
  /** The event upcall on this vCPU yielded its slice: the runner's next `take` continues it. */
  readonly suspended: Uint8Array;
  readonly cntvoff: number;
  readonly timers: VtimerContext[];
  readonly routed: Map<number, number>;
  /** The virtual PPI its event-channel upcall is injected as (`d->arch.evtchn_irq`). */
  readonly evtchnPpi: number;
}

/** The Arm {@link Architecture} (see the module comment). */
export class ArmArchitecture implements Architecture {
  /** Architecture name. */
  readonly name = 'arm';
  /** Number of physical CPUs. */
  readonly nrPcpus: number;
  /** List registers per vCPU. */
  readonly listRegisters: number;
  /** The physical GIC. */
  readonly gic: Gic;
  /** The virtual-timer strategy in use. */
  readonly vtimerStrategy: VtimerStrategyName;
  /** The xenarm pirq model, when the `xenarmPirqs` option is on. */
  readonly xenarm: XenArmPirqs | undefined;
  /** Physical IRQs for guests: the xenarm model when enabled, else none. */
  readonly pirqs?: PirqBackend;
  private readonly clock: Clock | undefined;
  private readonly scheduler: Scheduler | undefined;
  private readonly runner: VcpuRunner | undefined;
  private readonly nrSpis: number;
  private readonly domains = new Map<number, ArmDomain>();
  private readonly descs: IrqDesc[];
  private readonly hostLpis = new Map<number, { domid: number; vlpi: number }>();
  private readonly timers: GenericTimer[] = [];
  private readonly strategy: VtimerStrategy | undefined;
  private link: HypervisorLink | undefined;

  /** @param options - see {@link ArchArmOptions} */
  constructor(options: ArchArmOptions = {}) {
    this.clock = options.clock;
    this.scheduler = options.scheduler;
    this.runner = options.runner;
    this.nrPcpus = options.nrPcpus ?? options.scheduler?.nrPcpus ?? 1;
    if (this.scheduler && this.scheduler.nrPcpus !== this.nrPcpus) {
      throw new XenError('arch-arm', Errno.EINVAL, `nrPcpus ${this.nrPcpus} differs from the scheduler's ${this.scheduler.nrPcpus}`);
    }
    this.listRegisters = options.listRegisters ?? 4;
    this.nrSpis = options.nrSpis ?? 64;
    this.vtimerStrategy = options.vtimer ?? 'xen-owned';
    this.gic = new Gic({ nrCpus: this.nrPcpus, nrLines: options.nrLines ?? 256 });
    this.descs = Array.from({ length: this.gic.nrLines }, () => ({
      type: undefined,
      flags: 0,
      xenHandler: undefined,
      domid: -1,
      virq: -1,
    }));
    this.gic.setCpuHandler((cpu) => this.onPhysicalIrq(cpu));
    const xa = options.xenarmPirqs;
    this.xenarm =
      xa === undefined || xa === false
        ? undefined
        : new XenArmPirqs(
            {
              gic: this.gic,
              hypervisorLink: () => this.link,
              usedOtherwise: (irq) => this.descs[irq]!.xenHandler !== undefined || (this.descs[irq]!.flags & IRQ_GUEST) !== 0,
              isEdge: (irq) => this.descs[irq]!.type === 'edge',
              pcpuOf: (domid, vcpu) => this.pcpuOf(domid, vcpu),
            },
            xa === true ? {} : xa,
          );
    if (this.xenarm) this.pirqs = this.xenarm;
    const clock = this.clock;
    if (clock) {
      for (let p = 0; p < this.nrPcpus; p++) {
        this.timers.push(new GenericTimer(clock, (level) => this.gic.setLine(PPI_VIRT_TIMER, level, p)));
        this.gic.setPriority(PPI_VIRT_TIMER, GIC_PRI_IRQ, p);
        this.gic.enable(PPI_VIRT_TIMER, p);
      }
      this.strategy = createVtimerStrategy(
        this.vtimerStrategy,
        {
          clock,
          gic: this.gic,
          current: (p) => this.current(p),
          cntvoff: (domid) => this.domains.get(domid)?.cntvoff ?? 0,
          injectTimer: (domid, vcpu, hw) => {
            this.domains.get(domid)?.vgic.inject(vcpu, PPI_VIRT_TIMER, true, hw);
          },
          wake: (domid, vcpu) => this.scheduler?.kick(domid, vcpu),
        },
        (v) => this.domains.get(v.domid)?.timers[v.vcpu],
      );
    }
    this.scheduler?.onSwitch((pcpu, prev, next) => this.contextSwitch(pcpu, prev, next));
  }

  /** Keeps the way back into the hypervisor core. */
  connect(link: HypervisorLink): void {
    this.link = link;
  }

  /** The hypervisor core's link, once connected. */
  get hypervisorLink(): HypervisorLink | undefined {
    return this.link;
  }

  /** Creates the domain's vGIC and virtual-timer contexts. */
  attachDomain(info: ArchDomainInfo, sink: UpcallSink): void {
    if (this.domains.has(info.id)) throw new XenError('arch-arm', Errno.EEXIST, `domain ${info.id} already attached`);
    const vgic = new Vgic(
      { nrVcpus: info.nrVcpus, nrSpis: this.nrSpis, nrLrs: this.listRegisters },
      {
        kick: (vcpu) => this.kickVcpu(info.id, vcpu),
        deactivateHw: (vcpu, hw) => this.deactivateHw(info.id, vcpu, hw),
      },
    );
    const d: ArmDomain = {
      info,
      sink,
      vgic,
      handlers: new Map(),
      busy: new Int16Array(info.nrVcpus).fill(-1),
      looping: new Uint8Array(info.nrVcpus),
      suspended: new Uint8Array(info.nrVcpus),
      cntvoff: this.clock?.now() ?? 0,
      timers: Array.from({ length: info.nrVcpus }, newVtimerContext),
      routed: new Map(),
      // Xen: a domU gets GUEST_EVTCHN_PPI; the hardware domain the first PPI it does not use.
      evtchnPpi: info.privileged ? allocateHwdomEvtchnPpi() : PPI_EVTCHN_UPCALL,
    };
    this.domains.set(info.id, d);
    this.runner?.attach(info.id, info.nrVcpus, {
      canTake: (vcpu) => d.suspended[vcpu] === 1 || (d.busy[vcpu] === -1 && d.vgic.hasDeliverable(vcpu)),
      take: (vcpu) => this.takeOne(d, vcpu),
    });
  }

  /**
   * Snapshot hook: the physical GIC, the per-pCPU generic timers, each IRQ's flags and each
   * domain's vGIC, in-handler state and saved virtual-timer contexts. Routing (which virtual
   * IRQ a physical one goes to, the guests' handlers) is structure the restoring platform
   * re-creates; the xenarm pirq model is not saved yet (a snapshot then fails saying so).
   */
  getState(): JsonValue {
    if (this.xenarm) throw new Error("arch 'arm': the xenarm pirq model is not saved by snapshots yet");
    const rec = (id: TimerId | undefined): JsonValue => {
      if (id === undefined) return null;
      const r = this.clock?.timerRecord?.(id);
      if (!r) throw new Error("arch 'arm': the clock cannot save a virtual-timer soft timer");
      return { at: r.at, seq: r.seq };
    };
    return {
      gic: this.gic.getState() as unknown as JsonValue,
      timers: this.timers.map((t) => t.snapshot() as unknown as JsonValue),
      irqs: this.descs.map((d) => [d.flags, d.domid, d.virq]),
      domains: [...this.domains].map(([id, d]) => ({
        id,
        vgic: d.vgic.getState(),
        busy: [...d.busy],
        looping: [...d.looping],
        suspended: [...d.suspended],
        vtimers: d.timers.map((t) => [t.ctl, t.cval, t.ppiPending ? 1 : 0, t.ppiActive ? 1 : 0, rec(t.softTimer)]),
      })),
    };
  }

  /** Restores {@link ArmArchitecture.getState} into an architecture with the same domains and routes. */
  setState(state: JsonValue): void {
    const o = readObject(state, '');
    readArray(o.timers, 'timers', this.timers.length).forEach((t, i) => {
      const p = at('timers', i);
      const to = readObject(t, p);
      this.timers[i]!.restoreSnapshot({
        ctl: readInt(to.ctl, at(p, 'ctl'), 0),
        cval: readNumber(to.cval, at(p, 'cval')),
        offset: readNumber(to.offset, at(p, 'offset')),
        level: readBool(to.level, at(p, 'level')),
        wake: readTimer(to.wake, at(p, 'wake')),
      });
    });
    // After the timers: setting a timer's registers may move its output line, which the GIC's state already holds.
    underPath('gic', () => this.gic.setState(readObject(o.gic, 'gic') as unknown as Parameters<Gic['setState']>[0]));
    readArray(o.irqs, 'irqs', this.descs.length).forEach((r, i) => {
      const p = at('irqs', i);
      const row = readArray(r, p, 3);
      const d = this.descs[i]!;
      d.flags = readInt(row[0], at(p, 0), 0);
      expectSame(row[1], at(p, 1), d.domid);
      expectSame(row[2], at(p, 2), d.virq);
    });
    const doms = [...this.domains];
    readArray(o.domains, 'domains', doms.length).forEach((s, i) => {
      const p = at('domains', i);
      const so = readObject(s, p);
      const [id, d] = doms[i]!;
      expectSame(so.id, at(p, 'id'), id);
      d.vgic.setState(so.vgic ?? null, at(p, 'vgic'));
      for (const k of ['busy', 'looping', 'suspended'] as const) readArrayInto(readArray(so[k], at(p, k), d[k].length), at(p, k), d[k]);
      readArray(so.vtimers, at(p, 'vtimers'), d.timers.length).forEach((t, v) => {
        const tp = at(at(p, 'vtimers'), v);
        const row = readArray(t, tp, 5);
        const ctx = d.timers[v]!;
        ctx.ctl = readInt(row[0], at(tp, 0), 0);
        ctx.cval = readNumber(row[1], at(tp, 1));
        ctx.ppiPending = readInt(row[2], at(tp, 2), 0, 1) === 1;
        ctx.ppiActive = readInt(row[3], at(tp, 3), 0, 1) === 1;
        const soft = readTimer(row[4], at(tp, 4));
        ctx.softTimer = undefined;
        if (soft) {
          if (!this.clock?.rearm || !this.strategy) throw new SnapshotError(at(tp, 4), 'a soft timer on an architecture without a clock');
          ctx.softTimer = this.clock.rearm(soft, this.strategy.softTimerFired({ domid: id, vcpu: v }, ctx));
        }
      });
    });
  }

  /** Releases the domain's routed IRQs and host LPIs and forgets it. */
  detachDomain(domid: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    for (const virq of [...d.routed.keys()]) this.releaseIrqFromGuest(domid, virq);
    for (const [lpi, m] of this.hostLpis) if (m.domid === domid) this.hostLpis.delete(lpi);
    for (const t of d.timers) if (t.softTimer !== undefined) this.clock?.cancel(t.softTimer);
    this.domains.delete(domid);
    this.runner?.detach(domid);
  }

  /** Injects the domain's event PPI into the vCPU; it runs the guest's upcall when (and if) it can take it. */
  deliverUpcall(domid: number, vcpu: number): void {
    const d = this.domains.get(domid);
    d?.vgic.inject(vcpu, d.evtchnPpi);
  }

  /**
   * The PPI a domain's event-channel upcall arrives on (what Xen advertises through the device
   * tree and `HVM_PARAM_CALLBACK_IRQ`): 31 for a domU, the first free PPI (16) for the hardware
   * domain. @throws XenError ESRCH for an unknown domain
   */
  evtchnPpi(domid: number): number {
    return this.domain(domid).evtchnPpi;
  }

  /** Linux on arm64's IRQ number space (see `ArmGuestIrqSpace`). */
  createGuestIrqSpace(_opts: GuestIrqSpaceOptions): GuestIrqSpace {
    return new ArmGuestIrqSpace();
  }

  /** The domain's vGIC. @throws XenError ESRCH for an unknown domain */
  vgic(domid: number): Vgic {
    return this.domain(domid).vgic;
  }

  /** Injects a virtual IRQ into a domain (SPIs: into their routed vCPU, pass `vcpu` undefined). */
  injectVirq(domid: number, vcpu: number | undefined, virq: number, level = true): InjectResult {
    return this.domain(domid).vgic.inject(vcpu, virq, level);
  }

  /** Installs (or, with `undefined`, removes) the guest's handler for a virtual IRQ. */
  setGuestIrqHandler(domid: number, virq: number, handler: GuestIrqHandler | undefined): void {
    const d = this.domain(domid);
    if (handler) d.handlers.set(virq, handler);
    else d.handlers.delete(virq);
  }

  /** The guest EOIs a virtual IRQ whose handler returned `'deferred'`; the vCPU then takes what is pending. */
  guestEoi(domid: number, vcpu: number, virq: number): void {
    const d = this.domain(domid);
    this.completeIrq(d, vcpu, virq);
    if (this.runner) this.runner.raise(domid, vcpu);
    else this.takeInterrupts(d, vcpu);
  }

  /** Virtual IRQ the vCPU's guest is handling, or -1. */
  handlingIrq(domid: number, vcpu: number): number {
    return this.domain(domid).busy[vcpu] ?? -1;
  }

  /** A guest's trapped SGI-register write (SPEC §5.2). @returns 0 or -errno */
  guestSendSgi(domid: number, vcpu: number, sgi: number, mode: SgiTargetMode, targetList = 0): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    return d.vgic.sendSgi(vcpu, sgi, mode, targetList);
  }

  /** Brings a vCPU online/offline in its vGIC (offline vCPUs drop injections). */
  setVcpuOnline(domid: number, vcpu: number, online: boolean): void {
    this.domain(domid).vgic.setOnline(vcpu, online);
  }

  // --- physical IRQs ---------------------------------------------------------------------

  /** Records a physical SPI's trigger type (from the device tree). @returns 0 or -EINVAL */
  configureIrqType(irq: number, type: IrqType): number {
    if (irqClass(irq) !== 'spi' || !this.gic.isLine(irq)) return -Errno.EINVAL;
    this.descs[irq]!.type = type;
    this.gic.configure(irq, type === 'level');
    return 0;
  }

  /** Xen takes a physical SPI for itself (Xen's `request_irq`). @returns 0, -EINVAL or -EBUSY */
  requestXenIrq(irq: number, handler: (cpu: number, irq: number) => void): number {
    if (irqClass(irq) !== 'spi' || !this.gic.isLine(irq)) return -Errno.EINVAL;
    const desc = this.descs[irq]!;
    if (desc.xenHandler || desc.flags & IRQ_GUEST || this.xenarm?.isGuestBound(irq)) return -Errno.EBUSY;
    desc.xenHandler = handler;
    this.gic.enable(irq);
    return 0;
  }

  /**
   * Routes physical SPI `irq` to domain `domid` as virtual SPI `virq` (SPEC §5.2). Routing the
   * same pair again returns 0.
   * @returns 0; -ESRCH no such domain; -EINVAL virq < 32 or not a virtual SPI of the domain, or
   *   irq not an SPI; -EIO irq type not configured; -EBUSY irq used by Xen, owned by another
   *   domain or routed to another virq, or virq already routed from another irq
   */
  routeIrqToGuest(domid: number, virq: number, irq: number): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    if (!Number.isInteger(virq) || virq < NR_LOCAL_IRQS || !d.vgic.isValidVirq(virq)) return -Errno.EINVAL;
    if (irqClass(irq) !== 'spi' || !this.gic.isLine(irq)) return -Errno.EINVAL;
    const desc = this.descs[irq]!;
    if (desc.type === undefined) return -Errno.EIO;
    if (desc.xenHandler || this.xenarm?.isGuestBound(irq)) return -Errno.EBUSY;
    if (desc.flags & IRQ_GUEST) return desc.domid === domid && desc.virq === virq ? 0 : -Errno.EBUSY;
    if (d.routed.has(virq)) return -Errno.EBUSY;
    desc.flags = IRQ_GUEST;
    desc.domid = domid;
    desc.virq = virq;
    d.routed.set(virq, irq);
    const pcpu = this.scheduler?.processorOf(domid, d.vgic.spiTarget(virq)) ?? -1;
    this.gic.setTarget(irq, pcpu >= 0 ? pcpu : 0);
    this.gic.enable(irq);
    return 0;
  }

  /** Takes a routed SPI back from a guest. @returns 0, -ESRCH, or -EINVAL when `virq` is not routed */
  releaseIrqFromGuest(domid: number, virq: number): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    const irq = d.routed.get(virq);
    if (irq === undefined) return -Errno.EINVAL;
    d.routed.delete(virq);
    const desc = this.descs[irq]!;
    this.gic.disable(irq);
    if (desc.flags & IRQ_INPROGRESS) this.gic.deactivate(this.gic.targetOf(irq), irq);
    desc.flags = 0;
    desc.domid = -1;
    desc.virq = -1;
    return 0;
  }

  /** Descriptor flags (`IRQ_GUEST`, `IRQ_INPROGRESS`) of a physical SPI. */
  irqFlags(irq: number): number {
    return this.descs[irq]?.flags ?? 0;
  }

  /**
   * Maps a host LPI to a domain's virtual LPI on `vcpu` (the virtual ITS's MAPTI).
   * @returns 0; -ESRCH; -EINVAL not LPIs or no such vCPU; -EBUSY host LPI already mapped
   */
  mapHostLpi(hostLpi: number, domid: number, vcpu: number, vlpi: number): number {
    const d = this.domains.get(domid);
    if (!d) return -Errno.ESRCH;
    if (irqClass(hostLpi) !== 'lpi' || irqClass(vlpi) !== 'lpi') return -Errno.EINVAL;
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= d.info.nrVcpus) return -Errno.EINVAL;
    if (this.hostLpis.has(hostLpi)) return -Errno.EBUSY;
    this.hostLpis.set(hostLpi, { domid, vlpi });
    d.vgic.mapLpi(vlpi, vcpu);
    this.gic.configureLpi(hostLpi, { enabled: true, priority: GIC_PRI_IRQ, target: 0 });
    return 0;
  }

  // --- virtual timer -----------------------------------------------------------------------

  /**
   * The virtual-timer registers as the guest on `vcpu` sees them: the live registers of the
   * pCPU it runs on. @throws XenError when there is no clock or the vCPU is not running
   */
  guestTimer(domid: number, vcpu: number): GuestVirtualTimer {
    const p = this.pcpuOf(domid, vcpu);
    const timer = this.timers[p];
    if (!timer || p < 0) {
      throw new XenError('arch-arm vtimer', Errno.EAGAIN, `d${domid}v${vcpu} is not running on a pCPU with a timer`);
    }
    return timer;
  }

  /** A vCPU's saved virtual-timer context (meaningful while it is descheduled). */
  vtimerContext(domid: number, vcpu: number): Readonly<VtimerContext> {
    const ctx = this.domain(domid).timers[vcpu];
    if (!ctx) throw new XenError('arch-arm vtimer', Errno.ENOENT, `no vCPU ${vcpu} in d${domid}`);
    return ctx;
  }

  /** The physical CPU's timer (hypervisor view). */
  physicalTimer(pcpu: number): GenericTimer | undefined {
    return this.timers[pcpu];
  }

  // --- internals -------------------------------------------------------------------------

  private domain(domid: number): ArmDomain {
    const d = this.domains.get(domid);
    if (!d) throw new XenError('arch-arm', Errno.ESRCH, `no domain ${domid}`);
    return d;
  }

  private current(pcpu: number): VcpuRef | undefined {
    return this.scheduler?.current(pcpu);
  }

  /** pCPU of a vCPU; without a scheduler vCPU n sits on pCPU n mod nrPcpus. */
  private pcpuOf(domid: number, vcpu: number): number {
    if (this.scheduler) return this.scheduler.processorOf(domid, vcpu);
    return vcpu % this.nrPcpus;
  }

  private isRunning(domid: number, vcpu: number): boolean {
    return !this.scheduler || this.scheduler.processorOf(domid, vcpu) >= 0;
  }

  private kickVcpu(domid: number, vcpu: number): void {
    const d = this.domains.get(domid);
    if (!d) return;
    if (this.runner) {
      // The runner enters the vCPU when it runs (kicking the scheduler if it is not running).
      this.runner.raise(domid, vcpu);
      return;
    }
    if (this.isRunning(domid, vcpu)) this.takeInterrupts(d, vcpu);
    else this.scheduler?.kick(domid, vcpu);
  }

  /** The running vCPU takes its deliverable virtual IRQs, one handler at a time. */
  private takeInterrupts(d: ArmDomain, vcpu: number): void {
    if (d.looping[vcpu] || !this.isRunning(d.info.id, vcpu)) return;
    d.looping[vcpu] = 1;
    try {
      while (d.busy[vcpu] === -1 && this.isRunning(d.info.id, vcpu) && d.vgic.hasDeliverable(vcpu)) this.takeOne(d, vcpu);
    } finally {
      d.looping[vcpu] = 0;
    }
  }

  /**
   * The runner's entry: the vCPU takes one deliverable virtual IRQ and runs its handler, or
   * continues the event upcall that yielded (PPI 31 stays active meanwhile).
   * @returns false when the upcall yielded
   */
  private takeOne(d: ArmDomain, vcpu: number): boolean {
    if (d.suspended[vcpu] === 1) {
      if (d.sink.upcall(vcpu) === false) return false;
      d.suspended[vcpu] = 0;
      this.completeIrq(d, vcpu, d.evtchnPpi);
      return true;
    }
    if (d.busy[vcpu] !== -1) return true;
    const virq = d.vgic.ack(vcpu);
    if (virq === GIC_SPURIOUS) return true;
    d.busy[vcpu] = virq;
    const handler = d.handlers.get(virq);
    if (handler) {
      if (handler(vcpu, virq) !== 'deferred') this.completeIrq(d, vcpu, virq);
      return true;
    }
    if (virq === d.evtchnPpi && d.sink.upcall(vcpu) === false) {
      d.suspended[vcpu] = 1;
      return false;
    }
    this.completeIrq(d, vcpu, virq);
    return true;
  }

  private completeIrq(d: ArmDomain, vcpu: number, virq: number): void {
    if (d.busy[vcpu] === virq) d.busy[vcpu] = -1;
    d.vgic.eoi(vcpu, virq);
  }

  private deactivateHw(domid: number, vcpu: number, hw: number): void {
    if (hw < NR_LOCAL_IRQS) {
      // Banked: the deactivation lands on the CPU the vCPU is running on now.
      const p = this.pcpuOf(domid, vcpu);
      if (p >= 0) this.gic.deactivate(p, hw);
      return;
    }
    const desc = this.descs[hw];
    if (!desc) return;
    desc.flags &= ~IRQ_INPROGRESS;
    this.gic.deactivate(this.gic.targetOf(hw), hw);
  }

  /** Xen's IRQ entry on a pCPU: acknowledge until spurious. */
  private onPhysicalIrq(cpu: number): void {
    for (;;) {
      const irq = this.gic.acknowledge(cpu);
      if (irq === GIC_SPURIOUS) return;
      this.gic.eoi(cpu, irq);
      if (irq >= LPI_BASE) {
        const m = this.hostLpis.get(irq);
        if (m) this.domains.get(m.domid)?.vgic.injectLpi(m.vlpi);
        continue;
      }
      if (irq === PPI_VIRT_TIMER && this.strategy) {
        if (this.strategy.physicalIrq(cpu, this.timers[cpu]!)) this.gic.deactivate(cpu, irq);
        continue;
      }
      const desc = this.descs[irq]!;
      if (desc.flags & IRQ_GUEST) {
        desc.flags |= IRQ_INPROGRESS;
        this.domains.get(desc.domid)?.vgic.inject(undefined, desc.virq, true, irq);
        continue;
      }
      if (this.xenarm?.isGuestBound(irq)) {
        this.xenarm.handleIrq(cpu, irq);
        continue;
      }
      desc.xenHandler?.(cpu, irq);
      this.gic.deactivate(cpu, irq);
    }
  }

  private contextSwitch(pcpu: number, prev: VcpuRef | undefined, next: VcpuRef | undefined): void {
    this.gic.maskCpu(pcpu);
    const timer = this.timers[pcpu];
    if (this.strategy && timer) {
      const pctx = prev && this.domains.get(prev.domid)?.timers[prev.vcpu];
      if (prev && pctx) this.strategy.save(pcpu, timer, prev, pctx);
      const nctx = next && this.domains.get(next.domid)?.timers[next.vcpu];
      if (next && nctx) this.strategy.restore(pcpu, timer, next, nctx);
    }
    this.gic.unmaskCpu(pcpu);
    const d = next && this.domains.get(next.domid);
    if (!next || !d) return;
    if (this.runner) {
      if (d.vgic.hasDeliverable(next.vcpu)) this.runner.raise(next.domid, next.vcpu);
    } else {
      this.takeInterrupts(d, next.vcpu);
    }
  }
}

/**
 * The Arm architecture plugin. The platform's `Clock` and `Scheduler` are taken from the
 * container when registered there and not given in `options`.
 */
export function archArm(options: ArchArmOptions = {}): Plugin<'arch'> {
  return {
    name: 'arch-arm',
    kind: 'arch',
    apiVersion: PLUGIN_API_VERSION,
    register(c: DependencyContainer) {
      c.register(ArchitectureToken, {
        useFactory: instanceCachingFactory((dc) => {
          const clock = options.clock ?? (dc.isRegistered(ClockToken, true) ? dc.resolve<Clock>(ClockToken) : undefined);
          const scheduler =
            options.scheduler ??
            (dc.isRegistered(SchedulerToken, true) ? dc.resolve<Scheduler>(SchedulerToken) : undefined);
          const runner = options.runner ?? (dc.isRegistered(VcpuRunnerToken, true) ? dc.resolve<VcpuRunner>(VcpuRunnerToken) : undefined);
          return new ArmArchitecture({ ...options, clock, scheduler, runner });
        }),
      });
    },
  };
}
