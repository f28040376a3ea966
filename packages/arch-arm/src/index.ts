/**
 * `@evtchn/arch-arm`: Xen on Arm's interrupt plumbing: the GIC (SGI/PPI/SPI/LPI), the vGIC
 * with list registers, SPI routing to guests, the event-channel upcall as the domain's event PPI
 * (31 for a domU, the first free PPI for the hardware domain), and the
 * virtual timer with its delivery strategies (`guest-percpu`, `xen-owned`, `naive`).
 *
 * @packageDocumentation
 */
export * from './gic.js';
export * from './vgic.js';
export * from './vtimer.js';
export * from './guest-irq-space.js';
export * from './arm-architecture.js';
export * from './guest-tick.js';
export * from './xenarm-pirq.js';
