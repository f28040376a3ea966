/*
 * An IO-APIC: a range of GSIs, one redirection entry per pin, edge and level lines.
 *
 * Models the Intel 82093AA IO-APIC datasheet (redirection table entry layout, remote IRR,
 * level lines that re-fire after EOI while still asserted), in the style of v86's
 * src/ioapic.js.
 */
import type { IoApicConfig } from './formulas.js';

/** RTE low word: vector, bits 0–7. */
export const RTE_VECTOR_MASK = 0xff;
/** RTE low word: delivery mode, bits 8–10 (0 = fixed). */
export const RTE_DELIVERY_MODE_MASK = 0x700;
/** RTE low word: logical destination mode. */
export const RTE_DEST_MODE_LOGICAL = 1 << 11;
/** RTE low word: delivery status (send pending). */
export const RTE_DELIVERY_STATUS = 1 << 12;
/** RTE low word: active-low polarity. */
export const RTE_POLARITY_LOW = 1 << 13;
/** RTE low word: remote IRR (level interrupt accepted, EOI not yet received). */
export const RTE_REMOTE_IRR = 1 << 14;
/** RTE low word: level-triggered. */
export const RTE_TRIGGER_LEVEL = 1 << 15;
/** RTE low word: masked. */
export const RTE_MASKED = 1 << 16;
/** RTE high word: destination APIC id in bits 24–31. */
export const RTE_DEST_SHIFT = 24;

/** Where an IO-APIC sends interrupt messages. */
export interface IoApicBus {
  /** Delivers `vector` to the local APIC `dest`; `level` sets the LAPIC's TMR bit. */
  deliver(dest: number, vector: number, level: boolean): void;
}

/** Serialisable state of an {@link IoApic}. */
export interface IoApicState {
  /** RTE low words. */
  low: number[];
  /** RTE high words. */
  high: number[];
  /** Line levels (1 = asserted). */
  lines: number[];
}

/** One IO-APIC. All entries start masked, edge, vector 0. */
export class IoApic {
  /** IO-APIC id. */
  readonly id: number;
  /** First GSI. */
  readonly gsiBase: number;
  /** Number of pins. */
  readonly pins: number;
  /** Redirection entries, low words. */
  readonly low: Uint32Array;
  /** Redirection entries, high words. */
  readonly high: Uint32Array;
  /** Line level of each pin (1 = asserted). */
  readonly lines: Uint8Array;
  /** Messages sent, per pin. */
  readonly fired: Uint32Array;
  private readonly bus: IoApicBus;

  /**
   * @param cfg - id, GSI base and number of pins
   * @param bus - where interrupt messages go
   */
  constructor(cfg: IoApicConfig, bus: IoApicBus) {
    this.id = cfg.id;
    this.gsiBase = cfg.gsiBase;
    this.pins = cfg.pins;
    this.low = new Uint32Array(cfg.pins).fill(RTE_MASKED);
    this.high = new Uint32Array(cfg.pins);
    this.lines = new Uint8Array(cfg.pins);
    this.fired = new Uint32Array(cfg.pins);
    this.bus = bus;
  }

  /** Whether the IO-APIC has `gsi`. */
  hasGsi(gsi: number): boolean {
    return gsi >= this.gsiBase && gsi < this.gsiBase + this.pins;
  }

  /** Programs a pin's vector, destination and trigger mode, and its mask. */
  program(pin: number, vector: number, dest: number, level: boolean, masked: boolean): void {
    const keepIrr = this.low[pin]! & RTE_REMOTE_IRR;
    this.low[pin] = (vector & RTE_VECTOR_MASK) | (level ? RTE_TRIGGER_LEVEL | RTE_POLARITY_LOW : 0) | (masked ? RTE_MASKED : 0) | (level ? keepIrr : 0);
    this.high[pin] = (dest & 0xff) << RTE_DEST_SHIFT;
    this.evaluate(pin);
  }

  /** Retargets a pin (new vector on a new destination) without touching mask or trigger. */
  retarget(pin: number, vector: number, dest: number): void {
    this.low[pin] = (this.low[pin]! & ~RTE_VECTOR_MASK) | (vector & RTE_VECTOR_MASK);
    this.high[pin] = (dest & 0xff) << RTE_DEST_SHIFT;
  }

  /** Masks or unmasks a pin; unmasking an asserted level line with no remote IRR fires it. */
  setMasked(pin: number, masked: boolean): void {
    if (masked) this.low[pin]! |= RTE_MASKED;
    else {
      this.low[pin]! &= ~RTE_MASKED;
      this.evaluate(pin);
    }
  }

  /** Whether a pin is masked. */
  isMasked(pin: number): boolean {
    return (this.low[pin]! & RTE_MASKED) !== 0;
  }

  /** Whether a pin's remote IRR is set. */
  remoteIrr(pin: number): boolean {
    return (this.low[pin]! & RTE_REMOTE_IRR) !== 0;
  }

  /** Raises a pin's line: an edge fires on the rising edge, a level fires while asserted. */
  assert(pin: number): void {
    const wasLow = this.lines[pin] === 0;
    this.lines[pin] = 1;
    const low = this.low[pin]!;
    if (low & RTE_TRIGGER_LEVEL) this.evaluate(pin);
    else if (wasLow && !(low & RTE_MASKED)) this.send(pin);
  }

  /** Lowers a pin's line. */
  deassert(pin: number): void {
    this.lines[pin] = 0;
  }

  /** EOI broadcast for `vector`: clears remote IRR of matching level pins; asserted lines fire again. */
  eoi(vector: number): void {
    for (let pin = 0; pin < this.pins; pin++) {
      const low = this.low[pin]!;
      if ((low & RTE_REMOTE_IRR) !== 0 && (low & RTE_VECTOR_MASK) === vector) {
        this.low[pin] = low & ~RTE_REMOTE_IRR;
        this.evaluate(pin);
      }
    }
  }

  /** A level pin that is asserted, unmasked and without remote IRR sends its message. */
  private evaluate(pin: number): void {
    const low = this.low[pin]!;
    if ((low & RTE_TRIGGER_LEVEL) === 0 || this.lines[pin] === 0) return;
    if ((low & (RTE_MASKED | RTE_REMOTE_IRR)) !== 0) return;
    this.send(pin);
  }

  private send(pin: number): void {
    const low = this.low[pin]!;
    if (low & RTE_TRIGGER_LEVEL) this.low[pin] = low | RTE_REMOTE_IRR;
    this.fired[pin]!++;
    this.bus.deliver(this.high[pin]! >>> RTE_DEST_SHIFT, low & RTE_VECTOR_MASK, (low & RTE_TRIGGER_LEVEL) !== 0);
  }

  /** Snapshot of the registers and lines. */
  getState(): IoApicState {
    return { low: [...this.low], high: [...this.high], lines: [...this.lines] };
  }

  /** Restores a snapshot taken by {@link IoApic.getState}. */
  setState(state: IoApicState): void {
    this.low.set(state.low);
    this.high.set(state.high);
    this.lines.set(state.lines);
  }
}
