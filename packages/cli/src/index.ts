/**
 * `@evtchn/cli`: the `evtchn` command (`run`, `validate`, `replay`, `conform`, `lsevtchn`, `dump`,
 * `sweep`, `plugin new`), as a thin shell over `@evtchn/sim` (runs) and `@evtchn/conformance`
 * (replays), and the shapes of its `--json` output.
 *
 * @packageDocumentation
 */
export { main, parseIntArg, EXIT_CODES, type CliIo } from './main.js';
export type { ConformJson, DumpJson, ExploreJson, LsevtchnJson, ReplayCompareJson, ReplayJson, ValidateJson } from './json-output.js';
export type { PortDumpJson, PortStatusJson } from './views.js';
export { runReportJson, type RunReportJson, type DomainRunJson } from './run/format.js';
export { checkConfigFile, type ConfigCheck, type CheckOptions } from './run/check.js';
export { estimateRun, NOTIFICATIONS_PER_WALL_SECOND, LONG_RUN_SECONDS, type RunEstimate } from './run/estimate.js';
export { builtinOptionSchemas } from './run/builtin-options.js';
export { formatTable, type Column, type Cell } from './text/table.js';
export { formatDuration } from './text/units.js';
export { RunProgress, progressMode, countScheduledEvents, type ProgressMode, type ProgressStream } from './text/progress.js';
export { formatRunReport } from './run/format.js';
export { resolvePlugins, resolvePluginModules, checkBuiltinPlugins, type PluginResolveOptions } from './run/plugins.js';
export { scaffoldPlugin, type ScaffoldOptions } from './plugin/scaffold.js';
export {
  runConfigFile,
  resumeRunFile,
  loadConfigFile,
  hypervisorFromFile,
  RunSetupError,
  DEFAULT_RUN_DURATION,
  type RunFileOptions,
  type RunFileResult,
  type ResumeOptions,
} from './run/command.js';
export { runReportHtml, RUN_REPORT_SAMPLE_POINTS, type RunReportSource } from './report/run-report.js';
export { sweepReportHtml, type SweepReportSource } from './report/sweep-report.js';
export type { SweepRow } from './sweep/run-one.js';
