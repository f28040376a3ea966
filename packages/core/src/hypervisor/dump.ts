/*
 * Text views of one domain's event channels, in the formats of two Xen tools:
 * - the hypervisor's 'e' debug key, `domain_dump_evtchn_info` in xen/common/event_channel.c
 *   (the hypervisor's own view: internal state numbers, notify vCPU, Xen consumer, the ABI's
 *   pending/masked bits and its `print_state` column);
 * - `lsevtchn` from tools/xcutils/lsevtchn.c (the toolstack's view, built only from
 *   EVTCHNOP_status answers, so it shows what a privileged domain can learn by hypercall).
 * Both print one line per port; neither changes any state.
 */
import type { EvtchnStatus } from '../contracts/hypercalls.js';
import { Errno, XenError } from '../errno.js';
import { ECS } from '../xen.js';
import type { Hypervisor } from './hypervisor.js';

/** Right-aligns `n` in a field of `width` characters, as C's `%4u` does. */
function padNumber(n: number, width: number): string {
  return String(n).padStart(width, ' ');
}

/**
 * The event-channel part of Xen's 'e' debug key (`domain_dump_evtchn_info`) for one domain.
 *
 * The text starts with `Event channel information for domain D:`, `Polling vCPUs: {}` (the
 * model has no `SCHEDOP_poll`, so the set is always empty) and Xen's column legend
 * `    port [p/m/s]`. Then, for every valid port from 1 up whose state is not FREE, one line
 * `    %4u [P/M/S]: s=STATE n=NOTIFY_VCPU x=XEN_CONSUMER` where P and M are the active ABI's
 * is-pending and is-masked (1/0) and S is the ABI's `printState` column, followed by the
 * state's details: UNBOUND ` d=REMOTE_DOMID`, INTERDOMAIN ` d=REMOTE_DOM p=REMOTE_PORT`,
 * PIRQ ` p=PIRQ i=IRQ` (the model has no pirq→IRQ mapping, so IRQ is the pirq), VIRQ
 * ` v=VIRQ`. Every line ends with a newline. Port 0 is never listed, as in Xen.
 *
 * @param hv - the hypervisor
 * @param domid - the domain to dump
 * @returns the dump text
 * @throws XenError (`-ESRCH`) when the domain does not exist
 */
export function dumpEventChannels(hv: Hypervisor, domid: number): string {
  const d = hv.domain(domid);
  if (!d) throw new XenError('dumpEventChannels', Errno.ESRCH, `no domain ${domid}`);
  const ch = d.channels;
  const abi = d.abi;
  const lines = [`Event channel information for domain ${d.id}:`, 'Polling vCPUs: {}', '    port [p/m/s]'];
  for (let port = 1; port < ch.valid; port++) {
    const state = ch.state[port]!;
    if (state === ECS.FREE) continue;
    let line =
      `    ${padNumber(port, 4)} [${abi.isPending(port) ? 1 : 0}/${abi.isMasked(port) ? 1 : 0}/${abi.printState(port)}]: ` +
      `s=${state} n=${ch.notifyVcpu[port]!} x=${ch.xenConsumer[port]!}`;
    switch (state) {
      case ECS.UNBOUND:
        line += ` d=${ch.remoteDom[port]!}`;
        break;
      case ECS.INTERDOMAIN:
        line += ` d=${ch.remoteDom[port]!} p=${ch.detail[port]!}`;
        break;
      case ECS.PIRQ:
        line += ` p=${ch.detail[port]!} i=${ch.detail[port]!}`;
        break;
      case ECS.VIRQ:
        line += ` v=${ch.detail[port]!}`;
        break;
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

/** Options of {@link lsevtchn}. */
export interface LsevtchnOptions {
  /**
   * Domain issuing the EVTCHNOP_status calls. Default: the lowest-numbered privileged domain
   * (the toolstack's domain, as when the real tool runs in dom0), else the listed domain itself.
   */
  caller?: number;
}

/**
 * The output of Xen's `lsevtchn DOMID` (tools/xcutils/lsevtchn.c): EVTCHNOP_status for port
 * 0, 1, 2, … until the first error (the first port past the valid range, or `-ESRCH` /
 * `-EPERM`, which end the listing before it starts), one line per port that is not closed:
 * `%4d: VCPU %u: ` followed by `Interdomain (Connected) - Remote Domain D, Port P`,
 * `Interdomain (Waiting connection) - Remote Domain D`, `Physical IRQ N`, `Virtual IRQ N`
 * or `IPI`. Every line ends with a newline; a domain with no open port (or none at all) gives
 * the empty string, as the tool prints nothing.
 *
 * @param hv - the hypervisor
 * @param domid - the domain whose ports are listed
 * @param options - who asks (see {@link LsevtchnOptions})
 * @returns the listing
 */
export function lsevtchn(hv: Hypervisor, domid: number, options: LsevtchnOptions = {}): string {
  const caller = options.caller ?? hv.allDomains().find((d) => d.privileged)?.id ?? domid;
  const ops = hv.evtchn(caller);
  const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
  let text = '';
  for (let port = 0; ops.status(domid, port, out) >= 0; port++) {
    let what: string;
    switch (out.status) {
      case 'closed':
        continue;
      case 'interdomain':
        what = `Interdomain (Connected) - Remote Domain ${out.dom!}, Port ${out.port!}`;
        break;
      case 'unbound':
        what = `Interdomain (Waiting connection) - Remote Domain ${out.dom!}`;
        break;
      case 'pirq':
        what = `Physical IRQ ${out.pirq!}`;
        break;
      case 'virq':
        what = `Virtual IRQ ${out.virq!}`;
        break;
      case 'ipi':
        what = 'IPI';
        break;
    }
    text += `${padNumber(port, 4)}: VCPU ${out.vcpu}: ${what}\n`;
  }
  return text;
}
