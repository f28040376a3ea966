/*
 * The architecture conformance rules, written from the Architecture contract
 * (core/src/contracts/arch.ts) and SPEC §2 (upcall marking), §4.4 (pirqs) and §4.2 / §3 (the
 * guest IRQ space): an upcall reaches the right domain's sink once per delivery, never
 * re-entrantly unless declared, stops at detach; IRQ numbers are distinct and reusable; pirq
 * hooks answer with numbers, never exceptions.
 */
import type { ArchDomainInfo, Architecture, UpcallSink } from '../contracts/arch.js';
import type { Clock } from '../contracts/sim.js';
import { pluginServicesContainer, type PluginServices } from '../platform/plugin-checks.js';
import { isPlugin, type Plugin } from '../platform/plugin.js';
import { VirtualClock } from '../sim/clock.js';
import { Architecture as ArchitectureToken } from '../tokens.js';
import { list, ruleAsserter, runRules, type ConformanceResult, type ConformanceRule } from './conformance.js';

/** What the architecture suite accepts: an architecture plugin or an `Architecture`. */
export type ArchitectureFactory = () => Plugin | Architecture;

/** Options of the architecture suite. */
export interface ArchitectureConformanceOptions {
  /**
   * Runs deliveries the architecture deferred (e.g. advances the virtual clock or runs the
   * scheduler) so the sink has been called by the time it returns. Default: nothing, for
   * architectures that call the sink inside `deliverUpcall`.
   */
  settle?: (arch: Architecture, clock: Clock) => void;
  /**
   * The architecture enters the sink again for a delivery requested while the sink runs (a
   * synchronous model such as core's `NullArchitecture` with `deliver: true`). Default `false`:
   * such a delivery is held, like a callback vector pending in the LAPIC's IRR while the
   * handler runs, and taken after the sink returns.
   */
  reentrant?: boolean;
  /** Rule ids to leave out. */
  skip?: readonly string[];
}

/** What each architecture rule gets: a fresh architecture and the suite's options. */
export interface ArchitectureSubject {
  /** The architecture under test. */
  readonly arch: Architecture;
  /** The suite's options. */
  readonly options: ArchitectureConformanceOptions;
  /** The virtual clock registered under `Clock` in the container the architecture was built in. */
  readonly clock?: Clock;
  /** Builds another subject from the same factory (the snapshot round-trip rule restores into it). */
  readonly fresh?: () => ArchitectureSubject;
}

/**
 * Turns the factory's result into an `Architecture` (a plugin is registered into a fresh
 * child container and its `Architecture` resolved).
 * @throws Error when a plugin is not an architecture plugin or registers none
 */
export function resolveArchitecture(made: Plugin | Architecture, services: PluginServices = pluginServicesContainer()): Architecture {
  if (!isPlugin(made)) return made;
  if (made.kind !== 'arch') throw new Error(`plugin '${made.name}' is a ${made.kind} plugin, not an arch plugin`);
  const c = services.container;
  made.register(c);
  if (!c.isRegistered(ArchitectureToken)) throw new Error(`plugin '${made.name}' registered no Architecture`);
  return c.resolve<Architecture>(ArchitectureToken);
}

/**
 * A fresh subject for one rule: the architecture built in a container that provides the platform
 * services (`Clock`, `EventBus`), and that clock.
 * @param factory - creates the architecture plugin (or instance)
 * @param options - the suite's options
 */
export function architectureSubject(factory: ArchitectureFactory, options: ArchitectureConformanceOptions): ArchitectureSubject {
  const services = pluginServicesContainer();
  return { arch: resolveArchitecture(factory(), services), options, clock: services.clock, fresh: () => architectureSubject(factory, options) };
}

type Assert = ReturnType<typeof ruleAsserter>;

function rule(id: string, spec: string, summary: string, check: (s: ArchitectureSubject, assert: Assert) => void): ConformanceRule<ArchitectureSubject> {
  const assert = ruleAsserter({ id, spec });
  return { id, spec, summary, check: (s) => check(s, assert) };
}

/** A sink recording each upcall's vCPU and the deepest nesting seen. */
class RecordingSink implements UpcallSink {
  readonly calls: number[] = [];
  depth = 0;
  maxDepth = 0;
  onUpcall: ((vcpu: number) => void) | undefined;

  upcall(vcpu: number): void {
    this.depth++;
    this.maxDepth = Math.max(this.maxDepth, this.depth);
    this.calls.push(vcpu);
    try {
      this.onUpcall?.(vcpu);
    } finally {
      this.depth--;
    }
  }
}

function info(id: number, nrVcpus = 2): ArchDomainInfo {
  return { id, nrVcpus, privileged: false, nrPirqs: 64 };
}

function settle(s: ArchitectureSubject): void {
  s.options.settle?.(s.arch, (s.clock ?? new VirtualClock()) as Clock);
}

