/*
 * The security policy conformance rules, written from SPEC §1.5 and §1.3: Xen's dummy XSM
 * policy is the baseline (hook checks allow; target checks allow the domain itself, its device
 * model or a privileged domain; pirqs by grant list). A policy may deny more than the baseline
 * — its author declares which checks it denies — but never allows what the baseline refuses,
 * always answers 0 or -errno, and is what the hypervisor core enforces.
 */
import { pluginServicesContainer } from '../platform/plugin-checks.js';
import type { AbiHypervisorOps, EventAbi } from '../contracts/abi.js';
import type { PolicySubject, SecurityPolicy } from '../contracts/policy.js';
import type { JsonValue } from '../contracts/snapshot.js';
import { DummySecurityPolicy } from '../hypervisor/dummy-policy.js';
import { Hypervisor } from '../hypervisor/hypervisor.js';
import { NullArchitecture } from '../hypervisor/null-arch.js';
import { isPlugin, type Plugin } from '../platform/plugin.js';
import { SecurityPolicy as SecurityPolicyToken } from '../tokens.js';
import { DOMID_SELF, ECS } from '../xen.js';
import { ruleAsserter, runRules, type ConformanceResult, type ConformanceRule } from './conformance.js';

/** What the policy suite accepts: a policy plugin or a `SecurityPolicy`. */
export type SecurityPolicyFactory = () => Plugin | SecurityPolicy;

/** The hooks of `SecurityPolicy` that answer a check. */
export type PolicyHook = 'evtchnUnbound' | 'evtchnInterdomain' | 'evtchnSend' | 'evtchnStatus' | 'evtchnReset' | 'pirqAccess';

/** One question put to a policy. */
export interface PolicyCheck {
  /** The hook asked. */
  readonly hook: PolicyHook;
  /** The acting domain (for `pirqAccess`, the domain asking for the pirq). */
  readonly caller: PolicySubject;
  /** The domain acted on (absent for `pirqAccess`, and for `evtchnSend` without a remote). */
  readonly target?: PolicySubject;
  /** The pirq (`pirqAccess` only). */
  readonly pirq?: number;
}

/** Options of the policy suite. */
export interface SecurityPolicyConformanceOptions {
  /**
   * The domains the checks are asked about. Default: a privileged dom0, unlabelled doms 1 and
   * 2, and dom 3 whose device model is dom 1, each granted pirq 5. Label them to exercise a
   * label-based policy. Ids must be distinct domain ids (they become real domains in the
   * hypervisor rule).
   */
  subjects?: readonly PolicySubject[];
  /**
   * Which checks the policy denies beyond the dummy baseline (default: none, i.e. the policy
   * must answer exactly like Xen's dummy policy).
   */
  denies?: (check: PolicyCheck) => boolean;
  /** Rule ids to leave out. */
  skip?: readonly string[];
}

/** What each policy rule gets. */
export interface SecurityPolicySubject {
  /** The policy under test. */
  readonly policy: SecurityPolicy;
  /** Builds another instance from the same factory (the snapshot round-trip rule restores into it). */
  readonly fresh?: () => SecurityPolicy;
  /** The domains. */
  readonly subjects: readonly PolicySubject[];
  /** The author's declared denials. */
  readonly denies: (check: PolicyCheck) => boolean;
}

/** The default subjects of the policy suite. */
export const defaultPolicySubjects: readonly PolicySubject[] = [
  { id: 0, privileged: true, pirqGrants: new Set([5]) },
  { id: 1, privileged: false, pirqGrants: new Set([5]) },
  { id: 2, privileged: false, pirqGrants: new Set([5]) },
  { id: 3, privileged: false, deviceModel: 1, pirqGrants: new Set([5]) },
];

/**
 * Turns the factory's result into a `SecurityPolicy` (a plugin is registered into a fresh
 * child container and its policy resolved).
 * @throws Error when a plugin is not a policy plugin or registers none
 */
export function resolveSecurityPolicy(made: Plugin | SecurityPolicy): SecurityPolicy {
  if (!isPlugin(made)) return made;
  if (made.kind !== 'policy') throw new Error(`plugin '${made.name}' is a ${made.kind} plugin, not a policy plugin`);
  const c = pluginServicesContainer().container;
  made.register(c);
  if (!c.isRegistered(SecurityPolicyToken)) throw new Error(`plugin '${made.name}' registered no SecurityPolicy`);
  return c.resolve<SecurityPolicy>(SecurityPolicyToken);
}

/** Asks `policy` one check. */
export function askPolicy(policy: SecurityPolicy, c: PolicyCheck): number {
  switch (c.hook) {
    case 'evtchnUnbound':
      return policy.evtchnUnbound(c.caller, c.target!, c.caller.id);
    case 'evtchnInterdomain':
      return policy.evtchnInterdomain(c.caller, c.target!);
    case 'evtchnSend':
      return policy.evtchnSend(c.caller, c.target);
    case 'evtchnStatus':
      return policy.evtchnStatus(c.caller, c.target!);
    case 'evtchnReset':
      return policy.evtchnReset(c.caller, c.target!);
    case 'pirqAccess':
      return policy.pirqAccess(c.caller, c.pirq!);
  }
}

