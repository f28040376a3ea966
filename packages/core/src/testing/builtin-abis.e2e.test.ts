import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TwoLevelAbi, type TwoLevelGuestSide, type TwoLevelHypervisorSide } from '@evtchn/abi-2level';
import type { AbiGuestContext, AbiHypervisorContext, EventDispatcher } from '../contracts/abi.js';
import { checkEventAbiConformance, eventAbiRules, loadDeliveryVectors } from './index.js';

const vectors = fileURLToPath(new URL('../../../../conformance/delivery', import.meta.url));

// The in-tree ABIs run the suite on themselves in their own packages
// (packages/abi-*/src/conformance.e2e.test.ts); this file checks the suite itself.

/** A 2-level copy with one part broken, to show each rule fails with its own name. */
class Broken2Level extends TwoLevelAbi {
  constructor(
    private readonly breakHv: (side: TwoLevelHypervisorSide, ctx: AbiHypervisorContext) => void = () => {},
    private readonly breakGuest: (side: TwoLevelGuestSide, ctx: AbiGuestContext) => void = () => {},
  ) {
    super();
  }
  override createHypervisorSide(ctx: AbiHypervisorContext): TwoLevelHypervisorSide {
    const side = super.createHypervisorSide(ctx);
    this.breakHv(side, ctx);
    return side;
  }
  override createGuestSide(ctx: AbiGuestContext): TwoLevelGuestSide {
    const side = super.createGuestSide(ctx);
    this.breakGuest(side, ctx);
    return side;
  }
}

function failures(make: () => Broken2Level): Map<string, string> {
  return new Map(
    checkEventAbiConformance(make)
      .filter((r) => !r.ok)
      .map((r) => [r.rule, r.message!]),
  );
}

describe('the ABI suite on deliberately broken ABIs', () => {
  it('the intact copy passes every rule', () => {
    expect(failures(() => new Broken2Level())).toEqual(new Map());
  });

  it('halves without the snapshot hook, or whose restore forgets a field, fail snapshot.round-trip', () => {
    const hookless = failures(
      () =>
        new Broken2Level(undefined, (side) => {
          Object.assign(side, { getState: undefined });
        }),
    );
    expect([...hookless.keys()]).toEqual(['snapshot.round-trip']);
    expect(hookless.get('snapshot.round-trip')).toMatch(/the guest half has no getState\(\)\/setState\(\) .*skip 'snapshot.round-trip'/);
    // Restores everything but the ports' CPUs: the copy delivers the second vCPU's port on CPU 0.
    const forgetful = failures(
      () =>
        new Broken2Level(undefined, (side) => {
          const set = side.setState.bind(side);
          side.setState = (state) => {
            const saved = [...side.boundCpu];
            set(state);
            side.boundCpu.set(saved);
          };
        }),
    );
    expect([...forgetful.keys()]).toEqual(['snapshot.round-trip']);
    expect(forgetful.get('snapshot.round-trip')).toMatch(/state saved after a restore differs from the state restored/);
  });

  it('an unmask that forgets to re-deliver fails unmask.hypercall-redelivers', () => {
    const f = failures(
      () =>
        new Broken2Level((side, ctx) => {
          side.unmask = (port) => {
            ctx.sharedInfo.evtchnMask[port >>> 5]! &= ~(1 << (port & 31));
          };
        }),
    );
    // The guest's unmask of a port bound to another CPU goes through EVTCHNOP_unmask too.
    expect([...f.keys()]).toEqual(['unmask.hypercall-redelivers', 'unmask.guest-redelivers']);
    expect(f.get('unmask.hypercall-redelivers')).toMatch(
      /^rule 'unmask.hypercall-redelivers' \(SPEC §2.1\/§2.2 unmask\) violated: EVTCHNOP_unmask of a pending port delivered 0 upcall\(s\)/,
    );
  });

  it('a setPending that ignores the mask fails masked.no-dispatch', () => {
    const f = failures(
      () =>
        new Broken2Level((side, ctx) => {
          side.setPending = (vcpu, port) => {
            ctx.sharedInfo.evtchnPending[port >>> 5]! |= 1 << (port & 31);
            ctx.markEventsPending(vcpu);
          };
        }),
    );
    expect(f.get('masked.no-dispatch')).toMatch(/^rule 'masked.no-dispatch' .* violated: a send on a masked port delivered 1 upcall/);
    expect(f.has('send.coalesces')).toBe(true);
  });

  it('a scan that only looks at the first 1024 ports fails handle.dispatches-all', () => {
    const f = failures(
      () =>
        new Broken2Level(undefined, (side) => {
          const scan = side.handleEvents.bind(side);
          side.handleEvents = (cpu: number, dispatch: EventDispatcher) =>
            scan(cpu, { timerPort: (c) => dispatch.timerPort(c), handlePort: (p, c) => (p < 1024 ? dispatch.handlePort(p, c) : undefined) });
        }),
    );
    expect(f.get('handle.dispatches-all')).toMatch(/^rule 'handle.dispatches-all' .* violated: pending unmasked ports not dispatched: \[1024, /);
  });

  it('a scan that ignores the CPU masks fails handle.only-own-cpu', () => {
    const f = failures(
      () =>
        new Broken2Level(undefined, (side) => {
          const bind = side.bindToCpu.bind(side);
          side.bindToCpu = (port, cpu, old) => {
            bind(port, cpu, old);
            for (const m of side.cpuMasks) m[port >>> 5]! |= 1 << (port & 31);
          };
        }),
    );
    expect(f.has('handle.only-own-cpu')).toBe(true);
  });

  it('a guest that reads another bitmap than the hypervisor fails views.agree', () => {
    const f = failures(
      () =>
        new Broken2Level(undefined, (side) => {
          const own = new Uint32Array(128);
          side.isMasked = (port) => (own[port >>> 5]! & (1 << (port & 31))) !== 0;
        }),
    );
    expect(f.get('views.agree')).toMatch(/^rule 'views.agree' .* violated: port \d+ after guest mask: expected pending=false masked=true/);
  });

  it('a descriptor whose port limit disagrees with its halves fails descriptor.names-agree', () => {
    class Liar extends Broken2Level {
      override maxPorts(): number {
        return 8192;
      }
    }
    expect([...failures(() => new Liar()).keys()]).toContain('descriptor.names-agree');
  });

  it('every rule has a unique id and a SPEC reference', () => {
    const ids = eventAbiRules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of eventAbiRules) expect(r.spec).toMatch(/§\d/);
  });

  it('finds the delivery vectors of each built-in ABI', () => {
    const all = loadDeliveryVectors(vectors);
    expect(all.filter((v) => v.scenario.abi === '2level').length).toBeGreaterThan(3);
    expect(all.filter((v) => v.scenario.abi === 'fifo').length).toBeGreaterThan(3);
  });
});
