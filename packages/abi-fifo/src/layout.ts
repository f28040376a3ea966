/*
 * The FIFO ABI's shared-memory layout. Models the interface described by
 * xen/include/public/event_channel.h (`event_word_t`, `struct evtchn_fifo_control_block`,
 * `EVTCHN_FIFO_*`): a 32-bit event word per port, kept in guest pages of 1024 words (the
 * event array), and one 72-byte control block per vCPU holding a `ready` bitmap and the head
 * port of each of the 16 priority queues.
 */

/**
 * The layout as a const enum, for the event path: tsc writes the values into the code that
 * uses them. V8 loads an imported `const` from its module cell, with a hole check, at every use
 * in optimized code too, and 0x8000_0000 is not a small integer, so PENDING as a `const` made
 * every event-word test a floating-point one (bench/README.md, optimisation 10). `PENDING` here is
 * bit 31 as a signed 32-bit value, for bit operations only; the public `FIFO_*` constants below
 * are the same values (`FIFO_PENDING` unsigned).
 * @internal
 */
export const enum FifoLayout {
  PENDING = 1 << 31,
  MASKED = 1 << 30,
  LINKED = 1 << 29,
  BUSY = 1 << 28,
  LINK_MASK = 0x1ffff,
  LINK_BITS = 17,
  MAX_PORTS = 1 << LINK_BITS,
  EVENT_WORDS_PER_PAGE = 1024,
  PAGE_SHIFT = 10,
  WORD_INDEX_MASK = EVENT_WORDS_PER_PAGE - 1,
  MAX_EVENT_ARRAY_PAGES = MAX_PORTS / EVENT_WORDS_PER_PAGE,
  MAX_QUEUES = 16,
  PRIORITY_MAX = 0,
  PRIORITY_DEFAULT = 7,
  PRIORITY_MIN = 15,
  CB_READY = 0,
  CB_HEAD = 2,
}

/** Event word bit 31: the event is pending. */
export const FIFO_PENDING = 0x8000_0000;
/** Event word bit 30: the event is masked (no linking, no upcall). */
export const FIFO_MASKED: number = FifoLayout.MASKED;
/** Event word bit 29: the event is on a queue. */
export const FIFO_LINKED: number = FifoLayout.LINKED;
/** Event word bit 28: the hypervisor is rewriting the word; the guest must not clear MASKED. */
export const FIFO_BUSY: number = FifoLayout.BUSY;
/** Event word bits 0–16: the next port on the queue (0 = end of queue). */
export const FIFO_LINK_MASK: number = FifoLayout.LINK_MASK;
/** Bits of the LINK field (`EVTCHN_FIFO_LINK_BITS`), returned by `EVTCHNOP_init_control`. */
export const FIFO_LINK_BITS: number = FifoLayout.LINK_BITS;

/** Ports the FIFO ABI can address (`EVTCHN_FIFO_NR_CHANNELS` = 2^17). */
export const FIFO_MAX_PORTS: number = FifoLayout.MAX_PORTS;
/** Event words per event-array page (a 4 KiB page of 32-bit words). */
export const FIFO_EVENT_WORDS_PER_PAGE: number = FifoLayout.EVENT_WORDS_PER_PAGE;
/** log2 of {@link FIFO_EVENT_WORDS_PER_PAGE}: the page of port p is `p >>> FIFO_PAGE_SHIFT`. */
export const FIFO_PAGE_SHIFT: number = FifoLayout.PAGE_SHIFT;
/** Largest number of event-array pages (131072 ports / 1024). */
export const FIFO_MAX_EVENT_ARRAY_PAGES: number = FifoLayout.MAX_EVENT_ARRAY_PAGES;

/** Number of priority queues per vCPU (`EVTCHN_FIFO_MAX_QUEUES`). */
export const FIFO_MAX_QUEUES: number = FifoLayout.MAX_QUEUES;
/** Highest priority (served first). */
export const FIFO_PRIORITY_MAX: number = FifoLayout.PRIORITY_MAX;
/** Priority a port gets when bound (`EVTCHN_FIFO_PRIORITY_DEFAULT`). */
export const FIFO_PRIORITY_DEFAULT: number = FifoLayout.PRIORITY_DEFAULT;
/** Lowest priority (`EVTCHN_FIFO_PRIORITY_MIN`); a larger value is `-EINVAL`. */
export const FIFO_PRIORITY_MIN: number = FifoLayout.PRIORITY_MIN;

/** Size of a control block in bytes: `ready`, a reserved word and `head[16]`. */
export const FIFO_CONTROL_BLOCK_BYTES = 72;
/** Largest control-block offset inside its page (the block must not cross the page end). */
export const FIFO_CONTROL_BLOCK_MAX_OFFSET = 4096 - FIFO_CONTROL_BLOCK_BYTES;
/** Required alignment of a control block's offset, in bytes. */
export const FIFO_CONTROL_BLOCK_ALIGN = 8;
/** Word index of `ready` relative to the start of the control block. */
export const FIFO_CB_READY: number = FifoLayout.CB_READY;
/** Word index of `head[0]` relative to the start of the control block (`head[q]` = +2+q). */
export const FIFO_CB_HEAD: number = FifoLayout.CB_HEAD;

/**
 * Formats an event word for logs and test failures, e.g. `P-L-:00012`
 * (PENDING, MASKED, LINKED, BUSY, then LINK).
 * @param word - the event word
 */
export function formatEventWord(word: number): string {
  const flag = (bit: number, c: string): string => ((word & bit) !== 0 ? c : '-');
  return (
    flag(FIFO_PENDING, 'P') +
    flag(FIFO_MASKED, 'M') +
    flag(FIFO_LINKED, 'L') +
    flag(FIFO_BUSY, 'B') +
    ':' +
    String(word & FIFO_LINK_MASK).padStart(5, '0')
  );
}
