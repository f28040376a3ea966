/*
 * Port ranges to the ABI limits (SPEC §1.2 Allocation, §2.2): a domain fills its whole port
 * space — 4096 ports for a 64-bit 2-level guest, 1024 for a 32-bit one, 131072 for FIFO (with
 * the event array grown to its 128-page limit, pages distinct or aliased) — against the
 * reference model, then works at the top of the range: closes and re-binds high ports (FIFO:
 * a closed port still LINKED is skipped), sends, masks, unmasks, consumes and asks past the end.
 * Results are compared at every step, the whole state at the end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty } from './arbitraries.js';
import { FIFO, ReferenceModel, TWO_LEVEL_PORTS, type RefDomainConfig, type Step } from './reference-model.js';
import { RealSystem } from './real-system.js';

type Kind = '2level-64' | '2level-32' | 'fifo';
const LIMIT: Record<Kind, number> = { '2level-64': TWO_LEVEL_PORTS[64], '2level-32': TWO_LEVEL_PORTS[32], fifo: FIFO.MAX_PORTS };

interface LimitScenario {
  kind: Kind;
  /** `max_evtchn_port` relative to the ABI limit (undefined: the default, 1023). */
  maxPort: number | undefined;
  /** FIFO: gfns of the 129 expand_array calls (the last must be refused). */
  pages: number[];
  /** Work at the top of the range, with ports given as offsets below the highest allocated port. */
  tail: Array<{ op: string; back: number; vcpu: number; priority: number }>;
}

const limitScenario: fc.Arbitrary<LimitScenario> = fc.constantFrom<Kind>('2level-64', '2level-32', 'fifo', 'fifo').chain((kind) => {
  const limit = LIMIT[kind];
  return fc.record({
    kind: fc.constant(kind),
    maxPort: fc.constantFrom(undefined, limit - 2, limit - 1, limit, limit + 1, 0x7fffffff),
    pages: fc.oneof(
      fc.constant(Array.from({ length: 129 }, (_, i) => i + 1)),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 129, maxLength: 129 }),
    ),
    tail: fc.array(
      fc.record({
        op: fc.constantFrom('close', 'close', 'bind_ipi', 'bind_ipi', 'send', 'send', 'unmask', 'status', 'set_priority', 'guest_mask', 'guest_consume', 'guest_ack', 'alloc_unbound'),
        back: fc.integer({ min: -3, max: 8 }),
        vcpu: fc.constantFrom(0, 0, 1),
        priority: fc.constantFrom(0, 7, 15),
      }),
      { minLength: 10, maxLength: 40 },
    ),
  });
});

