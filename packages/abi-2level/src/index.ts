/**
 * `@evtchn/abi-2level`: the 2-level bitmap event-channel ABI — Xen's `event_2l.c` on the
 * hypervisor side and Linux's `events_2l.c` on the guest side, sharing only the shared-info
 * page.
 *
 * @packageDocumentation
 */
export { TwoLevelAbi, abi2Level, type TwoLevelAbiOptions } from './abi.js';
export { TwoLevelHypervisorSide } from './hypervisor-side.js';
export { TwoLevelGuestSide, CPU_MASK_WORDS32, type TwoLevelGuestOptions } from './guest-side.js';
export { TwoLevelGuestSide2007, type TwoLevelGuestEra } from './guest-side-2007.js';
export { TWO_LEVEL_PORTS_32, TWO_LEVEL_PORTS_64, twoLevelMaxPorts, selectorHalf } from './layout.js';
