/*
 * Argument structs are read like Xen's copy_from_guest / written like copy_to_guest (issue 16):
 * own data properties only; a struct that cannot be read or written is -EFAULT with nothing
 * changed. Domain options are read and checked the same way.
 */
import { TwoLevelAbi, abi2Level } from '@evtchn/abi-2level';
import { describe, expect, it } from 'vitest';
import type { EvtchnStatus } from '../contracts/hypercalls.js';
import { Errno, XenError } from '../errno.js';
import { createPlatform } from '../platform/platform.js';
import { ConfigError } from '../platform/config-error.js';
import { EVTCHNOP } from '../xen.js';
import { Hypervisor } from './hypervisor.js';
import { archNull, nullArchitecture } from './null-arch.js';

const { EFAULT, EINVAL } = Errno;

/** d1 and d2 with an interdomain channel d1:1 <-> d2:1. */
function setup(): Hypervisor {
  const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
  for (const id of [0, 1, 2]) hv.createDomain({ id });
  const p = hv.evtchn(1).allocUnbound(1, 2);
  expect(hv.evtchn(2).bindInterdomain(1, p)).toBe(1);
  return hv;
}

/** Everything the calls below could change. */
function state(hv: Hypervisor): string {
  return hv
    .allDomains()
    .map((d) => {
      const ports: string[] = [];
      for (let p = 0; p < d.channels.valid; p++) ports.push(`${d.channels.state[p]}/${d.abi.isPending(p) ? 'P' : '-'}`);
      return `d${d.id}[${d.channels.valid}] ${ports.join(' ')}`;
    })
    .join('\n');
}

const throwingGetter = (field: string): object =>
  Object.defineProperty({}, field, {
    get() {
      throw new Error('unreadable guest memory');
    },
    enumerable: true,
  });

describe('argument structs (copy_from_guest)', () => {
  it.each([
    ['a throwing getter', throwingGetter('port')],
    ['a getter that answers', Object.defineProperty({}, 'port', { get: () => 1, enumerable: true })],
    [
      'a Proxy whose traps throw',
      new Proxy(
        { port: 1 },
        {
          getOwnPropertyDescriptor() {
            throw new Error('trap');
          },
          get() {
            throw new Error('trap');
          },
        },
      ),
    ],
    [
      'a revoked Proxy',
      (() => {
        const r = Proxy.revocable({ port: 1 }, {});
        r.revoke();
        return r.proxy;
      })(),
    ],
  ])('send with %s is -EFAULT and changes nothing', (_name, struct) => {
    const hv = setup();
    const before = state(hv);
    let r: unknown;
    expect(() => {
      r = hv.eventChannelOp(2, EVTCHNOP.send, struct as Record<string, unknown>);
    }).not.toThrow();
    expect(r).toEqual({ rc: -EFAULT });
    expect(state(hv)).toBe(before);
  });

  it('reads own properties only: a field on the prototype is missing (-EINVAL), not port 1', () => {
    const hv = setup();
    const before = state(hv);
    expect(hv.eventChannelOp(2, EVTCHNOP.send, Object.create({ port: 1 }) as Record<string, unknown>)).toEqual({ rc: -EINVAL });
    expect(state(hv)).toBe(before);
    // The same port as an own property is sent.
    expect(hv.eventChannelOp(2, EVTCHNOP.send, { port: 1 })).toEqual({ rc: 0 });
    expect(hv.query(1, 1)).toMatchObject({ pending: true });
  });

  it('a Proxy that only observes reads is an ordinary struct', () => {
    const hv = setup();
    const seen: string[] = [];
    const struct = new Proxy({ port: 1 }, { getOwnPropertyDescriptor: (t, k) => (seen.push(String(k)), Reflect.getOwnPropertyDescriptor(t, k)) });
    expect(hv.eventChannelOp(2, EVTCHNOP.send, struct)).toEqual({ rc: 0 });
    expect(seen).toEqual(['port']);
  });

  it('every field is read once, before anything changes (a later read cannot see another value)', () => {
    const hv = setup();
    let reads = 0;
    const struct = new Proxy(
      { dom: 0x7ff0, remote_dom: 2 },
      { getOwnPropertyDescriptor: (t, k) => (reads++, Reflect.getOwnPropertyDescriptor(t, k)) },
    );
    expect(hv.eventChannelOp(1, EVTCHNOP.alloc_unbound, struct)).toEqual({ rc: 0, port: 2 });
    expect(reads).toBe(2);
  });

  it.each([
    ['null', null],
    ['frozen', Object.freeze({ status: 'closed', vcpu: 0 })],
    ['a Proxy that refuses writes', new Proxy({ status: 'closed', vcpu: 0 }, { set: () => false })],
    ['with a non-configurable stale field', Object.defineProperty({ status: 'closed', vcpu: 0 }, 'pirq', { value: 3, writable: true, configurable: false })],
  ])('status with out %s is -EFAULT, not a TypeError', (_name, out) => {
    const hv = setup();
    let rc: unknown;
    expect(() => {
      rc = hv.evtchn(1).status(1, 1, out as EvtchnStatus);
    }).not.toThrow();
    expect(rc).toBe(-EFAULT);
  });

  it('status still fills a writable out and clears fields of an earlier status', () => {
    const hv = setup();
    const out: EvtchnStatus = { status: 'pirq', vcpu: 3, pirq: 9 };
    expect(hv.evtchn(1).status(1, 1, out)).toBe(0);
    expect(out).toEqual({ status: 'interdomain', vcpu: 0, dom: 2, port: 1 });
  });
});

