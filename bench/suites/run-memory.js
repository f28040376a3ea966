/*
 * Memory of a simulated run as its virtual duration grows (issue 14: "a 32 s simulated run uses
 * no more memory than a 1 s run") and of a heavy traced run (the trace streams to its file).
 * Each measurement runs in its own process: the live heap after a full GC at the end of the
 * run (JS heap + array buffers) and the process's peak RSS.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, liveBytes, seconds } from '../lib/measure.js';
import { cli } from '../lib/stack.js';

const DEMO = fileURLToPath(new URL('../../examples/x86-dom0-fifo/platform.yaml', import.meta.url));

/** One interdomain channel driven far faster than it can drain: every send after the first coalesces. */
const HEAVY = `arch: { name: x86, pcpus: 2 }
abis: [2level, fifo]
guest: { name: linux, fifo: true }
domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 1 }]
workloads:
  - { type: interdomain, name: flood, frontend: 1, backend: 0, rate: 1000000000 }
`;

/**
 * @param {{ kind: 'duration', duration: string } | { kind: 'heavy-trace', duration: string }} p
 */
export async function measureRunMemory(p) {
  const dir = mkdtempSync(join(tmpdir(), 'evtchn-bench-'));
  try {
    let file = DEMO;
    let tracePath;
    if (p.kind === 'heavy-trace') {
      file = join(dir, 'heavy.yaml');
      writeFileSync(file, HEAVY);
      tracePath = join(dir, 'trace.jsonl');
    }
    const before = liveBytes();
    const t0 = seconds();
    const c0 = cpuSeconds();
    const { report, sim } = await cli.runConfigFile(file, { duration: p.duration, seed: 1, tracePath });
    const wall = seconds() - t0;
    const cpu = cpuSeconds() - c0;
    const events = report.domains.reduce((n, d) => n + d.sent, 0);
    const live = liveBytes();
    // Keep the simulation reachable until the heap was measured.
    void sim.platform.clock.now();
    return {
      kind: p.kind,
      duration: p.duration,
      events,
      wallSeconds: wall,
      cpuSeconds: cpu,
      liveBytesAtEnd: live,
      liveBytesGrowth: live - before,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      traceBytes: tracePath ? statSync(tracePath).size : 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
