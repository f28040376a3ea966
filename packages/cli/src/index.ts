/**
 * `@evtchn/cli`: the `evtchn` command (`replay`, `conform`, `run`, `validate`, `lsevtchn`, `dump`)
 * and the replay runners it is built on.
 *
 * @packageDocumentation
 */
export { main, type CliIo } from './main.js';
export {
  Simulation,
  type RunReport,
  type DomainRunStats,
  type LatencyRow,
  type SimulationOptions,
  type SimulationPlugins,
  type SpiRunStats,
  type VtimerRunStats,
  type SchedulerRunStats,
} from './run/simulate.js';
export { formatRunReport } from './run/format.js';
export { resolvePlugins } from './run/plugins.js';
export { runConfigFile, loadConfigFile, hypervisorFromFile, RunSetupError, DEFAULT_RUN_DURATION, type RunFileOptions } from './run/command.js';
export { SeededRandom } from './run/rng.js';