describe('domain options are checked like hypercall fields', () => {
  const fields: ReadonlyArray<[string, unknown]> = [
    ['vcpus', null],
    ['vcpus', '2'],
    ['vcpus', 2.5],
    ['maxEvtchnPort', null],
    ['nrPirqs', null],
    ['memPages', null],
    ['wordBits', null],
    ['pirqs', null],
    ['privileged', null],
    ['privileged', 'yes'],
    ['privileged', 1],
    ['label', 7],
    ['label', null],
    ['deviceModel', -1],
    ['deviceModel', '0'],
    ['deviceModel', null],
  ];

  it.each(fields)('createDomain({ %s: %o }) is -EINVAL naming the field, and creates nothing', (field, value) => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
    let thrown: unknown;
    try {
      hv.createDomain({ id: 1, [field]: value } as never);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(XenError);
    expect((thrown as XenError).errno).toBe(EINVAL);
    expect((thrown as XenError).message).toContain(`${field} must be`);
    expect(hv.domain(1)).toBeUndefined();
  });

  it('takes the edges of each range, refuses a duplicate id and options that are not an object', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
    const errnoOf = (f: () => unknown): number | undefined => {
      try {
        f();
      } catch (e) {
        return (e as XenError).errno;
      }
      return undefined;
    };
    // Domain ids 0..0x7fef (DOMID_FIRST_RESERVED = 0x7ff0 and above are special ids).
    expect(hv.createDomain({ id: 0x7fef }).id).toBe(0x7fef);
    expect(errnoOf(() => hv.createDomain({ id: 0x7ff0 }))).toBe(EINVAL);
    expect(errnoOf(() => hv.createDomain({ id: 0x7fef }))).toBe(Errno.EEXIST);
    // vCPUs 1..4096, the range createDomain documents.
    expect(hv.createDomain({ id: 1, vcpus: 4096 }).nrVcpus).toBe(4096);
    expect(errnoOf(() => hv.createDomain({ id: 2, vcpus: 4097 }))).toBe(EINVAL);
    expect(errnoOf(() => hv.createDomain({ id: 2, vcpus: 0 }))).toBe(EINVAL);
    expect(hv.createDomain({ id: 2, label: 'backend' }).label).toBe('backend');
    expect(hv.createDomain({ id: 3, memPages: 0 }).memory.memPages).toBe(0);
    expect(hv.createDomain({ id: 4, wordBits: 32 }).wordBits).toBe(32);
    for (const bad of [null, undefined, 5, 'x']) expect(errnoOf(() => hv.createDomain(bad as never))).toBe(EINVAL);
    expect(hv.allDomains().map((d) => d.id)).toEqual([1, 2, 3, 4, 0x7fef]);
  });

  it('an absent option still takes its default', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
    const d = hv.createDomain({ id: 1, vcpus: undefined });
    expect(d.nrVcpus).toBe(1);
    expect(d.maxEvtchnPort).toBe(1023);
  });

  it('options are read once, own data properties only', () => {
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()] });
    // Inherited options are not options.
    const d = hv.createDomain(Object.assign(Object.create({ vcpus: 8 }) as object, { id: 1 }) as never);
    expect(d.nrVcpus).toBe(1);
    // A getter (which could answer 1 to the check and null to the constructor) is refused.
    let n = 0;
    const tricky = Object.defineProperty({ id: 2 }, 'vcpus', { get: () => (n++ === 0 ? 1 : null), enumerable: true });
    expect(() => hv.createDomain(tricky as never)).toThrow(expect.objectContaining({ errno: EFAULT }));
    expect(() => hv.createDomain(throwingGetter('id') as never)).toThrow(expect.objectContaining({ errno: EFAULT }));
    const pirqs = new Proxy([1, 2], {
      get(t, k) {
        if (k === '1') throw new Error('trap');
        return Reflect.get(t, k) as unknown;
      },
    });
    expect(() => hv.createDomain({ id: 3, pirqs })).toThrow(expect.objectContaining({ errno: EFAULT }));
    expect(hv.allDomains().map((x) => x.id)).toEqual([1]);
  });

  it('createPlatform names the domain and the field in a ConfigError', () => {
    const build = (): unknown => createPlatform({ arch: archNull(), abis: [abi2Level()], domains: [{ id: 0 }, { id: 1, vcpus: null as never }] });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/^domains\[1\]: .*vcpus must be an integer 1\.\.4096, got null/);
  });
});
