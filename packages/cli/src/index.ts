/**
 * `@evtchn/cli`: the `evtchn` command (`replay`, `conform`, `run`, `validate`, `lsevtchn`, `dump`)
 * as a thin shell over `@evtchn/sim` (runs) and `@evtchn/conformance` (replays).
 *
 * @packageDocumentation
 */
export { main, type CliIo } from './main.js';
export { formatRunReport } from './run/format.js';
export { resolvePlugins } from './run/plugins.js';
export { runConfigFile, loadConfigFile, hypervisorFromFile, RunSetupError, DEFAULT_RUN_DURATION, type RunFileOptions } from './run/command.js';
