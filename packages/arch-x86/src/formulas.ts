/*
 * The size of a Linux x86 kernel's IRQ number space, as pure functions.
 *
 * Models the sizing rules of Linux arch/x86/include/asm/irq_vectors.h (compile-time NR_IRQS),
 * arch/x86/kernel/apic/io_apic.c (gsi_top, nr_irqs_gsi, arch_probe_nr_irqs) as SPEC §4.2
 * states them. Kept free of state so tests can check them against hand-computed numbers.
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
}

/**
 * `arch_probe_nr_irqs`: the boot-time `nr_irqs`. Clamps to `NR_VECTORS * nr_cpu_ids`, then to
 * `gsi_top + 16 + 8 * nr_cpu_ids` plus, with MSI, `8 * nr_cpu_ids` when `gsi_top <= 16` else
 * `16 * gsi_top`.
 * @param input - the values the kernel probes with
 * @returns the new `nr_irqs`
 */
export function archProbeNrIrqs(input: ProbeNrIrqsInput): number {
  let nr = Math.min(input.nrIrqs, NR_VECTORS * input.nrCpuIds);
  let wanted = input.gsiTop + NR_IRQS_LEGACY + 8 * input.nrCpuIds;
  if (input.msi) wanted += input.gsiTop <= NR_IRQS_LEGACY ? 8 * input.nrCpuIds : input.gsiTop * 16;
  if (wanted < nr) nr = wanted;
  return nr;
}
