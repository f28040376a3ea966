import { describe, expect, it } from 'vitest';
import { formatNrIrqsReport, runNrIrqsExample, SEED_SCENARIO } from './main.js';

describe('examples/x86-nr-irqs', () => {
  const report = runNrIrqsExample();
  const row = (policy: string) => report.rows.find((r) => r.policy === policy)!;

  it('reproduces the seed (Ian Campbell, LKML 2011-02-16): nr_irqs_gsi >= nr_irqs for a 2-vCPU dom0 with 504 GSIs', () => {
    expect(report.gsiTop).toBe(504);
    expect(report.nrIrqs).toBe(512);
    expect(report.nrIrqsGsi).toBe(520);
    expect(report.nrIrqsGsi).toBeGreaterThanOrEqual(report.nrIrqs);
  });

  it('every era sizes nr_irqs to 512 here: both arch_probe_nr_irqs forms hit the 256 * nr_cpu_ids clamp', () => {
    // 2.6.39 io_apic.c: min(512, 520 + 16 + 520 * 16); 3.17+: min(512, 504 + 16 + 16 + 504 * 16).
    expect(report.rows.map((r) => r.nrIrqs)).toEqual([512, 512, 512, 512]);
  });

  it('scan-down (Linux <= 2.6.38): the loop never runs, IRQ 511 once, then WARN and -1 (no panic)', () => {
    // 2.6.37-2.6.38 drivers/xen/events.c find_unbound_irq with bottom 520 > nr_irqs 512.
    const r = row('scan-down');
    expect(r.kernels).toBe('Linux <= 2.6.38');
    expect(r.given).toBe(1);
    expect(r.irqRange).toEqual([511, 511]);
    expect(r.firstFailure).toBe('#2: WARN, -1');
    expect(r.clashes).toBe(0);
  });

  it('encroach (commit 89911501): all 100 below nr_irqs_gsi; the 8 in gsi_top..511 never clash, the other 92 do', () => {
    const r = row('encroach');
    expect(r.kernels).toBe('commit 89911501 (early 2011)');
    expect(r.given).toBe(100);
    expect(r.firstFailure).toBeUndefined();
    expect(r.encroached).toBe(100);
    // Retries from 504, 488, 472, ...: 504-511, then 16-IRQ steps down to 408.
    expect(r.irqRange).toEqual([408, 511]);
    expect(r.clashes).toBe(92);
    expect(r.nrIrqsAfter).toBe(512);
  });

  it('alloc-from (Linux 2.6.39-3.16): 520-619 by growing nr_irqs, no clash', () => {
    const r = row('alloc-from');
    expect(r.kernels).toBe('Linux 2.6.39-3.16');
    expect(r.given).toBe(100);
    expect(r.firstFailure).toBeUndefined();
    expect(r.clashes).toBe(0);
    expect(r.irqRange).toEqual([520, 619]);
    expect(r.nrIrqsAfter).toBe(620);
  });

  it('lower-bound (Linux 3.17+): all 100 above gsi_top by growing nr_irqs, with no clash', () => {
    const r = row('lower-bound');
    expect(r.kernels).toBe('Linux 3.17+');
    expect(r.given).toBe(100);
    expect(r.firstFailure).toBeUndefined();
    expect(r.clashes).toBe(0);
    expect(r.irqRange).toEqual([504, 603]);
    expect(r.nrIrqsAfter).toBe(604);
  });

  it('prints one row per era, oldest first, with its kernels', () => {
    const text = formatNrIrqsReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toContain('nr_irqs_gsi >= nr_irqs');
    expect(lines[2]).toMatch(/^policy\s+\| kernels\s+\| nr_irqs \| IRQs given \| first failure/);
    expect(lines.slice(4).map((l) => l.split('|').map((c) => c.trim()).slice(0, 6))).toEqual([
      ['scan-down', 'Linux <= 2.6.38', '512', '1/100', '#2: WARN, -1', '0'],
      ['encroach', 'commit 89911501 (early 2011)', '512', '100/100', '-', '92'],
      ['alloc-from', 'Linux 2.6.39-3.16', '512', '100/100', '-', '0'],
      ['lower-bound', 'Linux 3.17+', '512', '100/100', '-', '0'],
    ]);
  });

  it('with enough vCPUs even scan-down has room', () => {
    const r = runNrIrqsExample({ ...SEED_SCENARIO, vcpus: 8 });
    expect(r.nrIrqs).toBe(2048);
    expect(r.rows.every((x) => x.given === 100 && x.clashes === 0 && x.firstFailure === undefined)).toBe(true);
    expect(r.rows.find((x) => x.policy === 'scan-down')!.irqRange).toEqual([1948, 2047]);
  });
});
