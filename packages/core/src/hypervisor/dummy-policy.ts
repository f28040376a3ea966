/*
 * Xen's default XSM policy ("dummy", xen/include/xsm/dummy.h): hook checks always allow;
 * target checks allow the domain itself, its device model or a privileged domain.
 */
import type { PolicySubject, SecurityPolicy } from '../contracts/policy.js';
import { Errno } from '../errno.js';
import { PLUGIN_API_VERSION, type Plugin } from '../platform/plugin.js';
import { SecurityPolicy as SecurityPolicyToken } from '../tokens.js';

/** The dummy policy: Xen's behaviour without FLASK. */
export class DummySecurityPolicy implements SecurityPolicy {
  /** Policy name. */
  readonly name: string = 'dummy';

  /** XSM_TARGET: `caller` acts on `target`. @returns 0 or -EPERM */
  protected target(caller: PolicySubject, target: PolicySubject): number {
    if (caller.id === target.id || caller.privileged || target.deviceModel === caller.id) return 0;
    return -Errno.EPERM;
  }

  /** XSM_TARGET on the domain that gets the port. */
  evtchnUnbound(caller: PolicySubject, dom: PolicySubject, _remoteDom: number): number {
    return this.target(caller, dom);
  }

  /** XSM_HOOK: allowed. */
  evtchnInterdomain(_caller: PolicySubject, _remote: PolicySubject): number {
    return 0;
  }

  /** XSM_HOOK: allowed. */
  evtchnSend(_caller: PolicySubject, _remote: PolicySubject | undefined): number {
    return 0;
  }

  /** XSM_TARGET. */
  evtchnStatus(caller: PolicySubject, dom: PolicySubject): number {
    return this.target(caller, dom);
  }

  /** XSM_TARGET. */
  evtchnReset(caller: PolicySubject, dom: PolicySubject): number {
    return this.target(caller, dom);
  }

  /** Explicit grant list. */
  pirqAccess(dom: PolicySubject, pirq: number): number {
    return dom.pirqGrants.has(pirq) ? 0 : -Errno.EPERM;
  }

  /** The dummy policy keeps no state: `null`. */
  getState(): null {
    return null;
  }

  /** Accepts only `null` (what {@link DummySecurityPolicy.getState} saves). */
  setState(state: unknown): void {
    if (state !== null) throw new Error(`expected null (the dummy policy keeps no state), got ${typeof state}`);
  }
}

/** Policy plugin for Xen's dummy policy (the default when a platform names none). */
export function dummyPolicy(): Plugin<'policy'> {
  return {
    name: 'policy-dummy',
    kind: 'policy',
    apiVersion: PLUGIN_API_VERSION,
    register(c) {
      c.register(SecurityPolicyToken, { useValue: new DummySecurityPolicy() });
    },
  };
}
