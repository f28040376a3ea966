/*
 * A policy plugin's answers are checked before the hypervisor acts on them (issue 16): only 0 or
 * a negative errno counts; anything else denies with -EPERM and warns once per hook on the bus;
 * a hook that throws stops the call with an error naming the policy and the hook.
 */
import { TwoLevelAbi } from '@evtchn/abi-2level';
import { describe, expect, it } from 'vitest';
import { PlatformEventBus } from '../bus.js';
import type { PolicySubject, SecurityPolicy } from '../contracts/policy.js';
import { Errno } from '../errno.js';
import { ECS, EVTCHNOP } from '../xen.js';
import { DummySecurityPolicy } from './dummy-policy.js';
import { Hypervisor } from './hypervisor.js';
import { nullArchitecture } from './null-arch.js';
import { PolicyGate, PolicyHookError, type PolicyHook } from './policy-gate.js';

const { EPERM, EACCES } = Errno;

/** The dummy policy, except that chosen hooks answer `answer` (or throw it when `throws`). */
class OddPolicy extends DummySecurityPolicy {
  override readonly name: string = 'odd';
  constructor(
    private readonly hooks: ReadonlySet<string>,
    private readonly answer: () => unknown,
  ) {
    super();
  }
  private odd(hook: string, normal: number): number {
    return this.hooks.has(hook) ? (this.answer() as number) : normal;
  }
  override evtchnUnbound(caller: PolicySubject, dom: PolicySubject, remoteDom: number): number {
    return this.odd('evtchnUnbound', super.evtchnUnbound(caller, dom, remoteDom));
  }
  override evtchnSend(caller: PolicySubject, remote: PolicySubject | undefined): number {
    return this.odd('evtchnSend', super.evtchnSend(caller, remote));
  }
  override evtchnStatus(caller: PolicySubject, dom: PolicySubject): number {
    return this.odd('evtchnStatus', super.evtchnStatus(caller, dom));
  }
  override evtchnInterdomain(caller: PolicySubject, remote: PolicySubject): number {
    return this.odd('evtchnInterdomain', super.evtchnInterdomain(caller, remote));
  }
}

function setup(hooks: string[], answer: () => unknown): { hv: Hypervisor; warnings: Array<[string, string]> } {
  const bus = new PlatformEventBus();
  const warnings: Array<[string, string]> = [];
  bus.on('warn', (source, message) => warnings.push([source, message]));
  const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()], policy: new OddPolicy(new Set(hooks), answer), bus });
  for (const id of [0, 1, 2]) hv.createDomain({ id });
  return { hv, warnings };
}

/** Answers the contract does not allow (the issue measured the first four). */
const BAD_ANSWERS: ReadonlyArray<[string, () => unknown]> = [
  ['undefined', () => undefined],
  ['NaN', () => NaN],
  ['13', () => 13],
  ['a Promise', () => Promise.resolve(0)],
  ['1', () => 1],
  ['-0.5', () => -0.5],
  ['-5000 (past MAX_ERRNO)', () => -5000],
  ['"0"', () => '0'],
  ['null', () => null],
  ['false', () => false],
  ['-Infinity', () => -Infinity],
];

