/*
 * How the event-channel upcall reaches a vCPU on x86: the per-vCPU callback vector in the
 * vCPU's virtual LAPIC (HVM), a level GSI / PCI INTx line into the virtual IO-APIC that only
 * vCPU 0 receives (HVM without vector callback), or a direct callback (PV).
 *
 * Models xen/arch/x86/hvm/irq.c (`hvm_assert_evtchn_irq`, callback via vector / GSI / PCI
 * INTx) and the PV event callback of xen/arch/x86/pv/traps.c, with Linux's
 * `HYPERVISOR_CALLBACK_VECTOR` (arch/x86/xen/enlighten_hvm.c) on the guest side. Delivery
 * only sets the hardware state (IRR bit, asserted line, PV pending flag) and tells the
 * platform's vCPU runner; the runner takes it when the vCPU runs. A vCPU never re-enters its
 * handler: the vector stays in service (PV: the callback is marked running) until the handler
 * finishes, and what was raised meanwhile is taken after the EOI.
 */
import type { ArchDomainInfo, JsonValue, UpcallSink, VcpuInterruptEntry, VcpuRunner } from '@evtchn/core';
import { expectSame, readArray, readArrayInto, readInt, readObject, snapshotPath as at } from '@evtchn/core';
import type { IoApicConfig } from './formulas.js';
import { IoApic } from './ioapic.js';
import { Lapic, type LapicClient } from './lapic.js';
import { HYPERVISOR_CALLBACK_VECTOR, VectorTables } from './vectors.js';

/**
 * Upcall delivery mode:
 * - `callback-vector`: HVM per-vCPU callback vector 0xF3 through the virtual LAPIC;
 * - `gsi`: HVM callback via a level GSI / PCI INTx line, delivered to vCPU 0 only;
 * - `pv`: PV direct callback.
 */
export type UpcallMode = 'callback-vector' | 'gsi' | 'pv';

/** Every upcall mode. */
export const UPCALL_MODES: readonly UpcallMode[] = ['callback-vector', 'gsi', 'pv'];

/** Default GSI of the callback line in `gsi` mode (the Xen platform PCI device's INTx). */
export const DEFAULT_CALLBACK_GSI = 28;

/** Pins of the HVM virtual IO-APIC (Xen's `VIOAPIC_NUM_PINS`). */
export const HVM_VIOAPIC_PINS = 48;

/** One domain's upcall state: its virtual interrupt controllers, driven by the vCPU runner. */
export class DomainUpcall implements LapicClient, VcpuInterruptEntry {
  /** Domain id. */
  readonly domid: number;
  /** Delivery mode. */
  readonly mode: UpcallMode;
  /** Virtual LAPICs (empty in `pv` mode). */
  readonly vlapics: readonly Lapic[];
  /** The virtual IO-APIC (`gsi` mode only). */
  readonly vioapic: IoApic | undefined;
  /** Callback GSI (`gsi` mode). */
  readonly callbackGsi: number;
  /** Vector the guest programmed for the callback GSI (`gsi` mode). */
  readonly callbackGsiVector: number;
  /** Upcalls run, per vCPU. */
  readonly upcalls: Uint32Array;
  /** Upcalls requested for vCPUs other than 0 in `gsi` mode (never delivered). */
  droppedNotVcpu0 = 0;

  private readonly sink: UpcallSink;
  private readonly runner: VcpuRunner;
  private readonly pvInCallback: Uint8Array;
  private readonly pvPending: Uint8Array;
  /** The handler on this vCPU yielded: the next `take` continues it. */
  private readonly suspended: Uint8Array;

