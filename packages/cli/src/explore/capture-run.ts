/*
 * The explorer over a run of a platform configuration: each step is one instant of the
 * virtual clock (every timer due then has fired), and records, per domain, the same cells as a
 * replay (ports, ABI words, FIFO queues, guest IRQs) under the domain's prefix, plus what the
 * architecture holds for each vCPU: on x86 the vLAPIC's IRR and ISR, on Arm the vGIC's list
 * registers, and the pCPU the vCPU runs on. The step's lines are the run's trace events of that
 * instant (sends, upcall entries, handler runs).
 */
import { ArmArchitecture } from '@evtchn/arch-arm';
import { X86Architecture } from '@evtchn/arch-x86';
import type { Platform } from '@evtchn/core';
import { LinuxGuest } from '@evtchn/guest-linux';
import type { Simulation } from '@evtchn/sim';
import { changedCells, domainCells, type ExploreCell, type ExploreData, type ExploreDomain, type ExploreStep } from './capture.js';

/** Options of {@link captureRun}. */
export interface CaptureRunOptions {
  /** The file's name, for the title. */
  readonly title: string;
  /** Stop after this many clock instants (the page would grow without bound otherwise). */
  readonly maxSteps: number;
  /** The run's duration (ns): no instant after it is taken. */
  readonly durationNs: number;
  /** Takes the trace lines the run wrote since the last call (the simulation's `trace` sink). */
  readonly drainTrace: () => string[];
}

/** Architecture cells of one domain. */
function archCells(cells: Map<string, ExploreCell>, platform: Platform, d: ExploreDomain): void {
  const arch = platform.arch;
  if (arch instanceof X86Architecture) {
    const up = arch.upcallState(d.id);
    up?.vlapics.forEach((lapic, v) => {
      const st = lapic.getState();
      cells.set(`${d.prefix}lapic:${v}`, [...st.irr, ...st.isr]);
    });
  } else if (arch instanceof ArmArchitecture) {
    const vgic = arch.vgic(d.id);
    for (let v = 0; v < d.vcpus; v++) {
      // Per list register: virq (-1 empty), pending, active, priority.
      cells.set(
        `${d.prefix}lr:${v}`,
        vgic.listRegisters(v).flatMap((lr) => (lr ? [lr.virq, lr.pending ? 1 : 0, lr.active ? 1 : 0, lr.priority] : [-1, 0, 0, 0])),
      );
    }
  }
  const sched = platform.scheduler;
  if (sched) for (let v = 0; v < d.vcpus; v++) cells.set(`${d.prefix}pcpu:${v}`, sched.processorOf(d.id, v));
}

function allCells(platform: Platform, domains: readonly ExploreDomain[]): Map<string, ExploreCell> {
  const cells = new Map<string, ExploreCell>();
  for (const d of domains) {
    const pd = platform.domains.get(d.id);
    if (!pd) continue;
    domainCells(cells, d.prefix, pd.domain, pd.guest instanceof LinuxGuest ? pd.guest : undefined, d.vcpus);
    archCells(cells, platform, d);
  }
  return cells;
}

/**
 * Runs `sim` one clock instant at a time and records each instant for the explorer.
 * @param sim - a simulation not yet run, whose trace goes to `opts.drainTrace`
 */
export function captureRun(sim: Simulation, opts: CaptureRunOptions): ExploreData {
  const platform = sim.platform;
  const domains: ExploreDomain[] = [...platform.domains.values()].map((pd) => ({
    id: pd.domain.id,
    name: pd.config.name ?? `dom${pd.domain.id}`,
    abi: pd.guest instanceof LinuxGuest ? pd.guest.abiName : pd.domain.abi.name,
    vcpus: pd.domain.nrVcpus,
    prefix: `d${pd.domain.id}/`,
  }));
  const steps: ExploreStep[] = [];
  // Step 0 is the platform as booted, before the clock runs.
  sim.runUntil(0);
  let prev = new Map<string, ExploreCell>();
  const record = (step: Record<string, unknown>): void => {
    const cells = allCells(platform, domains);
    const lines = opts.drainTrace();
    steps.push({ step, line: lines.join('\n'), changes: changedCells(prev, cells) });
    prev = cells;
  };
  record({ op: 'boot', t: platform.clock.now() });
  const clock = platform.clock;
  while (steps.length < opts.maxSteps) {
    const due = clock.nextDue?.();
    if (due === undefined || due > opts.durationNs) break;
    if (!sim.runUntil(due)) break;
    record({ op: 'clock', t: clock.now() });
  }
  const first = domains[0];
  return {
    kind: 'run',
    title: opts.title,
    arch: platform.arch.name,
    domains,
    abi: first?.abi ?? '-',
    vcpus: first?.vcpus ?? 0,
    wordBits: 64,
    steps,
    firstMismatch: -1,
  };
}
