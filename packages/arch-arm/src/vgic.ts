/*
 * Models Xen's virtual GIC for one domain (xen/arch/arm/vgic.c, gic.c, gic-vgic.c; Arm IHI 0069
 * "GIC virtualization", list registers): per-vCPU banks of SGIs/PPIs, shared SPIs with a target
 * vCPU, LPIs, the per-vCPU in-flight list ordered by priority, a configurable number of list
 * registers (LRs), and the guest's view of its CPU interface (acknowledge, EOI with EOImode 0).
 * An in-flight interrupt that has no LR waits in the in-flight list and is loaded when an LR
 * frees; a higher-priority one may evict a pending-only lower-priority LR entry. An LR entry with
 * the HW bit deactivates its physical interrupt when the guest EOIs the virtual one.
 */
import {
  Errno,
  XenError,
  readArray,
  readBool,
  readInt,
  readObject,
  snapshotPath as at,
  SnapshotError,
  type JsonValue,
} from '@evtchn/core';
import {
  GIC_PRI_IDLE,
  GIC_PRI_IRQ,
  GIC_SPURIOUS,
  LPI_BASE,
  NR_LOCAL_IRQS,
  SPECIAL_BASE,
  SPI_BASE,
  irqClass,
  type SgiTargetMode,
} from './gic.js';

/** Virtual IRQ state bit: pending in the guest's view. */
export const VIRQ_PENDING = 1 << 0;
/** Virtual IRQ state bit: active (acknowledged by the guest, not yet EOIed). */
export const VIRQ_ACTIVE = 1 << 1;
/** Virtual IRQ state bit: enabled by the guest (GICD_ISENABLER of the virtual distributor). */
export const VIRQ_ENABLED = 1 << 2;
/** Virtual IRQ state bit: on the vCPU's in-flight list. */
export const VIRQ_INFLIGHT = 1 << 3;

/** What {@link Vgic.inject} did (SPEC §5.2 injection rules). */
export type InjectResult =
  /** `level = false`: ignored. */
  | 'ignored'
  /** The vCPU is offline: dropped. */
  | 'dropped'
  /** Already in flight: its pending state was raised again. */
  | 'raised-again'
  /** Added to the in-flight list and loaded into a list register. */
  | 'listed'
  /** Added to the in-flight list without a list register (all busy, or the IRQ is disabled). */
  | 'queued';

/** What a vGIC asks of its owner. */
export interface VgicHost {
  /** An interrupt was made pending for `vcpu`: let it run and take it (Xen's `vcpu_kick`). */
  kick(vcpu: number): void;
  /** The guest EOIed a virtual IRQ whose LR had the HW bit: deactivate physical `hwIrq`. */
  deactivateHw(vcpu: number, hwIrq: number): void;
}

/** Options of a {@link Vgic}. */
export interface VgicOptions {
  /** Number of vCPUs. */
  readonly nrVcpus: number;
  /** Number of virtual SPIs (default 64). */
  readonly nrSpis?: number;
  /** Number of list registers per vCPU (default 4; GICv2 has up to 64, GICv3 up to 16). */
  readonly nrLrs?: number;
}

/** A list register as the guest's hypervisor sees it. */
export interface ListRegisterView {
  /** Virtual interrupt ID. */
  readonly virq: number;
  /** Pending and/or active. */
  readonly pending: boolean;
  /** Active. */
  readonly active: boolean;
  /** Physical interrupt deactivated by the guest's EOI, or -1. */
  readonly hw: number;
  /** Priority. */
  readonly priority: number;
}

interface Entry {
  readonly virq: number;
  vcpu: number;
  priority: number;
  state: number;
  lr: number;
  hw: number;
}

interface VcpuState {
  online: boolean;
  readonly inflight: Entry[];
  readonly lrs: (Entry | undefined)[];
  readonly active: Entry[];
}

/** One domain's virtual GIC (see the module comment). */
export class Vgic {
  /** Number of vCPUs. */
  readonly nrVcpus: number;
  /** Number of virtual SPIs. */
  readonly nrSpis: number;
  /** List registers per vCPU. */
  readonly nrLrs: number;
  private readonly host: VgicHost;
  private readonly local: Entry[];
  private readonly spis: Entry[];
  private readonly lpis = new Map<number, Entry>();
  private readonly vcpus: VcpuState[];