function runLimits(sc: LimitScenario): void {
  const limit = LIMIT[sc.kind];
  const d1: RefDomainConfig = {
    id: 1,
    vcpus: 2,
    privileged: false,
    maxEvtchnPort: sc.maxPort,
    nrPirqs: 16,
    pirqs: [],
    memPages: 256,
    wordBits: sc.kind === '2level-32' ? 32 : 64,
  };
  const d0: RefDomainConfig = { id: 0, vcpus: 1, privileged: true, nrPirqs: 16, pirqs: [], memPages: 16 };
  const setup = { fifoOffered: sc.kind === 'fifo', domains: [d0, d1] };
  const real = new RealSystem(setup);
  const ref = new ReferenceModel(setup.domains, setup.fifoOffered);
  let n = 0;
  const step = (s: Step): Record<string, unknown> => {
    const expected = ref.apply(s);
    const actual = real.step(s);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual, `step ${n} ${JSON.stringify(s)}`).toEqual(expected);
    n++;
    return actual;
  };

  if (sc.kind === 'fifo') {
    step({ op: 'init_control', caller: 1, control_gfn: 0, offset: 0, vcpu: 0 });
    step({ op: 'init_control', caller: 1, control_gfn: 0, offset: 72, vcpu: 1 });
    sc.pages.forEach((gfn, i) => {
      const r = step({ op: 'expand_array', caller: 1, array_gfn: gfn });
      // SPEC §1.3 #12: at most 128 pages.
      expect(r.rc, `expand_array #${i + 1}`).toBe(i < FIFO.MAX_PAGES ? 0 : -28);
    });
  }

  // Fill the port space: every port from 1 up to the lower of max_evtchn_port and the ABI limit.
  const top = Math.min(sc.maxPort ?? 1023, limit - 1);
  // (Hot loop: results are compared without building expectation objects.)
  let last = 0;
  for (let i = 0; ; i++) {
    const s: Step = { op: 'bind_ipi', caller: 1, vcpu: i % 2 };
    const e = ref.apply(s);
    const r = real.step(s);
    if (r.rc !== e.rc || r.port !== e.port) expect(r, `fill step ${i}`).toEqual(e);
    if (r.rc !== 0) {
      expect(r.rc, 'allocation past the end').toBe(-28);
      break;
    }
    last = r.port as number;
    if (last !== i + 1) expect.fail(`lowest-first allocation: bind ${i} got port ${last}`);
  }
  expect(last, `${sc.kind}: the last port is min(max_evtchn_port, ${limit} - 1)`).toBe(top);

  for (const t of sc.tail) {
    const port = top - t.back;
    switch (t.op) {
      case 'bind_ipi':
        step({ op: 'bind_ipi', caller: 1, vcpu: t.vcpu });
        break;
      case 'alloc_unbound':
        step({ op: 'alloc_unbound', caller: 1, dom: 0x7ff0, remote_dom: 0 });
        break;
      case 'set_priority':
        step({ op: 'set_priority', caller: 1, port, priority: t.priority });
        break;
      case 'guest_consume':
        step({ op: 'guest_consume', caller: 1, vcpu: t.vcpu, priority: t.priority });
        break;
      case 'guest_ack':
        step({ op: 'guest_ack', caller: 1, vcpu: t.vcpu });
        break;
      default:
        step({ op: t.op, caller: 1, port, ...(t.op === 'status' ? { dom: 0x7ff0 } : {}) });
    }
  }

  // The whole state at the end: channels, bitmaps, event words and control blocks.
  const rd = ref.domains.get(1)!;
  const d = real.hv.domain(1)!;
  expect(d.channels.valid, 'valid range').toBe(rd.valid);
  for (let p = 0; p < rd.valid; p++) {
    const r = rd.ports[p]!;
    const same =
      d.channels.state[p] === r.state &&
      d.channels.notifyVcpu[p] === r.notify &&
      d.channels.priority[p] === r.priority &&
      (d.channels.pendingFlag[p] !== 0) === r.pendingFlag &&
      (d.abi.isBusy?.(p) ?? false) === rd.isBusy(p);
    if (!same) expect.fail(`port ${p}: real ${JSON.stringify(d.channels.snapshot(p))}, reference ${JSON.stringify(r)}`);
  }
  const words = (a: ArrayLike<number>): string => Array.from(a).join(',');
  expect(words(d.sharedInfo.evtchnPending), '2-level pending').toBe(words(rd.pending2));
  expect(words(d.sharedInfo.evtchnMask), '2-level mask').toBe(words(rd.mask2));
  expect(words(d.sharedInfo.upcallPending), 'upcall flags').toBe(words(rd.upcall));
  for (const gfn of rd.touchedGfns()) expect(words(d.memory.page(gfn)!), `guest page ${gfn}`).toBe(words(rd.page(gfn)!));
}

describe('port ranges to the ABI limits', () => {
  it('fills 4096 (2-level, 64-bit), 1024 (2-level, 32-bit) or 131072 (FIFO, 128 pages) ports and agrees with the reference at the top', () => {
    checkProperty('port limits (whole port space, both ABIs)', limitScenario, runLimits, 8);
  });
});
