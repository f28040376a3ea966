import { describe, expect, it } from 'vitest';
import { checkArchitectureConformance } from '@evtchn/core/testing';
import type { Architecture } from '@evtchn/core';
import type { X86Architecture } from './architecture.js';
import { DYN_IRQ_POLICIES } from './irq-space.js';
import { archX86 } from './plugin.js';

/** Upcalls are taken by the architecture's vCPU runner on its clock: run the clock. */
const settle = (arch: Architecture): void => {
  const { clock } = arch as X86Architecture;
  clock.runUntil(clock.now() + 1_000_000);
};

describe('core architecture conformance suite', () => {
  for (const upcallMode of ['callback-vector', 'pv'] as const) {
    for (const dynIrqPolicy of DYN_IRQ_POLICIES) {
      it(`passes with upcall ${upcallMode}, policy ${dynIrqPolicy}`, () => {
        const results = checkArchitectureConformance(() => archX86({ upcallMode, dynIrqPolicy, maxNrIrqs: 4096 }), { settle });
        expect(results.filter((r) => !r.ok)).toEqual([]);
      });
    }
  }

  it('passes with upcall via GSI, except that only vCPU 0 receives upcalls (by design)', () => {
    const results = checkArchitectureConformance(() => archX86({ upcallMode: 'gsi' }), {
      settle,
      skip: ['deliver.reaches-sink-once', 'deliver.right-domain'],
    });
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
