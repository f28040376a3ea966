/**
 * `@evtchn/core`: the contracts and tokens every plugin implements, the hypervisor
 * event-channel core, the simulation kernel and the platform builder.
 *
 * @packageDocumentation
 */
/** Every DI token of the framework, in one namespace (each is also exported under its interface's name). */
export * as Tokens from './tokens.js';
export {
  check,
  Errno,
  errnoName,
  type ErrnoName,
  XenError,
} from './errno.js';
export {
  BIND_PIRQ_WILL_SHARE,
  DOMID_MASK,
  DOMID_SELF,
  ECS,
  EVTCHN_FIFO_LINK_BITS,
  EVTCHNOP,
  type EvtchnOpName,
  EVTCHNSTAT,
  type EvtchnStatusName,
  NR_VIRQS,
  PAGE_SIZE,
  PAGE_WORDS,
  VIRQ,
  virqKind,
  type VirqKind,
} from './xen.js';
export {
  EventBus,
  PlatformEventBus,
  type PlatformEventName,
  type PlatformEvents,
} from './bus.js';
export {
  type AbiGuestContext,
  type AbiGuestOps,
  type AbiHypervisorContext,
  type AbiHypervisorOps,
  type ArchDomainInfo,
  Architecture,
  Clock,
  type DomainCounters,
  EventAbi,
  type EventChannelOps,
  type EventDispatcher,
  type EvtchnStatus,
  type ExecutionCosts,
  type ExecutionMode,
  type GuestContext,
  type GuestIrqSpace,
  type GuestIrqSpaceOptions,
  GuestOs,
  GuestOsFactory,
  type HypervisorLink,
  type JsonValue,
  type PhysdevOps,
  type PirqBackend,
  type PolicySubject,
  Scheduler,
  SecurityPolicy,
  type Snapshottable,
  type TimerId,
  type TimerRecord,
  type UpcallSink,
  type VcpuInterruptEntry,
  type VcpuRef,
  VcpuRunner,
  type VcpuRunStats,
} from './contracts/index.js';
export {
  clearBit,
  ffs32,
  setBit,
  testAndClearBit,
  testAndSetBit,
  testBit,
} from './util/bits.js';
export {
  type ChannelSnapshot,
  ChannelTable,
  type ChannelTableState,
  EVTCHNS_PER_BUCKET,
} from './hypervisor/channel-table.js';
export {
  GuestMemory,
  SHARED_BITMAP_WORDS32,
  SharedInfo,
  type SharedInfoField,
} from './hypervisor/memory.js';
export {
  type ContractProvider,
  definePlugin,
  isPlugin,
  MIN_PLUGIN_API_VERSION,
  type OptionsSchema,
  type Plugin,
  PLUGIN_API_VERSION,
  PLUGIN_KINDS,
  PLUGIN_TOKENS,
  type PluginContracts,
  type PluginDefinition,
  type PluginFactoryWithSchema,
  type PluginKind,
  withOptionsSchema,
} from './platform/plugin.js';
export { VirtualClock, type VirtualClockState } from './sim/clock.js';
export {
  type AddVcpuOptions,
  RoundRobinScheduler,
  type RoundRobinSchedulerOptions,
  type SwitchListener,
  type VcpuRunState,
} from './sim/scheduler.js';
export {
  ClockedVcpuRunner,
  DEFAULT_EXECUTION_COSTS,
  DEFAULT_MAX_SLICE_NS,
  DEFAULT_LIVELOCK_NS,
  type VcpuRunnerOptions,
} from './sim/vcpu-runner.js';
export { DomainClock } from './sim/domain-clock.js';
export { LogHistogram, type HistogramSummary } from './sim/histogram.js';
export { Domain, type DomainCreateOptions, UNLIMITED_EVTCHN_PORT } from './hypervisor/domain.js';
export {
  DOMID_FIRST_RESERVED,
  Hypervisor,
  type HypervisorOptions,
  MAX_PAUSE_COUNT,
  type RawOpResult,
} from './hypervisor/hypervisor.js';
export { dummyPolicy, DummySecurityPolicy } from './hypervisor/dummy-policy.js';
export { PolicyGate, PolicyHookError, type PolicyHook } from './hypervisor/policy-gate.js';
export {
  archNull,
  nullArchitecture,
  NullArchitecture,
  type NullArchitectureOptions,
} from './hypervisor/null-arch.js';
export { ConfigError, type ConfigProblem } from './platform/config-error.js';
export {
  type AddDomainOptions,
  createPlatform,
  DEFAULT_TIME_SLICE_NS,
  type DomainConfig,
  type Platform,
  type PlatformConfig,
  type PlatformDomain,
} from './platform/platform.js';
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
export { dumpEventChannels, lsevtchn, type LsevtchnOptions } from './hypervisor/dump.js';
export {
  type ArchConfig,
  type DomainFileConfig,
  type GuestConfig,
  type InterdomainWorkload,
  type IoApicFileConfig,
  type IpiWorkload,
  type PirqWorkload,
  platformConfigSchema,
  type PlatformFileConfig,
  type PluginRef,
  type RunConfig,
  type SpiWorkload,
  type TimerWorkload,
  type VtimerWorkload,
  type WorkloadConfig,
  workloadSchemas,
} from './config/schema.js';
export {
  type ConfigCheckOptions,
  MAX_CONFIG_DEPTH,
  parseDuration,
  parsePlatformConfig,
  type PluginOptionKind,
  type PluginOptionSchemas,
  validatePlatformConfig,
} from './config/load.js';
export { resolveConfigModule, type ConfigModule, type ConfigModulePolicy } from './config/modules.js';
export {
  checkOptions,
  loadPlugin,
  type LoadPluginOptions,
  type ModuleImporter,
} from './platform/load-plugin.js';
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
