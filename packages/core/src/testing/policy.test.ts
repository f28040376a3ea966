import { describe, expect, it } from 'vitest';
import type { PolicySubject, SecurityPolicy } from '../contracts/policy.js';
import { Errno } from '../errno.js';
import { DummySecurityPolicy, dummyPolicy } from '../hypervisor/dummy-policy.js';
import { checkSecurityPolicyConformance, describeSecurityPolicyConformance, type PolicyCheck } from './index.js';

describeSecurityPolicyConformance(() => dummyPolicy());
describeSecurityPolicyConformance(() => new DummySecurityPolicy());

/** The dummy policy plus "nobody binds interdomain to dom 2". */
class NoDom2 extends DummySecurityPolicy {
  override evtchnInterdomain(caller: PolicySubject, remote: PolicySubject): number {
    return remote.id === 2 ? -Errno.EPERM : 0;
  }
}
const deniesDom2 = (c: PolicyCheck): boolean => c.hook === 'evtchnInterdomain' && c.target?.id === 2;

describeSecurityPolicyConformance(() => new NoDom2(), { denies: deniesDom2 });

function failed(make: () => SecurityPolicy, denies?: (c: PolicyCheck) => boolean): Map<string, string> {
  return new Map(
    checkSecurityPolicyConformance(make, { denies })
      .filter((r) => !r.ok)
      .map((r) => [r.rule, r.message!]),
  );
}

describe('the policy suite on deliberately broken policies', () => {
  it('a policy denying what it does not declare fails hook.interdomain and the hypervisor rule', () => {
    const f = failed(() => new NoDom2());
    expect([...f.keys()]).toEqual(['hook.interdomain', 'hypervisor.enforces-interdomain']);
    expect(f.get('hook.interdomain')).toMatch(/^rule 'hook.interdomain' \(SPEC §1.5\) violated: evtchnInterdomain\(d0\(priv\), d2\) returned -1; the baseline allows it/);
  });

  it('a policy not denying what it declares fails the rule of that hook', () => {
    const f = failed(() => new DummySecurityPolicy(), deniesDom2);
    expect(f.get('hook.interdomain')).toMatch(/is declared denied but returned 0/);
  });

  it('a policy allowing more than the baseline fails the target rules', () => {
    class Open extends DummySecurityPolicy {
      protected override target(): number {
        return 0;
      }
    }
    const f = failed(() => new Open());
    expect([...f.keys()]).toEqual(['target.unbound', 'target.status', 'target.reset']);
    expect(f.get('target.status')).toMatch(/evtchnStatus\(d1, d0\(priv\)\) returned 0; the baseline refuses it with -1, a policy may not allow more/);
  });

  it('a policy ignoring pirq grants fails pirq.grants', () => {
    class AllPirqs extends DummySecurityPolicy {
      override pirqAccess(): number {
        return 0;
      }
    }
    expect([...failed(() => new AllPirqs()).keys()]).toEqual(['pirq.grants']);
  });

  it('a policy that throws or answers positive numbers fails policy.returns-errno', () => {
    class Thrower extends DummySecurityPolicy {
      override evtchnSend(): number {
        throw new Error('no remote');
      }
    }
    class Positive extends DummySecurityPolicy {
      override evtchnReset(): number {
        return Errno.EPERM;
      }
    }
    expect(failed(() => new Thrower()).get('policy.returns-errno')).toMatch(/evtchnSend\(d0\(priv\), d0\(priv\)\) threw no remote/);
    expect(failed(() => new Positive()).get('policy.returns-errno')).toMatch(/returned 1, expected 0 or -errno/);
  });

  it('a policy without the snapshot hook, or one whose restore loses its state, fails snapshot.round-trip', () => {
    class NoHooks extends DummySecurityPolicy {
      override getState = undefined as unknown as () => null;
    }
    expect(failed(() => new NoHooks()).get('snapshot.round-trip')).toMatch(/has no getState\(\)\/setState\(\)/);
    /** Denies a domain's second reset (it remembers the first), but forgets that on restore. */
    class Once extends DummySecurityPolicy {
      private readonly reset = new Set<number>();
      override evtchnReset(caller: PolicySubject, dom: PolicySubject): number {
        if (this.reset.has(dom.id)) return -Errno.EBUSY;
        this.reset.add(dom.id);
        return super.evtchnReset(caller, dom);
      }
      override getState(): null {
        return null;
      }
    }
    expect(failed(() => new Once()).get('snapshot.round-trip')).toMatch(/after the restore evtchnReset\(.*\) answers -16 on the original, 0 on the restored policy/);
  });
});
