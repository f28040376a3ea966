/*
 * fast-check generators for hypercall scenarios (`evtchn-hypercall/1` shaped) and the helper
 * that runs a property and prints how many cases it generated.
 */
import { relative } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { RefDomainConfig, Step } from './reference-model.js';

/** DOMID_SELF. */
export const DOMID_SELF = 0x7ff0;
/** A domain id no generated scenario creates. */
export const ABSENT_DOM = 9;

/**
 * Seed of every property: `FC_SEED` as vitest.config.ts sets it for the run (the one given, or a
 * fresh random one when unset or `random`). Outside vitest's config, unset means random too.
 */
export function propertySeed(): number {
  const env = process.env.FC_SEED;
  if (env !== undefined && /^-?\d+$/.test(env)) return Number(env);
  return Math.floor(Math.random() * 2 ** 31);
}

/** `FC_RUNS_SCALE` (default 1): scales every property's number of cases (mutation runs use 0.25). */
function runsScale(): number {
  const s = Number(process.env.FC_RUNS_SCALE ?? '1');
  return Number.isFinite(s) && s > 0 ? s : 1;
}

/**
 * `n` times `FC_RUNS_SCALE`, for thresholds on how often a generator exercised something (they
 * shrink with the number of cases).
 */
export function scaled(n: number): number {
  return Math.floor(n * runsScale());
}

/** The command that replays `seed` for the test file running now. */
export function replayCommand(seed: number): string {
  const file = expect.getState().testPath;
  const rel = file ? relative(process.cwd(), file) : 'test/reliability';
  return `FC_SEED=${seed} npx vitest run ${rel}`;
}

/**
 * Runs `property` with `numRuns` cases (times `FC_RUNS_SCALE`) from the run's seed, and prints
 * `[property] <name>: <n> cases, seed <s> (replay: FC_SEED=<s> npx vitest run <file>)`.
 */
export function checkProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns: number): void {
  let cases = 0;
  let failed = true;
  const seed = propertySeed();
  try {
    fc.assert(
      fc.property(arb, (v) => {
        cases++;
        predicate(v);
      }),
      { numRuns: Math.max(1, Math.round(numRuns * runsScale())), seed, endOnFailure: false },
    );
    failed = false;
  } finally {
    console.log(`[property] ${name}: ${cases} cases, seed ${seed}${failed ? ' FAILED' : ''} (replay: ${replayCommand(seed)})`);
  }
}

/** A hypercall scenario: domains, which ABIs are offered, and steps. */
export interface HypercallScenario {
  fifoOffered: boolean;
  domains: RefDomainConfig[];
  steps: Step[];
}

const domainConfig = (id: number, model: boolean): fc.Arbitrary<RefDomainConfig> =>
  fc.record({
    id: fc.constant(id),
    vcpus: fc.integer({ min: 1, max: 3 }),
    privileged: fc.constant(id === 0),
    maxEvtchnPort: id === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(3, 10, 63, 64, 70), { nil: undefined, freq: 3 }),
    nrPirqs: fc.constant(16),
    pirqs: fc.uniqueArray(fc.integer({ min: 0, max: 19 }), { maxLength: 4 }),
    memPages: fc.constantFrom(16, 64),
    ...(model ? { wordBits: fc.constantFrom<32 | 64>(64, 64, 32) } : {}),
  });

/** A port number: mostly the low ports that allocation hands out, sometimes past a bucket. */
const port = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 140 }) },
);
const vcpu = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 5 }) });
const virq = fc.constantFrom(0, 1, 2, 3, 5, 7, 11, 13, 16, 23, 24);
const gfn = fc.constantFrom(0, 1, 2, 3, 3, 15, 16, 63, 64);
const offset = fc.constantFrom(0, 8, 64, 4024, 4032, 4, 4025);
/** A guest's queue (0–15). */
const queue = fc.constantFrom(0, 3, 7, 7, 7, 15);
const priority = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 3, 7, 15) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 16 }) });

/**
 * Steps over domains `ids`. With `spare` ids (model scenarios), domains may also be created
 * under an id that is free or was destroyed (domid reuse), and the guest acts on shared memory.
 */
