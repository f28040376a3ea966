/*
 * A populated three-domain hypervisor (dom0, a 2-level domU with a pirq grant, a FIFO domU)
 * with channels in every state, and a fingerprint of everything a hypercall may change, so a
 * test can show that a refused call changed nothing.
 */
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import { DOMID_SELF, Hypervisor, NR_VIRQS, VIRQ, nullArchitecture } from '@evtchn/core';

/** gfns the FIFO domain uses for its control block and event array page. */
export const FIFO_CONTROL_GFN = 1;
/** See {@link FIFO_CONTROL_GFN}. */
export const FIFO_ARRAY_GFN = 2;

/** Builds the fixture; every set-up call must succeed. */
export function populatedHypervisor(): Hypervisor {
  const hv = Hypervisor.create({ arch: nullArchitecture({ name: 'x86', pirqs: 'permissive' }), abis: [new TwoLevelAbi(), new FifoAbi()] });
  hv.createDomain({ id: 0, vcpus: 2 });
  hv.createDomain({ id: 1, vcpus: 2, pirqs: [3], nrPirqs: 16, memPages: 64 });
  hv.createDomain({ id: 2, vcpus: 1, memPages: 64 });
  const ok = (rc: number, what: string): number => {
    if (rc < 0) throw new Error(`fixture: ${what} failed with ${rc}`);
    return rc;
  };
  const e0 = hv.evtchn(0);
  const e1 = hv.evtchn(1);
  const e2 = hv.evtchn(2);
  ok(e2.initControl(FIFO_CONTROL_GFN, 0, 0), 'd2 init_control');
  ok(e2.expandArray(FIFO_ARRAY_GFN), 'd2 expand_array');
  const u1 = ok(e1.allocUnbound(DOMID_SELF, 0), 'd1 alloc_unbound');
  ok(e0.bindInterdomain(1, u1), 'd0 bind_interdomain');
  const u2 = ok(e2.allocUnbound(DOMID_SELF, 1), 'd2 alloc_unbound');
  ok(e1.bindInterdomain(2, u2), 'd1 bind_interdomain');
  ok(e1.bindVirq(VIRQ.TIMER, 1), 'd1 bind_virq');
  ok(e1.bindIpi(0), 'd1 bind_ipi');
  ok(e1.bindPirq(3, 0), 'd1 bind_pirq');
  ok(e1.allocUnbound(DOMID_SELF, 2), 'd1 second alloc_unbound');
  ok(e0.bindVirq(VIRQ.DOM_EXC, 0), 'd0 bind_virq DOM_EXC');
  ok(e2.bindIpi(0), 'd2 bind_ipi');
  ok(e1.send(1), 'd1 send');
  return hv;
}

/** Guest frames the fixture and the generated scenarios use for FIFO pages. */
const WATCHED_GFNS = [0, 1, 2, 3, 15, 16, 63];

/** A 32-bit FNV-style hash of a page's words ('none' for a gfn with no page). */
function pageHash(page: Uint32Array | undefined): string {
  if (!page) return 'none';
  let h = 0x811c9dc5;
  for (let i = 0; i < page.length; i++) h = Math.imul(h ^ page[i]!, 0x01000193) >>> 0;
  return h.toString(16);
}

/**
 * Everything a hypercall could change, as one string. With `upTo`, each domain's ports are
 * read only below the given count and the valid range itself is left out (for operations
 * that may legitimately grow the range before refusing).
 */
export function fingerprint(hv: Hypervisor, upTo?: ReadonlyMap<number, number>): string {
  const parts: string[] = [];
  for (const d of hv.allDomains()) {
    const ch = d.channels;
    const n = upTo?.get(d.id) ?? ch.valid;
    parts.push(`d${d.id} valid=${upTo ? '*' : ch.valid} abi=${d.abi.name} pause=${d.pauseCount} dying=${d.dying}`);
    for (let p = 0; p < n; p++)
      parts.push(
        `${p}:${ch.state[p]},${ch.notifyVcpu[p]},${ch.remoteDom[p]},${ch.detail[p]},${ch.priority[p]},${ch.pendingFlag[p]},` +
          `${d.abi.isPending(p) ? 'P' : '-'}${d.abi.isMasked(p) ? 'M' : '-'}${d.abi.isBusy?.(p) ? 'B' : '-'}`,
      );
    const si = d.sharedInfo;
    parts.push(`si ${si.evtchnPending.join(',')}|${si.evtchnMask.join(',')}|${si.pendingSel.join(',')}|${si.upcallPending.join(',')}`);
    parts.push(`virqs ${d.virqToPort.join(',')} pirqs ${[...d.pirqToPort].join(';')}`);
    for (const gfn of WATCHED_GFNS) parts.push(`gfn${gfn} ${pageHash(d.memory.page(gfn))}`);
  }
  for (let virq = 0; virq < NR_VIRQS; virq++) parts.push(`h${virq}=${hv.globalVirqHandlerOf(virq)?.id ?? '-'}`);
  return parts.join('\n');
}
