/*
 * The 3-level ABI's descriptor and plugin factory: the only place the example touches the
 * framework's registration API, and only through `@evtchn/core`'s public exports.
 */
import type { AbiGuestContext, AbiHypervisorContext, Plugin } from '@evtchn/core';
import { definePlugin, type EventAbi } from '@evtchn/core';
import { ThreeLevelGuestSide } from './guest-side.js';
import { ThreeLevelHypervisorSide } from './hypervisor-side.js';
import { threeLevelMaxPorts } from './layout.js';

/**
 * The 3-level event ABI: creates both halves for each domain. Domains start on it when it is
 * offered without the 2-level ABI (or before it, without `'2level'` in the list); it has no
 * `initControl`, so a running guest cannot switch to it.
 */
export class ThreeLevelAbi implements EventAbi {
  /** Always `'3level'`. */
  readonly name = '3level';

  /** 262144 ports for a 64-bit guest, 32768 for a 32-bit one. */
  maxPorts(wordBits: 32 | 64): number {
    return threeLevelMaxPorts(wordBits);
  }

  /** Creates the hypervisor half for one domain. */
  createHypervisorSide(ctx: AbiHypervisorContext): ThreeLevelHypervisorSide {
    return new ThreeLevelHypervisorSide(ctx);
  }

  /** Creates the guest half for one domain (no boot-time hypercall needed). */
  createGuestSide(ctx: AbiGuestContext): ThreeLevelGuestSide {
    return new ThreeLevelGuestSide(ctx);
  }
}

/**
 * Plugin factory for the 3-level ABI: registers a {@link ThreeLevelAbi} under the core's
 * `EventAbi` token.
 * @example
 * ```ts
 * import { archNull, createPlatform } from '@evtchn/core';
 * import { abi3Level } from '@evtchn/example-custom-abi-plugin';
 *
 * const platform = createPlatform({ arch: archNull(), abis: [abi3Level()], domains: [{ id: 0 }] });
 * ```
 */
export function abi3Level(): Plugin<'abi'> {
  // definePlugin checks at compile time that what is provided is an EventAbi, and declares the
  // plugin API version this plugin was built against.
  return definePlugin({ name: 'abi-3level', kind: 'abi', provide: { useValue: new ThreeLevelAbi() } });
}

/** The module's default export: the plugin factory, for configuration files naming this module. */
export default abi3Level;