function steps(ids: number[], spare: number[], model: boolean): fc.Arbitrary<Step[]> {
  const all = [...ids, ...spare];
  // Mostly domains that exist at the start; spare ids exist only once a `create` ran.
  const live = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...ids) }, { weight: spare.length > 0 ? 1 : 0, arbitrary: fc.constantFrom(...all) });
  const caller = fc.oneof({ weight: 20, arbitrary: live }, { weight: 1, arbitrary: fc.constant(ABSENT_DOM) });
  const dom = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...all) },
    { weight: 3, arbitrary: fc.constant(DOMID_SELF) },
    { weight: 1, arbitrary: fc.constant(ABSENT_DOM) },
  );
  const toolDom = fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...all) }, { weight: 1, arbitrary: fc.constant(ABSENT_DOM) });
  const w = (weight: number, arbitrary: fc.Arbitrary<Step[]>) => ({ weight, arbitrary });
  const op = <T extends Record<string, fc.Arbitrary<unknown>>>(name: string, fields: T): fc.Arbitrary<Step[]> =>
    fc.record({ op: fc.constant(name), ...fields }).map((s) => [s as unknown as Step]);
  // Offer a port and bind it from the other side: allocation is lowest-first, so a small
  // guessed remote port often names the port just offered.
  const offerAndBind = fc
    .record({ a: live, b: live, k: fc.integer({ min: 1, max: 6 }) })
    .map(({ a, b, k }): Step[] => [
      { op: 'alloc_unbound', caller: a, dom: DOMID_SELF, remote_dom: b },
      { op: 'bind_interdomain', caller: b, remote_dom: a, remote_port: k },
    ]);
  // Switch a domain to FIFO with an event array page, so sends link events (busy ports).
  const toFifo = fc
    .record({ a: live, cb: gfn, arr: gfn, vcpu: fc.constantFrom(0, 0, 0, 1) })
    .map(({ a, cb, arr, vcpu: v }): Step[] => [
      { op: 'init_control', caller: a, control_gfn: cb, offset: 0, vcpu: v },
      { op: 'expand_array', caller: a, array_gfn: arr },
    ]);
  const hypercalls = [
    w(6, op('alloc_unbound', { caller, dom, remote_dom: dom })),
    w(3, op('bind_interdomain', { caller, remote_dom: dom, remote_port: port })),
    w(8, offerAndBind),
    w(3, op('bind_ipi', { caller, vcpu })),
    w(3, op('bind_virq', { caller, virq, vcpu })),
    w(2, op('bind_pirq', { caller, pirq: fc.integer({ min: 0, max: 19 }), flags: fc.constantFrom(0, 1) })),
    w(8, op('close', { caller, port })),
    w(10, op('send', { caller, port })),
    w(4, op('status', { caller, dom, port })),
    w(2, op('bind_vcpu', { caller, port, vcpu })),
    w(model ? 4 : 2, op('unmask', { caller, port })),
    w(2, op('reset', { caller, dom })),
    w(2, op('init_control', { caller, control_gfn: gfn, offset, vcpu })),
    w(2, op('expand_array', { caller, array_gfn: gfn })),
    w(4, toFifo),
    w(3, op('set_priority', { caller, port, priority: fc.integer({ min: 0, max: 16 }) })),
    w(1, op('pause', { dom: toolDom })),
    w(1, op('unpause', { dom: toolDom })),
    w(1, op('destroy', { dom: toolDom })),
    w(1, op('set_global_virq_handler', { virq, dom: toolDom })),
  ];
  // A masked event: the guest masks a port and acknowledges its upcall, the port is raised,
  // then unmasked (2-level: the selector and the upcall are set only at the unmask; FIFO: the
  // unmask links the event).
  const maskedEvent = fc
    .record({ a: live, p: fc.integer({ min: 1, max: 4 }), v: fc.constantFrom(0, 0, 1) })
    .map(({ a, p, v }): Step[] => [
      { op: 'bind_ipi', caller: a, vcpu: v },
      { op: 'guest_mask', caller: a, port: p },
      { op: 'guest_ack', caller: a, vcpu: v },
      { op: 'send', caller: a, port: p },
      { op: 'unmask', caller: a, port: p },
    ]);
  // The guest drains one queue (consumes heads until it is empty), as its upcall handler does.
  const drain = fc
    .record({ a: live, v: fc.constantFrom(0, 0, 1), prio: queue, n: fc.integer({ min: 1, max: 4 }) })
    .map(({ a, v, prio, n }): Step[] => [
      { op: 'guest_ack', caller: a, vcpu: v },
      ...Array.from({ length: n }, (): Step => ({ op: 'guest_consume', caller: a, vcpu: v, priority: prio })),
    ]);
  // IPIs bound on one vCPU (lowest ports first) and sent to, so queues grow past one event.
  const ipiBurst = fc
    .record({
      a: live,
      v: fc.constantFrom(0, 0, 1),
      k: fc.integer({ min: 1, max: 4 }),
      sends: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
      prio: fc.option(priority, { nil: undefined }),
    })
    .map(({ a, v, k, sends, prio }): Step[] => [
      ...Array.from({ length: k }, (): Step => ({ op: 'bind_ipi', caller: a, vcpu: v })),
      ...(prio === undefined ? [] : [{ op: 'set_priority', caller: a, port: sends[0]!, priority: prio }]),
      ...sends.map((p): Step => ({ op: 'send', caller: a, port: p })),
    ]);
  // One domain's FIFO session: switch, traffic on one or two vCPUs, the guest draining queues,
  // a close and a re-bind (allocation must skip a closed port that is still LINKED).
  const fifoSession = fc
    .record({ switchTo: toFifo, second: fc.boolean(), bursts: fc.array(ipiBurst, { minLength: 1, maxLength: 3 }), drains: fc.array(drain, { maxLength: 3 }), closeP: port })
    .map(({ switchTo, second, bursts, drains, closeP }): Step[] => {
      const a = switchTo[0]!.caller!;
      const retarget = (steps: Step[]): Step[] => steps.map((st) => ({ ...st, caller: a }));
      return [
        ...switchTo,
        ...(second ? [{ op: 'init_control', caller: a, control_gfn: 4, offset: 72, vcpu: 1 }] : []),
        ...bursts.flatMap(retarget),
        { op: 'close', caller: a, port: closeP },
        { op: 'bind_ipi', caller: a, vcpu: 0 },
        ...drains.flatMap(retarget),
      ];
    });
  // Domid reuse: destroy a domain (its peers' ports turn UNBOUND naming its id), create a new
  // one under the same id, and let it bind to what the old one left behind.
  const reuse = fc
    .record({
      a: fc.constantFrom(...all.filter((id) => id !== 0)),
      b: live,
      k: fc.integer({ min: 1, max: 4 }),
      vcpus: fc.integer({ min: 1, max: 3 }),
      memPages: fc.constantFrom(16, 64),
    })
    .map(({ a, b, k, vcpus, memPages }): Step[] => [
      { op: 'alloc_unbound', caller: b, dom: DOMID_SELF, remote_dom: a },
      { op: 'destroy', dom: a },
      { op: 'create', dom: a, vcpus, memPages, maxEvtchnPort: 1023 },
      { op: 'bind_interdomain', caller: a, remote_dom: b, remote_port: k },
      { op: 'send', caller: a, port: 1 },
      { op: 'status', caller: b, dom: DOMID_SELF, port: k },
    ]);
  const modelOnly = model
    ? [
        w(3, reuse),
        w(5, fifoSession),
        w(6, ipiBurst),
        w(6, maskedEvent),
        w(6, drain),
        w(2, op('create', { dom: toolDom, vcpus: fc.integer({ min: 1, max: 3 }), memPages: fc.constantFrom(16, 64), maxEvtchnPort: fc.constantFrom(10, 70, 1023) })),
        w(4, op('guest_mask', { caller, port })),
        w(2, op('guest_clear', { caller, port })),
        w(6, op('guest_consume', { caller, vcpu, priority: queue })),
        w(2, op('guest_ack', { caller, vcpu })),
      ]
    : [];
  const step = fc.oneof(...hypercalls, ...modelOnly);
  return fc.array(step, { minLength: model ? 10 : 1, maxLength: 50, size: 'max' }).map((chunks) => chunks.flat());
}

