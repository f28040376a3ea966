/*
 * The `archX86(options)` plugin factory: registers the x86 Architecture in the platform
 * container.
 */
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { Architecture, Clock } from '@evtchn/core';
import type { Plugin } from '@evtchn/core';
import { X86Architecture, type ArchX86Options } from './architecture.js';

/** Name of the plugin, as it appears in errors. */
export const ARCH_X86_PLUGIN_NAME = 'arch-x86';

/**
 * Creates the x86 architecture plugin. The architecture uses `options.clock`, else the
 * platform's `Clock` when one is registered by the time the architecture is resolved.
 * @param options - machine and policy options
 */
export function archX86(options: ArchX86Options = {}): Plugin {
  return {
    name: ARCH_X86_PLUGIN_NAME,
    kind: 'arch',
    register(container: DependencyContainer): void {
      container.register(Architecture, {
        useFactory: instanceCachingFactory((c) => {
          const clock = options.clock ?? (c.isRegistered(Clock, true) ? c.resolve<Clock>(Clock) : undefined);
          return new X86Architecture(options, clock);
        }),
      });
    },
  };
}
