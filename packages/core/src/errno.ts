/**
 * Linux errno values, as the Xen hypercall interface returns them (negated).
 *
 * Hypercalls in this model return `0` (or a non-negative result) on success and `-errno` on
 * failure, exactly like Xen, because conformance vectors compare the numbers.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  EDOM: 33,
  ENOSYS: 38,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
} as const;

/** Name of an errno constant, e.g. `'EINVAL'`. */
export type ErrnoName = keyof typeof Errno;

const namesByValue = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([k, v]) => [v, k]),
);

/**
 * Human-readable name of a (positive or negative) errno value.
 * @returns e.g. `'EINVAL'` for `-22`, or `'E?123'` for an unknown value.
 */
export function errnoName(errno: number): string {
  return namesByValue.get(Math.abs(errno)) ?? `E?${Math.abs(errno)}`;
}

/**
 * Error thrown by convenience APIs (never by hypercalls, which return `-errno`).
 * Carries the errno and the operation that failed.
 */
export class XenError extends Error {
  /** Positive errno value. */
  readonly errno: number;
  /** Operation that failed, e.g. `'EVTCHNOP_bind_interdomain'`. */
  readonly op: string;

  /**
   * @param op - the failing operation
   * @param errno - positive or negative errno; stored positive
   * @param detail - optional extra context appended to the message
   */
  constructor(op: string, errno: number, detail?: string) {
    const e = Math.abs(errno);
    super(`${op} failed: -${errnoName(e)} (${-e})${detail ? `: ${detail}` : ''}`);
    this.name = 'XenError';
    this.errno = e;
    this.op = op;
  }
}

/**
 * Turns a hypercall result into a value or a thrown {@link XenError}.
 * @param op - operation name for the error message
 * @param rc - the hypercall's return value
 * @returns `rc` when it is not negative
 */
export function check(op: string, rc: number): number {
  if (rc < 0) throw new XenError(op, rc);
  return rc;
}
