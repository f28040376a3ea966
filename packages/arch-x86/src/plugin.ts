/*
 * The `archX86(options)` plugin factory: registers the x86 Architecture in the platform
 * container.
 */
import type { DependencyContainer } from 'tsyringe';
import { Architecture, Clock, PLUGIN_API_VERSION, Scheduler, VcpuRunner } from '@evtchn/core';
import type { Plugin } from '@evtchn/core';
import { X86Architecture, type ArchX86Options } from './architecture.js';

/** Name of the plugin, as it appears in errors. */
export const ARCH_X86_PLUGIN_NAME = 'arch-x86';

/**
 * Creates the x86 architecture plugin. The architecture uses `options.clock`, else the
 * platform's `Clock` when one is registered by the time the architecture is resolved; with a
 * platform `Scheduler`, the pCPU of a vCPU is the one the scheduler runs it on (a vCPU not
 * running counts as on pCPU `vcpu % nrPcpus`); the platform's `VcpuRunner` takes the guests'
 * upcalls.
 * @param options - machine and policy options
 */
export function archX86(options: ArchX86Options = {}): Plugin<'arch'> {
  return {
    name: ARCH_X86_PLUGIN_NAME,
    kind: 'arch',
    apiVersion: PLUGIN_API_VERSION,
    register(container: DependencyContainer): void {
      // One instance per registration, created on first resolve so that the platform clock
      // may be registered after the plugin. (A type-only tsyringe import keeps the package
      // loadable without the reflect-metadata polyfill.)
      let arch: X86Architecture | undefined;
      container.register(Architecture, {
        useFactory: (c) => {
          if (!arch) {
            const clock = options.clock ?? (c.isRegistered(Clock, true) ? c.resolve<Clock>(Clock) : undefined);
            // With a platform scheduler, a pirq's affinity follows the pCPU its vCPU runs on.
            const sched = c.isRegistered(Scheduler, true) ? c.resolve<Scheduler>(Scheduler) : undefined;
            const nrPcpus = options.nrPcpus ?? 4;
            const processorOf =
              options.processorOf ??
              (sched
                ? (domid: number, vcpu: number): number => {
                    const p = sched.processorOf(domid, vcpu);
                    return p >= 0 && p < nrPcpus ? p : vcpu % nrPcpus;
                  }
                : undefined);
            const runner = options.runner ?? (c.isRegistered(VcpuRunner, true) ? c.resolve<VcpuRunner>(VcpuRunner) : undefined);
            arch = new X86Architecture({ ...options, processorOf, runner }, clock);
          }
          return arch;
        },
      });
    },
  };
}
