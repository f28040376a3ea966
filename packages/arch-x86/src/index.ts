/**
 * `@evtchn/arch-x86`: the x86 architecture for Evtchn Lab — per-CPU vectors, LAPIC and
 * IO-APIC, GSIs, the guest IRQ number space (`nr_irqs`, `nr_irqs_gsi`, the three dynamic-IRQ
 * policies), pirqs and MSIs shared with guests, and event-channel upcall delivery.
 *
 * @packageDocumentation
 */
export * from './formulas.js';
export * from './irq-space.js';
export * from './vectors.js';
export * from './lapic.js';
export * from './ioapic.js';
export * from './xen-irq.js';
export * from './upcall.js';
export * from './architecture.js';
export * from './plugin.js';
