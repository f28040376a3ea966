/*
 * The port→IRQ table of Linux's drivers/xen/events/events_base.c (`evtchn_to_irq`): a
 * two-level table whose rows of 1024 entries are allocated on first use, so a FIFO guest
 * with 131072 addressable ports pays only for the rows it uses. -1 means "no IRQ".
 */
import { Errno } from '@evtchn/core';
import { EVTCHN_PER_ROW, EvtchnRow } from './constants.js';

/** Port→IRQ mapping with lazily allocated rows of {@link EVTCHN_PER_ROW} `Int32` entries. */
export class EvtchnIrqMap {
  private readonly rows: (Int32Array | undefined)[];

  /** @param maxPorts - ports the table can address (the ABI's `maxChannels`) */
  constructor(readonly maxPorts: number) {
    this.rows = new Array<Int32Array | undefined>(Math.ceil(maxPorts / EVTCHN_PER_ROW)).fill(undefined);
  }

  /** IRQ mapped to `port`, or -1. */
  get(port: number): number {
    // Looked up on every event, so kept small for V8's inlining budget. No maxPorts check:
    // `set` writes no port at or past it, so a row covering such ports holds -1 there.
    const row = port >>> 0 === port ? this.rows[port >>> EvtchnRow.SHIFT] : undefined;
    return row === undefined ? -1 : row[port & EvtchnRow.MASK]!;
  }

  /**
   * Maps `port` to `irq` (-1 clears). Clearing never allocates a row.
   * @returns 0, or `-EINVAL` when the port is outside the table
   */
  set(port: number, irq: number): number {
    if (port >>> 0 !== port || port >= this.maxPorts) return -Errno.EINVAL;
    const r = (port / EVTCHN_PER_ROW) | 0;
    let row = this.rows[r];
    if (row === undefined) {
      if (irq === -1) return 0;
      row = new Int32Array(EVTCHN_PER_ROW).fill(-1);
      this.rows[r] = row;
    }
    row[port % EVTCHN_PER_ROW] = irq;
    return 0;
  }

  /** Maps every port to no IRQ (`clear_evtchn_to_irq_all`, on resume); rows stay allocated. */
  clear(): void {
    for (const row of this.rows) row?.fill(-1);
  }

  /** Number of rows allocated so far. */
  get allocatedRows(): number {
    let n = 0;
    for (const row of this.rows) if (row !== undefined) n++;
    return n;
  }
}
