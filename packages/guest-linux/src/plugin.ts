/*
 * The guest-linux plugin: registers a factory that boots Linux's Xen event-channel IRQ layer
 * (drivers/xen/events) in every domain of a platform.
 */
import type { DependencyContainer } from 'tsyringe';
import { GuestOsFactory, PLUGIN_API_VERSION, type GuestContext, type Plugin } from '@evtchn/core';
import { LinuxGuest, type LinuxGuestOptions } from './linux-guest.js';

/** Boots a {@link LinuxGuest} per domain with fixed options. */
export class LinuxGuestFactory implements GuestOsFactory {
  /** `'linux'`. */
  readonly name = 'linux';

  /** @param options - options of every guest this factory boots */
  constructor(readonly options: LinuxGuestOptions = {}) {}

  /** Boots the layer in one domain. Throws `XenError` when no event ABI can be set up. */
  create(ctx: GuestContext): LinuxGuest {
    return new LinuxGuest(ctx, this.options);
  }
}

/**
 * Plugin factory: registers a {@link LinuxGuestFactory} under the `GuestOsFactory` token.
 * @param options - guest options (FIFO preference, HZ, late-EOI tuning, Linux era)
 */
export function guestLinux(options: LinuxGuestOptions = {}): Plugin<'guest'> {
  return {
    name: 'guest-linux',
    kind: 'guest',
    apiVersion: PLUGIN_API_VERSION,
    register(container: DependencyContainer): void {
      container.register(GuestOsFactory, { useValue: new LinuxGuestFactory(options) });
    },
  };
}
