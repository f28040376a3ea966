/*
 * Set-up at scale: binding 131071 FIFO ports (every port but 0) through the guest layer, one
 * by one as the replay's `bind` step does (alloc_unbound + loopback, bind_evtchn_to_irq,
 * set_priority, affinity, request_irq). Each bind allocates a guest IRQ, so a per-allocation
 * scan of the IRQ space would make the whole quadratic. Measured on core's null architecture
 * (a flat IRQ space) and on x86 (a PV guest's `lower-bound` IRQ space, which grows nr_irqs).
 */
import { bindPorts, buildPlatform, FIFO_PORTS } from '../lib/platform.js';
import { cpuSeconds, seconds } from '../lib/measure.js';

/** @param {{arch?:'null'|'x86', ports?:number}} p */
export function measureSetup(p = {}) {
  const ports = p.ports ?? FIFO_PORTS - 1;
  const arch = p.arch ?? 'null';
  const t0 = seconds();
  const c0 = cpuSeconds();
  const env = bindPorts(buildPlatform('fifo', 1, ports, arch), ports);
  const elapsed = seconds() - t0;
  const cpu = cpuSeconds() - c0;
  const irqs = env.ports.map((port) => env.guest.irqFromEvtchn(port));
  return {
    arch,
    ports,
    seconds: elapsed,
    cpuSeconds: cpu,
    firstIrq: irqs[0],
    lastIrq: irqs[irqs.length - 1],
    // Same answer as the wall time when the machine is quiet; a check that every port got an IRQ.
    boundIrqs: new Set(irqs).size,
  };
}
