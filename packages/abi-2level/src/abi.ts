/*
 * The 2-level ABI descriptor and its plugin factory. Models the pairing of
 * xen/common/event_2l.c (hypervisor) and Linux drivers/xen/events/events_2l.c (guest): the
 * two halves share nothing but the shared-info page handed to them in their contexts.
 */
import type { DependencyContainer } from 'tsyringe';
import type { AbiGuestContext, AbiHypervisorContext, Plugin } from '@evtchn/core';
import { EventAbi, PLUGIN_API_VERSION } from '@evtchn/core';
import { TwoLevelGuestSide } from './guest-side.js';
import { TwoLevelGuestSide2007, type TwoLevelGuestEra } from './guest-side-2007.js';
import { TwoLevelHypervisorSide } from './hypervisor-side.js';
import { twoLevelMaxPorts } from './layout.js';

/** Options of {@link abi2Level} and {@link TwoLevelAbi}. */
export interface TwoLevelAbiOptions {
  /**
   * Guests use the HVM unmask path (a locally pending port is unmasked through
   * EVTCHNOP_unmask instead of raising the upcall itself). Default `false`: PV guests.
   */
  readonly hvmGuests?: boolean;
}

/** The 2-level event ABI: creates both halves for each domain. */
export class TwoLevelAbi implements EventAbi {
  /** Always `'2level'`. */
  readonly name = '2level';

  /** @param options - ABI options */
  constructor(private readonly options: TwoLevelAbiOptions = {}) {}

  /** 4096 ports for a 64-bit guest, 1024 for a 32-bit one. */
  maxPorts(wordBits: 32 | 64): number {
    return twoLevelMaxPorts(wordBits);
  }

  /** Creates the hypervisor half for one domain. */
  createHypervisorSide(ctx: AbiHypervisorContext): TwoLevelHypervisorSide {
    return new TwoLevelHypervisorSide(ctx);
  }

  /** Creates the guest half for one domain; the 2-level ABI needs no boot-time hypercall. */
  createGuestSide(ctx: AbiGuestContext): TwoLevelGuestSide {
    return new TwoLevelGuestSide(ctx, { hvm: this.options.hvmGuests ?? false });
  }

  /**
   * Creates the guest half a Linux of the given era used: `'2007'` is the lowest-first scan
   * with no resume position ({@link TwoLevelGuestSide2007}), `'modern'` the same as
   * `createGuestSide`. A guest layer modelling an older kernel asks for its era here.
   */
  createGuestSideForEra(ctx: AbiGuestContext, era: TwoLevelGuestEra): TwoLevelGuestSide {
    const options = { hvm: this.options.hvmGuests ?? false };
    return era === '2007' ? new TwoLevelGuestSide2007(ctx, options) : new TwoLevelGuestSide(ctx, options);
  }
}

/**
 * Plugin factory for the 2-level ABI: registers a {@link TwoLevelAbi} under the `EventAbi`
 * token.
 * @param options - ABI options
 */
export function abi2Level(options: TwoLevelAbiOptions = {}): Plugin<'abi'> {
  return {
    name: 'abi-2level',
    kind: 'abi',
    apiVersion: PLUGIN_API_VERSION,
    register(container: DependencyContainer): void {
      container.register(EventAbi, { useValue: new TwoLevelAbi(options) });
    },
  };
}
