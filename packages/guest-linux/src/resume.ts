/*
 * The Linux guest's resume path after save/restore or migration: `xen_irq_resume` of
 * drivers/xen/events/events_base.c (read in Linux 2.6.39 drivers/xen/events.c and in the
 * modern events_base.c / events_fifo.c; behaviour only, no code taken over).
 *
 * Xen restores a PV guest's memory verbatim into a domain that has fresh event-channel state:
 * no ports, a new shared-info page, the base (2-level) ABI. The kernel's own tables came along
 * and still name the old ports, so it:
 * 1. re-initialises the ABI (`evtchn_ops->resume`: FIFO clears and re-registers every online
 *    CPU's control block with EVTCHNOP_init_control and starts with an empty event array that
 *    `setup` grows again, reusing its pages; 2-level forgets every CPU binding) and masks every
 *    channel ("new event-channel space is not 'live' yet");
 * 2. forgets every port: each IRQ keeps its number, type, handlers and affinity but its port is
 *    0 (and it no longer counts towards its CPU), the port→IRQ table is cleared;
 * 3. rebinds, on every CPU, each VIRQ and IPI it had (EVTCHNOP_bind_virq / bind_ipi: new
 *    ports, same IRQs, bound to the same CPU);
 * 4. restores pirqs (`restore_pirqs`): a pirq IRQ that came from a GSI is started again
 *    (EVTCHNOP_bind_pirq, which succeeds only if the destination maps and grants the pirq; a
 *    refusal leaves the IRQ without a port and warns, as `__startup_pirq` does); MSI pirqs are
 *    skipped ("save/restore of PT devices doesn't work") and stay without a port;
 * 5. the IRQ core's resume unmasks every rebound IRQ that was enabled;
 * 6. interdomain channels (and the evtchn device's ports) are left without a port: their
 *    drivers — xenbus frontends' `resume` callbacks — free the old IRQ (no EVTCHNOP_close: the
 *    port number is meaningless now) and connect again. Drivers register for this with
 *    {@link LinuxGuest.onResume}; the hooks run after steps 1–5, in registration order.
 *
 * Events in flight are not carried: the destination's pending bits and FIFO queues start
 * empty, so an event pending (or queued) when the guest was saved is lost with the source
 * domain. A rebound VIRQ or IPI simply fires again on its next occurrence; an interdomain
 * driver recovers through `bind_interdomain`, which sets the binder's new port pending so the
 * driver looks at its ring once.
 */
import { NR_VIRQS, XenError, type AbiGuestOps, type EventChannelOps } from '@evtchn/core';
import { IRQD_STARTED, IrqType, type IrqTypeValue } from './constants.js';
import type { IrqDesc } from './irq-desc.js';
import type { IrqInfo } from './irq-info.js';

/** A driver's resume callback (a xenbus frontend's `resume`): reconnect what it owned. */
export type ResumeHook<G> = (guest: G) => void;

/** What the resume path needs of the guest layer's internals (given by `LinuxGuest`). */
export interface ResumeHost {
  /** Number of CPUs. */
  readonly nrCpus: number;
  /** IPIs per CPU. */
  readonly nrIpis: number;
  /** The ABI guest half now in use (after the layer moved to the new domain). */
  readonly abi: AbiGuestOps;
  /** The new domain's hypercalls. */
  readonly hypercalls: EventChannelOps;
  /** Per-CPU VIRQ→IRQ table. */
  readonly virqToIrq: Int32Array;
  /** Per-CPU IPI→IRQ table. */
  readonly ipiToIrq: Int32Array;
  /** Per-CPU IPI→port table. */
  readonly ipiToPort: Int32Array;
  /** Every existing descriptor. */
  descriptors(): IrqDesc[];
  /** Zeroes the IRQ's port and drops it from its CPU's channel count. */
  zapPort(info: IrqInfo): void;
  /** Clears the whole port→IRQ table. */
  clearEvtchnToIrq(): void;
  /** `xen_irq_info_*_setup` + `bind_evtchn_to_cpu` for a rebound port. @returns 0 or -errno */
  setupPort(info: IrqInfo, type: IrqTypeValue, port: number, cpu: number): number;
  /** `__startup_pirq`. */
  startupPirq(info: IrqInfo): void;
  /** Kernel log. */
  warn(message: string): void;
}