  /**
   * @param options - vCPU, SPI and list-register counts
   * @param host - kick and HW deactivation
   */
  constructor(options: VgicOptions, host: VgicHost) {
    this.nrVcpus = options.nrVcpus;
    this.nrSpis = options.nrSpis ?? 64;
    this.nrLrs = options.nrLrs ?? 4;
    if (!Number.isInteger(this.nrLrs) || this.nrLrs < 1 || this.nrLrs > 64) {
      throw new XenError('vgic', Errno.EINVAL, `listRegisters must be in 1..64, got ${this.nrLrs}`);
    }
    if (!Number.isInteger(this.nrSpis) || this.nrSpis < 0 || SPI_BASE + this.nrSpis > SPECIAL_BASE) {
      throw new XenError('vgic', Errno.EINVAL, `nrSpis must be in 0..${SPECIAL_BASE - SPI_BASE}, got ${this.nrSpis}`);
    }
    this.host = host;
    this.local = [];
    for (let v = 0; v < this.nrVcpus; v++) {
      for (let i = 0; i < NR_LOCAL_IRQS; i++) {
        // The guest kernel enables its SGIs and PPIs at boot; SPIs start disabled.
        this.local.push({ virq: i, vcpu: v, priority: GIC_PRI_IRQ, state: VIRQ_ENABLED, lr: -1, hw: -1 });
      }
    }
    this.spis = [];
    for (let i = 0; i < this.nrSpis; i++) {
      this.spis.push({ virq: SPI_BASE + i, vcpu: 0, priority: GIC_PRI_IRQ, state: 0, lr: -1, hw: -1 });
    }
    this.vcpus = Array.from({ length: this.nrVcpus }, () => ({
      online: true,
      inflight: [],
      lrs: new Array<Entry | undefined>(this.nrLrs).fill(undefined),
      active: [],
    }));
  }

  /**
   * The vGIC's state as JSON: every virtual IRQ's entry (target, priority, state bits, list
   * register, linked physical IRQ) and per vCPU its in-flight queue, list registers and active
   * list, naming entries by `[vcpu, virq]` (SGI/PPI) or `virq` (SPI/LPI).
   */
  getState(): JsonValue {
    const key = (e: Entry | undefined): JsonValue => (e === undefined ? null : e.virq < SPI_BASE ? [e.vcpu, e.virq] : e.virq);
    const row = (e: Entry): JsonValue => [e.vcpu, e.priority, e.state, e.lr, e.hw];
    return {
      local: this.local.map(row),
      spis: this.spis.map(row),
      lpis: [...this.lpis.values()].map((e) => [e.virq, ...(row(e) as number[])]),
      vcpus: this.vcpus.map((v) => ({ online: v.online, inflight: v.inflight.map(key), lrs: v.lrs.map(key), active: v.active.map(key) })),
    };
  }

