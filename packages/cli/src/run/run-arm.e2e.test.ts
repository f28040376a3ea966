/*
 * `evtchn run` on Arm: time-sliced vCPUs, guests' periodic virtual-timer ticks under each
 * strategy, a physical SPI passed through to a guest, and event channels delivered as event PPIs
 * only while the vCPU runs (examples/arm-vtimer/platform.yaml).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArmArchitecture, IRQ_GUEST, type VtimerStrategyName } from '@evtchn/arch-arm';
import type { PlatformFileConfig, WorkloadConfig } from '@evtchn/core';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../main.js';
import { loadConfigFile } from './command.js';
import { resolvePlugins } from './plugins.js';
import { formatRunReport } from './format.js';
import { Simulation, type RunReport } from '@evtchn/sim';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const example = `${root}examples/arm-vtimer/platform.yaml`;

async function simulate(
  edit: (cfg: PlatformFileConfig) => void,
  durationNs = 60_000_000,
  seed = 7,
  upcallEntryNs?: number,
): Promise<{ sim: Simulation; report: RunReport; trace: string[]; upcallsWhileDescheduled: number }> {
  const cfg = loadConfigFile(example);
  edit(cfg);
  const plugins = await resolvePlugins(cfg, dirname(example));
  const trace: string[] = [];
  let upcallsWhileDescheduled = 0;
  const sim: Simulation = new Simulation(cfg, plugins, {
    durationNs,
    seed,
    upcallEntryNs,
    trace: (line) => {
      trace.push(line);
      const ev = JSON.parse(line) as { ev: string; dom: number; vcpu: number };
      if ((ev.ev === 'upcall' || ev.ev === 'spi' || ev.ev === 'vtimer') && sim.platform.scheduler!.processorOf(ev.dom, ev.vcpu) < 0)
        upcallsWhileDescheduled++;
    },
  });
  const report = sim.run();
  return { sim, report, trace, upcallsWhileDescheduled };
}

const withStrategy = (vtimer: VtimerStrategyName) => (cfg: PlatformFileConfig) => void (cfg.arch.vtimer = vtimer);

describe('evtchn run on Arm (examples/arm-vtimer/platform.yaml)', () => {
  it('runs the vCPUs time-sliced on the configured pCPUs', async () => {
    const { sim, report } = await simulate(withStrategy('xen-owned'), 10_000_000);
    expect(report.arch).toBe('arm');
    expect(sim.platform.arch).toBeInstanceOf(ArmArchitecture);
    expect(report.scheduler).toMatchObject({ pcpus: 2, timeSliceNs: 1_000_000, vtimer: 'xen-owned' });
    // 3 vCPUs on 2 pCPUs: both pCPUs switch at every slice.
    expect(report.scheduler!.contextSwitches).toBeGreaterThanOrEqual(2 * 10);
  });

  it('naive (PPI state not switched with the vCPU) loses timer expiries', async () => {
    const { report } = await simulate(withStrategy('naive'));
    const lost = report.domains.reduce((n, d) => n + (d.vtimer?.lost ?? 0), 0);
    expect(lost).toBeGreaterThan(0);
    for (const d of report.domains) {
      const t = d.vtimer!;
      expect(t.delivered + t.lost + t.pending).toBe(t.programmed);
    }
  });

  it.each(['xen-owned', 'guest-percpu'] as const)('%s delivers every expiry exactly once', async (strategy) => {
    const { report } = await simulate(withStrategy(strategy));
    expect(report.domains.map((d) => d.vtimer?.ticks)).toEqual([2, 1]);
    for (const d of report.domains) {
      const t = d.vtimer!;
      expect(t.programmed).toBeGreaterThan(30);
      expect(t).toMatchObject({ lost: 0, duplicated: 0, wrongVcpu: 0 });
      expect(t.delivered + t.pending).toBe(t.programmed);
      expect(t.pending).toBeLessThanOrEqual(t.ticks);
      // A descheduled vCPU gets its expiry when it runs again: within one slice here.
      expect(t.latencyMax).toBeLessThanOrEqual(1_000_000);
    }
  });

  it('passes the SPI through Xen and the vGIC to the guest, which handles it while it runs', async () => {
    const { sim, report, trace, upcallsWhileDescheduled } = await simulate(withStrategy('xen-owned'));
    const spis = report.domains.find((d) => d.name === 'driver')!.spis!;
    expect(spis).toHaveLength(1);
    const s = spis[0]!;
    expect(s).toMatchObject({ name: 'eth0', irq: 48 });
    expect(s.raised).toBeGreaterThan(50);
    expect(s.delivered).toBeGreaterThan(s.raised / 2);
    // Raises while the line was up merge into one interrupt; at most one is still pending.
    expect(s.raised - s.delivered - s.coalesced).toBeGreaterThanOrEqual(0);
    expect(s.raised - s.delivered - s.coalesced).toBeLessThanOrEqual(1);
    expect(s.max).toBeLessThanOrEqual(1_000_000);
    const arch = sim.platform.arch as ArmArchitecture;
    expect(arch.irqFlags(48) & IRQ_GUEST).toBe(IRQ_GUEST);
    expect(trace.filter((l) => l.includes('"ev":"spi"')).length).toBe(s.delivered);
    expect(report.domains.find((d) => d.name === 'guest')!.spis).toBeUndefined();
    // Guest code (upcalls, SPI and timer handlers) only ran on a vCPU that was on a pCPU.
    expect(upcallsWhileDescheduled).toBe(0);
  });

  it('an upcall whose entry time comes while its vCPU is descheduled enters when the vCPU runs again', async () => {
    const { trace, report, upcallsWhileDescheduled } = await simulate(withStrategy('xen-owned'), 30_000_000, 7, 300_000);
    const upcalls = trace.map((l) => JSON.parse(l) as { t: number; ev: string }).filter((e) => e.ev === 'upcall');
    expect(upcalls.length).toBeGreaterThan(20);
    expect(upcallsWhileDescheduled).toBe(0);
    // Those that waited entered at a switch-in, on a slice boundary.
    expect(upcalls.filter((e) => e.t % 1_000_000 === 0).length).toBeGreaterThan(0);
    for (const d of report.domains) expect(d.delivered).toBeGreaterThan(0);
  });

  it('delivers the interdomain device channel both ways through the event PPIs (dom0 16, domU 31)', async () => {
    const { report } = await simulate(withStrategy('guest-percpu'));
    for (const d of report.domains) {
      expect(d.delivered).toBeGreaterThan(0);
      expect(d.upcalls).toBeGreaterThan(0);
      expect(d.dropped).toBe(0);
      expect(d.delivered).toBeGreaterThanOrEqual(d.sent - d.coalesced - 1);
    }
    // Descheduled vCPUs make some events wait for up to a time slice.
    expect(Math.max(...report.latency.map((l) => l.max))).toBeGreaterThan(100_000);
  });

  it('is deterministic: the same seed gives the same report and trace, another seed another', async () => {
    const a = await simulate(withStrategy('naive'), 20_000_000, 11);
    const b = await simulate(withStrategy('naive'), 20_000_000, 11);
    const c = await simulate(withStrategy('naive'), 20_000_000, 12);
    expect(JSON.stringify(b.report)).toBe(JSON.stringify(a.report));
    expect(b.trace).toEqual(a.trace);
    expect(a.trace.length).toBeGreaterThan(100);
    expect(JSON.stringify(c.report)).not.toBe(JSON.stringify(a.report));
  });

  it('reports setup errors naming the workload', async () => {
    const add = (w: WorkloadConfig) => (cfg: PlatformFileConfig) => void cfg.workloads!.push(w);
    await expect(simulate(add({ type: 'spi', irq: 200, rate: 10, domain: 2 }), 1000)).rejects.toThrow(
      /workloads\[4\]: routing SPI 200 to domain 2 failed \(-22\).*nrSpis/,
    );
    await expect(simulate(add({ type: 'spi', irq: 48, rate: 10, domain: 2 }), 1000)).rejects.toThrow(/workloads\[4\].*\(-16\)/);
    await expect(simulate(add({ type: 'vtimer', domain: 1, vcpu: 1, periodUs: 500 }), 1000)).rejects.toThrow(
      /workloads\[4\]: .*d1v1 already has a tick/,
    );
  });

  it('prints the scheduler, virtual-timer and SPI sections', async () => {
    const { report } = await simulate(withStrategy('naive'), 10_000_000);
    const text = formatRunReport(report);
    expect(text).toMatch(/vCPUs time-sliced on 2 pCPUs, slice 1 ms: \d+ context switches/);
    expect(text).toContain('virtual timer ticks (strategy naive)');
    const driver = report.domains[0]!.vtimer!;
    expect(text).toMatch(new RegExp(`^driver\\s+2\\s+${driver.programmed}\\s+${driver.delivered}\\s+${driver.lost}\\s`, 'm'));
    expect(text).toMatch(/^eth0\s+48\s+driver\s+\d+/m);
    const out: string[] = [];
    const io: CliIo = { out: (t) => void out.push(t), err: (t) => void out.push(t) };
    expect(await main(['run', example, '--duration', '5ms', '--no-progress'], io)).toBe(0);
    expect(out.join('')).toMatch(/^run: arch arm, ABIs 2level\+fifo, 5 ms of virtual time, seed 7/);
    expect(out.join('')).toContain('virtual timer ticks (strategy xen-owned');
  });
});
