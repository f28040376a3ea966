import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_SCENARIO, formatTable, main, runAllStrategies, runVtimerScenario, type VtimerRow } from './main.js';

const byName = (rows: VtimerRow[], name: string) => rows.find((r) => r.strategy === name)!;

describe('examples/arm-vtimer', () => {
  const rows = runAllStrategies();

  it('runs all three strategies on the same schedule', () => {
    expect(rows.map((r) => r.strategy)).toEqual(['guest-percpu', 'xen-owned', 'naive']);
    const switches = new Set(rows.map((r) => r.contextSwitches));
    expect(switches.size).toBe(1);
    // 2 pCPUs, 3 vCPUs: every slice both pCPUs switch.
    expect(rows[0]!.contextSwitches).toBeGreaterThanOrEqual(2 * ((DEFAULT_SCENARIO.horizon + DEFAULT_SCENARIO.drain) / DEFAULT_SCENARIO.timeSlice));
    for (const r of rows) expect(r.programmed).toBeGreaterThan(100);
  });

  it.each(['guest-percpu', 'xen-owned'])('%s delivers every expiry exactly once to its own vCPU', (name) => {
    const r = byName(rows, name);
    expect(r.delivered).toBe(r.programmed);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.wrongVcpu).toBe(0);
    for (const v of r.vcpus) {
      expect(v.delivered).toBe(v.programmed);
      expect(v.latencies.length).toBe(v.programmed);
    }
    // Never later than one time slice: a descheduled vCPU gets its expiry when it is switched back in.
    expect(r.latencyMax).toBeLessThanOrEqual(DEFAULT_SCENARIO.timeSlice);
  });

  it('naive (PPI state not switched) loses or misdirects expiries on the same schedule', () => {
    const r = byName(rows, 'naive');
    expect(r.lost + r.wrongVcpu).toBeGreaterThan(0);
    expect(r.delivered).toBeLessThan(r.programmed);
    expect(r.delivered + r.lost).toBe(r.programmed);
    expect(r.latencyMax).toBeGreaterThan(DEFAULT_SCENARIO.timeSlice);
  });

  it('the naive failure needs context switches: one vCPU per pCPU loses nothing', () => {
    const r = runVtimerScenario('naive', { periods: [1_300_000, 1_700_000], domain1Vcpus: 1 });
    expect(r.contextSwitches).toBe(2);
    expect(r.programmed).toBeGreaterThan(50);
    expect(r.lost).toBe(0);
    expect(r.delivered).toBe(r.programmed);
  });

  it('is deterministic', () => {
    expect(runAllStrategies().map((r) => [r.delivered, r.lost, r.latencyMean])).toEqual(
      rows.map((r) => [r.delivered, r.lost, r.latencyMean]),
    );
  });

  it('prints a table with one line per strategy', () => {
    const text = formatTable(rows);
    const lines = text.split('\n');
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[0]).toMatch(/programmed\s+delivered\s+wrong vCPU\s+lost\s+duplicated\s+latency mean/);
    expect(lines[4]).toMatch(new RegExp(`^naive\\s+${byName(rows, 'naive').programmed}\\s+${byName(rows, 'naive').delivered}`));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    main();
    expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toContain(text);
    log.mockRestore();
  });
});