  /** Restores {@link Vgic.getState} into a vGIC of the same size; `path` names it in errors. */
  setState(state: JsonValue, path = 'vgic'): void {
    const o = readObject(state, path);
    const setRow = (e: Entry, v: JsonValue, p: string, offset = 0): void => {
      const r = readArray(v, p, 5 + offset);
      e.vcpu = readInt(r[offset], at(p, offset), 0, this.nrVcpus - 1);
      e.priority = readInt(r[offset + 1], at(p, offset + 1), 0, 0xff);
      e.state = readInt(r[offset + 2], at(p, offset + 2), 0, 0xff);
      e.lr = readInt(r[offset + 3], at(p, offset + 3), -1, this.nrLrs - 1);
      e.hw = readInt(r[offset + 4], at(p, offset + 4), -1, 0xffff);
    };
    readArray(o.local, at(path, 'local'), this.local.length).forEach((v, i) => setRow(this.local[i]!, v, at(at(path, 'local'), i)));
    readArray(o.spis, at(path, 'spis'), this.spis.length).forEach((v, i) => setRow(this.spis[i]!, v, at(at(path, 'spis'), i)));
    this.lpis.clear();
    readArray(o.lpis, at(path, 'lpis')).forEach((v, i) => {
      const p = at(at(path, 'lpis'), i);
      const virq = readInt(readArray(v, p)[0], at(p, 0), SPI_BASE);
      const e: Entry = { virq, vcpu: 0, priority: GIC_PRI_IRQ, state: 0, lr: -1, hw: -1 };
      setRow(e, v, p, 1);
      this.lpis.set(virq, e);
    });
    const find = (k: JsonValue, p: string): Entry => {
      if (Array.isArray(k)) {
        const pair = readArray(k, p, 2);
        const v = readInt(pair[0], at(p, 0), 0, this.nrVcpus - 1);
        return this.local[v * NR_LOCAL_IRQS + readInt(pair[1], at(p, 1), 0, NR_LOCAL_IRQS - 1)]!;
      }
      const virq = readInt(k, p, SPI_BASE);
      const e = virq < SPI_BASE + this.nrSpis ? this.spis[virq - SPI_BASE] : this.lpis.get(virq);
      if (!e) throw new SnapshotError(p, `no virtual IRQ ${virq} in this vGIC`);
      return e;
    };
    readArray(o.vcpus, at(path, 'vcpus'), this.nrVcpus).forEach((v, i) => {
      const p = at(at(path, 'vcpus'), i);
      const vo = readObject(v, p);
      const st = this.vcpus[i]!;
      st.online = readBool(vo.online, at(p, 'online'));
      const list = (name: 'inflight' | 'active'): Entry[] => readArray(vo[name], at(p, name)).map((k, j) => find(k, at(at(p, name), j)));
      const inflight = list('inflight');
      const active = list('active');
      const lrs = readArray(vo.lrs, at(p, 'lrs'), this.nrLrs).map((k, j) => (k === null ? undefined : find(k, at(at(p, 'lrs'), j))));
      st.inflight.length = 0;
      st.inflight.push(...inflight);
      st.active.length = 0;
      st.active.push(...active);
      lrs.forEach((e, j) => (st.lrs[j] = e));
    });
  }

  /** Whether `virq` is an SGI, PPI or SPI of this vGIC (LPIs are checked separately). */
  isValidVirq(virq: number): boolean {
    return Number.isInteger(virq) && virq >= 0 && virq < SPI_BASE + this.nrSpis;
  }

  /** Brings a vCPU online or offline (an offline vCPU drops injections). */
  setOnline(vcpu: number, online: boolean): void {
    this.vcpu(vcpu).online = online;
  }

  /** Whether a vCPU is online. */
  isOnline(vcpu: number): boolean {
    return this.vcpu(vcpu).online;
  }

  /** Guest enables a virtual IRQ; a pending in-flight one is loaded into an LR now. */
  enable(vcpu: number, virq: number): void {
    const e = this.entry(vcpu, virq);
    e.state |= VIRQ_ENABLED;
    if (e.state & VIRQ_INFLIGHT) {
      this.fillLrs(this.vcpus[e.vcpu]!);
      if (e.state & VIRQ_PENDING) this.host.kick(e.vcpu);
    }
  }

  /** Guest disables a virtual IRQ; a pending-only LR entry goes back to the in-flight list. */
  disable(vcpu: number, virq: number): void {
    const e = this.entry(vcpu, virq);
    e.state &= ~VIRQ_ENABLED;
    if (e.lr >= 0 && !(e.state & VIRQ_ACTIVE)) this.unlist(this.vcpus[e.vcpu]!, e);
  }

  /** Sets a virtual IRQ's priority (used the next time it is inserted). */
  setPriority(vcpu: number, virq: number, priority: number): void {
    this.entry(vcpu, virq).priority = priority & 0xff;
  }

  /** Routes a virtual SPI to a vCPU (virtual GICD_ITARGETSR/IROUTER); takes effect at the next injection. */
  setSpiTarget(virq: number, vcpu: number): void {
    this.vcpu(vcpu);
    this.spiEntry(virq).vcpu = vcpu;
  }

  /** The vCPU a virtual SPI is routed to. */
  spiTarget(virq: number): number {
    return this.spiEntry(virq).vcpu;
  }

  /**
   * Injects a virtual SGI/PPI into `vcpu`, or a virtual SPI into its routed vCPU when `vcpu` is
   * `undefined` (SPEC §5.2). `hw` links the virtual IRQ to a physical one (-1 = none).
   */
  inject(vcpu: number | undefined, virq: number, level = true, hw = -1): InjectResult {
    if (!level) return 'ignored';
    const e = vcpu === undefined || virq >= SPI_BASE ? this.spiEntry(virq) : this.entry(vcpu, virq);
    if (vcpu !== undefined && virq >= SPI_BASE) this.vcpu(vcpu);
    return this.raise(e, hw);
  }

