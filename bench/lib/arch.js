/*
 * The architecture the benchmarks run on: core's null architecture (upcalls recorded, not
 * delivered; the workload runs the guest's upcall itself, as the replay does), with one
 * change: its guest IRQ space finds the lowest free IRQ from a hint instead of scanning from
 * IRQ 0 every time. The IRQ handed out is the same; binding 131000 ports is no longer
 * quadratic (core's scan spends ~9 s there, which would only measure the set-up).
 */
import { core } from './stack.js';

/** Lowest-free IRQ allocator over `size` IRQs, same answers as a scan from 0. */
function hintedIrqSpace(size) {
  const used = new Uint8Array(size);
  // Every IRQ below `hint` is in use.
  let hint = 0;
  return {
    nrIrqs: () => size,
    allocDynamic: () => {
      while (hint < size && used[hint] !== 0) hint++;
      if (hint >= size) return -core.Errno.ENOSPC;
      used[hint] = 1;
      return hint++;
    },
    free: (irq) => {
      if (irq >= 0 && irq < size) {
        used[irq] = 0;
        if (irq < hint) hint = irq;
      }
    },
  };
}

/** Null architecture with a hinted IRQ allocator. */
class BenchArchitecture extends core.NullArchitecture {
  constructor(opts) {
    super(opts);
    this.irqSpaceSize = opts.nrIrqs ?? 4096;
  }

  createGuestIrqSpace() {
    return hintedIrqSpace(this.irqSpaceSize);
  }
}

/** Architecture plugin for the benchmarks (options as core's `archNull`). */
export function archBench(opts = {}) {
  return {
    name: 'arch-null-bench',
    kind: 'arch',
    register(c) {
      c.register(core.Tokens.Architecture, { useValue: new BenchArchitecture(opts) });
    },
  };
}
