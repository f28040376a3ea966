/**
 * `@evtchn/arch-x86`: the x86 architecture for Evtchn Lab — per-CPU vectors, LAPIC and
 * IO-APIC, GSIs, the guest IRQ number space (`nr_irqs`, `nr_irqs_gsi`, the three dynamic-IRQ
 * policies), pirqs and MSIs shared with guests, and event-channel upcall delivery.
 *
 * @packageDocumentation
 */
export {
  archProbeNrIrqs,
  compileTimeNrIrqs,
  gsiTop,
  type IoApicConfig,
  IRQ_BITMAP_SLACK,
  irqBitmapBits,
  type KernelIrqConfig,
  MAX_IO_APICS,
  NR_IRQS_LEGACY,
  NR_VECTORS,
  nrIrqsGsi,
  type ProbeNrIrqsEra,
  type ProbeNrIrqsInput,
} from './formulas.js';
export {
  DYN_IRQ_POLICIES,
  DYN_IRQ_POLICY_ERAS,
  type DynIrqPolicy,
  type DynIrqPolicyEra,
  type GsiClash,
  IRQ_OWNER_DYNAMIC,
  IRQ_OWNER_FREE,
  IRQ_OWNER_GSI,
  IRQ_OWNER_LEGACY,
  KernelPanicError,
  SCAN_DOWN_PANIC,
  SCAN_DOWN_WARN,
  X86GuestIrqSpace,
  type X86IrqSpaceConfig,
} from './irq-space.js';
export {
  CALL_FUNCTION_SINGLE_VECTOR,
  CALL_FUNCTION_VECTOR,
  DEFERRED_ERROR_VECTOR,
  ERROR_APIC_VECTOR,
  FIRST_EXTERNAL_VECTOR,
  FIRST_SYSTEM_VECTOR,
  HYPERVISOR_CALLBACK_VECTOR,
  IA32_SYSCALL_VECTOR,
  IRQ_MOVE_CLEANUP_VECTOR,
  IRQ_WORK_VECTOR,
  ISA_IRQ_VECTOR_BASE,
  LOCAL_TIMER_VECTOR,
  REBOOT_VECTOR,
  RESCHEDULE_VECTOR,
  SPURIOUS_APIC_VECTOR,
  THERMAL_APIC_VECTOR,
  THRESHOLD_APIC_VECTOR,
  VECTOR_FREE,
  VECTOR_RESERVED,
  vectorClass,
  VectorTables,
  X86_PLATFORM_IPI_VECTOR,
} from './vectors.js';
export {
  Lapic,
  LAPIC_BITMAP_WORDS,
  type LapicClient,
  type LapicState,
} from './lapic.js';
export {
  IoApic,
  type IoApicBus,
  type IoApicState,
  RTE_DELIVERY_MODE_MASK,
  RTE_DELIVERY_STATUS,
  RTE_DEST_MODE_LOGICAL,
  RTE_DEST_SHIFT,
  RTE_MASKED,
  RTE_POLARITY_LOW,
  RTE_REMOTE_IRR,
  RTE_TRIGGER_LEVEL,
  RTE_VECTOR_MASK,
} from './ioapic.js';
export {
  ACK_TYPE_EOI,
  ACK_TYPE_NONE,
  ACK_TYPE_UNMASK,
  GUEST_EOI_TIMEOUT_NS,
  type IoApicAckMode,
  IRQ_GUEST,
  IRQ_MAX_GUESTS,
  IRQ_RATELIMIT_THRESHOLD,
  IRQ_RATELIMIT_WINDOW_NS,
  IRQ_XEN,
  type IrqInfo,
  type IrqSource,
  LINE_MASK_ACK,
  LINE_MASK_RATELIMIT,
  LINE_MASK_UNBOUND,
  type MapPirqRequest,
  XenIrqLayer,
  type XenIrqLayerOptions,
  XENIRQSTAT_NEEDS_EOI,
  XENIRQSTAT_SHARED,
} from './xen-irq.js';
export {
  DEFAULT_CALLBACK_GSI,
  DomainUpcall,
  HVM_VIOAPIC_PINS,
  UPCALL_MODES,
  type UpcallMode,
} from './upcall.js';
export {
  type ArchX86Options,
  DEFAULT_CONFIG_NR_CPUS,
  DEFAULT_IO_APICS,
  X86Architecture,
  type X86GuestIrqSpaceOptions,
} from './architecture.js';
export { ARCH_X86_PLUGIN_NAME, archX86 } from './plugin.js';