  /** Maps a virtual LPI of this domain to its target vCPU (the ITS's MAPTI/MOVI). */
  mapLpi(vlpi: number, vcpu: number): void {
    if (irqClass(vlpi) !== 'lpi') throw new XenError('vgic', Errno.EINVAL, `${vlpi} is not an LPI`);
    this.vcpu(vcpu);
    const e = this.lpis.get(vlpi);
    if (e) e.vcpu = vcpu;
    else this.lpis.set(vlpi, { virq: vlpi, vcpu, priority: GIC_PRI_IRQ, state: VIRQ_ENABLED, lr: -1, hw: -1 });
  }

  /** Injects a mapped virtual LPI (unmapped ones are dropped: `'dropped'`). */
  injectLpi(vlpi: number): InjectResult {
    const e = this.lpis.get(vlpi);
    if (!e) return 'dropped';
    return this.raise(e, -1);
  }

  /**
   * A guest's trapped write to its SGI register: inject `sgi` into each target vCPU. Offline
   * targets (and list bits beyond the vCPU count) are skipped.
   * @returns 0, or -EINVAL for a bad SGI number or sender
   */
  sendSgi(fromVcpu: number, sgi: number, mode: SgiTargetMode, targetList = 0): number {
    if (irqClass(sgi) !== 'sgi') return -Errno.EINVAL;
    if (!Number.isInteger(fromVcpu) || fromVcpu < 0 || fromVcpu >= this.nrVcpus) return -Errno.EINVAL;
    for (let v = 0; v < this.nrVcpus; v++) {
      const hit =
        mode === 'self' ? v === fromVcpu : mode === 'others' ? v !== fromVcpu : v < 32 && ((targetList >>> v) & 1) === 1;
      if (hit && this.vcpus[v]!.online) this.inject(v, sgi);
    }
    return 0;
  }

  // --- the guest's virtual CPU interface -----------------------------------------------------

  /** Running priority of the vCPU's virtual CPU interface. */
  runningPriority(vcpu: number): number {
    let rp = GIC_PRI_IDLE;
    for (const e of this.vcpu(vcpu).active) rp = Math.min(rp, e.priority);
    return rp;
  }

  /** Whether the vCPU has an LR entry it would take now (pending, above its running priority). */
  hasDeliverable(vcpu: number): boolean {
    return this.best(this.vcpu(vcpu)) !== undefined;
  }

  /**
   * Guest acknowledge (GICV_IAR): the highest-priority pending LR entry above the running
   * priority becomes active. @returns its virtual IRQ, or 1023
   */
  ack(vcpu: number): number {
    const v = this.vcpu(vcpu);
    const e = this.best(v);
    if (!e) return GIC_SPURIOUS;
    e.state = (e.state & ~VIRQ_PENDING) | VIRQ_ACTIVE;
    v.active.push(e);
    return e.virq;
  }

  /**
   * Guest EOI (GICV_EOIR, EOImode 0: priority drop and deactivation). A HW-linked entry
   * deactivates its physical IRQ; an entry neither pending nor active leaves its LR and the
   * in-flight list, and waiting entries are loaded into the freed LR. EOI of an IRQ that is not
   * active does nothing.
   */
  eoi(vcpu: number, virq: number): void {
    const v = this.vcpu(vcpu);
    let at = -1;
    for (let i = v.active.length - 1; i >= 0; i--) {
      if (v.active[i]!.virq === virq) {
        at = i;
        break;
      }
    }
    if (at < 0) return;
    const e = v.active[at]!;
    v.active.splice(at, 1);
    e.state &= ~VIRQ_ACTIVE;
    const hw = e.hw;
    if (!(e.state & VIRQ_PENDING)) {
      this.unlist(v, e);
      this.removeInflight(v, e);
    }
    this.fillLrs(v);
    if (hw >= 0) this.host.deactivateHw(vcpu, hw);
  }

  // --- inspection --------------------------------------------------------------------------

  /** Virtual IRQs on the vCPU's in-flight list, in priority order. */
  inflight(vcpu: number): number[] {
    return this.vcpu(vcpu).inflight.map((e) => e.virq);
  }

  /** Whether a virtual IRQ is in flight (pending or active) on `vcpu`. */
  isInFlight(vcpu: number, virq: number): boolean {
    return this.vcpu(vcpu).inflight.some((e) => e.virq === virq);
  }