  /**
   * @param info - the domain
   * @param sink - the guest's upcall entry
   * @param mode - delivery mode
   * @param runner - the platform's vCPU runner (this object registers itself with it)
   * @param callbackGsi - GSI of the callback line (`gsi` mode)
   */
  constructor(info: ArchDomainInfo, sink: UpcallSink, mode: UpcallMode, runner: VcpuRunner, callbackGsi = DEFAULT_CALLBACK_GSI) {
    this.domid = info.id;
    this.mode = mode;
    this.sink = sink;
    this.runner = runner;
    this.callbackGsi = callbackGsi;
    this.upcalls = new Uint32Array(info.nrVcpus);
    this.pvInCallback = new Uint8Array(info.nrVcpus);
    this.pvPending = new Uint8Array(info.nrVcpus);
    this.suspended = new Uint8Array(info.nrVcpus);
    const lapics: Lapic[] = [];
    if (mode !== 'pv') for (let v = 0; v < info.nrVcpus; v++) lapics.push(new Lapic(v, this, false));
    this.vlapics = lapics;
    if (mode === 'gsi') {
      // The guest allocates a vector for the line from its own vector table, on CPU 0.
      const guestVectors = new VectorTables(1);
      this.callbackGsiVector = guestVectors.assign(0, callbackGsi);
      const cfg: IoApicConfig = { id: 0, gsiBase: 0, pins: HVM_VIOAPIC_PINS };
      this.vioapic = new IoApic(cfg, {
        deliver: (dest, vector, level) => {
          const l = this.vlapics[dest];
          if (!l) return;
          l.accept(vector, level);
          this.runner.raise(this.domid, dest);
        },
      });
      this.vioapic.program(callbackGsi, this.callbackGsiVector, 0, true, false);
    } else {
      this.callbackGsiVector = -1;
      this.vioapic = undefined;
    }
    runner.attach(info.id, info.nrVcpus, this);
  }

  /**
   * The domain's upcall path as JSON: its mode (structure, checked on restore), per-vCPU
   * upcall counts and PV callback flags, the virtual LAPICs' and IO-APIC's registers.
   */
  getState(): JsonValue {
    return {
      domid: this.domid,
      mode: this.mode,
      upcalls: [...this.upcalls],
      droppedNotVcpu0: this.droppedNotVcpu0,
      pvInCallback: [...this.pvInCallback],
      pvPending: [...this.pvPending],
      suspended: [...this.suspended],
      vlapics: this.vlapics.map((l) => ({ ...l.getState(), eoiCount: l.eoiCount })),
      vioapic: this.vioapic ? { ...this.vioapic.getState(), fired: [...this.vioapic.fired] } : null,
    };
  }

  /** Restores {@link DomainUpcall.getState}; `path` names the domain in errors. */
  setState(state: JsonValue, path: string): void {
    const o = readObject(state, path);
    expectSame(o.domid, at(path, 'domid'), this.domid);
    expectSame(o.mode, at(path, 'mode'), this.mode);
    const n = this.upcalls.length;
    for (const k of ['upcalls', 'pvInCallback', 'pvPending', 'suspended'] as const) readArrayInto(readArray(o[k], at(path, k), n), at(path, k), this[k]);
    this.droppedNotVcpu0 = readInt(o.droppedNotVcpu0, at(path, 'droppedNotVcpu0'), 0);
    readArray(o.vlapics, at(path, 'vlapics'), this.vlapics.length).forEach((l, i) => {
      const p = at(at(path, 'vlapics'), i);
      const lo = readObject(l, p);
      const lapic = this.vlapics[i]!;
      for (const k of ['irr', 'isr', 'tmr'] as const) readArrayInto(readArray(lo[k], at(p, k), lapic[k].length), at(p, k), lapic[k]);
      lapic.eoiCount = readInt(lo.eoiCount, at(p, 'eoiCount'), 0);
    });
    const io = this.vioapic;
    if (io) {
      const p = at(path, 'vioapic');
      const ao = readObject(o.vioapic, p);
      for (const k of ['low', 'high', 'lines', 'fired'] as const) readArrayInto(readArray(ao[k], at(p, k), io[k].length), at(p, k), io[k]);
    } else expectSame(o.vioapic === null ? 'null' : 'state', at(path, 'vioapic'), 'null');
  }

