/**
 * `@evtchn/arch-arm`: Xen on Arm's interrupt plumbing: the GIC (SGI/PPI/SPI/LPI), the vGIC
 * with list registers, SPI routing to guests, the event-channel upcall as the domain's event PPI
 * (31 for a domU, the first free PPI for the hardware domain), and the
 * virtual timer with its delivery strategies (`guest-percpu`, `xen-owned`, `naive`).
 *
 * @packageDocumentation
 */
export {
  allocateHwdomEvtchnPpi,
  ESPI_BASE,
  ESPI_LAST,
  Gic,
  GIC_PRI_HIGHEST,
  GIC_PRI_IDLE,
  GIC_PRI_IPI,
  GIC_PRI_IRQ,
  GIC_PRI_LOWEST,
  GIC_SPURIOUS,
  GICD_ACTIVE,
  GICD_ENABLED,
  GICD_LEVEL,
  GICD_LINE,
  GICD_PENDING,
  type GicOptions,
  type GicState,
  HWDOM_RESERVED_PPIS,
  irqClass,
  type IrqClass,
  LPI_BASE,
  NR_LOCAL_IRQS,
  PPI_BASE,
  PPI_EVTCHN_UPCALL,
  PPI_PHYS_TIMER,
  PPI_SECURE_PHYS_TIMER,
  PPI_VIRT_TIMER,
  SGI_BASE,
  type SgiTargetMode,
  SPECIAL_BASE,
  SPI_BASE,
  XEN_NR_IRQS,
} from './gic.js';
export {
  type InjectResult,
  type ListRegisterView,
  Vgic,
  type VgicHost,
  type VgicOptions,
  VIRQ_ACTIVE,
  VIRQ_ENABLED,
  VIRQ_INFLIGHT,
  VIRQ_PENDING,
} from './vgic.js';
export {
  CNTV_CTL_ENABLE,
  CNTV_CTL_IMASK,
  CNTV_CTL_ISTATUS,
  CNTV_CTL_WRITABLE,
  createVtimerStrategy,
  GenericTimer,
  type GenericTimerState,
  GuestPerCpuVtimer,
  type GuestVirtualTimer,
  newVtimerContext,
  VTIMER_STRATEGIES,
  type VtimerContext,
  type VtimerHost,
  type VtimerStrategy,
  type VtimerStrategyName,
  XenOwnedVtimer,
} from './vtimer.js';
export { ARM64_IRQ_BITMAP_BITS, ARM64_NR_IRQS, ArmGuestIrqSpace } from './guest-irq-space.js';
export {
  archArm,
  type ArchArmOptions,
  ArmArchitecture,
  type GuestIrqHandler,
  IRQ_GUEST,
  IRQ_INPROGRESS,
  type IrqType,
} from './arm-architecture.js';
export {
  PeriodicTickModel,
  type PeriodicTickOptions,
  sumTickCounts,
  type TickTotals,
  type VcpuTickCounts,
} from './guest-tick.js';
export {
  XENARM_ACK_TYPE_NONE,
  XENARM_ACK_TYPE_UNMASK,
  XENARM_GUEST_BOUND,
  XENARM_HID,
  XENARM_IRQ_MAX_GUESTS,
  XENARM_SHARABLE,
  type XenArmPirqHost,
  type XenArmPirqOptions,
  XenArmPirqs,
} from './xenarm-pirq.js';
