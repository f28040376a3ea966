/**
 * `@evtchn/guest-linux`: Linux's Xen event-channel IRQ layer (drivers/xen/events) on top of
 * a model of the generic IRQ core — irq_info, the port→IRQ table, bind/unbind APIs,
 * request_irq/free_irq, the Xen IRQ chips and flow handlers, the upcall loop, late EOI,
 * affinity and the `/proc/interrupts` view.
 *
 * @packageDocumentation
 */
export {
  DEFAULT_HZ,
  DEFAULT_SPURIOUS_THRESHOLD,
  EVENT_EOI_DELAY_JIFFIES,
  EVENT_LOOP_CHECK_INTERVAL,
  EVENT_LOOP_TIMEOUT_JIFFIES,
  EVTCHN_PER_ROW,
  IRQ_HANDLED,
  IRQ_NONE,
  IRQ_NOREQUEST,
  IRQ_PER_CPU,
  IRQD_DISABLED,
  IRQD_INPROGRESS,
  IRQD_MASKED,
  IRQD_STARTED,
  IRQF_EARLY_RESUME,
  IRQF_FORCE_RESUME,
  IRQF_NO_SUSPEND,
  IRQF_NOBALANCING,
  IRQF_PERCPU,
  IRQF_SHARED,
  type IrqReturn,
  IRQS_PENDING,
  IRQS_REPLAY,
  IrqType,
  type IrqTypeValue,
  MASK_REASON_EOI_PENDING,
  MASK_REASON_EXPLICIT,
  MASK_REASON_TEMPORARY,
  PIRQ_MSI_GROUP,
  PIRQ_NEEDS_EOI,
  PIRQ_SHAREABLE,
  XEN_EOI_FLAG_SPURIOUS,
  XEN_NR_IPIS_ARM,
  XEN_NR_IPIS_X86,
  XenIpi,
  XENIRQSTAT_NEEDS_EOI,
  XENIRQSTAT_SHARED,
} from './constants.js';
export { EvtchnIrqMap } from './evtchn-map.js';
export { IrqInfo } from './irq-info.js';
export { IrqTable } from './irq-table.js';
export {
  IrqAction,
  IrqDesc,
  IrqStats,
  countIrq,
  removeIrqAction,
  setupIrqAction,
  IrqFlow,
  type IrqChip,
  type IrqFlowKind,
  type IrqHandler,
  maskIrq,
  unmaskIrq,
  maskAckIrq,
  irqEnable,
  irqDisable,
  irqStartup,
  irqShutdown,
  checkIrqResend,
} from './irq-desc.js';
export {
  handleEdgeIrq,
  handleFasteoiIrq,
  handleLevelIrq,
  handlePercpuIrq,
  handleIrqEvent,
  runFlow,
  type FlowObserver,
} from './flows.js';
export { XenDynChip, XenLateEoiChip, XenPercpuChip, XenPirqChip, type XenChipHost } from './chips.js';
export { LinuxGuest, type LinuxGuestOptions, type LinuxGuestStats } from './linux-guest.js';
export type { IrqResumeReport, ResumeHook } from './resume.js';
export { renderProcInterrupts, procInterruptsTable, type ProcInterruptsRow, type ProcInterruptsTable } from './proc-interrupts.js';
export { LinuxGuestFactory, guestLinux } from './plugin.js';
export {
  FIND_UNBOUND_IRQ_PANIC,
  GuestKernelPanic,
  IRQF_TRIGGER_MASK,
  LINUX_2007_NO_PIRQS,
  LINUX_2007_NR_IRQS,
  Linux2007IrqSpace,
  choose2007Abi,
  requestIrq2007,
  type EraGuestSideFactory,
  type LinuxEra,
} from './era-2007.js';
export { EFBIG, ENOTCONN, EVTCHN_RING_SIZE, EvtchnDevice, EvtchnHandle, type EvtchnDeviceHost } from './evtchn-device.js';
