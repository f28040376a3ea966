/*
 * Continue = never stopped (issue #19 item 2), at the library level: for generated small
 * configurations on both architectures and both ABIs, a run saved at a random virtual time
 * (Simulation.runUntil + snapshot, written out as JSON text and parsed back) and resumed in a
 * new Simulation gives the same report and the same trace lines as the run that never stopped.
 * The generator is checked to really put pending, masked, in-flight and queued events into the
 * snapshots it takes.
 */
import { parsePlatformConfig, type Platform, type PlatformFileConfig } from '@evtchn/core';
import { SeededRandom, Simulation } from '@evtchn/sim';
import { describe, expect, it } from 'vitest';
import { builtinOptionSchemas } from './builtin-options.js';
import { resolvePlugins } from './plugins.js';

/** Number of generated cases (issue #19 asks for at least 200). */
const CASES = 240;

interface Case {
  name: string;
  cfg: PlatformFileConfig;
  durationNs: number;
  seed: number;
  atNs: number;
  upcallEntryNs: number;
  handlerCostNs: number;
}

function pick<T>(r: SeededRandom, xs: readonly T[]): T {
  return xs[Math.floor(r.next() * xs.length)]!;
}

function int(r: SeededRandom, lo: number, hi: number): number {
  return lo + Math.floor(r.next() * (hi - lo + 1));
}

/** One small configuration: 2–3 domains, device channels, timers, IPIs, and on x86 a shared GSI and an MSI. */
function generate(i: number): Case {
  const r = new SeededRandom(0x5eed0000 + i);
  const arch = i % 2 === 0 ? 'x86' : 'arm';
  const fifo = Math.floor(i / 2) % 2 === 0;
  const nDomains = int(r, 2, 3);
  const domains = Array.from({ length: nDomains }, (_, id) => ({ id, vcpus: int(r, 1, 2) }));
  const workloads: unknown[] = [];
  for (let f = 1; f < nDomains; f++) {
    const w: Record<string, unknown> = { type: 'interdomain', frontend: f, backend: 0, rate: int(r, 50_000, 400_000) };
    if (fifo && r.next() < 0.7) w.priority = int(r, 0, 15);
    if (r.next() < 0.5) w.vcpu = int(r, 0, domains[0]!.vcpus - 1);
    workloads.push(w);
  }
  if (r.next() < 0.8) workloads.push({ type: 'timer', domain: int(r, 0, nDomains - 1), hz: int(r, 1000, 8000) });
  const smp = domains.filter((d) => d.vcpus > 1);
  if (smp.length && r.next() < 0.7) {
    const d = pick(r, smp);
    workloads.push({ type: 'ipi', domain: d.id, from: 0, to: 1, rate: int(r, 10_000, 80_000) });
  }
  if (arch === 'x86' && r.next() < 0.6)
    workloads.push({ type: 'pirq', name: 'nic', gsi: 20, rate: int(r, 5_000, 60_000), domains: nDomains > 2 ? [1, 2] : [1] });
  if (arch === 'x86' && r.next() < 0.4) workloads.push({ type: 'pirq', name: 'nvme', msi: true, rate: int(r, 5_000, 60_000), domains: [nDomains - 1] });
  if (arch === 'arm' && r.next() < 0.5) workloads.push({ type: 'spi', name: 'uart', irq: 40, domain: nDomains - 1, rate: int(r, 5_000, 60_000) });
  const vtimer = pick(r, ['guest-percpu', 'xen-owned', 'naive'] as const);
  if (arch === 'arm' && r.next() < 0.6) workloads.push({ type: 'vtimer', domain: int(r, 0, nDomains - 1), periodUs: int(r, 300, 2000) });
  const doc = {
    arch: arch === 'x86' ? { name: 'x86', pcpus: int(r, 1, 4), ioApics: [{ pins: 24 }] } : { name: 'arm', pcpus: int(r, 1, 2), vtimer },
    abis: ['2level', 'fifo'],
    guest: { name: 'linux', fifo },
    domains,
    workloads,
  };
  const name = `case ${i} (${arch}, ${fifo ? 'fifo' : '2level'})`;
  const cfg = parsePlatformConfig(JSON.stringify(doc), name, { pluginOptions: builtinOptionSchemas });
  // Arm runs span a few 1 ms scheduler slices, so vCPUs are descheduled with their timers armed.
  const durationNs = arch === 'arm' ? int(r, 1200, 3500) * 1000 : int(r, 200, 1500) * 1000;
  return {
    name,
    cfg,
    durationNs,
    seed: int(r, 0, 0xffffffff),
    atNs: checkpointTime(r, arch, durationNs),
    upcallEntryNs: int(r, 300, 6000),
    handlerCostNs: int(r, 500, 6000),
  };
}

/**
 * Any time, including ones where a timer is due (a round number) and the very start; on Arm
 * often just after a scheduler slice ends (1 ms), while switched-out vCPUs' timers are armed.
 */