  /** Contents of the vCPU's list registers (`undefined` = free). */
  listRegisters(vcpu: number): (ListRegisterView | undefined)[] {
    return this.vcpu(vcpu).lrs.map((e) =>
      e
        ? {
            virq: e.virq,
            pending: (e.state & VIRQ_PENDING) !== 0,
            active: (e.state & VIRQ_ACTIVE) !== 0,
            hw: e.hw,
            priority: e.priority,
          }
        : undefined,
    );
  }

  /** State bits (`VIRQ_*`) of a virtual IRQ of `vcpu` (SPIs: shared). */
  stateOf(vcpu: number, virq: number): number {
    if (virq >= LPI_BASE) return this.lpis.get(virq)?.state ?? 0;
    return this.entry(vcpu, virq).state;
  }

  private raise(e: Entry, hw: number): InjectResult {
    const v = this.vcpus[e.vcpu]!;
    if (!v.online) return 'dropped';
    if (e.state & VIRQ_INFLIGHT) {
      e.state |= VIRQ_PENDING;
      if (hw >= 0) e.hw = hw;
      this.host.kick(e.vcpu);
      return 'raised-again';
    }
    e.hw = hw;
    e.state |= VIRQ_PENDING | VIRQ_INFLIGHT;
    // Keep the list ordered by priority; equal priorities stay in arrival order.
    let i = 0;
    while (i < v.inflight.length && v.inflight[i]!.priority <= e.priority) i++;
    v.inflight.splice(i, 0, e);
    if (e.state & VIRQ_ENABLED) this.fillLrs(v);
    this.host.kick(e.vcpu);
    return e.lr >= 0 ? 'listed' : 'queued';
  }

  /** Loads waiting entries into free LRs in priority order, evicting pending-only lower-priority ones when full. */
  private fillLrs(v: VcpuState): void {
    for (const e of v.inflight) {
      if (e.lr >= 0 || !(e.state & VIRQ_ENABLED) || !(e.state & VIRQ_PENDING)) continue;
      let slot = v.lrs.indexOf(undefined);
      if (slot < 0) {
        let victim: Entry | undefined;
        for (const x of v.lrs) {
          if (x && !(x.state & VIRQ_ACTIVE) && x.priority > e.priority && (!victim || x.priority >= victim.priority)) {
            victim = x;
          }
        }
        if (!victim) return;
        slot = victim.lr;
        this.unlist(v, victim);
      }
      v.lrs[slot] = e;
      e.lr = slot;
    }
  }

  private unlist(v: VcpuState, e: Entry): void {
    if (e.lr < 0) return;
    v.lrs[e.lr] = undefined;
    e.lr = -1;
  }

  private removeInflight(v: VcpuState, e: Entry): void {
    const i = v.inflight.indexOf(e);
    if (i >= 0) v.inflight.splice(i, 1);
    e.state &= ~VIRQ_INFLIGHT;
  }

  private best(v: VcpuState): Entry | undefined {
    let rp = GIC_PRI_IDLE;
    for (const a of v.active) rp = Math.min(rp, a.priority);
    for (const e of v.inflight) {
      if (e.priority >= rp) return undefined;
      if (e.lr >= 0 && e.state & VIRQ_PENDING && e.state & VIRQ_ENABLED) return e;
    }
    return undefined;
  }

  private vcpu(vcpu: number): VcpuState {
    const v = this.vcpus[vcpu];
    if (!Number.isInteger(vcpu) || !v) throw new XenError('vgic', Errno.ENOENT, `no vCPU ${vcpu}`);
    return v;
  }

  private entry(vcpu: number, virq: number): Entry {
    if (!this.isValidVirq(virq)) throw new XenError('vgic', Errno.EINVAL, `virtual IRQ ${virq} out of range`);
    if (virq >= SPI_BASE) return this.spis[virq - SPI_BASE]!;
    this.vcpu(vcpu);
    return this.local[vcpu * NR_LOCAL_IRQS + virq]!;
  }

  private spiEntry(virq: number): Entry {
    if (!Number.isInteger(virq) || virq < SPI_BASE || virq >= SPI_BASE + this.nrSpis) {
      throw new XenError('vgic', Errno.EINVAL, `${virq} is not a virtual SPI of this domain`);
    }
    return this.spis[virq - SPI_BASE]!;
  }
}
