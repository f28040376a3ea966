/*
 * The hypervisor's side of the security-policy contract: every answer of a policy plugin is
 * checked before the hypervisor acts on it. A policy is third-party code; an answer the contract
 * does not allow (undefined, NaN, a positive number, a Promise, …) must never be read as
 * "allowed" (undefined and NaN are falsy) nor leak out as a hypercall result.
 */
import type { PolicySubject, SecurityPolicy } from '../contracts/policy.js';
import { Errno } from '../errno.js';

/** Name of a {@link SecurityPolicy} hook. */
export type PolicyHook = Exclude<keyof SecurityPolicy, 'name'>;

/** Largest errno a policy may answer (Linux's `MAX_ERRNO`). */
const MAX_ERRNO = 4095;

/**
 * A policy hook threw. Xen's XSM hooks cannot fail other than by answering an errno, so the
 * model cannot say what the hypercall would have done: the error stops the run and names the
 * policy and the hook (the original exception is its `cause`).
 */
export class PolicyHookError extends Error {
  /**
   * @param policy - the policy's name
   * @param hook - the hook that threw
   * @param cause - what it threw
   */
  constructor(
    readonly policy: string,
    readonly hook: PolicyHook,
    cause: unknown,
  ) {
    super(`security policy '${policy}': hook ${hook} threw: ${describeThrown(cause)}`, { cause });
    this.name = 'PolicyHookError';
  }
}

/** A thrown value for a message; never throws itself. */
function describeThrown(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : typeof e === 'object' && e !== null ? 'a non-Error object' : String(e);
  } catch {
    return 'an unprintable value';
  }
}

/** An answer for a warning; never throws (a Promise or a Proxy may be what was answered). */
function describeAnswer(x: unknown): string {
  switch (typeof x) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(x);
    case 'string':
      return JSON.stringify(x);
    case 'undefined':
      return 'undefined';
    case 'object':
      if (x === null) return 'null';
      try {
        return typeof (x as { then?: unknown }).then === 'function' ? 'a Promise (hooks are synchronous)' : 'an object';
      } catch {
        return 'an object';
      }
    default:
      return `a ${typeof x}`;
  }
}

/**
 * Wraps a {@link SecurityPolicy} so that every answer is `0` or a negative errno (-1 … -4095).
 * Any other answer denies with `-EPERM` and warns once per hook through `warn` (the hypervisor
 * passes the event bus's `warn` event); an exception from a hook becomes a
 * {@link PolicyHookError}.
 */
export class PolicyGate implements SecurityPolicy {
  /** Hooks that already gave a bad answer (each is warned about once). */
  private readonly warned = new Set<PolicyHook>();

  /**
   * @param policy - the policy plugin's implementation
   * @param warn - where a bad answer is reported: `(source, message)`
   */
  constructor(
    private readonly policy: SecurityPolicy,
    private readonly warn: (source: string, message: string) => void,
  ) {}

  /** The wrapped policy's name (a non-string name is shown as `'?'`). */
  get name(): string {
    try {
      const n = this.policy.name;
      return typeof n === 'string' ? n : '?';
    } catch {
      return '?';
    }
  }

  /** Checks a hook's answer: returns it when allowed by the contract, else -EPERM (warning once). */
  private answer(hook: PolicyHook, rc: unknown): number {
    if (typeof rc === 'number' && Number.isInteger(rc) && rc <= 0 && rc >= -MAX_ERRNO) return rc === 0 ? 0 : rc;
    if (!this.warned.has(hook)) {
      this.warned.add(hook);
      this.warn(
        `policy '${this.name}'`,
        `hook ${hook} answered ${describeAnswer(rc)}, not 0 or a negative errno: denied with -EPERM (warned once per hook)`,
      );
    }
    return -Errno.EPERM;
  }

  /** XSM hook for EVTCHNOP_alloc_unbound. */
  evtchnUnbound(caller: PolicySubject, dom: PolicySubject, remoteDom: number): number {
    let rc: unknown;
    try {
      rc = this.policy.evtchnUnbound(caller, dom, remoteDom);
    } catch (e) {
      throw new PolicyHookError(this.name, 'evtchnUnbound', e);
    }
    return rc === 0 ? 0 : this.answer('evtchnUnbound', rc);
  }

  /** XSM hook for EVTCHNOP_bind_interdomain. */
  evtchnInterdomain(caller: PolicySubject, remote: PolicySubject): number {
    let rc: unknown;
    try {
      rc = this.policy.evtchnInterdomain(caller, remote);
    } catch (e) {
      throw new PolicyHookError(this.name, 'evtchnInterdomain', e);
    }
    return rc === 0 ? 0 : this.answer('evtchnInterdomain', rc);
  }

  /** XSM hook for EVTCHNOP_send (on the send path: the allowed answer returns at once). */
  evtchnSend(caller: PolicySubject, remote: PolicySubject | undefined): number {
    let rc: unknown;
    try {
      rc = this.policy.evtchnSend(caller, remote);
    } catch (e) {
      throw new PolicyHookError(this.name, 'evtchnSend', e);
    }
    return rc === 0 ? 0 : this.answer('evtchnSend', rc);
  }

  /** XSM hook for EVTCHNOP_status. */
  evtchnStatus(caller: PolicySubject, dom: PolicySubject): number {
    let rc: unknown;
    try {
      rc = this.policy.evtchnStatus(caller, dom);
    } catch (e) {
      throw new PolicyHookError(this.name, 'evtchnStatus', e);
    }
    return rc === 0 ? 0 : this.answer('evtchnStatus', rc);
  }

  /** XSM hook for EVTCHNOP_reset. */
  evtchnReset(caller: PolicySubject, dom: PolicySubject): number {
    let rc: unknown;
    try {
      rc = this.policy.evtchnReset(caller, dom);
    } catch (e) {
      throw new PolicyHookError(this.name, 'evtchnReset', e);
    }
    return rc === 0 ? 0 : this.answer('evtchnReset', rc);
  }

  /** Pirq access check of EVTCHNOP_bind_pirq. */
  pirqAccess(dom: PolicySubject, pirq: number): number {
    let rc: unknown;
    try {
      rc = this.policy.pirqAccess(dom, pirq);
    } catch (e) {
      throw new PolicyHookError(this.name, 'pirqAccess', e);
    }
    return rc === 0 ? 0 : this.answer('pirqAccess', rc);
  }
}
