import { describe, expect, it } from 'vitest';
import { formatNrIrqsReport, runNrIrqsExample, SEED_SCENARIO } from './main.js';

describe('examples/x86-nr-irqs', () => {
  const report = runNrIrqsExample();
  const row = (policy: string) => report.rows.find((r) => r.policy === policy)!;

  it('reproduces the seed: nr_irqs_gsi >= nr_irqs for a 2-vCPU dom0 with 504 GSIs', () => {
    expect(report.gsiTop).toBe(504);
    expect(report.nrIrqs).toBe(512);
    expect(report.nrIrqsGsi).toBe(520);
    expect(report.nrIrqsGsi).toBeGreaterThanOrEqual(report.nrIrqs);
  });

  it('scan-down fails: the first bind panics', () => {
    const r = row('scan-down');
    expect(r.given).toBeLessThan(SEED_SCENARIO.channels);
    expect(r.firstFailure).toMatch(/^#1: panic "No available IRQ to bind to: increase nr_irqs!"/);
  });

  it('encroach gives all 100 from the GSI range, and the later GSI set-ups clash', () => {
    const r = row('encroach');
    expect(r.given).toBe(100);
    expect(r.firstFailure).toBeUndefined();
    expect(r.encroached).toBe(100);
    expect(r.clashes).toBe(100);
    expect(r.irqRange![1]).toBeLessThan(report.gsiTop);
  });

  it('lower-bound gives all 100 above gsi_top by growing nr_irqs, with no clash', () => {
    const r = row('lower-bound');
    expect(r.given).toBe(100);
    expect(r.firstFailure).toBeUndefined();
    expect(r.clashes).toBe(0);
    expect(r.irqRange).toEqual([504, 603]);
    expect(r.nrIrqsAfter).toBe(604);
  });

  it('prints the table', () => {
    const text = formatNrIrqsReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toContain('nr_irqs_gsi >= nr_irqs');
    expect(lines[2]).toMatch(/^policy\s+\| IRQs given \| first failure/);
    expect(lines.slice(4).map((l) => l.split('|').map((c) => c.trim()).slice(0, 4))).toEqual([
      ['scan-down', '0/100', '#1: panic "No available IRQ to bind to: increase nr_irqs!"', '0'],
      ['encroach', '100/100', '-', '100'],
      ['lower-bound', '100/100', '-', '0'],
    ]);
  });

  it('with enough vCPUs even scan-down has room', () => {
    const r = runNrIrqsExample({ ...SEED_SCENARIO, vcpus: 8 });
    expect(r.nrIrqs).toBe(2048);
    expect(r.rows.every((x) => x.given === 100 && x.clashes === 0)).toBe(true);
  });
});