describe('policy answers', () => {
  it.each(BAD_ANSWERS)('a hook answering %s denies with -EPERM: d1 gets no port in d2', (_name, answer) => {
    const { hv, warnings } = setup(['evtchnUnbound'], answer);
    const d2 = hv.domain(2)!;
    expect(hv.evtchn(1).allocUnbound(2, 1)).toBe(-EPERM);
    expect(hv.eventChannelOp(1, EVTCHNOP.alloc_unbound, { dom: 2, remote_dom: 1 })).toEqual({ rc: -EPERM });
    for (let p = 1; p < d2.channels.valid; p++) expect(d2.channels.state[p], `d2 port ${p}`).toBe(ECS.FREE);
    // Once per hook, naming the policy and the hook.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toBe("policy 'odd'");
    expect(warnings[0]![1]).toMatch(/hook evtchnUnbound answered .* -EPERM/);
  });

  it('a bad answer on the send path denies the send (nothing becomes pending)', () => {
    const { hv } = setup(['evtchnSend'], () => undefined);
    const p = hv.evtchn(1).allocUnbound(1, 2);
    const l = hv.evtchn(2).bindInterdomain(1, p);
    expect(hv.query(1, p)).toEqual({ rc: 0, pending: false, masked: false });
    expect(hv.evtchn(2).send(l)).toBe(-EPERM);
    expect(hv.query(1, p)).toEqual({ rc: 0, pending: false, masked: false });
  });

  it('a bad status answer is -EPERM, never a status', () => {
    const { hv } = setup(['evtchnStatus'], () => NaN);
    expect(hv.eventChannelOp(1, EVTCHNOP.status, { dom: 1, port: 0 })).toEqual({ rc: -EPERM });
  });

  it('warns once per hook, not once per call', () => {
    const { hv, warnings } = setup(['evtchnUnbound', 'evtchnStatus'], () => 13);
    for (let i = 0; i < 3; i++) {
      expect(hv.evtchn(1).allocUnbound(1, 0)).toBe(-EPERM);
      expect(hv.evtchn(1).status(1, 0, { status: 'closed', vcpu: 0 })).toBe(-EPERM);
    }
    expect(warnings.map(([, m]) => m.split(' ')[1])).toEqual(['evtchnUnbound', 'evtchnStatus']);
  });

  it('keeps a valid refusal (-EACCES) and a valid allow (0, -0) as answered', () => {
    const refuse = setup(['evtchnUnbound'], () => -EACCES);
    expect(refuse.hv.evtchn(1).allocUnbound(1, 0)).toBe(-EACCES);
    expect(refuse.warnings).toEqual([]);
    const allow = setup(['evtchnUnbound'], () => -0);
    expect(allow.hv.evtchn(1).allocUnbound(1, 0)).toBe(1);
    expect(allow.warnings).toEqual([]);
  });

  it('a hook that throws stops the call with a PolicyHookError naming the policy and the hook', () => {
    const boom = new RangeError('policy bug');
    const { hv } = setup(['evtchnInterdomain'], () => {
      throw boom;
    });
    const p = hv.evtchn(1).allocUnbound(1, 2);
    let thrown: unknown;
    try {
      hv.evtchn(2).bindInterdomain(1, p);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PolicyHookError);
    const err = thrown as PolicyHookError;
    expect(err.policy).toBe('odd');
    expect(err.hook).toBe('evtchnInterdomain');
    expect(err.message).toBe("security policy 'odd': hook evtchnInterdomain threw: RangeError: policy bug");
    expect(err.cause).toBe(boom);
    // The remote port was not bound.
    expect(hv.domain(1)!.channels.state[p]).toBe(ECS.UNBOUND);
  });

  it('a policy with a hook missing is reported as that hook throwing', () => {
    const partial = { name: 'partial', evtchnUnbound: () => 0 } as never;
    const hv = Hypervisor.create({ arch: nullArchitecture(), abis: [new TwoLevelAbi()], policy: partial });
    hv.createDomain({ id: 0 });
    expect(() => hv.evtchn(0).status(0, 0, { status: 'closed', vcpu: 0 })).toThrow(/'partial': hook evtchnStatus threw: TypeError/);
  });
});

/** A policy answering `answer()` from every hook. */
function uniform(name: unknown, answer: () => unknown): SecurityPolicy {
  const hook = (): number => answer() as number;
  return { name, evtchnUnbound: hook, evtchnInterdomain: hook, evtchnSend: hook, evtchnStatus: hook, evtchnReset: hook, pirqAccess: hook } as SecurityPolicy;
}

/** Calls each hook once through a gate. */
const HOOK_CALLS: ReadonlyArray<[PolicyHook, (g: PolicyGate, s: PolicySubject) => number]> = [
  ['evtchnUnbound', (g, s) => g.evtchnUnbound(s, s, 0)],
  ['evtchnInterdomain', (g, s) => g.evtchnInterdomain(s, s)],
  ['evtchnSend', (g, s) => g.evtchnSend(s, undefined)],
  ['evtchnStatus', (g, s) => g.evtchnStatus(s, s)],
  ['evtchnReset', (g, s) => g.evtchnReset(s, s)],
  ['pirqAccess', (g, s) => g.pirqAccess(s, 3)],
];
const SUBJECT: PolicySubject = { id: 1, privileged: false, pirqGrants: new Set() };

