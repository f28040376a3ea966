/*
 * Bad-input fuzzing (SPEC §1.3a "Integer fields are C fields", §6.2 bad-input rule): every
 * hypercall and public API of the hypervisor core given hostile arguments — negative, NaN,
 * fractions, 2^53, values past the C field, wrong types, missing fields, huge ports, unknown
 * domains — returns the errno the SPEC names, leaves the state unchanged and never throws.
 */
import { Errno, EVTCHNOP, NR_VIRQS, XenError, type EvtchnOpName, type EvtchnStatus, type EventChannelOps, type Hypervisor } from '@evtchn/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty } from './arbitraries.js';
import { fingerprint, populatedHypervisor } from './fixture.js';

const { EINVAL, ENOSYS, EFAULT, ESRCH, ENOENT } = Errno;

type FieldKind = 'domid' | 'u32' | 'u64';

/** Argument fields of each EVTCHNOP, in the order the bound API takes them. */
const OPS: Record<EvtchnOpName, ReadonlyArray<[string, FieldKind]>> = {
  bind_interdomain: [['remote_dom', 'domid'], ['remote_port', 'u32']],
  bind_virq: [['virq', 'u32'], ['vcpu', 'u32']],
  bind_pirq: [['pirq', 'u32'], ['flags', 'u32']],
  close: [['port', 'u32']],
  send: [['port', 'u32']],
  status: [['dom', 'domid'], ['port', 'u32']],
  alloc_unbound: [['dom', 'domid'], ['remote_dom', 'domid']],
  bind_ipi: [['vcpu', 'u32']],
  bind_vcpu: [['port', 'u32'], ['vcpu', 'u32']],
  unmask: [['port', 'u32']],
  reset: [['dom', 'domid']],
  init_control: [['control_gfn', 'u64'], ['offset', 'u32'], ['vcpu', 'u32']],
  expand_array: [['array_gfn', 'u64']],
  set_priority: [['port', 'u32'], ['priority', 'u32']],
  reset_cont: [['dom', 'domid']],
};

/** Plausible in-range values for every field (the hostile one replaces one of them). */
const SANE: Record<string, number> = {
  remote_dom: 0,
  remote_port: 1,
  virq: 1,
  vcpu: 0,
  pirq: 3,
  flags: 0,
  port: 1,
  dom: 0x7ff0,
  control_gfn: 5,
  offset: 0,
  array_gfn: 6,
  priority: 3,
};

/** The bound API's method of each op. */
function callBound(ops: EventChannelOps, op: EvtchnOpName, a: unknown[]): number {
  const n = a as number[];
  const out: EvtchnStatus = { status: 'closed', vcpu: 0 };
  switch (op) {
    case 'bind_interdomain':
      return ops.bindInterdomain(n[0]!, n[1]!);
    case 'bind_virq':
      return ops.bindVirq(n[0]!, n[1]!);
    case 'bind_pirq':
      return ops.bindPirq(n[0]!, n[1]!);
    case 'close':
      return ops.close(n[0]!);
    case 'send':
      return ops.send(n[0]!);
    case 'status':
      return ops.status(n[0]!, n[1]!, out);
    case 'alloc_unbound':
      return ops.allocUnbound(n[0]!, n[1]!);
    case 'bind_ipi':
      return ops.bindIpi(n[0]!);
    case 'bind_vcpu':
      return ops.bindVcpu(n[0]!, n[1]!);
    case 'unmask':
      return ops.unmask(n[0]!);
    case 'reset':
      return ops.reset(n[0]!);
    case 'reset_cont':
      return ops.resetCont(n[0]!);
    case 'init_control':
      return ops.initControl(n[0]!, n[1]!, n[2]!);
    case 'expand_array':
      return ops.expandArray(n[0]!);
    case 'set_priority':
      return ops.setPriority(n[0]!, n[1]!);
  }
}

const MISSING = Symbol('missing field');

