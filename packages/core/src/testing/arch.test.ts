import { describe, expect, it } from 'vitest';
import type { Architecture, ArchDomainInfo, UpcallSink } from '../contracts/arch.js';
import { Errno } from '../errno.js';
import { NullArchitecture, archNull } from '../hypervisor/null-arch.js';
import { architectureRules, checkArchitectureConformance, describeArchitectureConformance } from './index.js';

// Core's null architecture delivers synchronously but latches a delivery requested while the
// vCPU is inside its upcall, so it passes without declaring re-entry.
describeArchitectureConformance(() => archNull({ deliver: true }));
describeArchitectureConformance(() => new NullArchitecture({ deliver: true, pirqs: 'none' }));

/** A correct architecture that holds a delivery requested while the sink runs (like a LAPIC's IRR). */
class LatchingArch implements Architecture {
  readonly name = 'latching';
  protected readonly sinks = new Map<number, UpcallSink>();
  private readonly running = new Set<string>();
  private readonly latched = new Set<string>();

  attachDomain(info: ArchDomainInfo, sink: UpcallSink): void {
    this.sinks.set(info.id, sink);
  }
  detachDomain(domid: number): void {
    this.sinks.delete(domid);
  }
  deliverUpcall(domid: number, vcpu: number): void {
    const key = `${domid}:${vcpu}`;
    if (this.running.has(key)) {
      this.latched.add(key);
      return;
    }
    this.running.add(key);
    try {
      do {
        this.latched.delete(key);
        this.sinks.get(domid)?.upcall(vcpu);
      } while (this.latched.has(key));
    } finally {
      this.running.delete(key);
    }
  }
  createGuestIrqSpace() {
    return new NullArchitecture().createGuestIrqSpace({ domid: 0, nrCpus: 1, privileged: false });
  }
  /** Nothing is latched between deliveries: no state to save. */
  getState(): null {
    return null;
  }
  setState(): void {}
}

describeArchitectureConformance(() => new LatchingArch());

function failed(make: () => Architecture, reentrant = false): string[] {
  return checkArchitectureConformance(make, { reentrant })
    .filter((r) => !r.ok)
    .map((r) => r.message!);
}

describe('the architecture suite on deliberately broken architectures', () => {
  it('a synchronous model that nests upcalls fails deliver.no-reentry', () => {
    /** Delivers at once even while the vCPU is inside its upcall. */
    class Nesting extends NullArchitecture {
      private readonly direct = new Map<number, UpcallSink>();
      override attachDomain(info: ArchDomainInfo, sink: UpcallSink): void {
        this.direct.set(info.id, sink);
      }
      override detachDomain(domid: number): void {
        this.direct.delete(domid);
      }
      override deliverUpcall(domid: number, vcpu: number): void {
        this.direct.get(domid)?.upcall(vcpu);
      }
    }
    const f = failed(() => new Nesting());
    expect(f).toHaveLength(1);
    expect(f[0]).toMatch(/^rule 'deliver.no-reentry' .* violated: the sink was entered re-entrantly \(depth 2\)/);
  });

  it('an architecture that never delivers fails deliver.reaches-sink-once', () => {
    const f = failed(() => new NullArchitecture({ deliver: false }), true);
    expect(f[0]).toMatch(/^rule 'deliver.reaches-sink-once' .* violated: deliverUpcall\(7, 1\) reached the sink with \[\]/);
  });

  it('an architecture that broadcasts upcalls fails deliver.right-domain', () => {
    class Broadcast extends LatchingArch {
      override deliverUpcall(_domid: number, vcpu: number): void {
        for (const s of this.sinks.values()) s.upcall(vcpu);
      }
    }
    expect(failed(() => new Broadcast()).some((m) => m.startsWith("rule 'deliver.right-domain'"))).toBe(true);
  });

  it('an architecture whose detach forgets nothing fails detach.stops-delivery', () => {
    class Sticky extends LatchingArch {
      override detachDomain(): void {}
    }
    expect(failed(() => new Sticky())).toEqual([expect.stringMatching(/^rule 'detach.stops-delivery' .* violated: a detached domain's sink got \[0\]/)]);
  });

  it('an IRQ space handing out the same IRQ twice fails irq-space.distinct', () => {
    class Dup extends LatchingArch {
      override createGuestIrqSpace() {
        return { nrIrqs: () => 16, allocDynamic: () => 3, free: () => {} };
      }
    }
    expect(failed(() => new Dup()).some((m) => /^rule 'irq-space.distinct' .* returned an IRQ twice/.test(m))).toBe(true);
  });

  it('pirq hooks that throw fail pirqs.errno-not-throw', () => {
    class Throwing extends LatchingArch {
      readonly pirqs = {
        guestBind: () => {
          throw new Error('no such pirq');
        },
        guestUnbind: () => {},
        setAffinity: () => {},
        eoi: () => -Errno.EINVAL,
        irqStatusQuery: () => -Errno.EINVAL,
      };
    }
    expect(failed(() => new Throwing())).toEqual([
      expect.stringMatching(/^rule 'pirqs.errno-not-throw' \(SPEC §4.4\) violated: threw Error: no such pirq/),
    ]);
  });

  it('an architecture without the snapshot hook fails snapshot.round-trip, saying how to opt out', () => {
    class NoHooks extends LatchingArch {
      override getState = undefined as unknown as () => null;
    }
    expect(failed(() => new NoHooks())).toEqual([
      expect.stringMatching(/^rule 'snapshot.round-trip' .* violated: the architecture has no getState\(\)\/setState\(\) .*skip 'snapshot.round-trip'/),
    ]);
  });

  it('an architecture whose setState drops what it saved fails snapshot.round-trip', () => {
    /** Counts deliveries per vCPU, and forgets them on restore. */
    class Forgetful extends LatchingArch {
      delivered = 0;
      override deliverUpcall(domid: number, vcpu: number): void {
        this.delivered++;
        super.deliverUpcall(domid, vcpu);
      }
      override getState(): null {
        return this.delivered as unknown as null;
      }
      override setState(): void {}
    }
    expect(failed(() => new Forgetful())).toEqual([expect.stringMatching(/^rule 'snapshot.round-trip' .* violated: state saved after a restore differs/)]);
  });

  it('every rule has a unique id', () => {
    const ids = architectureRules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
