/**
 * `@evtchn/sim`: runs a platform configuration on the virtual clock — seeded workloads (device
 * channels, timers, IPIs, shared GSIs and MSIs on x86, SPIs and virtual timers on Arm), the
 * platform's vCPU runner and its cost model, and the metrics of a run (sent, delivered,
 * coalesced and dropped events per domain, latency per priority in fixed-size histograms).
 * `evtchn run` is a thin shell over {@link Simulation}; library code uses it the same way.
 *
 * @packageDocumentation
 */
export {
  Simulation,
  type RunReport,
  type DomainRunStats,
  type VcpuRunRow,
  type PortRunRow,
  type LatencyRow,
  type SimulationOptions,
  type SimulationPlugins,
  type SpiRunStats,
  type VtimerRunStats,
  type SchedulerRunStats,
  type RunDetails,
  type LatencyBuckets,
  type ArrivalStream,
} from './simulation.js';
export { RunSampler, type RunSamples, type VcpuInterruptSeries, type WaitingSeries, type SampledDomain } from './samples.js';
export { SeededRandom } from './rng.js';
export { RUN_SNAPSHOT_FORMAT, RUN_SNAPSHOT_VERSION, type SimulationSnapshot } from './snapshot.js';