/** Values that are no C integer of any kind: wrong types, NaN, infinities, fractions, negatives. */
const notAnInteger: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: -1 }),
  fc.constantFrom(-(2 ** 53), -1e300, -Number.MAX_VALUE),
  fc.constantFrom(NaN, Infinity, -Infinity, 0.5, -0.5, Number.MIN_VALUE, 1 + Number.EPSILON, 2 ** 31 + 0.5),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom<unknown>('1', '', '0x10', ' 2', true, false, null, undefined, {}, [], [1], 1n, -1n, Symbol('port')),
  fc.constantFrom<unknown>(() => 1, new Date(0), { valueOf: () => 1 }, new Number(1), Object.create(null)),
);
/** Values too large for the field but otherwise integers. */
const tooLarge: Record<FieldKind, fc.Arbitrary<unknown>> = {
  domid: fc.oneof(fc.integer({ min: 0x10000, max: 2 ** 32 }), fc.constantFrom(2 ** 53, 2 ** 53 + 2, 1e300, Number.MAX_VALUE)),
  u32: fc.oneof(fc.integer({ min: 2 ** 32, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e300, Number.MAX_VALUE)),
  u64: fc.constantFrom(2 ** 65, 2 ** 80, 1e300, Number.MAX_VALUE),
};
const hostileFor = (kind: FieldKind): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 6, arbitrary: notAnInteger }, { weight: 2, arbitrary: tooLarge[kind] }, { weight: 1, arbitrary: fc.constant(MISSING) });

const opNames = Object.keys(OPS) as EvtchnOpName[];

/** Every kind of bad value once, for an exhaustive sweep next to the random properties. */
const NASTY: readonly unknown[] = [
  -1, -(2 ** 31), -(2 ** 53), NaN, Infinity, -Infinity, 0.5, -0.5, 1.5, Number.MIN_VALUE, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 65,
  1e300, Number.MAX_VALUE, '1', '', true, null, undefined, {}, [], [1], 1n, Symbol('x'), () => 1, new Number(1),
  Object.create(null), { valueOf: () => 1 }, MISSING,
];

/** An op, the field to corrupt and the hostile value. */
const corruptedCall = fc
  .record({ op: fc.constantFrom(...opNames), caller: fc.constantFrom(0, 1, 2), pick: fc.nat() })
  .chain(({ op, caller, pick }) => {
    const fields = OPS[op];
    const [field, kind] = fields[pick % fields.length]!;
    return fc.record({ op: fc.constant(op), caller: fc.constant(caller), field: fc.constant(field), value: hostileFor(kind) });
  });

/** Toolstack, inspection and PHYSDEVOP entry points with one argument under test. */
type Entry = { name: string; call: (v: unknown) => number; rc: number };
function toolstackEntries(hv: Hypervisor): Entry[] {
  return [
    { name: 'pause(dom)', call: (v) => hv.pause(v as number), rc: -EINVAL },
    { name: 'unpause(dom)', call: (v) => hv.unpause(v as number), rc: -EINVAL },
    { name: 'destroy(dom)', call: (v) => hv.destroy(v as number), rc: -EINVAL },
    { name: 'setGlobalVirqHandler(virq)', call: (v) => hv.setGlobalVirqHandler(v as number, 1), rc: -EINVAL },
    { name: 'setGlobalVirqHandler(dom)', call: (v) => hv.setGlobalVirqHandler(2, v as number), rc: -EINVAL },
    { name: 'query(dom)', call: (v) => hv.query(v as number, 1).rc, rc: -EINVAL },
    { name: 'query(port)', call: (v) => hv.query(1, v as number).rc, rc: -EINVAL },
    { name: 'bindLoopback(port)', call: (v) => hv.bindLoopback(1, v as number), rc: -EINVAL },
    { name: 'physdev.eoi(pirq)', call: (v) => hv.physdev(1).eoi(v as number), rc: -EINVAL },
    { name: 'physdev.irqStatusQuery(pirq)', call: (v) => hv.physdev(1).irqStatusQuery(v as number), rc: -EINVAL },
    { name: 'physdev(caller).eoi', call: (v) => hv.physdev(v as number).eoi(3), rc: -ESRCH },
  ];
}

/** Runs `fn`, failing the test if it throws, and checks the state did not change. */
function unchanged<T>(hv: Hypervisor, what: string, fn: () => T): T {
  const before = fingerprint(hv);
  let result!: T;
  try {
    result = fn();
  } catch (e) {
    expect.fail(`${what}: threw ${String(e)}`);
  }
  const after = fingerprint(hv);
  if (after !== before) expect(after, `${what}: state changed`).toBe(before);
  return result;
}

const show = (v: unknown): string => (v === MISSING ? '<missing>' : fc.stringify(v));