/** Every check of `hook` over the subjects (ordered pairs including self; pirqs 0, 5 and 63). */
function checksOf(hook: PolicyHook, subjects: readonly PolicySubject[]): PolicyCheck[] {
  const out: PolicyCheck[] = [];
  for (const caller of subjects) {
    if (hook === 'pirqAccess') {
      for (const pirq of [0, 5, 63]) out.push({ hook, caller, pirq });
      continue;
    }
    for (const target of subjects) out.push({ hook, caller, target });
    if (hook === 'evtchnSend') out.push({ hook, caller });
  }
  return out;
}

const ALL_HOOKS: readonly PolicyHook[] = ['evtchnUnbound', 'evtchnInterdomain', 'evtchnSend', 'evtchnStatus', 'evtchnReset', 'pirqAccess'];

function describeCheck(c: PolicyCheck): string {
  const who = (s: PolicySubject): string => `d${s.id}${s.label ? `:${s.label}` : ''}${s.privileged ? '(priv)' : ''}`;
  if (c.hook === 'pirqAccess') return `pirqAccess(${who(c.caller)}, pirq ${c.pirq})`;
  return `${c.hook}(${who(c.caller)}, ${c.target ? who(c.target) : 'no remote'})`;
}

type Assert = ReturnType<typeof ruleAsserter>;

function rule(id: string, spec: string, summary: string, check: (s: SecurityPolicySubject, assert: Assert) => void): ConformanceRule<SecurityPolicySubject> {
  const assert = ruleAsserter({ id, spec });
  return { id, spec, summary, check: (s) => check(s, assert) };
}

const baseline = new DummySecurityPolicy();

/** A rule comparing every check of `hook` with the baseline and the declared denials. */
function baselineRule(hook: PolicyHook, id: string, summary: string): ConformanceRule<SecurityPolicySubject> {
  return rule(id, '§1.5', summary, (s, assert) => {
    for (const c of checksOf(hook, s.subjects)) {
      const got = askPolicy(s.policy, c);
      const base = askPolicy(baseline, c);
      if (s.denies(c)) {
        assert(got < 0, `${describeCheck(c)} is declared denied but returned ${got}`);
      } else if (base === 0) {
        assert(got === 0, `${describeCheck(c)} returned ${got}; the baseline allows it and it is not declared denied`);
      } else {
        assert(got < 0, `${describeCheck(c)} returned ${got}; the baseline refuses it with ${base}, a policy may not allow more`);
      }
    }
  });
}