/** Every rule of the architecture suite. */
export const architectureRules: readonly ConformanceRule<ArchitectureSubject>[] = [
  rule('arch.name', 'contract', 'the architecture has a non-empty name', ({ arch }, assert) => {
    assert(typeof arch.name === 'string' && arch.name.length > 0, `name is ${JSON.stringify(arch.name)}`);
  }),

  rule('deliver.reaches-sink-once', '§2 upcall marking', "each deliverUpcall reaches the domain's sink exactly once, for that vCPU", (s, assert) => {
    const sink = new RecordingSink();
    s.arch.attachDomain(info(7), sink);
    s.arch.deliverUpcall(7, 1);
    settle(s);
    assert(sink.calls.length === 1 && sink.calls[0] === 1, `deliverUpcall(7, 1) reached the sink with ${list(sink.calls)}, expected [1]`);
    s.arch.deliverUpcall(7, 0);
    settle(s);
    assert(sink.calls.length === 2 && sink.calls[1] === 0, `deliverUpcall(7, 0) reached the sink with ${list(sink.calls)}, expected [1, 0]`);
    settle(s);
    assert(sink.calls.length === 2, `settling again delivered more upcalls: ${list(sink.calls)}`);
  }),

  rule('deliver.right-domain', 'contract', "an upcall for one domain never reaches another domain's sink", (s, assert) => {
    const a = new RecordingSink();
    const b = new RecordingSink();
    s.arch.attachDomain(info(7), a);
    s.arch.attachDomain(info(8, 1), b);
    s.arch.deliverUpcall(7, 0);
    s.arch.deliverUpcall(7, 1);
    settle(s);
    assert(b.calls.length === 0, `domain 8's sink got upcalls meant for domain 7: ${list(b.calls)}`);
    s.arch.deliverUpcall(8, 0);
    settle(s);
    assert(a.calls.length === 2 && b.calls.length === 1, `sinks got ${list(a.calls)} (dom 7) and ${list(b.calls)} (dom 8)`);
  }),

  rule('deliver.no-reentry', 'contract', 'a delivery requested while the sink runs is neither lost nor duplicated, and enters the sink re-entrantly only if declared', (s, assert) => {
    const sink = new RecordingSink();
    s.arch.attachDomain(info(7), sink);
    let requested = false;
    sink.onUpcall = (vcpu) => {
      if (requested) return;
      requested = true;
      s.arch.deliverUpcall(7, vcpu);
    };
    s.arch.deliverUpcall(7, 0);
    settle(s);
    assert(sink.calls.length === 2, `a delivery requested inside the sink gave ${sink.calls.length} sink call(s) in total, expected 2`);
    if (!s.options.reentrant)
      assert(sink.maxDepth === 1, `the sink was entered re-entrantly (depth ${sink.maxDepth}); declare { reentrant: true } if the model is synchronous by design`);
  }),

  rule('detach.stops-delivery', 'contract', 'after detachDomain no upcall reaches the old sink, and delivering to a detached domain does not throw', (s, assert) => {
    const old = new RecordingSink();
    s.arch.attachDomain(info(7), old);
    s.arch.detachDomain(7);
    s.arch.deliverUpcall(7, 0);
    settle(s);
    assert(old.calls.length === 0, `a detached domain's sink got ${list(old.calls)}`);
    const fresh = new RecordingSink();
    s.arch.attachDomain(info(7), fresh);
    s.arch.deliverUpcall(7, 0);
    settle(s);
    assert(old.calls.length === 0 && fresh.calls.length === 1, `after re-attach: old sink ${list(old.calls)}, new sink ${list(fresh.calls)}`);
  }),

  rule('irq-space.distinct', '§3 / §4.2', 'createGuestIrqSpace hands out distinct IRQs within nrIrqs and reuses freed ones', ({ arch }, assert) => {
    const space = arch.createGuestIrqSpace({ domid: 7, nrCpus: 2, privileged: false });
    const n = space.nrIrqs();
    assert(Number.isInteger(n) && n > 0, `nrIrqs() is ${n}`);
    const got: number[] = [];
    for (let i = 0; i < Math.min(n, 256); i++) {
      const irq = space.allocDynamic();
      if (irq < 0) break;
      got.push(irq);
    }
    assert(got.length > 0, 'allocDynamic failed on a fresh IRQ space');
    const bad = got.filter((irq) => !Number.isInteger(irq) || irq >= space.nrIrqs());
    assert(bad.length === 0, `IRQs outside 0..nrIrqs()-1: ${list(bad)}`);
    assert(new Set(got).size === got.length, `allocDynamic returned an IRQ twice: ${list(got)}`);
    const freed = got[0]!;
    space.free(freed);
    const again = space.allocDynamic();
    assert(again >= 0, `allocDynamic after free returned ${again}`);
    assert(!got.slice(1).includes(again), `allocDynamic after free returned ${again}, which is still allocated`);
    const other = arch.createGuestIrqSpace({ domid: 8, nrCpus: 1, privileged: false });
    assert(other.allocDynamic() >= 0, "a second domain's IRQ space is exhausted by the first's allocations");
  }),

  rule('irq-space.exhaustion', '§3 / §4.2', 'an exhausted IRQ space returns a negative number (never throws) until an IRQ is freed', ({ arch }, assert) => {
    const space = arch.createGuestIrqSpace({ domid: 7, nrCpus: 1, privileged: false });
    const limit = Math.min(space.nrIrqs() + 1, 1 << 20);
    const got: number[] = [];
    let rc = 0;
    for (let i = 0; i < limit; i++) {
      rc = space.allocDynamic();
      if (rc < 0) break;
      got.push(rc);
    }
    if (rc >= 0) return; // The space grows beyond the bound tried; nothing to check.
    assert(Number.isInteger(rc), `exhaustion returned ${rc}`);
    space.free(got[got.length - 1]!);
    const again = space.allocDynamic();
    assert(again >= 0, `allocDynamic after freeing one IRQ of a full space returned ${again}`);
  }),

  rule('pirqs.errno-not-throw', '§4.4', 'pirq hooks, when present, answer 0, flags or -errno for any pirq and never throw', ({ arch }, assert) => {
    const p = arch.pirqs;
    if (!p) return;
    arch.attachDomain(info(7), new RecordingSink());
    const isRc = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x);
    for (const pirq of [0, 1, 63, 64, 4096, 0x7fffffff]) {
      const bind = p.guestBind(7, 0, pirq, false);
      assert(isRc(bind) && bind <= 0, `guestBind(7, 0, ${pirq}) returned ${String(bind)}`);
      const q = p.irqStatusQuery(7, pirq);
      assert(isRc(q), `irqStatusQuery(7, ${pirq}) returned ${String(q)}`);
      const eoi = p.eoi(7, pirq);
      assert(isRc(eoi) && eoi <= 0, `eoi(7, ${pirq}) returned ${String(eoi)}`);
      p.setAffinity(7, pirq, 1);
      if (bind === 0) p.guestUnbind(7, pirq);
    }
    p.guestUnbind(7, 12345);
  }),

  rule(
    'snapshot.round-trip',
    'contract, snapshots guide',
    "the architecture's state round-trips: saved, set into a fresh instance with the same domain, saved again gives the same JSON, and both then deliver the same",
    (s, assert) => {
      const hooks = s.arch as { getState?: () => unknown; setState?: (v: unknown) => void };
      assert(
        typeof hooks.getState === 'function' && typeof hooks.setState === 'function',
        "the architecture has no getState()/setState() (the optional snapshot hook): platforms on it cannot be snapshotted; skip 'snapshot.round-trip' to accept that",
      );
      assert(s.fresh !== undefined, 'the subject cannot build a fresh instance (give it a `fresh` factory)');
      const a = new RecordingSink();
      s.arch.attachDomain(info(7), a);
      s.arch.deliverUpcall(7, 1);
      settle(s);
      s.arch.deliverUpcall(7, 0);
      settle(s);
      const saved = JSON.stringify(hooks.getState!());
      const t = s.fresh!();
      const b = new RecordingSink();
      t.arch.attachDomain(info(7), b);
      if (s.clock instanceof VirtualClock && t.clock instanceof VirtualClock) {
        t.clock.discardTimers();
        t.clock.setState(s.clock.getState());
      }
      const thooks = t.arch as typeof hooks;
      thooks.setState!(JSON.parse(saved));
      const again = JSON.stringify(thooks.getState!());
      assert(again === saved, () => `state saved after a restore differs from the state restored:\n  restored ${saved.slice(0, 300)}\n  saved    ${again.slice(0, 300)}`);
      const fromA = a.calls.length;
      for (const subject of [s, t]) {
        subject.arch.deliverUpcall(7, 1);
        settle(subject);
        subject.arch.deliverUpcall(7, 0);
        settle(subject);
      }
      const got = a.calls.slice(fromA);
      assert(list(got) === list(b.calls), `after the restore the original delivered ${list(got)}, the restored instance ${list(b.calls)}`);
    },
  ),
];

/**
 * Runs every architecture rule programmatically, each on a fresh architecture.
 * @param factory - creates the architecture (plugin or instance), called once per rule
 * @param options - see {@link ArchitectureConformanceOptions}
 */
export function checkArchitectureConformance(factory: ArchitectureFactory, options: ArchitectureConformanceOptions = {}): ConformanceResult[] {
  const rules = architectureRules.filter((r) => !options.skip?.includes(r.id));
  return runRules(rules, () => architectureSubject(factory, options));
}
