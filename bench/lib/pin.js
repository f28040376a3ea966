/*
 * Which CPU the measurement processes run on.
 *
 * On this machine class (a 2-vCPU VM) one of the two vCPUs at a time runs the event path
 * 30-40% slower than the other (FIFO, 64 ports: 11 vs 17M events/s, pinned with `taskset`),
 * for minutes at a stretch, and which of the two it is changes. Tight ALU loops and pointer
 * chases run at the same speed on both, so it is not the clock or the memory: most likely a
 * neighbour on the host's sibling hardware thread, which hurts branch-heavy JIT code most. A
 * process the scheduler puts on the slow vCPU gave the "slow mode" of every figure, which looked
 * like a JIT decision (bench/README.md, "What the bimodality was").
 *
 * So before a group of measurements the bench probes every CPU with a short run of the
 * throughput workload and pins the next processes (`taskset -c`) to the fastest; the probe is
 * repeated when it is older than `maxAgeMs`. Each probe's rates are kept in results.json.
 * `--no-pin` lets the scheduler choose, `--cpu N` pins to N without probing.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** Whether `taskset` exists and may pin to `cpu` here (Linux with util-linux). */
export function canPin(cpu = 0) {
  const r = spawnSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

/** The probe workload: the throughput suite, FIFO, 64 ports, 1 vCPU, about a second. */
export const PROBE = { abi: 'fifo', ports: 64, vcpus: 1, samples: 1, minEvents: 500_000, warmupEvents: 500_000 };

export class CpuPinner {
  /**
   * @param {'auto'|'off'|number} mode - probe and pick, no pinning, or a fixed CPU
   * @param {(cpu: number) => number} probe - runs the probe pinned to `cpu`, returns events/s
   * @param {number} maxAgeMs - how long a probe's choice stands
   */
  constructor(mode, probe, maxAgeMs = 20_000) {
    this.mode = mode;
    this.probeFn = probe;
    this.maxAgeMs = maxAgeMs;
    this.cpuCount = availableParallelism();
    this.enabled = mode !== 'off' && canPin(typeof mode === 'number' ? mode : 0);
    this.chosen = typeof mode === 'number' ? mode : undefined;
    this.at = 0;
    /** Every probe: when, the rate per CPU, the CPU chosen. */
    this.probes = [];
  }

  /** The CPU the next measurement process runs on, or `undefined` to let the scheduler choose. */
  cpu() {
    if (!this.enabled) return undefined;
    if (this.mode !== 'auto') return this.chosen;
    if (this.chosen === undefined || Date.now() - this.at > this.maxAgeMs) this.reprobe();
    return this.chosen;
  }

  /** Probes every CPU and keeps the fastest. */
  reprobe() {
    const rates = [];
    for (let c = 0; c < this.cpuCount; c++) rates.push(this.probeFn(c));
    let best = 0;
    for (let c = 1; c < rates.length; c++) if (rates[c] > rates[best]) best = c;
    this.chosen = best;
    this.at = Date.now();
    this.probes.push({ at: new Date(this.at).toISOString(), eventsPerSecond: rates, chosen: best });
  }

  /** What results.json records. */
  summary() {
    return { mode: this.enabled ? this.mode : 'off', taskset: this.enabled, probe: PROBE, probes: this.probes };
  }
}