/** Scenarios of 3–5 domains (dom0 privileged), with or without FIFO offered, replayable as `evtchn-hypercall/1`. */
export const hypercallScenario: fc.Arbitrary<HypercallScenario> = fc.integer({ min: 3, max: 5 }).chain((n) => {
  const ids = Array.from({ length: n }, (_, i) => i);
  return fc.record({
    fifoOffered: fc.constantFrom(true, true, true, false),
    domains: fc.tuple(...ids.map((id) => domainConfig(id, false))),
    steps: steps(ids, [], false),
  });
});

/** Ids a model scenario draws its domains from: small ones, one past a byte, the largest domid. */
const MODEL_IDS = [1, 2, 3, 4, 0x100, 0x7fef];

/**
 * Scenarios for the reference model: dom0 plus 2–4 domains with ids from {@link MODEL_IDS}, the
 * other ids spare (created later by `create` steps, which also re-create destroyed domains),
 * 32- and 64-bit guests, and guest actions on shared memory between the hypercalls.
 */
export const modelScenario: fc.Arbitrary<HypercallScenario> = fc
  .record({ n: fc.integer({ min: 2, max: 4 }), order: fc.shuffledSubarray(MODEL_IDS, { minLength: MODEL_IDS.length, maxLength: MODEL_IDS.length }) })
  .chain(({ n, order }) => {
    const ids = [0, ...order.slice(0, n)];
    const spare = order.slice(n);
    return fc.record({
      fifoOffered: fc.constantFrom(true, true, true, false),
      domains: fc.tuple(...ids.map((id) => domainConfig(id, true))),
      steps: steps(ids, spare, true),
    });
  });

/** The scenario as an `evtchn-hypercall/1` JSON document. */
export function toReplayDocument(sc: HypercallScenario): unknown {
  return {
    format: 'evtchn-hypercall/1',
    arch: 'x86',
    abis: sc.fifoOffered ? ['2level', 'fifo'] : ['2level'],
    domains: sc.domains.map((d) => ({
      id: d.id,
      vcpus: d.vcpus,
      privileged: d.privileged,
      ...(d.maxEvtchnPort === undefined ? {} : { maxEvtchnPort: d.maxEvtchnPort }),
      nrPirqs: d.nrPirqs,
      pirqs: d.pirqs,
      memPages: d.memPages,
    })),
    steps: sc.steps,
  };
}
