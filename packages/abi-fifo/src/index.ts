/**
 * `@evtchn/abi-fifo`: the FIFO event-channel ABI (Xen's `event_fifo.c`, Linux's
 * `events_fifo.c`). Event words in guest pages, a control block per vCPU, 16 priority queues
 * linked through the event words, and both sides' operations on that shared memory.
 *
 * Register it with the `abiFifo()` plugin; a domain switches to it with its first
 * `EVTCHNOP_init_control`.
 *
 * @packageDocumentation
 */
export * from './layout.js';
export * from './hypervisor-side.js';
export * from './guest-side.js';
export * from './abi.js';
