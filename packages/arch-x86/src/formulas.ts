/*
 * The size of a Linux x86 kernel's IRQ number space, as pure functions.
 *
 * Models the sizing rules of Linux arch/x86/include/asm/irq_vectors.h (compile-time NR_IRQS),
 * arch/x86/kernel/apic/io_apic.c (gsi_top, nr_irqs_gsi, arch_probe_nr_irqs, per kernel era) and
 * kernel/irq/internals.h (IRQ_BITMAP_BITS) as SPEC §4.2 states them. Kept free of state so
 * tests can check them against hand-computed numbers.
 */

/** Vectors per CPU (`NR_VECTORS`). */
export const NR_VECTORS = 256;

/** IRQs 0–15 of the ISA PIC, always present (`NR_IRQS_LEGACY`). */
export const NR_IRQS_LEGACY = 16;

/** `MAX_IO_APICS` of a 64-bit kernel. */
export const MAX_IO_APICS = 128;

/** One IO-APIC: its id and the GSIs its pins cover (`gsiBase` .. `gsiBase + pins - 1`). */
export interface IoApicConfig {
  /** IO-APIC id. */
  readonly id: number;
  /** First GSI of the IO-APIC. */
  readonly gsiBase: number;
  /** Number of redirection entries (pins). */
  readonly pins: number;
}

/**
 * `gsi_top`: one past the highest GSI of any IO-APIC (`max(gsi_end + 1)`), 0 without IO-APICs.
 * @param ioApics - the IO-APICs
 */
export function gsiTop(ioApics: readonly IoApicConfig[]): number {
  let top = 0;
  for (const a of ioApics) top = Math.max(top, a.gsiBase + a.pins);
  return top;
}

/**
 * The historic `nr_irqs_gsi = max(NR_IRQS_LEGACY, gsi_top + NR_IRQS_LEGACY)`: IRQ numbers below
 * it were kept for GSIs.
 * @param top - `gsi_top`
 */
export function nrIrqsGsi(top: number): number {
  return Math.max(NR_IRQS_LEGACY, top + NR_IRQS_LEGACY);
}

/** Kernel configuration that decides the compile-time `NR_IRQS`. */
export interface KernelIrqConfig {
  /** `CONFIG_NR_CPUS`. */
  readonly nrCpus: number;
  /** `CONFIG_X86_IO_APIC`. */
  readonly ioApic: boolean;
  /** `CONFIG_PCI_MSI`. */
  readonly msi: boolean;
  /** `MAX_IO_APICS` (default {@link MAX_IO_APICS}). */
  readonly maxIoApics?: number;
}

/**
 * Compile-time `NR_IRQS`: with IO-APIC and MSI `NR_VECTORS + max(64 * NR_CPUS,
 * 32 * MAX_IO_APICS)`; IO-APIC only `NR_VECTORS + 32 * MAX_IO_APICS`; neither `NR_IRQS_LEGACY`.
 * @param cfg - the kernel configuration
 */
export function compileTimeNrIrqs(cfg: KernelIrqConfig): number {
  const ioApicLimit = 32 * (cfg.maxIoApics ?? MAX_IO_APICS);
  if (cfg.ioApic && cfg.msi) return NR_VECTORS + Math.max(64 * cfg.nrCpus, ioApicLimit);
  if (cfg.ioApic) return NR_VECTORS + ioApicLimit;
  return NR_IRQS_LEGACY;
}

/**
 * Which kernel's `arch_probe_nr_irqs` to use (SPEC §4.2):
 * - `'2.6.3x'`: Linux 2.6.3x up to 3.16 (2.6.39 `arch/x86/kernel/apic/io_apic.c`), sized from
 *   `nr_irqs_gsi`: `nr = nr_irqs_gsi + 8 * nr_cpu_ids`, plus `16 * nr_irqs_gsi` with MSI;
 * - `'modern'`: Linux 3.17+ (`nr_irqs_gsi` gone), sized from `gsi_top`:
 *   `nr = gsi_top + 16 + 8 * nr_cpu_ids`, plus `8 * nr_cpu_ids` (gsi_top ≤ 16) or
 *   `16 * gsi_top` with MSI.
 */
export type ProbeNrIrqsEra = '2.6.3x' | 'modern';

/** Input of {@link archProbeNrIrqs}. */
export interface ProbeNrIrqsInput {
  /** `nr_irqs` before probing (the compile-time `NR_IRQS`). */
  readonly nrIrqs: number;
  /** `nr_cpu_ids`: CPUs the kernel can bring up. */
  readonly nrCpuIds: number;
  /** `gsi_top`. */
  readonly gsiTop: number;
  /** Whether MSI is configured. */
  readonly msi: boolean;
  /** Which kernel's formula (default `'modern'`). */
  readonly era?: ProbeNrIrqsEra;
}

/**
 * `arch_probe_nr_irqs`: the boot-time `nr_irqs`. Both eras first clamp to
 * `NR_VECTORS * nr_cpu_ids`, then lower it to the era's estimate ({@link ProbeNrIrqsEra}).
 * @param input - the values the kernel probes with
 * @returns the new `nr_irqs`
 */
export function archProbeNrIrqs(input: ProbeNrIrqsInput): number {
  let nr = Math.min(input.nrIrqs, NR_VECTORS * input.nrCpuIds);
  let wanted: number;
  if (input.era === '2.6.3x') {
    // No special case for few GSIs: a PV domU (nr_irqs_gsi = 16) still reserves 16 * 16 for MSI.
    const gsiIrqs = nrIrqsGsi(input.gsiTop);
    wanted = gsiIrqs + 8 * input.nrCpuIds;
    if (input.msi) wanted += gsiIrqs * 16;
  } else {
    wanted = input.gsiTop + NR_IRQS_LEGACY + 8 * input.nrCpuIds;
    if (input.msi) wanted += input.gsiTop <= NR_IRQS_LEGACY ? 8 * input.nrCpuIds : input.gsiTop * 16;
  }
  if (wanted < nr) nr = wanted;
  return nr;
}

/** Slack the descriptor bitmap has over `NR_IRQS` with SPARSE_IRQ (`IRQ_BITMAP_BITS - NR_IRQS`, 2.6.39+). */
export const IRQ_BITMAP_SLACK = 8196;

/**
 * `IRQ_BITMAP_BITS = NR_IRQS + 8196` (kernel/irq/internals.h, 2.6.39 and later, SPARSE_IRQ):
 * the largest `nr_irqs` `irq_expand_nr_irqs` may grow to.
 * @param compileTimeNrIrqs - `NR_IRQS`
 */
export function irqBitmapBits(compileTimeNrIrqs: number): number {
  return compileTimeNrIrqs + IRQ_BITMAP_SLACK;
}
