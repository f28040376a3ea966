/*
 * Models the Arm Generic Interrupt Controller as the GIC architecture specification describes
 * it (Arm IHI 0048 GICv2, IHI 0069 GICv3/v4): interrupt IDs and classes, the distributor's
 * enable/pending/active/priority state per interrupt, per-CPU banking of SGIs and PPIs, one
 * target CPU per SPI, LPIs (edge, no active state), and each CPU interface's acknowledge,
 * priority drop and deactivate. Xen runs the CPU interface with EOImode = 1 (priority drop and
 * deactivation split, xen/arch/arm/gic.c), which is what lets a guest's EOI deactivate a
 * physical interrupt later.
 */
import { XenError } from '@evtchn/core';

/** First SGI (software-generated interrupt, inter-processor). */
export const SGI_BASE = 0;
/** First PPI (private peripheral interrupt, banked per CPU). */
export const PPI_BASE = 16;
/** First SPI (shared peripheral interrupt). */
export const SPI_BASE = 32;
/** Number of banked (per-CPU) interrupt IDs: SGIs and PPIs. */
export const NR_LOCAL_IRQS = 32;
/** First special interrupt ID. */
export const SPECIAL_BASE = 1020;
/** The ID an acknowledge returns when nothing can be taken. */
export const GIC_SPURIOUS = 1023;
/** First extended SPI (GICv3.1). */
export const ESPI_BASE = 4096;
/** Last extended SPI. */
export const ESPI_LAST = 5119;
/** First LPI (message-based, GICv3 ITS). */
export const LPI_BASE = 8192;
/** Xen's `NR_IRQS` on Arm: the IDs below it have an `irq_desc`. */
export const XEN_NR_IRQS = 1024;

/** Guest-visible PPI of the EL1 virtual timer. */
export const PPI_VIRT_TIMER = 27;
/** Guest-visible PPI of the secure physical timer. */
export const PPI_SECURE_PHYS_TIMER = 29;
/** Guest-visible PPI of the non-secure physical timer. */
export const PPI_PHYS_TIMER = 30;
/** The PPI Xen gives a domU for the event-channel upcall (`GUEST_EVTCHN_PPI`). */
export const PPI_EVTCHN_UPCALL = 31;

/**
 * PPIs the hardware domain owns before Xen picks its event PPI: the host's timer PPIs that
 * vtimer.c reserves for it with `vgic_reserve_virq` (virtual, secure and non-secure physical
 * timer). Xen's own PPIs (hypervisor timer 26, GIC maintenance 25) are never the guest's.
 */
export const HWDOM_RESERVED_PPIS: readonly number[] = [PPI_VIRT_TIMER, PPI_SECURE_PHYS_TIMER, PPI_PHYS_TIMER];

/**
 * The hardware domain's event-channel PPI: the first PPI not already reserved for it, as Xen's
 * `evtchn_allocate` (xen/arch/arm/domain_build.c) does with `vgic_allocate_ppi` once every PPI
 * of the domain is registered ("Allocating PPI 16 for event channel interrupt" on a typical
 * board).
 * @param reserved - PPIs the domain already uses (default {@link HWDOM_RESERVED_PPIS})
 * @returns the PPI, or -1 when all 16 are taken (Xen panics there)
 */
export function allocateHwdomEvtchnPpi(reserved: readonly number[] = HWDOM_RESERVED_PPIS): number {
  for (let ppi = PPI_BASE; ppi < NR_LOCAL_IRQS; ppi++) if (!reserved.includes(ppi)) return ppi;
  return -1;
}

/** Highest priority Xen uses (lower value = more urgent). */
export const GIC_PRI_HIGHEST = 0x80;
/** Priority of Xen's IPIs (SGIs). */
export const GIC_PRI_IPI = 0x90;
/** Default interrupt priority (Xen's `GIC_PRI_IRQ`; Linux's `GICD_INT_DEF_PRI`). */
export const GIC_PRI_IRQ = 0xa0;
/** Lowest priority Xen uses. */
export const GIC_PRI_LOWEST = 0xf0;
/** Running priority of a CPU interface with nothing active (nothing preempts at or below it). */
export const GIC_PRI_IDLE = 0x100;

/** Distributor state bit: the interrupt is enabled (forwarded to CPU interfaces). */
export const GICD_ENABLED = 1 << 0;
/** State bit: pending latch (an edge, an SGI, or a write to ISPENDR). */
export const GICD_PENDING = 1 << 1;
/** State bit: active (acknowledged, not yet deactivated). */
export const GICD_ACTIVE = 1 << 2;
/** State bit: the input line is asserted (level-sensitive interrupts are pending while it is). */
export const GICD_LINE = 1 << 3;
/** Configuration bit: level-sensitive (clear = edge-triggered). */
export const GICD_LEVEL = 1 << 4;

