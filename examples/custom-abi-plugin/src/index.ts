/**
 * `@evtchn/example-custom-abi-plugin`: an event ABI written outside the framework against its
 * public API only — the 3-level bitmap ABI once proposed for Xen (64³ = 262144 ports for
 * 64-bit guests) — registered with `abi3Level()` and checked by `@evtchn/core/testing`.
 *
 * @packageDocumentation
 */
export { ThreeLevelAbi, abi3Level, default } from './abi.js';
export { ThreeLevelHypervisorSide } from './hypervisor-side.js';
export { ThreeLevelGuestSide } from './guest-side.js';
export {
  THREE_LEVEL_PORTS_32,
  THREE_LEVEL_PORTS_64,
  threeLevelMaxPorts,
  threeLevelMemory,
  raiseSelectors,
  type ThreeLevelMemory,
} from './layout.js';
