/*
 * A local APIC's interrupt acceptance: IRR, ISR and TMR bitmaps, priority classes and EOI.
 *
 * Models Intel SDM vol. 3 §10.8 (interrupt acceptance, IRR/ISR/TMR, PPR with TPR 0, EOI and
 * the EOI broadcast of level-triggered vectors to the IO-APICs), in the style of v86's
 * src/apic.js. Used for the physical CPUs (Xen's) and for the guests' virtual LAPICs.
 */
import { clearBit, setBit, testBit } from '@evtchn/core';

/** Words of a 256-bit vector bitmap. */
export const LAPIC_BITMAP_WORDS = 8;

/** Receives what a {@link Lapic} does: run a vector's handler, broadcast a level EOI. */
export interface LapicClient {
  /** The CPU took `vector` (now in service). The handler may call `eoi()` or leave it in service. */
  interrupt(apicId: number, vector: number): void;
  /** A level-triggered vector was EOI'd: the IO-APICs clear their remote IRR. */
  levelEoi(apicId: number, vector: number): void;
}

/** Highest set bit of a 256-bit bitmap, or -1. */
function highest(bits: Uint32Array): number {
  for (let i = LAPIC_BITMAP_WORDS - 1; i >= 0; i--) {
    const w = bits[i]!;
    if (w !== 0) return i * 32 + 31 - Math.clz32(w);
  }
  return -1;
}

/** Serialisable state of a {@link Lapic}. */
export interface LapicState {
  /** IRR words. */
  irr: number[];
  /** ISR words. */
  isr: number[];
  /** TMR words. */
  tmr: number[];
}

/**
 * One local APIC. Delivery is synchronous: {@link Lapic.accept} runs the handler at once when
 * the vector's priority class is above the highest in-service class; the handler runs with
 * interrupts off, so a vector accepted meanwhile waits in IRR until the handler returns or
 * an EOI lowers the processor priority.
 */
export class Lapic {
  /** APIC id (the CPU index). */
  readonly apicId: number;
  /** Interrupt request register. */
  readonly irr = new Uint32Array(LAPIC_BITMAP_WORDS);
  /** In-service register. */
  readonly isr = new Uint32Array(LAPIC_BITMAP_WORDS);
  /** Trigger mode register (1 = level). */
  readonly tmr = new Uint32Array(LAPIC_BITMAP_WORDS);
  /** Number of EOIs written. */
  eoiCount = 0;
  private readonly client: LapicClient;
  private readonly autoDispatch: boolean;
  private dispatching = false;

  /**
   * @param apicId - the APIC id
   * @param client - receives interrupts and level EOIs
   * @param autoDispatch - deliver at once on accept and EOI (a physical CPU, default); a
   *   virtual LAPIC leaves its vectors in IRR for the vCPU runner, which takes them with
   *   {@link Lapic.takeNext} when the vCPU runs
   */
  constructor(apicId: number, client: LapicClient, autoDispatch = true) {
    this.apicId = apicId;
    this.client = client;
    this.autoDispatch = autoDispatch;
  }

  /** Accepts `vector` (sets IRR, TMR for level) and delivers what is deliverable. */
  accept(vector: number, level: boolean): void {
    setBit(this.irr, vector);
    if (level) setBit(this.tmr, vector);
    else clearBit(this.tmr, vector);
    if (this.autoDispatch) this.dispatch();
  }

  /**
   * The CPU takes its deliverable vector: IRR → ISR, without running a handler.
   * @returns the vector, or -1 when none is deliverable
   */
  takeNext(): number {
    const v = this.deliverable();
    if (v < 0) return -1;
    clearBit(this.irr, v);
    setBit(this.isr, v);
    return v;
  }

  /** Whether `vector` is requested. */
  isRequested(vector: number): boolean {
    return testBit(this.irr, vector);
  }

  /** Whether `vector` is in service. */
  isInService(vector: number): boolean {
    return testBit(this.isr, vector);
  }

  /** Highest in-service vector, or -1. */
  highestInService(): number {
    return highest(this.isr);
  }

  /** The vector the CPU would take next, or -1 (its class must exceed the in-service class). */
  deliverable(): number {
    const req = highest(this.irr);
    if (req < 0) return -1;
    const isr = highest(this.isr);
    return isr < 0 || req >>> 4 > isr >>> 4 ? req : -1;
  }

  /**
   * EOI: retires the highest in-service vector; a level one is broadcast to the IO-APICs.
   * @returns the vector retired, or -1 when none was in service
   */
  eoi(): number {
    const v = highest(this.isr);
    if (v < 0) return -1;
    clearBit(this.isr, v);
    this.eoiCount++;
    if (testBit(this.tmr, v)) this.client.levelEoi(this.apicId, v);
    if (this.autoDispatch) this.dispatch();
    return v;
  }

  /** Delivers deliverable vectors until none is left (no-op while a handler is running). */
  dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (;;) {
        const v = this.deliverable();
        if (v < 0) break;
        clearBit(this.irr, v);
        setBit(this.isr, v);
        this.client.interrupt(this.apicId, v);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Snapshot of the registers. */
  getState(): LapicState {
    return { irr: [...this.irr], isr: [...this.isr], tmr: [...this.tmr] };
  }

  /** Restores a snapshot taken by {@link Lapic.getState}. */
  setState(state: LapicState): void {
    this.irr.set(state.irr);
    this.isr.set(state.isr);
    this.tmr.set(state.tmr);
  }
}