/** The class of an interrupt ID. */
export type IrqClass = 'sgi' | 'ppi' | 'spi' | 'special' | 'espi' | 'lpi' | 'reserved';

/** Class of an interrupt ID (GIC architecture's ID map, SPEC §5.1). */
export function irqClass(id: number): IrqClass {
  if (!Number.isInteger(id) || id < 0) return 'reserved';
  if (id < PPI_BASE) return 'sgi';
  if (id < SPI_BASE) return 'ppi';
  if (id < SPECIAL_BASE) return 'spi';
  if (id < 1024) return 'special';
  if (id >= ESPI_BASE && id <= ESPI_LAST) return 'espi';
  if (id >= LPI_BASE) return 'lpi';
  return 'reserved';
}

/** SGI target filter of a software-generated interrupt (GICD_SGIR / ICC_SGI1R). */
export type SgiTargetMode = 'list' | 'others' | 'self';

/** Options of a {@link Gic}. */
export interface GicOptions {
  /** Number of CPU interfaces (physical CPUs). */
  readonly nrCpus: number;
  /** Number of interrupt lines including the 32 local ones (GICD_TYPER.ITLinesNumber); max 1020. Default 1020. */
  readonly nrLines?: number;
}

/** Snapshot of a {@link Gic} (v86-style `getState`). */
export interface GicState {
  /** Per-interrupt state bits: the CPUs' banks of 32, then the SPIs. */
  readonly state: number[];
  /** Per-interrupt priority, same layout. */
  readonly priority: number[];
  /** SPI target CPUs. */
  readonly target: number[];
  /** Per-CPU stacks of acknowledged, not yet priority-dropped interrupts. */
  readonly activeStack: number[][];
  /** LPIs: `[id, state, priority, target]`. */
  readonly lpis: [number, number, number, number][];
  /** Per-CPU IRQ mask (PSTATE.I as the model keeps it); absent in older snapshots. */
  readonly masked?: number[];
  /** Per-CPU acknowledge counts; absent in older snapshots. */
  readonly acks?: number[];
}

interface Lpi {
  state: number;
  priority: number;
  target: number;
}

/**
 * Physical GIC: distributor plus one CPU interface per CPU. When an enabled, pending, inactive
 * interrupt has higher priority than a CPU's running priority, the CPU takes an IRQ: the
 * handler set with {@link Gic.setCpuHandler} runs (not nested; unless the CPU is masked).
 */
export class Gic {
  /** Number of CPU interfaces. */
  readonly nrCpus: number;
  /** Number of interrupt lines (32 local + SPIs). */
  readonly nrLines: number;
  private readonly state: Uint8Array;
  private readonly priority: Uint8Array;
  private readonly target: Int16Array;
  private readonly lpis = new Map<number, Lpi>();
  private readonly activeStack: number[][];
  private readonly masked: Uint8Array;
  private readonly inHandler: Uint8Array;
  private readonly acks: Uint32Array;
  private handler: ((cpu: number) => void) | undefined;

  /** @param options - CPU and line counts */
  constructor(options: GicOptions) {
    const nrLines = options.nrLines ?? SPECIAL_BASE;
    if (!Number.isInteger(options.nrCpus) || options.nrCpus < 1) {
      throw new XenError('gic', 22, `nrCpus must be an integer >= 1, got ${options.nrCpus}`);
    }
    if (!Number.isInteger(nrLines) || nrLines < SPI_BASE || nrLines > SPECIAL_BASE) {
      throw new XenError('gic', 22, `nrLines must be in 32..1020, got ${nrLines}`);
    }
    this.nrCpus = options.nrCpus;
    this.nrLines = nrLines;
    const size = this.nrCpus * NR_LOCAL_IRQS + (nrLines - SPI_BASE);
    this.state = new Uint8Array(size);
    this.priority = new Uint8Array(size).fill(GIC_PRI_IRQ);
    this.target = new Int16Array(nrLines - SPI_BASE);
    this.activeStack = Array.from({ length: this.nrCpus }, () => []);
    this.masked = new Uint8Array(this.nrCpus);
    this.inHandler = new Uint8Array(this.nrCpus);
    this.acks = new Uint32Array(this.nrCpus);
    // Timer PPIs are level-sensitive by architecture; SGIs are edge.
    for (let c = 0; c < this.nrCpus; c++) {
      for (const ppi of [PPI_VIRT_TIMER, PPI_SECURE_PHYS_TIMER, PPI_PHYS_TIMER, 26]) {
        this.state[c * NR_LOCAL_IRQS + ppi]! |= GICD_LEVEL;
      }
    }
  }

