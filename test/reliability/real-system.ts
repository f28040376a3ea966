/*
 * Builds the real hypervisor core (null architecture, dummy policy, the real ABIs) for a
 * generated scenario and runs its steps the way the `evtchn-hypercall/1` replay does, plus the
 * model-only steps: domain re-creation and guest actions on shared memory. The guest actions are
 * written here from SPEC §2 and the public memory layout (bitmaps in the shared-info page, event
 * words in the event-array pages, control blocks), not through the ABI packages' guest halves.
 */
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { FifoAbi } from '@evtchn/abi-fifo';
import { EVTCHNOP, Hypervisor, nullArchitecture, type Domain, type EventAbi, type EvtchnOpName, type RawOpResult } from '@evtchn/core';
import type { HypercallScenario } from './arbitraries.js';
import { FIFO, GUEST_OPS, type Step } from './reference-model.js';

/** A hypervisor with the scenario's domains. */
export function buildHypervisor(sc: Pick<HypercallScenario, 'fifoOffered' | 'domains'>): Hypervisor {
  const abis: EventAbi[] = sc.fifoOffered ? [new TwoLevelAbi(), new FifoAbi()] : [new TwoLevelAbi()];
  const hv = Hypervisor.create({ arch: nullArchitecture({ name: 'x86', pirqs: 'permissive' }), abis });
  for (const d of sc.domains) {
    hv.createDomain({
      id: d.id,
      vcpus: d.vcpus,
      privileged: d.privileged,
      maxEvtchnPort: d.maxEvtchnPort,
      nrPirqs: d.nrPirqs,
      pirqs: d.pirqs,
      memPages: d.memPages,
      wordBits: d.wordBits,
    });
  }
  return hv;
}

/** Runs one hypercall or toolstack step on the real hypervisor (no guest actions). */
export function runRealStep(hv: Hypervisor, step: Step): RawOpResult {
  switch (step.op) {
    case 'pause':
      return { rc: hv.pause(step.dom as number) };
    case 'unpause':
      return { rc: hv.unpause(step.dom as number) };
    case 'destroy':
      return { rc: hv.destroy(step.dom as number) };
    case 'set_global_virq_handler':
      return { rc: hv.setGlobalVirqHandler(step.virq as number, step.dom as number) };
    default:
      return hv.eventChannelOp(step.caller!, EVTCHNOP[step.op as EvtchnOpName], step);
  }
}

/** What the test's guest knows of its FIFO set-up: the pages it registered and its local heads. */
interface GuestFifo {
  arrayGfns: number[];
  cbs: Map<number, { gfn: number; word: number }>;
  heads: Map<number, number>;
}

/** The real hypervisor plus a minimal guest per domain that acts on shared memory. */
export class RealSystem {
  readonly hv: Hypervisor;
  private readonly fifo = new Map<number, GuestFifo>();

  constructor(sc: Pick<HypercallScenario, 'fifoOffered' | 'domains'>) {
    this.hv = buildHypervisor(sc);
  }

  private guestFifo(dom: number): GuestFifo {
    let g = this.fifo.get(dom);
    if (!g) {
      g = { arrayGfns: [], cbs: new Map(), heads: new Map() };
      this.fifo.set(dom, g);
    }
    return g;
  }

  /** The event word of `port` as the guest reads it, or undefined when no page covers it. */
  eventWord(d: Domain, port: number): number | undefined {
    const gfn = this.guestFifo(d.id).arrayGfns[Math.floor(port / FIFO.WORDS_PER_PAGE)];
    return gfn === undefined ? undefined : d.memory.page(gfn)![port % FIFO.WORDS_PER_PAGE];
  }

  private setEventWord(d: Domain, port: number, w: number): void {
    const gfn = this.guestFifo(d.id).arrayGfns[Math.floor(port / FIFO.WORDS_PER_PAGE)]!;
    d.memory.page(gfn)![port % FIFO.WORDS_PER_PAGE] = w >>> 0;
  }