function checkpointTime(r: SeededRandom, arch: string, durationNs: number): number {
  if (arch === 'arm' && r.next() < 0.5) {
    const slices = Math.floor((durationNs - 1) / 1_000_000);
    if (slices >= 1) return Math.min(durationNs - 1, int(r, 1, slices) * 1_000_000 + int(r, 1, 300_000));
  }
  if (r.next() < 0.15) return Math.round(durationNs * r.next() * 10) * 100;
  return r.next() < 0.05 ? 0 : int(r, 1, durationNs - 1);
}

/** What the platform holds at the checkpoint (counted before the snapshot is taken). */
function census(p: Platform): { pending: number; masked: number; inFlight: number; queued: number } {
  let pending = 0;
  let masked = 0;
  let queued = 0;
  for (const pd of p.domains.values()) {
    const d = pd.domain;
    let here = 0;
    for (let port = 1; port < d.channels.valid; port++) {
      if (!d.abi.isPending(port)) continue;
      here++;
      if (d.abi.isMasked(port)) masked++;
    }
    pending += here;
    // Events waiting behind another one of the same domain: linked on a FIFO queue after its
    // head, or a second pending 2-level bit.
    if (here > 1) queued += here - 1;
  }
  let inFlight = 0;
  for (const pd of p.domains.values())
    for (let v = 0; v < pd.domain.nrVcpus; v++) {
      // Raised, not yet taken: an armed entry or a wait for the pCPU (the runner's state).
      const st = (p.runner.getState() as { domid: number; armed: number[]; waiting: number[] }[]).find((x) => x.domid === pd.domain.id);
      if (st && (st.armed[v] === 1 || st.waiting[v] === 1)) inFlight++;
    }
  return { pending, masked, inFlight, queued };
}

/** Arm virtual-timer timers armed at the checkpoint: generic-timer wake-ups, Xen's soft timers, tick handlers' work. */
function armTimers(snap: { platform: { arch: unknown }; run: unknown }): { armTimers: number; softTimers: number } {
  const arch = snap.platform.arch as { timers?: { wake: unknown }[]; domains?: { vtimers?: unknown[][] }[] };
  let n = 0;
  let soft = 0;
  for (const t of arch.timers ?? []) if (t.wake !== null) n++;
  for (const d of arch.domains ?? []) for (const v of d.vtimers ?? []) if (v[4] !== null) soft++;
  const ticks = (snap.run as { ticks: { ticks: { workTimer: unknown }[] } | null }).ticks;
  for (const t of ticks?.ticks ?? []) if (t.workTimer !== null) n++;
  return { armTimers: n + soft, softTimers: soft };
}

describe('a run saved and resumed equals the run that never stopped', () => {
  it(`holds for ${CASES} generated configurations and checkpoint times (x86/arm × 2level/fifo)`, async () => {
    const totals = { pending: 0, masked: 0, inFlight: 0, queued: 0, armTimers: 0, softTimers: 0 };
    const casesWith = { pending: 0, masked: 0, inFlight: 0, queued: 0, armTimers: 0, softTimers: 0 };
    const combos = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const c = generate(i);
      const plugins = await resolvePlugins(c.cfg, '.');
      const opts = { durationNs: c.durationNs, seed: c.seed, upcallEntryNs: c.upcallEntryNs, handlerCostNs: c.handlerCostNs };
      const whole: string[] = [];
      const full = new Simulation(c.cfg, plugins, { ...opts, trace: (l) => whole.push(l) }).run();

      const parts: string[] = [];
      const first = new Simulation(c.cfg, plugins, { ...opts, trace: (l) => parts.push(l) });
      first.runUntil(c.atNs);
      const text = JSON.stringify(first.snapshot());
      const seen = { ...census(first.platform), ...armTimers(JSON.parse(text)) };
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) {
        totals[k] += seen[k];
        if (seen[k] > 0) casesWith[k]++;
      }
      const again = await resolvePlugins(c.cfg, '.');
      const resumed = Simulation.resume(JSON.parse(text), again, { trace: (l) => parts.push(l) });
      const rest = resumed.run();

      expect(JSON.stringify(rest), c.name).toBe(JSON.stringify(full));
      expect(parts.join('\n'), c.name).toBe(whole.join('\n'));
      const key = `${c.cfg.arch.name}/${c.cfg.guest?.fifo ? 'fifo' : '2level'}`;
      combos.set(key, (combos.get(key) ?? 0) + 1);
    }
    // Every architecture × ABI pair is covered, and the checkpoints really caught events in
    // each of the states that matter.
    expect([...combos.keys()].sort()).toEqual(['arm/2level', 'arm/fifo', 'x86/2level', 'x86/fifo']);
    for (const n of combos.values()) expect(n).toBeGreaterThanOrEqual(50);
    console.log(`checkpoint census over ${CASES} cases: totals ${JSON.stringify(totals)}, cases with each ${JSON.stringify(casesWith)}`);
    expect(casesWith.pending).toBeGreaterThanOrEqual(20);
    expect(casesWith.masked).toBeGreaterThanOrEqual(20);
    expect(casesWith.inFlight).toBeGreaterThanOrEqual(20);
    expect(casesWith.queued).toBeGreaterThanOrEqual(20);
    expect(casesWith.armTimers).toBeGreaterThanOrEqual(20);
    expect(casesWith.softTimers).toBeGreaterThanOrEqual(5);
  }, 300_000);
});
