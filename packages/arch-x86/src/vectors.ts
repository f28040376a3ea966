/*
 * Per-CPU interrupt vector tables: 256 vectors per CPU, exceptions at the bottom, system
 * vectors (timer, IPIs, the Xen callback vector) at the top, external vectors allocated to
 * IRQs in between.
 *
 * Models the vector layout of Linux arch/x86/include/asm/irq_vectors.h and the allocation
 * behaviour of arch/x86/kernel/apic/vector.c (Intel SDM vol. 3 §6.2 and §10.8.3 for the
 * priority classes). One layout serves both the physical CPUs and the guests' virtual
 * LAPICs; Xen's own numbering of its system vectors differs but is not observable here.
 */
import { Errno } from '@evtchn/core';
import { NR_VECTORS } from './formulas.js';

/** Vectors 0x00–0x1F are CPU exceptions. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
/** Cleans up vectors left behind by an IRQ move (lowest external vector). */
export const IRQ_MOVE_CLEANUP_VECTOR = FIRST_EXTERNAL_VECTOR;
/** ISA IRQ n uses vector `ISA_IRQ_VECTOR_BASE + n` on the boot CPU. */
export const ISA_IRQ_VECTOR_BASE = 0x30;
/** The legacy `int 0x80` system call gate. */
export const IA32_SYSCALL_VECTOR = 0x80;
/** Local APIC timer; the lowest system vector. */
export const LOCAL_TIMER_VECTOR = 0xec;
/** First vector of the system range (`FIRST_SYSTEM_VECTOR`). */
export const FIRST_SYSTEM_VECTOR = LOCAL_TIMER_VECTOR;
/** The Xen event-channel callback vector of an HVM guest (`HYPERVISOR_CALLBACK_VECTOR`). */
export const HYPERVISOR_CALLBACK_VECTOR = 0xf3;
/** Deferred MCE error. */
export const DEFERRED_ERROR_VECTOR = 0xf4;
/** IRQ work self-IPI. */
export const IRQ_WORK_VECTOR = 0xf6;
/** Platform IPI. */
export const X86_PLATFORM_IPI_VECTOR = 0xf7;
/** Reboot IPI. */
export const REBOOT_VECTOR = 0xf8;
/** MCE threshold interrupt. */
export const THRESHOLD_APIC_VECTOR = 0xf9;
/** Thermal interrupt. */
export const THERMAL_APIC_VECTOR = 0xfa;
/** Call-function-single IPI. */
export const CALL_FUNCTION_SINGLE_VECTOR = 0xfb;
/** Call-function IPI. */
export const CALL_FUNCTION_VECTOR = 0xfc;
/** Reschedule IPI. */
export const RESCHEDULE_VECTOR = 0xfd;
/** APIC error interrupt. */
export const ERROR_APIC_VECTOR = 0xfe;
/** Spurious interrupt vector. */
export const SPURIOUS_APIC_VECTOR = 0xff;

/** Vector table entry: free. */
export const VECTOR_FREE = -1;
/** Vector table entry: reserved (exception, system vector, syscall gate). */
export const VECTOR_RESERVED = -2;

/** Priority class of a vector (Intel SDM: bits 7:4). */
export function vectorClass(vector: number): number {
  return vector >>> 4;
}

/**
 * Vector tables of a set of CPUs: `vector → IRQ`, with allocation of external vectors.
 * Allocation picks the lowest free external vector; `-ENOSPC` when the CPU has none left.
 */
export class VectorTables {
  /** Number of CPUs. */
  readonly nrCpus: number;
  private readonly table: Int32Array;

