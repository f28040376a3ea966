/*
 * The FIFO ABI's shared-memory layout. Models the interface described by
 * xen/include/public/event_channel.h (`event_word_t`, `struct evtchn_fifo_control_block`,
 * `EVTCHN_FIFO_*`): a 32-bit event word per port, kept in guest pages of 1024 words (the
 * event array), and one 72-byte control block per vCPU holding a `ready` bitmap and the head
 * port of each of the 16 priority queues.
 */

/** Event word bit 31: the event is pending. */
export const FIFO_PENDING = 0x8000_0000;
/** Event word bit 30: the event is masked (no linking, no upcall). */
export const FIFO_MASKED = 1 << 30;
/** Event word bit 29: the event is on a queue. */
export const FIFO_LINKED = 1 << 29;
/** Event word bit 28: the hypervisor is rewriting the word; the guest must not clear MASKED. */
export const FIFO_BUSY = 1 << 28;
/** Event word bits 0–16: the next port on the queue (0 = end of queue). */
export const FIFO_LINK_MASK = 0x1ffff;
/** Bits of the LINK field (`EVTCHN_FIFO_LINK_BITS`), returned by `EVTCHNOP_init_control`. */
export const FIFO_LINK_BITS = 17;

/** Ports the FIFO ABI can address (`EVTCHN_FIFO_NR_CHANNELS` = 2^17). */
export const FIFO_MAX_PORTS = 1 << FIFO_LINK_BITS;
/** Event words per event-array page (a 4 KiB page of 32-bit words). */
export const FIFO_EVENT_WORDS_PER_PAGE = 1024;
/** log2 of {@link FIFO_EVENT_WORDS_PER_PAGE}: the page of port p is `p >>> FIFO_PAGE_SHIFT`. */
export const FIFO_PAGE_SHIFT = 10;
/** Largest number of event-array pages (131072 ports / 1024). */
export const FIFO_MAX_EVENT_ARRAY_PAGES = FIFO_MAX_PORTS / FIFO_EVENT_WORDS_PER_PAGE;

/** Number of priority queues per vCPU (`EVTCHN_FIFO_MAX_QUEUES`). */
export const FIFO_MAX_QUEUES = 16;
/** Highest priority (served first). */
export const FIFO_PRIORITY_MAX = 0;
/** Priority a port gets when bound (`EVTCHN_FIFO_PRIORITY_DEFAULT`). */
export const FIFO_PRIORITY_DEFAULT = 7;
/** Lowest priority (`EVTCHN_FIFO_PRIORITY_MIN`); a larger value is `-EINVAL`. */
export const FIFO_PRIORITY_MIN = 15;

/** Size of a control block in bytes: `ready`, a reserved word and `head[16]`. */
export const FIFO_CONTROL_BLOCK_BYTES = 72;
/** Largest control-block offset inside its page (the block must not cross the page end). */
export const FIFO_CONTROL_BLOCK_MAX_OFFSET = 4096 - FIFO_CONTROL_BLOCK_BYTES;
/** Required alignment of a control block's offset, in bytes. */
export const FIFO_CONTROL_BLOCK_ALIGN = 8;
/** Word index of `ready` relative to the start of the control block. */
export const FIFO_CB_READY = 0;
/** Word index of `head[0]` relative to the start of the control block (`head[q]` = +2+q). */
export const FIFO_CB_HEAD = 2;

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
