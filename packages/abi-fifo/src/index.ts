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
export {
  FIFO_BUSY,
  FIFO_CB_HEAD,
  FIFO_CB_READY,
  FIFO_CONTROL_BLOCK_ALIGN,
  FIFO_CONTROL_BLOCK_BYTES,
  FIFO_CONTROL_BLOCK_MAX_OFFSET,
  FIFO_EVENT_WORDS_PER_PAGE,
  FIFO_LINK_BITS,
  FIFO_LINK_MASK,
  FIFO_LINKED,
  FIFO_MASKED,
  FIFO_MAX_EVENT_ARRAY_PAGES,
  FIFO_MAX_PORTS,
  FIFO_MAX_QUEUES,
  FIFO_PAGE_SHIFT,
  FIFO_PENDING,
  FIFO_PRIORITY_DEFAULT,
  FIFO_PRIORITY_MAX,
  FIFO_PRIORITY_MIN,
  formatEventWord,
} from './layout.js';
export { checkInitControlArgs, FifoHypervisorSide } from './hypervisor-side.js';
export { DEFAULT_BUSY_RETRIES, type FifoGuestOptions, FifoGuestSide } from './guest-side.js';
export { abiFifo, FifoAbi, type FifoAbiOptions } from './abi.js';
