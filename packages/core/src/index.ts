/**
 * `@evtchn/core`: the contracts and tokens every plugin implements, the hypervisor
 * event-channel core, the simulation kernel and the platform builder.
 *
 * @packageDocumentation
 */
/** Every DI token of the framework, in one namespace (each is also exported under its interface's name). */
export * as Tokens from './tokens.js';
export * from './errno.js';
export * from './xen.js';
export * from './bus.js';
export * from './contracts/index.js';
export * from './util/bits.js';
export * from './hypervisor/channel-table.js';
export * from './hypervisor/memory.js';
export * from './platform/plugin.js';
export * from './sim/clock.js';
export * from './sim/scheduler.js';
export {
  ClockedVcpuRunner,
  DEFAULT_EXECUTION_COSTS,
  DEFAULT_MAX_SLICE_NS,
  DEFAULT_LIVELOCK_NS,
  type VcpuRunnerOptions,
} from './sim/vcpu-runner.js';
export { DomainClock } from './sim/domain-clock.js';
export { LogHistogram, type HistogramSummary } from './sim/histogram.js';
export * from './hypervisor/domain.js';
export * from './hypervisor/hypervisor.js';
export * from './hypervisor/dummy-policy.js';
export { PolicyGate, PolicyHookError, type PolicyHook } from './hypervisor/policy-gate.js';
export * from './hypervisor/null-arch.js';
export * from './platform/config-error.js';
export * from './platform/platform.js';
export { migrateDomain, type MigrateOptions, type MigrationResult } from './platform/migrate.js';
export {
  PLATFORM_SNAPSHOT_FORMAT,
  PLATFORM_SNAPSHOT_VERSION,
  applyPlatformSnapshot,
  checkSnapshotHeader,
  restorePlatform,
  setPart,
  snapshotPlatform,
  type PlatformSnapshot,
} from './platform/snapshot.js';
export * from './hypervisor/dump.js';
export * from './config/schema.js';
export * from './config/load.js';
export { resolveConfigModule, type ConfigModule, type ConfigModulePolicy } from './config/modules.js';
export * from './platform/load-plugin.js';
export {
  checkPluginRegistration,
  contractProblems,
  pluginServicesContainer,
  supportedRange as supportedPluginApiVersions,
  type PluginServices,
} from './platform/plugin-checks.js';
export { resolveModuleSpecifier, isInside, type ResolvedModule } from './platform/resolve-module.js';
export { CORE_VERSION } from './version.js';
export {
  SnapshotError,
  at as snapshotPath,
  readArray,
  readArrayInto,
  readBool,
  readInt,
  readNumber,
  readObject,
  readOneOf,
  readString,
  readTimer,
  expectSame,
  underPath,
  writeArray,
  type JsonObject,
  type NumericArray,
} from './snapshot/codec.js';