  /** Sets the function called when a CPU takes an IRQ exception (the hypervisor's entry). */
  setCpuHandler(handler: ((cpu: number) => void) | undefined): void {
    this.handler = handler;
  }

  /** Whether `id` names an SGI/PPI/SPI of this GIC. */
  isLine(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.nrLines;
  }

  // --- distributor -----------------------------------------------------------------------

  /** Enables an interrupt (GICD_ISENABLER; banked for SGIs/PPIs, so `cpu` is needed there). */
  enable(id: number, cpu = 0): void {
    this.update(id, cpu, GICD_ENABLED, 0);
  }

  /** Disables an interrupt (GICD_ICENABLER). */
  disable(id: number, cpu = 0): void {
    this.update(id, cpu, 0, GICD_ENABLED);
  }

  /** Sets the pending latch (GICD_ISPENDR). */
  setPending(id: number, cpu = 0): void {
    this.update(id, cpu, GICD_PENDING, 0);
  }

  /** Clears the pending latch (GICD_ICPENDR); a level interrupt stays pending while its line is high. */
  clearPending(id: number, cpu = 0): void {
    this.update(id, cpu, 0, GICD_PENDING);
  }

  /** Sets the active state (GICD_ISACTIVER), as a hypervisor restoring saved state does. */
  setActive(id: number, cpu = 0): void {
    this.update(id, cpu, GICD_ACTIVE, 0);
  }

  /** Clears the active state (GICD_ICACTIVER). */
  clearActive(id: number, cpu = 0): void {
    this.update(id, cpu, 0, GICD_ACTIVE);
  }

  /** Drives an interrupt's input line: level-sensitive interrupts follow it; an edge latches pending on assertion. */
  setLine(id: number, asserted: boolean, cpu = 0): void {
    const i = this.index(id, cpu);
    const s = this.state[i]!;
    if (asserted) {
      if (s & GICD_LINE) return;
      this.state[i] = s | GICD_LINE | (s & GICD_LEVEL ? 0 : GICD_PENDING);
    } else {
      if (!(s & GICD_LINE)) return;
      this.state[i] = s & ~GICD_LINE;
    }
    this.signalFor(id, cpu);
  }

  /** Configures edge (`false`) or level (`true`) triggering (GICD_ICFGR). */
  configure(id: number, level: boolean, cpu = 0): void {
    if (level) this.update(id, cpu, GICD_LEVEL, 0);
    else this.update(id, cpu, 0, GICD_LEVEL);
  }

  /** Sets an interrupt's priority (GICD_IPRIORITYR, 0..255). */
  setPriority(id: number, priority: number, cpu = 0): void {
    if (irqClass(id) === 'lpi') {
      this.lpi(id).priority = priority & 0xff;
    } else {
      this.priority[this.index(id, cpu)] = priority & 0xff;
    }
    this.signalFor(id, cpu);
  }

  /** An interrupt's priority. */
  priorityOf(id: number, cpu = 0): number {
    if (irqClass(id) === 'lpi') return this.lpi(id).priority;
    return this.priority[this.index(id, cpu)]!;
  }

  /** Routes an SPI (or LPI, via its ITS collection) to one CPU (GICD_ITARGETSR / GICD_IROUTER). */
  setTarget(id: number, cpu: number): void {
    this.checkCpu(cpu);
    if (irqClass(id) === 'lpi') {
      this.lpi(id).target = cpu;
    } else {
      if (irqClass(id) !== 'spi' || id >= this.nrLines) throw new XenError('gic', 22, `${id} is not an SPI`);
      const old = this.target[id - SPI_BASE]!;
      this.target[id - SPI_BASE] = cpu;
      this.signal(old);
    }
    this.signal(cpu);
  }

  /** The CPU an SPI or LPI is routed to. */
  targetOf(id: number): number {
    if (irqClass(id) === 'lpi') return this.lpi(id).target;
    if (irqClass(id) !== 'spi' || id >= this.nrLines) throw new XenError('gic', 22, `${id} is not an SPI`);
    return this.target[id - SPI_BASE]!;
  }

  /** Raw state bits (`GICD_*`) of an interrupt. */
  stateOf(id: number, cpu = 0): number {
    if (irqClass(id) === 'lpi') return this.lpis.get(id)?.state ?? 0;
    return this.state[this.index(id, cpu)]!;
  }

