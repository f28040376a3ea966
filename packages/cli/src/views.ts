/*
 * The `--json` forms of `lsevtchn` and `dump`: the same facts as Xen's text views, as objects.
 */
import type { EvtchnStatus, Hypervisor } from '@evtchn/core';

/** One open port as `evtchn lsevtchn --json` lists it (the fields of EVTCHNOP_status). */
export interface PortStatusJson {
  /** Port number. */
  port: number;
  /** vCPU notified. */
  vcpu: number;
  /** `unbound`, `interdomain`, `pirq`, `virq` or `ipi`. */
  status: string;
  /** Remote domain (`unbound`, `interdomain`). */
  remoteDomain?: number;
  /** Remote port (`interdomain`). */
  remotePort?: number;
  /** The pirq (`pirq`). */
  pirq?: number;
  /** The VIRQ number (`virq`). */
  virq?: number;
}

/** One port as `evtchn dump --json` shows it: its status plus the ABI's pending and mask bits. */
export interface PortDumpJson extends PortStatusJson {
  /** The event is pending. */
  pending: boolean;
  /** The event is masked. */
  masked: boolean;
}

/**
 * A domain's open ports, asked the way Xen's `lsevtchn` asks (EVTCHNOP_status by the first
 * privileged domain, port by port until the first error).
 */
export function portStatuses(hv: Hypervisor, domid: number): PortStatusJson[] {
  const caller = hv.allDomains().find((d) => d.privileged)?.id ?? domid;
  const ops = hv.evtchn(caller);
  const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
  const ports: PortStatusJson[] = [];
  for (let port = 0; ; port++) {
    delete out.dom;
    delete out.port;
    delete out.pirq;
    delete out.virq;
    if (ops.status(domid, port, out) < 0) break;
    if (out.status === 'closed') continue;
    const row: PortStatusJson = { port, vcpu: out.vcpu, status: out.status };
    if (out.dom !== undefined) row.remoteDomain = out.dom;
    if (out.port !== undefined) row.remotePort = out.port;
    if (out.pirq !== undefined) row.pirq = out.pirq;
    if (out.virq !== undefined) row.virq = out.virq;
    ports.push(row);
  }
  return ports;
}

/** A domain's open ports with their pending and mask bits (the `dump --json` form). */
export function portDump(hv: Hypervisor, domid: number): PortDumpJson[] {
  const abi = hv.domain(domid)?.abi;
  return portStatuses(hv, domid).map((p) => ({ ...p, pending: abi?.isPending(p.port) ?? false, masked: abi?.isMasked(p.port) ?? false }));
}