  /** Requests the upcall on `vcpu`; the runner takes it when the vCPU can. */
  deliver(vcpu: number): void {
    if (vcpu < 0 || vcpu >= this.upcalls.length) return;
    switch (this.mode) {
      case 'callback-vector':
        this.vlapics[vcpu]!.accept(HYPERVISOR_CALLBACK_VECTOR, false);
        this.runner.raise(this.domid, vcpu);
        return;
      case 'gsi':
        if (vcpu !== 0) {
          this.droppedNotVcpu0++;
          return;
        }
        // The virtual IO-APIC forwards an edge of the line to vCPU 0's LAPIC and the runner.
        this.vioapic!.assert(this.callbackGsi);
        return;
      case 'pv':
        this.pvPending[vcpu] = 1;
        this.runner.raise(this.domid, vcpu);
        return;
    }
  }

  /** Whether `vcpu` is running its upcall handler. */
  inHandler(vcpu: number): boolean {
    if (this.mode === 'pv') return this.pvInCallback[vcpu] === 1;
    const l = this.vlapics[vcpu];
    if (!l) return false;
    const vector = this.mode === 'gsi' ? this.callbackGsiVector : HYPERVISOR_CALLBACK_VECTOR;
    return l.isInService(vector);
  }

  /** Whether `vcpu` has an upcall it may take now (deliverable vector; PV: pending, not in the callback). */
  canTake(vcpu: number): boolean {
    if (this.suspended[vcpu] === 1) return true;
    if (this.mode === 'pv') return this.pvPending[vcpu] === 1 && this.pvInCallback[vcpu] === 0;
    const l = this.vlapics[vcpu];
    return l !== undefined && l.deliverable() >= 0;
  }

  /** Takes the vCPU's interrupt and runs the guest's upcall, or continues the one that yielded. */
  take(vcpu: number): boolean {
    if (this.suspended[vcpu] === 1) return this.runUpcall(vcpu);
    if (this.mode === 'pv') {
      if (this.pvPending[vcpu] === 0 || this.pvInCallback[vcpu] === 1) return true;
      this.pvPending[vcpu] = 0;
      this.pvInCallback[vcpu] = 1;
      this.upcalls[vcpu]!++;
      return this.runUpcall(vcpu);
    }
    const lapic = this.vlapics[vcpu];
    if (!lapic) return true;
    const vector = lapic.takeNext();
    if (vector < 0) return true;
    if (this.mode === 'gsi' && vector === this.callbackGsiVector) {
      // The guest clears evtchn_upcall_pending first, so Xen drops the line; an upcall
      // requested while the handler runs asserts it again and it fires after the EOI.
      this.vioapic!.deassert(this.callbackGsi);
    } else if (vector !== HYPERVISOR_CALLBACK_VECTOR) {
      lapic.eoi();
      return true;
    }
    this.upcalls[vcpu]!++;
    return this.runUpcall(vcpu);
  }

  /** The vLAPIC dispatches nothing by itself (the runner takes vectors); nothing to do. */
  interrupt(_vcpu: number, _vector: number): void {}

  /** A level vector was EOI'd in the vLAPIC: the virtual IO-APIC clears remote IRR. */
  levelEoi(_vcpu: number, vector: number): void {
    this.vioapic?.eoi(vector);
  }

  /** Runs (or continues) the guest's upcall; EOIs / leaves the callback when it is done. */
  private runUpcall(vcpu: number): boolean {
    this.suspended[vcpu] = 1;
    const done = this.sink.upcall(vcpu) !== false;
    if (!done) return false;
    this.suspended[vcpu] = 0;
    if (this.mode === 'pv') this.pvInCallback[vcpu] = 0;
    else this.vlapics[vcpu]!.eoi();
    return true;
  }
}
