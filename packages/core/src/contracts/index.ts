export {
  type AbiGuestContext,
  type AbiGuestOps,
  type AbiHypervisorContext,
  type AbiHypervisorOps,
  type DomainCounters,
  EventAbi,
  type EventDispatcher,
} from './abi.js';
export {
  type ArchDomainInfo,
  Architecture,
  type GuestIrqSpace,
  type GuestIrqSpaceOptions,
  type HypervisorLink,
  type PirqBackend,
  type UpcallSink,
} from './arch.js';
export { type GuestContext, GuestOs, GuestOsFactory } from './guest.js';
export { type EventChannelOps, type EvtchnStatus, type PhysdevOps } from './hypercalls.js';
export { type PolicySubject, SecurityPolicy } from './policy.js';
export {
  Clock,
  type ExecutionCosts,
  type ExecutionMode,
  Scheduler,
  type TimerId,
  type TimerRecord,
  type VcpuInterruptEntry,
  type VcpuRef,
  VcpuRunner,
  type VcpuRunStats,
} from './sim.js';
export { type JsonValue, type Snapshottable } from './snapshot.js';