/** What the resume path (`xen_irq_resume`) rebound, for the caller's log and tests. */
export interface IrqResumeReport {
  /** VIRQ IRQs rebound (new ports). */
  virqs: number;
  /** IPI IRQs rebound. */
  ipis: number;
  /** GSI pirq IRQs that got a port again. */
  pirqs: number;
  /** IRQs left without a port for their drivers (interdomain, unbound, MSI pirqs, refused pirqs). */
  leftToDrivers: number;
}

/**
 * `xen_irq_resume` (steps 1–5 of the module comment) on a layer already attached to its new
 * domain. A refused EVTCHNOP_bind_virq or bind_ipi is a `BUG()` in Linux; here it throws.
 * @returns what was rebound
 * @throws XenError when the new domain refuses a VIRQ or IPI binding
 */
export function xenIrqResume(host: ResumeHost): IrqResumeReport {
  const abi = host.abi;
  // 1. The new event-channel space is not live yet; the ABI starts over.
  const live = abi.nrChannels();
  for (let port = 0; port < live; port++) abi.mask(port);
  abi.resume();
  // 2. No IRQ <-> port mappings.
  const descs = host.descriptors();
  for (const desc of descs) if (desc.info) host.zapPort(desc.info);
  host.clearEvtchnToIrq();
  // 3. VIRQs and IPIs, CPU by CPU.
  const report: IrqResumeReport = { virqs: 0, ipis: 0, pirqs: 0, leftToDrivers: 0 };
  const rebound: IrqDesc[] = [];
  const byIrq = new Map(descs.map((d) => [d.irq, d]));
  for (let cpu = 0; cpu < host.nrCpus; cpu++) {
    for (let virq = 0; virq < NR_VIRQS; virq++) {
      const desc = byIrq.get(host.virqToIrq[cpu * NR_VIRQS + virq]!);
      if (!desc?.info) continue;
      const port = host.hypercalls.bindVirq(virq, cpu);
      if (port < 0) throw new XenError('xen_irq_resume: EVTCHNOP_bind_virq', port, `VIRQ ${virq} on CPU ${cpu}`);
      const rc = host.setupPort(desc.info, IrqType.VIRQ, port, cpu);
      if (rc < 0) host.warn(`xen_irq_resume: VIRQ ${virq} on CPU ${cpu}: port ${port} set-up failed (${rc})`);
      rebound.push(desc);
      report.virqs++;
    }
    for (let ipi = 0; ipi < host.nrIpis; ipi++) {
      const slot = cpu * host.nrIpis + ipi;
      const desc = byIrq.get(host.ipiToIrq[slot]!);
      if (!desc?.info) continue;
      const port = host.hypercalls.bindIpi(cpu);
      if (port < 0) throw new XenError('xen_irq_resume: EVTCHNOP_bind_ipi', port, `IPI ${ipi} on CPU ${cpu}`);
      host.ipiToPort[slot] = port;
      const rc = host.setupPort(desc.info, IrqType.IPI, port, cpu);
      if (rc < 0) host.warn(`xen_irq_resume: IPI ${ipi} on CPU ${cpu}: port ${port} set-up failed (${rc})`);
      rebound.push(desc);
      report.ipis++;
    }
  }
  // 4. pirqs from GSIs start again; MSI pirqs are left alone.
  for (const desc of descs) {
    const info = desc.info;
    if (!info || info.type !== IrqType.PIRQ || info.gsi < 0) continue;
    host.startupPirq(info);
    if (info.port !== 0) report.pirqs++;
  }
  // 5. The IRQ core re-enables what was enabled before the suspend.
  for (const desc of rebound) {
    if (desc.action !== null && desc.depth === 0 && desc.status & IRQD_STARTED) desc.chip?.unmask?.(desc);
  }
  for (const desc of descs) if (desc.info && desc.info.port === 0) report.leftToDrivers++;
  return report;
}
