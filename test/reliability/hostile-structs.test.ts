/*
 * Argument structs that cannot be read like guest memory (issue 16): for every EVTCHNOP, a
 * struct whose field is an accessor, a throwing getter, behind a throwing or revoked Proxy, or
 * only on the prototype. copy_from_guest semantics: -EFAULT (prototype: the field is missing,
 * -EINVAL), nothing changed, no exception.
 */
import { Errno, EVTCHNOP, type EvtchnOpName, type EvtchnStatus } from '@evtchn/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty } from './arbitraries.js';
import { fingerprint, populatedHypervisor } from './fixture.js';

const { EFAULT, EINVAL } = Errno;

/** Argument fields of each EVTCHNOP with a plausible value. */
const FIELDS: Record<EvtchnOpName, Record<string, number>> = {
  bind_interdomain: { remote_dom: 0, remote_port: 1 },
  bind_virq: { virq: 1, vcpu: 0 },
  bind_pirq: { pirq: 3, flags: 0 },
  close: { port: 1 },
  send: { port: 1 },
  status: { dom: 0x7ff0, port: 1 },
  alloc_unbound: { dom: 0x7ff0, remote_dom: 0 },
  bind_ipi: { vcpu: 0 },
  bind_vcpu: { port: 1, vcpu: 0 },
  unmask: { port: 1 },
  reset: { dom: 0x7ff0 },
  reset_cont: { dom: 0x7ff0 },
  init_control: { control_gfn: 5, offset: 0, vcpu: 0 },
  expand_array: { array_gfn: 6 },
  set_priority: { port: 1, priority: 3 },
};
const OPS = Object.keys(FIELDS) as EvtchnOpName[];

type Kind = 'getter' | 'throwing getter' | 'throwing proxy' | 'revoked proxy' | 'prototype';

/** The op's struct with `field` made unreadable in the way `kind` says. */
function hostileStruct(op: EvtchnOpName, field: string, kind: Kind): object {
  const plain: Record<string, number> = { ...FIELDS[op] };
  const value = plain[field]!;
  switch (kind) {
    case 'getter':
      delete plain[field];
      return Object.defineProperty(plain, field, { get: () => value, enumerable: true });
    case 'throwing getter':
      delete plain[field];
      return Object.defineProperty(plain, field, {
        get() {
          throw new Error('page fault');
        },
        enumerable: true,
      });
    case 'throwing proxy':
      return new Proxy(plain, {
        getOwnPropertyDescriptor(t, k) {
          if (k === field) throw new Error('page fault');
          return Reflect.getOwnPropertyDescriptor(t, k);
        },
        get(t, k) {
          if (k === field) throw new Error('page fault');
          return Reflect.get(t, k) as unknown;
        },
      });
    case 'revoked proxy': {
      const r = Proxy.revocable(plain, {});
      r.revoke();
      return r.proxy;
    }
    case 'prototype': {
      delete plain[field];
      return Object.assign(Object.create({ [field]: value }) as object, plain);
    }
  }
}

describe('hostile argument structs', () => {
  const hv = populatedHypervisor();

  it('an unreadable struct is -EFAULT (a field only on the prototype is missing: -EINVAL), nothing changes, nothing is thrown', () => {
    const arb = fc
      .record({ op: fc.constantFrom(...OPS), pick: fc.nat(), caller: fc.constantFrom(0, 1, 2), kind: fc.constantFrom<Kind>('getter', 'throwing getter', 'throwing proxy', 'revoked proxy', 'prototype') })
      .map(({ op, pick, caller, kind }) => {
        const names = Object.keys(FIELDS[op]);
        return { op, caller, kind, field: names[pick % names.length]! };
      });
    checkProperty(
      'hostile argument structs, raw eventChannelOp',
      arb,
      ({ op, caller, kind, field }) => {
        const what = `d${caller} ${op} with ${field} as a ${kind}`;
        const before = fingerprint(hv);
        let r: unknown;
        try {
          r = hv.eventChannelOp(caller, EVTCHNOP[op], hostileStruct(op, field, kind) as Record<string, unknown>);
        } catch (e) {
          expect.fail(`${what}: threw ${String(e)}`);
        }
        expect(r, what).toEqual({ rc: kind === 'prototype' ? -EINVAL : -EFAULT });
        const after = fingerprint(hv);
        if (after !== before) expect(after, `${what}: state changed`).toBe(before);
      },
      300,
    );
  });

  it('status into an out struct that cannot be written is -EFAULT, nothing thrown', () => {
    const outs: Array<[string, () => unknown]> = [
      ['null', () => null],
      ['frozen', () => Object.freeze({ status: 'closed', vcpu: 0 })],
      // Sealed, holding every optional field: whatever the status, one of them must go.
      ['sealed with stale fields', () => Object.seal({ status: 'closed', vcpu: 0, dom: 1, port: 1, pirq: 1, virq: 1 })],
      ['a refusing proxy', () => new Proxy({}, { set: () => false })],
      ['a throwing proxy', () => new Proxy({}, { set: () => { throw new Error('page fault'); } })],
    ];
    checkProperty(
      'status with unwritable out',
      fc.record({ o: fc.constantFrom(...outs), caller: fc.constantFrom(0, 1, 2), port: fc.integer({ min: 0, max: 8 }) }),
      ({ o: [name, make], caller, port }) => {
        const what = `d${caller} status(self, ${port}) into ${name}`;
        let rc: unknown;
        try {
          rc = hv.evtchn(caller).status(0x7ff0, port, make() as EvtchnStatus);
        } catch (e) {
          expect.fail(`${what}: threw ${String(e)}`);
        }
        expect(rc, what).toBe(-EFAULT);
      },
      100,
    );
  });
});
