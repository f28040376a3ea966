import { describe, expect, it } from 'vitest';
import { archProbeNrIrqs, compileTimeNrIrqs, gsiTop, irqBitmapBits, nrIrqsGsi, type IoApicConfig } from './formulas.js';

const ioApics = (n: number, pins = 24): IoApicConfig[] =>
  Array.from({ length: n }, (_, i) => ({ id: i, gsiBase: i * pins, pins }));

describe('gsi_top and nr_irqs_gsi', () => {
  it('gsi_top is one past the highest GSI of any IO-APIC', () => {
    expect(gsiTop([])).toBe(0);
    expect(gsiTop(ioApics(1))).toBe(24);
    expect(gsiTop(ioApics(2))).toBe(48);
    expect(gsiTop(ioApics(21))).toBe(504);
    // A gap between IO-APICs does not shrink it; order does not matter.
    expect(gsiTop([{ id: 1, gsiBase: 64, pins: 32 }, { id: 0, gsiBase: 0, pins: 24 }])).toBe(96);
  });

  it('nr_irqs_gsi = max(16, gsi_top + 16)', () => {
    expect(nrIrqsGsi(0)).toBe(16);
    expect(nrIrqsGsi(24)).toBe(40);
    expect(nrIrqsGsi(504)).toBe(520);
  });
});

describe('compile-time NR_IRQS', () => {
  it('IO-APIC + MSI: 256 + max(64 * NR_CPUS, 32 * MAX_IO_APICS)', () => {
    expect(compileTimeNrIrqs({ nrCpus: 8, ioApic: true, msi: true })).toBe(256 + 4096);
    expect(compileTimeNrIrqs({ nrCpus: 64, ioApic: true, msi: true })).toBe(4352);
    expect(compileTimeNrIrqs({ nrCpus: 512, ioApic: true, msi: true })).toBe(33024);
    expect(compileTimeNrIrqs({ nrCpus: 8, ioApic: true, msi: true, maxIoApics: 64 })).toBe(2304);
  });

  it('IO-APIC only and neither', () => {
    expect(compileTimeNrIrqs({ nrCpus: 512, ioApic: true, msi: false })).toBe(4352);
    expect(compileTimeNrIrqs({ nrCpus: 512, ioApic: false, msi: false })).toBe(16);
  });
});

describe('IRQ_BITMAP_BITS', () => {
  it('is NR_IRQS + 8196 (Linux 2.6.39 kernel/irq/internals.h, SPARSE_IRQ)', () => {
    expect(irqBitmapBits(4352)).toBe(12548);
    expect(irqBitmapBits(compileTimeNrIrqs({ nrCpus: 8, ioApic: true, msi: true }))).toBe(4352 + 8196);
  });
});

describe('arch_probe_nr_irqs', () => {
  const NR_IRQS = 4352;
  it.each([
    // Linux 3.17+ (arch/x86/kernel/apic/io_apic.c, later apic/vector.c): nr = gsi_top + 16 +
    // 8 * nr_cpu_ids, plus with MSI 8 * nr_cpu_ids (gsi_top <= 16) or 16 * gsi_top.
    // nrCpuIds, gsiTop, msi, expected (hand-computed)
    [1, 24, true, 256], //   clamp 256;  24+16+8+24*16 = 432
    [2, 504, true, 512], //  clamp 512;  504+16+16+8064 = 8600
    [4, 24, true, 456], //   clamp 1024; 24+16+32+384 = 456
    [4, 24, false, 72], //   clamp 1024; 24+16+32 = 72
    [8, 16, true, 160], //   clamp 2048; 16+16+64+64 (gsi_top <= 16) = 160
    [2, 0, true, 48], //     clamp 512;  0+16+16+16 = 48
    [64, 120, true, 2568], // clamp 4352; 120+16+512+1920 = 2568
  ])('nr_cpu_ids=%i gsi_top=%i msi=%s → %i', (nrCpuIds, top, msi, expected) => {
    expect(archProbeNrIrqs({ nrIrqs: NR_IRQS, nrCpuIds, gsiTop: top, msi })).toBe(expected);
  });

  it.each([
    // 2.6.3x-3.16 (2.6.39 arch/x86/kernel/apic/io_apic.c): nr = nr_irqs_gsi + 8 * nr_cpu_ids,
    // nr += nr_irqs_gsi * 16 with MSI; no gsi_top <= 16 branch.
    // nrCpuIds, gsiTop, msi, expected (hand-computed)
    [3, 0, true, 296], //    clamp 768;  16+24+256 = 296 (the "reverse order" commit's PV domU: top IRQ 295)
    [2, 504, true, 512], //  clamp 512;  520+16+8320 = 8856
    [4, 24, true, 712], //   clamp 1024; 40+32+640 = 712
    [4, 24, false, 72], //   clamp 1024; 40+32 = 72
    [1, 0, true, 256], //    clamp 256;  16+8+256 = 280
    [64, 120, true, 2824], // clamp 4352; 136+512+2176 = 2824
  ])('2.6.3x: nr_cpu_ids=%i gsi_top=%i msi=%s → %i', (nrCpuIds, top, msi, expected) => {
    expect(archProbeNrIrqs({ nrIrqs: NR_IRQS, nrCpuIds, gsiTop: top, msi, era: '2.6.3x' })).toBe(expected);
  });

  it('never raises nr_irqs above its compile-time value', () => {
    expect(archProbeNrIrqs({ nrIrqs: 100, nrCpuIds: 4, gsiTop: 24, msi: true })).toBe(100);
  });

  it('few CPUs and many IO-APIC pins leave no room above the GSIs (the seed)', () => {
    const top = gsiTop(ioApics(21));
    const nr = archProbeNrIrqs({ nrIrqs: NR_IRQS, nrCpuIds: 2, gsiTop: top, msi: true });
    expect(nrIrqsGsi(top)).toBeGreaterThanOrEqual(nr);
    // With more CPUs the clamp moves up and the problem goes away.
    const nr8 = archProbeNrIrqs({ nrIrqs: NR_IRQS, nrCpuIds: 8, gsiTop: top, msi: true });
    expect(nr8).toBe(2048);
    expect(nrIrqsGsi(top)).toBeLessThan(nr8);
  });
});