  /** Runs one step (hypercall, toolstack, `create` or guest action). */
  step(step: Step): RawOpResult {
    if (step.op === 'create') {
      try {
        this.hv.createDomain({
          id: step.dom as number,
          vcpus: step.vcpus as number,
          privileged: false,
          maxEvtchnPort: step.maxEvtchnPort as number | undefined,
          nrPirqs: 16,
          memPages: step.memPages as number,
        });
      } catch (e) {
        return { rc: -((e as { errno?: number }).errno ?? 9999) };
      }
      this.fifo.delete(step.dom as number);
      return { rc: 0 };
    }
    if (GUEST_OPS.has(step.op)) {
      const d = this.hv.domain(step.caller!);
      if (!d) return { rc: -3 };
      this.guest(d, step);
      return { rc: 0 };
    }
    const caller = step.caller === undefined ? undefined : this.hv.domain(step.caller);
    const wasFifo = caller?.abi.name === 'fifo';
    const r = runRealStep(this.hv, step);
    if (r.rc < 0) return r;
    // Follow what the guest registered, from the hypercalls that succeeded.
    if (step.op === 'init_control' && caller) {
      const g = this.guestFifo(caller.id);
      if (!wasFifo) {
        g.arrayGfns = [];
        g.cbs.clear();
        g.heads.clear();
      }
      const v = step.vcpu as number;
      g.cbs.set(v, { gfn: step.control_gfn as number, word: (step.offset as number) / 4 });
      for (let q = 0; q < FIFO.QUEUES; q++) g.heads.delete(v * FIFO.QUEUES + q);
    } else if (step.op === 'expand_array' && caller) {
      this.guestFifo(caller.id).arrayGfns.push(step.array_gfn as number);
    } else if (step.op === 'reset' && caller) {
      const target = step.dom === 0x7ff0 ? caller.id : (step.dom as number);
      this.fifo.delete(target);
    } else if (step.op === 'destroy') {
      this.fifo.delete(step.dom as number);
    }
    return r;
  }

  /** The guest actions, with the same meaning as the reference model's (see there). */
  private guest(d: Domain, step: Step): void {
    const si = d.sharedInfo;
    const fifo = d.abi.name === 'fifo';
    const port = step.port as number;
    switch (step.op) {
      case 'guest_mask': {
        if (!fifo) si.evtchnMask[port >>> 5] = si.evtchnMask[port >>> 5]! | (1 << (port & 31));
        else {
          const w = this.eventWord(d, port);
          if (w !== undefined) this.setEventWord(d, port, w | FIFO.MASKED);
        }
        return;
      }
      case 'guest_clear': {
        if (!fifo) si.evtchnPending[port >>> 5] = si.evtchnPending[port >>> 5]! & ~(1 << (port & 31));
        else {
          const w = this.eventWord(d, port);
          if (w !== undefined) this.setEventWord(d, port, w & ~FIFO.PENDING);
        }
        return;
      }
      case 'guest_ack': {
        const v = step.vcpu as number;
        if (v >= d.nrVcpus) return;
        si.upcallPending[v] = 0;
        if (!fifo) si.pendingSel.fill(0, v * 2, v * 2 + 2);
        return;
      }
      case 'guest_consume': {
        const v = step.vcpu as number;
        const prio = step.priority as number;
        const g = this.guestFifo(d.id);
        const cb = g.cbs.get(v);
        if (!fifo || !cb) return;
        const cbPage = d.memory.page(cb.gfn)!;
        const q = v * FIFO.QUEUES + prio;
        let head = g.heads.get(q) ?? 0;
        if (head === 0) {
          if ((cbPage[cb.word]! & (1 << prio)) === 0) return;
          head = cbPage[cb.word + 2 + prio]!;
        }
        const w = head === 0 ? undefined : this.eventWord(d, head);
        if (w === undefined) {
          g.heads.delete(q);
          return;
        }
        const next = w & FIFO.LINK_MASK;
        let nw = w & ~(FIFO.LINKED | FIFO.LINK_MASK);
        if ((w & FIFO.PENDING) !== 0 && (w & FIFO.MASKED) === 0) nw &= ~FIFO.PENDING;
        this.setEventWord(d, head, nw);
        g.heads.set(q, next);
        if (next === 0) cbPage[cb.word] = cbPage[cb.word]! & ~(1 << prio);
        return;
      }
    }
  }
}
