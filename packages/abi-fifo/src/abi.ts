/*
 * The FIFO ABI's descriptor and plugin. Models the switch Xen's `evtchn_fifo_init_control`
 * (xen/common/event_fifo.c) performs on a domain's first EVTCHNOP_init_control, and Linux's
 * `xen_evtchn_fifo_init` (drivers/xen/events/events_fifo.c) on the guest side.
 */
import type { DependencyContainer } from 'tsyringe';
import type { AbiGuestContext, AbiHypervisorContext, Plugin } from '@evtchn/core';
import { EventAbi, PLUGIN_API_VERSION } from '@evtchn/core';
import { FifoGuestSide, type FifoGuestOptions } from './guest-side.js';
import { checkInitControlArgs, FifoHypervisorSide } from './hypervisor-side.js';
import { FIFO_LINK_BITS, FIFO_MAX_PORTS } from './layout.js';

/** Options of the FIFO ABI plugin. */
export interface FifoAbiOptions {
  /** Guest-side tuning (see {@link FifoGuestOptions}). */
  guest?: FifoGuestOptions;
}

/**
 * The FIFO event-channel ABI: 131072 ports in an event array of guest pages, 16 priority
 * queues per vCPU linked through the event words, one control block per vCPU.
 */
export class FifoAbi implements EventAbi {
  /** `'fifo'`. */
  readonly name = 'fifo';

  /** @param options - plugin options */
  constructor(private readonly options: FifoAbiOptions = {}) {}

  /** 131072 whatever the guest's word size. */
  maxPorts(_wordBits: 32 | 64): number {
    return FIFO_MAX_PORTS;
  }

  /**
   * Creates the hypervisor half with per-vCPU state and an empty event array but no control
   * block; it does not switch the domain (see {@link FifoAbi.initControl}).
   */
  createHypervisorSide(ctx: AbiHypervisorContext): FifoHypervisorSide {
    return new FifoHypervisorSide(ctx);
  }

  /**
   * Creates the guest half and registers a control block for every CPU.
   * @throws XenError when the hypervisor refuses CPU 0's control block
   */
  createGuestSide(ctx: AbiGuestContext): FifoGuestSide {
    const guest = new FifoGuestSide(ctx, this.options.guest);
    guest.init();
    return guest;
  }

  /**
   * The first EVTCHNOP_init_control of a domain not on FIFO: checks the arguments, creates the
   * FIFO state for every vCPU, maps `vcpu`'s control block, switches the domain to FIFO and
   * carries the previous ABI's pending events over (sticky pending flags, default priority).
   * On any error nothing is switched and the domain stays on its old ABI.
   * @returns 17 (the link bits), `-ENOENT` no such vCPU, `-EINVAL` bad offset or gfn
   */
  initControl(ctx: AbiHypervisorContext, controlGfn: number, offset: number, vcpu: number): number {
    const rc = checkInitControlArgs(ctx.nrVcpus, offset, vcpu);
    if (rc < 0) return rc;
    const fifo = new FifoHypervisorSide(ctx);
    const mapped = fifo.mapControlBlock(controlGfn, offset, vcpu);
    if (mapped < 0) {
      fifo.destroy();
      return mapped;
    }
    const prev = ctx.activeAbi();
    ctx.switchAbi(fifo);
    fifo.carryOver(prev);
    return FIFO_LINK_BITS;
  }
}

/**
 * The FIFO ABI plugin: registers a {@link FifoAbi} under the core's `EventAbi` token.
 * @param options - plugin options
 * @example
 * ```ts
 * const platformScope = container.createChildContainer();
 * abiFifo().register(platformScope);
 * platformScope.resolveAll<EventAbi>(EventAbi); // includes the FIFO ABI
 * ```
 */
export function abiFifo(options: FifoAbiOptions = {}): Plugin<'abi'> {
  return {
    name: 'abi-fifo',
    kind: 'abi',
    apiVersion: PLUGIN_API_VERSION,
    register(c: DependencyContainer): void {
      c.register(EventAbi, { useValue: new FifoAbi(options) });
    },
  };
}
