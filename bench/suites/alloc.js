/*
 * Allocation on the hot path: the throughput workload for 10 million events after a warm-up,
 * with the live memory (after a full GC) before and after, and the number of garbage
 * collections that ran meanwhile. A path that allocates even 8 bytes per event would fill the
 * young generation dozens of times over 10M events; zero scavenges means nothing was allocated.
 */
import { bindPorts, buildPlatform, counter } from '../lib/platform.js';
import { countGcs, liveBytes } from '../lib/measure.js';
import { runRounds } from './throughput.js';

/** @param {{abi:'2level'|'fifo', ports?:number, vcpus?:number, events?:number}} p */
export async function measureAlloc(p) {
  const ports = p.ports ?? 64;
  const vcpus = p.vcpus ?? 1;
  const events = p.events ?? 10_000_000;
  const env = bindPorts(buildPlatform(p.abi, vcpus, ports), ports);
  const sendPorts = Uint32Array.from(env.ports);
  const rounds = Math.ceil(events / ports);
  runRounds(env.hc, env.guest, sendPorts, vcpus, Math.ceil(2_000_000 / ports));
  const before = liveBytes();
  const runsBefore = counter.runs;
  const { counts } = await countGcs(() => runRounds(env.hc, env.guest, sendPorts, vcpus, rounds));
  const handled = counter.runs - runsBefore;
  const after = liveBytes();
  return {
    abi: p.abi,
    ports,
    vcpus,
    events: handled,
    heapGrowthBytes: after - before,
    bytesPerEvent: (after - before) / handled,
    scavenges: counts.minor,
    markCompacts: counts.major,
  };
}