/** Every rule of the policy suite. */
export const securityPolicyRules: readonly ConformanceRule<SecurityPolicySubject>[] = [
  rule('policy.name', 'contract', 'the policy has a non-empty name', ({ policy }, assert) => {
    assert(typeof policy.name === 'string' && policy.name.length > 0, `name is ${JSON.stringify(policy.name)}`);
  }),

  rule('policy.returns-errno', '§1.5', 'every hook answers 0 or a negative errno for every pair of domains, never throws, and answers the same twice', (s, assert) => {
    for (const hook of ALL_HOOKS) {
      for (const c of checksOf(hook, s.subjects)) {
        let a: number;
        let b: number;
        try {
          a = askPolicy(s.policy, c);
          b = askPolicy(s.policy, c);
        } catch (e) {
          assert(false, `${describeCheck(c)} threw ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        assert(Number.isInteger(a) && a <= 0, `${describeCheck(c)} returned ${String(a)}, expected 0 or -errno`);
        assert(a === b, `${describeCheck(c)} answered ${a} then ${b}`);
      }
    }
  }),

  baselineRule('evtchnInterdomain', 'hook.interdomain', 'bind_interdomain is a hook check: allowed unless declared denied'),
  baselineRule('evtchnSend', 'hook.send', 'send is a hook check: allowed unless declared denied'),
  baselineRule('evtchnUnbound', 'target.unbound', 'alloc_unbound is a target check: self, device model or privileged caller, unless declared denied'),
  baselineRule('evtchnStatus', 'target.status', 'status is a target check: self, device model or privileged caller, unless declared denied'),
  baselineRule('evtchnReset', 'target.reset', 'reset is a target check: self, device model or privileged caller, unless declared denied'),
  baselineRule('pirqAccess', 'pirq.grants', "pirq access follows the domain's grant list, unless declared denied"),

  rule('hypervisor.enforces-interdomain', '§1.3 #0, §1.5', 'the hypervisor core refuses exactly the bind_interdomain calls the policy denies and leaves the remote port UNBOUND', (s, assert) => {
    const hv = Hypervisor.create({ arch: new NullArchitecture({ pirqs: 'none' }), abis: [testAbi], policy: s.policy });
    const doms = s.subjects.map((sub) =>
      hv.createDomain({
        id: sub.id,
        privileged: sub.privileged,
        label: sub.label,
        deviceModel: sub.deviceModel,
        pirqs: [...sub.pirqGrants],
      }),
    );
    for (const remote of doms) {
      for (const local of doms) {
        if (local === remote) continue;
        const unbound = { hook: 'evtchnUnbound' as const, caller: remote, target: remote };
        const port = remote.hypercalls.allocUnbound(DOMID_SELF, local.id);
        if (s.denies(unbound)) {
          assert(port < 0, `alloc_unbound by d${remote.id} for itself succeeded although ${describeCheck(unbound)} is denied`);
          continue;
        }
        assert(port > 0, `alloc_unbound by d${remote.id} for d${local.id} returned ${port}`);
        const c: PolicyCheck = { hook: 'evtchnInterdomain', caller: local, target: remote };
        const rc = local.hypercalls.bindInterdomain(remote.id, port);
        if (s.denies(c)) {
          assert(rc < 0, `bind_interdomain ${describeCheck(c)} returned ${rc} although the policy denies it`);
          assert(remote.channels.state[port] === ECS.UNBOUND, `after a refused bind_interdomain d${remote.id}'s port ${port} is no longer UNBOUND`);
        } else {
          assert(rc > 0, `bind_interdomain ${describeCheck(c)} returned ${rc} although the policy allows it`);
          assert(remote.channels.state[port] === ECS.INTERDOMAIN, `after bind_interdomain d${remote.id}'s port ${port} is not INTERDOMAIN`);
        }
      }
    }
  }),

  rule(
    'snapshot.round-trip',
    '§1.5, snapshots guide',
    "the policy's state round-trips: saved, set into a fresh instance, saved again gives the same JSON, and both then answer every hook alike",
    (s, assert) => {
      const p = s.policy;
      assert(
        typeof p.getState === 'function' && typeof p.setState === 'function',
        "the policy has no getState()/setState() (the optional snapshot hook; a stateless policy returns null): platforms using it cannot be snapshotted; skip 'snapshot.round-trip' to accept that",
      );
      assert(s.fresh !== undefined, 'the subject cannot build a fresh instance (give it a `fresh` factory)');
      // Ask everything once first, so a policy that learns from its questions has state to save.
      for (const hook of ALL_HOOKS) for (const c of checksOf(hook, s.subjects)) askPolicy(p, c);
      const saved = JSON.stringify(p.getState!()) ?? 'null';
      const q = s.fresh!();
      q.setState!(JSON.parse(saved) as JsonValue);
      const again = JSON.stringify(q.getState!()) ?? 'null';
      assert(again === saved, `state saved after a restore (${again.slice(0, 200)}) differs from the state restored (${saved.slice(0, 200)})`);
      for (const hook of ALL_HOOKS)
        for (const c of checksOf(hook, s.subjects)) {
          const x = askPolicy(p, c);
          const y = askPolicy(q, c);
          assert(x === y, `after the restore ${describeCheck(c)} answers ${x} on the original, ${y} on the restored policy`);
        }
    },
  ),
];

/** A hypervisor-only ABI for the policy rules (no guest ever runs there). */
const testAbi: EventAbi = {
  name: 'policy-test',
  maxPorts: () => 1024,
  createHypervisorSide(): AbiHypervisorOps {
    const pending = new Uint8Array(1024);
    const masked = new Uint8Array(1024);
    return {
      name: 'policy-test',
      maxPorts: 1024,
      init: () => {},
      setPending: (_v, port) => {
        pending[port] = 1;
      },
      clearPending: (port) => {
        pending[port] = 0;
      },
      unmask: (port) => {
        masked[port] = 0;
      },
      isPending: (port) => pending[port] === 1,
      isMasked: (port) => masked[port] === 1,
      printState: () => '',
    };
  },
  createGuestSide() {
    throw new Error('the policy suite runs no guest');
  },
};

/**
 * Runs every policy rule programmatically.
 * @param factory - creates the policy (plugin or instance), called once per rule
 * @param options - see {@link SecurityPolicyConformanceOptions}
 */
export function checkSecurityPolicyConformance(factory: SecurityPolicyFactory, options: SecurityPolicyConformanceOptions = {}): ConformanceResult[] {
  const rules = securityPolicyRules.filter((r) => !options.skip?.includes(r.id));
  return runRules(rules, () => ({
    policy: resolveSecurityPolicy(factory()),
    subjects: options.subjects ?? defaultPolicySubjects,
    denies: options.denies ?? (() => false),
    fresh: () => resolveSecurityPolicy(factory()),
  }));
}
