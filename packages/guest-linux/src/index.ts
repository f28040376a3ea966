/**
 * `@evtchn/guest-linux`: Linux's Xen event-channel IRQ layer (drivers/xen/events) on top of
 * a model of the generic IRQ core — irq_info, the port→IRQ table, bind/unbind APIs,
 * request_irq/free_irq, the Xen IRQ chips and flow handlers, the upcall loop, late EOI,
 * affinity and the `/proc/interrupts` view.
 *
 * @packageDocumentation
 */
export * from './constants.js';
export { EvtchnIrqMap } from './evtchn-map.js';
export { IrqInfo } from './irq-info.js';
export {
  IrqAction,
  IrqDesc,
  IrqStats,
  countIrq,
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