  /** @param nrCpus - number of CPUs, each with its own 256-entry table */
  constructor(nrCpus: number) {
    this.nrCpus = nrCpus;
    this.table = new Int32Array(nrCpus * NR_VECTORS).fill(VECTOR_FREE);
    for (let cpu = 0; cpu < nrCpus; cpu++) {
      const base = cpu * NR_VECTORS;
      for (let v = 0; v < FIRST_EXTERNAL_VECTOR; v++) this.table[base + v] = VECTOR_RESERVED;
      for (let v = FIRST_SYSTEM_VECTOR; v < NR_VECTORS; v++) this.table[base + v] = VECTOR_RESERVED;
      this.table[base + IRQ_MOVE_CLEANUP_VECTOR] = VECTOR_RESERVED;
      this.table[base + IA32_SYSCALL_VECTOR] = VECTOR_RESERVED;
      // The ISA range is kept for the legacy IRQs on every CPU, as older kernels did.
      for (let v = ISA_IRQ_VECTOR_BASE; v < ISA_IRQ_VECTOR_BASE + 16; v++) this.table[base + v] = VECTOR_RESERVED;
    }
  }

  /** Whether `vector` is in the allocatable external range of the layout. */
  static isExternal(vector: number): boolean {
    return (
      vector > IRQ_MOVE_CLEANUP_VECTOR &&
      vector < FIRST_SYSTEM_VECTOR &&
      vector !== IA32_SYSCALL_VECTOR &&
      (vector < ISA_IRQ_VECTOR_BASE || vector >= ISA_IRQ_VECTOR_BASE + 16)
    );
  }

  /** IRQ at `vector` on `cpu`, or {@link VECTOR_FREE} / {@link VECTOR_RESERVED}. */
  irqAt(cpu: number, vector: number): number {
    return this.table[cpu * NR_VECTORS + vector]!;
  }

  /**
   * Allocates the lowest free external vector on `cpu` for `irq`.
   * @returns the vector or -ENOSPC
   */
  assign(cpu: number, irq: number): number {
    const base = cpu * NR_VECTORS;
    for (let v = FIRST_EXTERNAL_VECTOR; v < FIRST_SYSTEM_VECTOR; v++) {
      if (this.table[base + v] === VECTOR_FREE) {
        this.table[base + v] = irq;
        return v;
      }
    }
    return -Errno.ENOSPC;
  }

  /**
   * Allocates `count` (a power of two ≤ 32) contiguous vectors aligned to `count` on `cpu`, as
   * multi-message MSI needs; vector `first + i` goes to `irqs[i]`.
   * @returns the first vector, -EINVAL for a bad count, or -ENOSPC
   */
  assignBlock(cpu: number, irqs: readonly number[]): number {
    const count = irqs.length;
    if (count < 1 || count > 32 || (count & (count - 1)) !== 0) return -Errno.EINVAL;
    const base = cpu * NR_VECTORS;
    for (let first = FIRST_EXTERNAL_VECTOR; first + count <= FIRST_SYSTEM_VECTOR; first += count) {
      let free = true;
      for (let i = 0; i < count && free; i++) free = this.table[base + first + i] === VECTOR_FREE;
      if (!free) continue;
      for (let i = 0; i < count; i++) this.table[base + first + i] = irqs[i]!;
      return first;
    }
    return -Errno.ENOSPC;
  }

  /** Gives `vector` on `cpu` to `irq` (legacy ISA vectors, fixed assignments). */
  assignFixed(cpu: number, vector: number, irq: number): void {
    this.table[cpu * NR_VECTORS + vector] = irq;
  }

  /** Frees an external vector (reserved entries are left alone). */
  release(cpu: number, vector: number): void {
    const i = cpu * NR_VECTORS + vector;
    if (this.table[i]! >= 0) this.table[i] = VectorTables.isExternal(vector) ? VECTOR_FREE : VECTOR_RESERVED;
  }

  /** Number of free external vectors on `cpu`. */
  freeCount(cpu: number): number {
    let n = 0;
    const base = cpu * NR_VECTORS;
    for (let v = 0; v < NR_VECTORS; v++) if (this.table[base + v] === VECTOR_FREE) n++;
    return n;
  }
}