describe('hostile arguments', () => {
  const hv = populatedHypervisor();

  it('exhaustive sweep: every op, every field, every kind of bad value', () => {
    let n = 0;
    for (const op of opNames)
      for (const [field] of OPS[op])
        for (const value of NASTY) {
          if (OPS[op].find(([f]) => f === field)![1] === 'u64' && value === 2 ** 32) continue; // a valid gfn
          const args: Record<string, unknown> = {};
          for (const [f] of OPS[op]) args[f] = SANE[f];
          if (value === MISSING) delete args[field];
          else args[field] = value;
          const what = `${op} ${field}=${show(value)}`;
          expect(unchanged(hv, what, () => hv.eventChannelOp(1, EVTCHNOP[op], args)), what).toEqual({ rc: -EINVAL });
          const pos = OPS[op].map(([f]) => (f === field ? (value === MISSING ? undefined : value) : SANE[f]));
          expect(unchanged(hv, `${what} (bound)`, () => callBound(hv.evtchn(1), op, pos)), `${what} (bound)`).toBe(-EINVAL);
          n += 2;
        }
    for (const e of toolstackEntries(hv))
      for (const value of NASTY) {
        if (value === MISSING) continue;
        const what = `${e.name} with ${show(value)}`;
        expect(unchanged(hv, what, () => e.call(value)), what).toBe(e.rc);
        n++;
      }
    for (const value of NASTY) {
      unchanged(hv, `raiseVirq vcpu=${show(value)}`, () => hv.raiseVirq(1, 0, value as number));
      unchanged(hv, `raiseVirq virq=${show(value)}`, () => hv.raiseVirq(1, value as number, 1));
      n += 2;
    }
    // The first number past the VIRQ table: a global VIRQ number raised on vCPU 0 would index
    // vCPU 1's VIRQ 0 slot, where the fixture has VIRQ_TIMER bound.
    for (const vcpu of [0, 1]) {
      unchanged(hv, `raiseVirq virq=NR_VIRQS vcpu=${vcpu}`, () => hv.raiseVirq(1, NR_VIRQS, vcpu));
      n++;
    }
    console.log(`[property] hostile-argument sweep: ${n} cases`);
  });

  it('every EVTCHNOP through eventChannelOp: a bad field gives -EINVAL and changes nothing', () => {
    checkProperty(
      'hostile field, raw eventChannelOp',
      corruptedCall,
      ({ op, caller, field, value }) => {
        const args: Record<string, unknown> = {};
        for (const [f] of OPS[op]) args[f] = SANE[f];
        if (value === MISSING) delete args[field];
        else args[field] = value;
        const r = unchanged(hv, `${op} ${field}=${show(value)}`, () => hv.eventChannelOp(caller, EVTCHNOP[op], args));
        expect(r, `${op} ${field}=${show(value)}`).toEqual({ rc: -EINVAL });
      },
      300,
    );
  });

  it('every EVTCHNOP through the bound EventChannelOps: a bad argument gives -EINVAL and changes nothing', () => {
    checkProperty(
      'hostile argument, bound evtchn(domid)',
      corruptedCall,
      ({ op, caller, field, value }) => {
        const args = OPS[op].map(([f]) => (f === field ? (value === MISSING ? undefined : value) : SANE[f]));
        const rc = unchanged(hv, `${op}(${args.map(show).join(', ')})`, () => callBound(hv.evtchn(caller), op, args));
        expect(rc, `${op}(${args.map(show).join(', ')})`).toBe(-EINVAL);
      },
      300,
    );
  });

  it('eventChannelOp: bad op number → -ENOSYS, unreadable argument struct → -EFAULT, bad caller → -ESRCH', () => {
    const badCmd = fc.oneof(notAnInteger, fc.integer({ min: 15, max: 2 ** 40 }));
    const badStruct = fc.constantFrom<unknown>(null, undefined, 0, 1, 'port', true, 1n, Symbol('args'));
    const badCaller = fc.oneof(notAnInteger, tooLarge.domid, fc.constantFrom(3, 7, 0x7fef, 0x7ff0, 0xffff));
    const kind = fc.oneof(
      fc.record({ k: fc.constant('cmd' as const), v: badCmd, op: fc.constantFrom(...opNames) }),
      fc.record({ k: fc.constant('struct' as const), v: badStruct, op: fc.constantFrom(...opNames) }),
      fc.record({ k: fc.constant('caller' as const), v: badCaller, op: fc.constantFrom(...opNames) }),
    );
    checkProperty(
      'hostile cmd / struct / caller, raw eventChannelOp',
      kind,
      ({ k, v, op }) => {
        const args: Record<string, unknown> = {};
        for (const [f] of OPS[op]) args[f] = SANE[f];
        const what = `${op} ${k}=${show(v)}`;
        const r = unchanged(hv, what, () =>
          k === 'cmd'
            ? hv.eventChannelOp(1, v as number, args)
            : k === 'struct'
              ? hv.eventChannelOp(1, EVTCHNOP[op], v as Record<string, unknown>)
              : hv.eventChannelOp(v as number, EVTCHNOP[op], args),
        );
        expect(r, what).toEqual({ rc: k === 'cmd' ? -ENOSYS : k === 'struct' ? -EFAULT : -ESRCH });
        if (k === 'caller') expect(unchanged(hv, what, () => callBound(hv.evtchn(v as number), op, OPS[op].map(([f]) => SANE[f]))), what).toBe(-ESRCH);
      },
      200,
    );
  });

  it('in-range but wrong values: huge ports → -EINVAL, unknown domains → -ESRCH, missing vCPUs → -ENOENT', () => {
    const hugePort = fc.oneof(fc.integer({ min: 256, max: 2 ** 32 - 1 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1, 131072, 4096));
    const unknownDom = fc.constantFrom(3, 7, 0x7fef, 0x7ff1, 0x7ff2, 0xffff);
    const hugeVcpu = fc.oneof(fc.integer({ min: 2, max: 2 ** 32 - 1 }), fc.constant(2 ** 31));
    type Case = { op: EvtchnOpName; args: Record<string, number>; rc: number };
    const cases: fc.Arbitrary<Case> = fc.oneof(
      ...(['close', 'send', 'unmask'] as const).map((op) => hugePort.map((port): Case => ({ op, args: { port }, rc: -EINVAL }))),
      hugePort.map((port): Case => ({ op: 'status', args: { dom: 0x7ff0, port }, rc: -EINVAL })),
      hugePort.map((port): Case => ({ op: 'bind_vcpu', args: { port, vcpu: 0 }, rc: -EINVAL })),
      hugePort.map((port): Case => ({ op: 'set_priority', args: { port, priority: 0 }, rc: -EINVAL })),
      hugePort.map((port): Case => ({ op: 'bind_interdomain', args: { remote_dom: 0, remote_port: port }, rc: -EINVAL })),
      unknownDom.map((dom): Case => ({ op: 'status', args: { dom, port: 1 }, rc: -ESRCH })),
      unknownDom.map((dom): Case => ({ op: 'alloc_unbound', args: { dom, remote_dom: 0 }, rc: -ESRCH })),
      unknownDom.map((dom): Case => ({ op: 'bind_interdomain', args: { remote_dom: dom, remote_port: 1 }, rc: -ESRCH })),
      unknownDom.map((dom): Case => ({ op: 'reset', args: { dom }, rc: -ESRCH })),
      hugeVcpu.map((vcpu): Case => ({ op: 'bind_ipi', args: { vcpu }, rc: -ENOENT })),
      hugeVcpu.map((vcpu): Case => ({ op: 'bind_virq', args: { virq: 0, vcpu }, rc: -ENOENT })),
      hugeVcpu.map((vcpu): Case => ({ op: 'bind_vcpu', args: { port: 1, vcpu }, rc: -ENOENT })),
      hugeVcpu.map((vcpu): Case => ({ op: 'init_control', args: { control_gfn: 5, offset: 0, vcpu }, rc: -ENOENT })),
      fc.integer({ min: 24, max: 2 ** 32 - 1 }).map((virq): Case => ({ op: 'bind_virq', args: { virq, vcpu: 0 }, rc: -EINVAL })),
      fc.integer({ min: 16, max: 2 ** 32 - 1 }).map((pirq): Case => ({ op: 'bind_pirq', args: { pirq, flags: 0 }, rc: -EINVAL })),
      fc.integer({ min: 16, max: 2 ** 32 - 1 }).map((priority): Case => ({ op: 'set_priority', args: { port: 1, priority }, rc: -EINVAL })),
    );
    checkProperty(
      'huge ports / unknown domains / missing vCPUs',
      fc.record({ c: cases, caller: fc.constantFrom(1, 2) }),
      ({ c, caller }) => {
        // dom2 is the FIFO domain (set_priority reaches its priority check there); dom1 has 16 pirqs.
        const callerFor = c.op === 'set_priority' ? 2 : c.op === 'bind_pirq' ? 1 : caller;
        const what = `d${callerFor} ${c.op} ${JSON.stringify(c.args)}`;
        const r = unchanged(hv, what, () => hv.eventChannelOp(callerFor, EVTCHNOP[c.op], c.args));
        expect(r, what).toEqual({ rc: c.rc });
        const rc = unchanged(hv, what, () => callBound(hv.evtchn(callerFor), c.op, OPS[c.op].map(([f]) => c.args[f])));
        expect(rc, `${what} (bound)`).toBe(c.rc);
      },
      300,
    );
  });

  it('toolstack, inspection and PHYSDEVOP entry points: bad arguments give -EINVAL (unknown domain -ESRCH), nothing changes', () => {
    const bad = fc.oneof(notAnInteger, tooLarge.domid);
    checkProperty(
      'hostile toolstack / inspection / physdev arguments',
      fc.record({ e: fc.constantFrom(...toolstackEntries(hv)), v: bad }),
      ({ e, v }) => {
        const what = `${e.name} with ${show(v)}`;
        expect(unchanged(hv, what, () => e.call(v)), what).toBe(e.rc);
      },
      250,
    );
  });

  it('architecture-facing entry points (raiseVirq, sendGuestPirq) ignore bad arguments without throwing', () => {
    const bad = fc.oneof(notAnInteger, tooLarge.u32);
    checkProperty(
      'hostile raiseVirq / sendGuestPirq',
      fc.record({ which: fc.constantFrom('dom', 'virq', 'vcpu', 'pirq'), v: bad }),
      ({ which, v }) => {
        const what = `${which}=${show(v)}`;
        unchanged(hv, what, () => {
          if (which === 'dom') hv.raiseVirq(v as number, 0, 1);
          else if (which === 'virq') hv.raiseVirq(1, v as number, 1);
          else if (which === 'vcpu') hv.raiseVirq(1, 0, v as number);
          else expect(hv.sendGuestPirq(1, v as number)).toBe(0);
        });
      },
      200,
    );
  });

  it('createDomain with bad options throws XenError(EINVAL) and creates nothing', () => {
    const notInt = notAnInteger.filter((x) => x !== undefined);
    const badOption = fc.oneof(
      fc.record({ field: fc.constant('id'), v: fc.oneof(notInt, fc.constantFrom(0x7ff0, 0xffff, 2 ** 32, 2 ** 53, 1e300)) }),
      fc.record({ field: fc.constant('vcpus'), v: fc.oneof(notInt, fc.constantFrom(0, 4097, 2 ** 32)) }),
      fc.record({ field: fc.constant('maxEvtchnPort'), v: fc.oneof(notInt, fc.constantFrom(2 ** 32, 2 ** 53, 1e300)) }),
      fc.record({ field: fc.constant('nrPirqs'), v: fc.oneof(notInt, fc.constantFrom(2 ** 32, 2 ** 53)) }),
      fc.record({ field: fc.constant('memPages'), v: fc.oneof(notInt, fc.constantFrom(2 ** 53, 1e300)) }),
      fc.record({ field: fc.constant('wordBits'), v: fc.oneof(notInt, fc.constantFrom(0, 16, 33, 128)) }),
      fc.record({
        field: fc.constant('pirqs'),
        v: fc.oneof(
          notInt.filter((x) => !Array.isArray(x)),
          notAnInteger.map((x) => [1, x]),
        ),
      }),
    );
    checkProperty(
      'hostile createDomain options',
      badOption,
      ({ field, v }) => {
        const opts: Record<string, unknown> = { id: 5, vcpus: 1 };
        opts[field] = v;
        const what = `createDomain({${field}: ${show(opts[field])}})`;
        const hv = populatedHypervisor();
        const before = fingerprint(hv);
        let thrown: unknown;
        try {
          hv.createDomain(opts as never);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, `${what} threw a XenError`).toBeInstanceOf(XenError);
        expect((thrown as XenError).errno, what).toBe(EINVAL);
        expect(hv.domain(5), `${what} created no domain`).toBeUndefined();
        expect(fingerprint(hv), what).toBe(before);
      },
      200,
    );
  });
});