  /** Whether an interrupt is pending (latch, or line high for a level-sensitive one). */
  isPending(id: number, cpu = 0): boolean {
    return pendingOf(this.stateOf(id, cpu));
  }

  /** Whether an interrupt is active. */
  isActive(id: number, cpu = 0): boolean {
    return (this.stateOf(id, cpu) & GICD_ACTIVE) !== 0;
  }

  /** Sends an SGI from `fromCpu` (GICD_SGIR): to the CPUs in `targetList` (bit n = CPU n), all others, or itself. */
  sendSgi(fromCpu: number, sgi: number, mode: SgiTargetMode, targetList = 0): void {
    this.checkCpu(fromCpu);
    if (irqClass(sgi) !== 'sgi') throw new XenError('gic', 22, `${sgi} is not an SGI`);
    for (let c = 0; c < this.nrCpus; c++) {
      const hit = mode === 'self' ? c === fromCpu : mode === 'others' ? c !== fromCpu : ((targetList >>> c) & 1) === 1;
      if (!hit) continue;
      this.state[c * NR_LOCAL_IRQS + sgi]! |= GICD_PENDING;
    }
    for (let c = 0; c < this.nrCpus; c++) this.signal(c);
  }

  /** Configures an LPI (its property-table entry: enabled, priority; and its target collection). */
  configureLpi(id: number, opts: { enabled?: boolean; priority?: number; target?: number } = {}): void {
    if (irqClass(id) !== 'lpi') throw new XenError('gic', 22, `${id} is not an LPI`);
    const target = opts.target ?? 0;
    this.checkCpu(target);
    const l = this.lpis.get(id) ?? { state: 0, priority: GIC_PRI_IRQ, target: 0 };
    l.state = (l.state & ~GICD_ENABLED) | (opts.enabled === false ? 0 : GICD_ENABLED);
    l.priority = (opts.priority ?? l.priority) & 0xff;
    l.target = target;
    this.lpis.set(id, l);
    this.signal(target);
  }

  /** An LPI arrives (an ITS translated a device write); unconfigured LPIs are dropped. */
  raiseLpi(id: number): void {
    const l = this.lpis.get(id);
    if (!l) return;
    l.state |= GICD_PENDING;
    this.signal(l.target);
  }

  // --- CPU interface -----------------------------------------------------------------------

  /** Running priority of a CPU (GICC_RPR; {@link GIC_PRI_IDLE} when nothing is active). */
  runningPriority(cpu: number): number {
    const stack = this.activeStack[cpu]!;
    let rp = GIC_PRI_IDLE;
    for (const id of stack) rp = Math.min(rp, this.priorityOf(id, cpu));
    return rp;
  }

  /** The interrupt a CPU would take now, or {@link GIC_SPURIOUS} (GICC_HPPIR filtered by the running priority). */
  highestPending(cpu: number): number {
    const rp = this.runningPriority(cpu);
    let best = GIC_SPURIOUS;
    let bestPri = rp;
    const base = cpu * NR_LOCAL_IRQS;
    for (let id = 0; id < NR_LOCAL_IRQS; id++) {
      const s = this.state[base + id]!;
      if (deliverable(s) && this.priority[base + id]! < bestPri) {
        best = id;
        bestPri = this.priority[base + id]!;
      }
    }
    const spiBase = this.nrCpus * NR_LOCAL_IRQS;
    for (let id = SPI_BASE; id < this.nrLines; id++) {
      const i = spiBase + id - SPI_BASE;
      if (this.target[id - SPI_BASE] !== cpu) continue;
      if (deliverable(this.state[i]!) && this.priority[i]! < bestPri) {
        best = id;
        bestPri = this.priority[i]!;
      }
    }
    for (const [id, l] of this.lpis) {
      if (l.target === cpu && deliverable(l.state) && l.priority < bestPri) {
        best = id;
        bestPri = l.priority;
      }
    }
    return best;
  }

  /**
   * Acknowledges the highest-priority deliverable interrupt (GICC_IAR): it becomes active (LPIs
   * have no active state) and its priority becomes the running priority.
   * @returns the interrupt ID, or {@link GIC_SPURIOUS}
   */
  acknowledge(cpu: number): number {
    this.checkCpu(cpu);
    const id = this.highestPending(cpu);
    if (id === GIC_SPURIOUS) return id;
    this.acks[cpu]!++;
    if (id >= LPI_BASE) {
      this.lpi(id).state &= ~GICD_PENDING;
    } else {
      const i = this.index(id, cpu);
      this.state[i] = (this.state[i]! & ~GICD_PENDING) | GICD_ACTIVE;
    }
    this.activeStack[cpu]!.push(id);
    return id;
  }