describe('PolicyGate (every hook)', () => {
  it.each(HOOK_CALLS)('%s: a bad answer is -EPERM with a warning naming the hook; -4095 is an errno, -4096 is not', (hook, call) => {
    const warnings: string[] = [];
    let answer: unknown = 13;
    const gate = new PolicyGate(uniform('p', () => answer), (source, message) => warnings.push(`${source}: ${message}`));
    expect(call(gate, SUBJECT)).toBe(-EPERM);
    expect(warnings).toEqual([`policy 'p': hook ${hook} answered 13, not 0 or a negative errno: denied with -EPERM (warned once per hook)`]);
    answer = -4095;
    expect(call(gate, SUBJECT)).toBe(-4095);
    answer = -4096;
    expect(call(gate, SUBJECT)).toBe(-EPERM);
    answer = 0;
    expect(call(gate, SUBJECT)).toBe(0);
    expect(warnings).toHaveLength(1);
  });

  it.each(HOOK_CALLS)('%s: a throw becomes a PolicyHookError naming the policy and the hook', (hook, call) => {
    const gate = new PolicyGate(
      uniform('p', () => {
        throw new TypeError('bug');
      }),
      () => {},
    );
    let thrown: unknown;
    try {
      call(gate, SUBJECT);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PolicyHookError);
    expect((thrown as PolicyHookError).name).toBe('PolicyHookError');
    expect((thrown as PolicyHookError).hook).toBe(hook);
    expect((thrown as PolicyHookError).message).toBe(`security policy 'p': hook ${hook} threw: TypeError: bug`);
  });

  it.each<[string, () => unknown, string]>([
    ['undefined', () => undefined, 'undefined'],
    ['NaN', () => NaN, 'NaN'],
    ['a boolean', () => true, 'true'],
    ['a bigint', () => -1n, '-1'],
    ['a string', () => '-1', '"-1"'],
    ['null', () => null, 'null'],
    ['a Promise', () => Promise.resolve(0), 'a Promise (hooks are synchronous)'],
    ['an object', () => ({ rc: 0 }), 'an object'],
    ['an object whose then throws', () => Object.defineProperty({}, 'then', { get: () => { throw new Error('x'); } }), 'an object'],
    ['a function', () => () => 0, 'a function'],
    ['a symbol', () => Symbol('rc'), 'a symbol'],
  ])('the warning describes %s', (_what, answer, shown) => {
    const warnings: string[] = [];
    const gate = new PolicyGate(uniform('p', answer), (_s, m) => warnings.push(m));
    expect(gate.evtchnSend(SUBJECT, undefined)).toBe(-EPERM);
    expect(warnings).toEqual([`hook evtchnSend answered ${shown}, not 0 or a negative errno: denied with -EPERM (warned once per hook)`]);
  });

  it.each<[string, unknown, string]>([
    ['a non-Error object', { code: 1 }, 'a non-Error object'],
    ['a string', 'oops', 'oops'],
    ['null', null, 'null'],
    ['a value that cannot be printed', Object.create(null), 'a non-Error object'],
    ['a symbol', Symbol('s'), 'Symbol(s)'],
  ])('a thrown %s is described in the error', (_what, value, shown) => {
    const gate = new PolicyGate(
      uniform('p', () => {
        throw value;
      }),
      () => {},
    );
    expect(() => gate.evtchnReset(SUBJECT, SUBJECT)).toThrow(`security policy 'p': hook evtchnReset threw: ${shown}`);
  });

  it('an Error whose message cannot be read is "an unprintable value"', () => {
    const weird = Object.create(Error.prototype, { message: { get: () => { throw new Error('no'); } } }) as Error;
    const gate = new PolicyGate(
      uniform('p', () => {
        throw weird;
      }),
      () => {},
    );
    expect(() => gate.pirqAccess(SUBJECT, 1)).toThrow("security policy 'p': hook pirqAccess threw: an unprintable value");
  });

  it("names a policy whose name is not a string (or cannot be read) '?'", () => {
    expect(new PolicyGate(uniform(42, () => 0), () => {}).name).toBe('?');
    const unreadable = uniform('x', () => 0);
    Object.defineProperty(unreadable, 'name', { get: () => { throw new Error('no'); } });
    expect(new PolicyGate(unreadable, () => {}).name).toBe('?');
    expect(new PolicyGate(uniform('flask', () => 0), () => {}).name).toBe('flask');
  });
});