  /** Priority drop (GICC_EOIR with EOImode 1): the interrupt stays active until {@link Gic.deactivate}. */
  eoi(cpu: number, id: number): void {
    this.checkCpu(cpu);
    const stack = this.activeStack[cpu]!;
    const at = stack.lastIndexOf(id);
    if (at >= 0) stack.splice(at, 1);
    this.signal(cpu);
  }

  /** Deactivation (GICC_DIR), on `cpu`'s bank for SGIs/PPIs; deactivating an inactive interrupt does nothing. */
  deactivate(cpu: number, id: number): void {
    if (id >= LPI_BASE) return;
    this.clearActive(id, cpu);
  }

  /** Masks IRQs on a CPU (PSTATE.I set, e.g. around a context switch). */
  maskCpu(cpu: number): void {
    this.masked[cpu] = 1;
  }

  /** Unmasks IRQs on a CPU; anything deliverable is taken now. */
  unmaskCpu(cpu: number): void {
    this.masked[cpu] = 0;
    this.signal(cpu);
  }

  /** Snapshot of the whole GIC. */
  getState(): GicState {
    return {
      state: Array.from(this.state),
      priority: Array.from(this.priority),
      target: Array.from(this.target),
      activeStack: this.activeStack.map((s) => s.slice()),
      lpis: [...this.lpis].map(([id, l]) => [id, l.state, l.priority, l.target]),
      masked: Array.from(this.masked),
      acks: Array.from(this.acks),
    };
  }

  /** Restores a snapshot taken from a GIC of the same size. */
  setState(s: GicState): void {
    if (s.state.length !== this.state.length || s.target.length !== this.target.length) {
      throw new XenError('gic', 22, 'state snapshot is from a GIC of another size');
    }
    this.state.set(s.state);
    this.priority.set(s.priority);
    this.target.set(s.target);
    s.activeStack.forEach((st, c) => (this.activeStack[c] = st.slice()));
    this.lpis.clear();
    for (const [id, state, priority, target] of s.lpis) this.lpis.set(id, { state, priority, target });
    if (s.masked) this.masked.set(s.masked);
    if (s.acks) this.acks.set(s.acks);
  }

  private update(id: number, cpu: number, set: number, clear: number): void {
    if (irqClass(id) === 'lpi') {
      const l = this.lpi(id);
      l.state = (l.state & ~clear) | set;
      this.signal(l.target);
      return;
    }
    const i = this.index(id, cpu);
    this.state[i] = (this.state[i]! & ~clear) | set;
    this.signalFor(id, cpu);
  }

  private lpi(id: number): Lpi {
    const l = this.lpis.get(id);
    if (!l) throw new XenError('gic', 22, `LPI ${id} is not configured`);
    return l;
  }

  private index(id: number, cpu: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.nrLines) {
      throw new XenError('gic', 22, `interrupt ${id} is not a line of this GIC (0..${this.nrLines - 1})`);
    }
    if (id < NR_LOCAL_IRQS) {
      this.checkCpu(cpu);
      return cpu * NR_LOCAL_IRQS + id;
    }
    return this.nrCpus * NR_LOCAL_IRQS + id - SPI_BASE;
  }

  private checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) {
      throw new XenError('gic', 22, `CPU ${cpu} out of range (0..${this.nrCpus - 1})`);
    }
  }

  private signalFor(id: number, cpu: number): void {
    this.signal(id < NR_LOCAL_IRQS ? cpu : this.target[id - SPI_BASE]!);
  }

  /** Takes IRQs on `cpu` while it has something deliverable, is unmasked and not already in the handler. */
  private signal(cpu: number): void {
    const handler = this.handler;
    if (!handler || this.masked[cpu] || this.inHandler[cpu]) return;
    while (!this.masked[cpu] && this.highestPending(cpu) !== GIC_SPURIOUS) {
      this.inHandler[cpu] = 1;
      const before = this.acks[cpu]!;
      try {
        handler(cpu);
      } finally {
        this.inHandler[cpu] = 0;
      }
      // A handler that acknowledged nothing would spin forever: leave the IRQ signalled.
      if (this.acks[cpu] === before) break;
    }
  }
}

function pendingOf(s: number): boolean {
  return (s & GICD_PENDING) !== 0 || ((s & GICD_LEVEL) !== 0 && (s & GICD_LINE) !== 0);
}

function deliverable(s: number): boolean {
  return (s & GICD_ENABLED) !== 0 && (s & GICD_ACTIVE) === 0 && pendingOf(s);
}
