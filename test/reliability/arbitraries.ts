/*
 * fast-check generators for hypercall scenarios (`evtchn-hypercall/1` shaped) and the helper
 * that runs a property and prints how many cases it generated.
 */
import fc from 'fast-check';
import type { RefDomainConfig, Step } from './reference-model.js';

/** DOMID_SELF. */
export const DOMID_SELF = 0x7ff0;
/** A domain id no generated scenario creates. */
export const ABSENT_DOM = 9;

/**
 * Seed of every property: `FC_SEED=<n>` picks one, `FC_SEED=random` a fresh one per run;
 * by default a fixed seed, so CI runs are reproducible.
 */
export function propertySeed(): number | undefined {
  const env = process.env.FC_SEED;
  if (env === 'random') return undefined;
  if (env !== undefined && env !== '') return Number(env);
  return 0x5eed;
}

/**
 * Runs `property` with bounded `numRuns`, counting the generated cases, and prints
 * `[property] <name>: <n> cases`.
 */
export function checkProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns: number): void {
  let cases = 0;
  const seed = propertySeed();
  try {
    fc.assert(
      fc.property(arb, (v) => {
        cases++;
        predicate(v);
      }),
      { numRuns, ...(seed === undefined ? {} : { seed }), endOnFailure: false },
    );
  } finally {
    console.log(`[property] ${name}: ${cases} cases`);
  }
}

/** A hypercall scenario: domains, which ABIs are offered, and steps. */
export interface HypercallScenario {
  fifoOffered: boolean;
  domains: RefDomainConfig[];
  steps: Step[];
}

const domainConfig = (id: number): fc.Arbitrary<RefDomainConfig> =>
  fc.record({
    id: fc.constant(id),
    vcpus: fc.integer({ min: 1, max: 3 }),
    privileged: fc.constant(id === 0),
    maxEvtchnPort: id === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(3, 10, 63, 64, 70), { nil: undefined, freq: 3 }),
    nrPirqs: fc.constant(16),
    pirqs: fc.uniqueArray(fc.integer({ min: 0, max: 19 }), { maxLength: 4 }),
    memPages: fc.constantFrom(16, 64),
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

function steps(ids: number[]): fc.Arbitrary<Step[]> {
  const caller = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.constant(ABSENT_DOM) });
  const dom = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ids) },
    { weight: 3, arbitrary: fc.constant(DOMID_SELF) },
    { weight: 1, arbitrary: fc.constant(ABSENT_DOM) },
  );
  const toolDom = fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.constant(ABSENT_DOM) });
  const w = (weight: number, arbitrary: fc.Arbitrary<Step[]>) => ({ weight, arbitrary });
  const op = <T extends Record<string, fc.Arbitrary<unknown>>>(name: string, fields: T): fc.Arbitrary<Step[]> =>
    fc.record({ op: fc.constant(name), ...fields }).map((s) => [s as unknown as Step]);
  // Offer a port and bind it from the other side: allocation is lowest-first, so a small
  // guessed remote port often names the port just offered.
  const offerAndBind = fc
    .record({ a: fc.constantFrom(...ids), b: fc.constantFrom(...ids), k: fc.integer({ min: 1, max: 6 }) })
    .map(({ a, b, k }): Step[] => [
      { op: 'alloc_unbound', caller: a, dom: DOMID_SELF, remote_dom: b },
      { op: 'bind_interdomain', caller: b, remote_dom: a, remote_port: k },
    ]);
  // Switch a domain to FIFO with an event array page, so sends link events (busy ports).
  const toFifo = fc
    .record({ a: fc.constantFrom(...ids), cb: gfn, arr: gfn, vcpu: fc.constantFrom(0, 0, 0, 1) })
    .map(({ a, cb, arr, vcpu: v }): Step[] => [
      { op: 'init_control', caller: a, control_gfn: cb, offset: 0, vcpu: v },
      { op: 'expand_array', caller: a, array_gfn: arr },
    ]);
  const step = fc.oneof(
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
    w(2, op('unmask', { caller, port })),
    w(2, op('reset', { caller, dom })),
    w(2, op('init_control', { caller, control_gfn: gfn, offset, vcpu })),
    w(2, op('expand_array', { caller, array_gfn: gfn })),
    w(4, toFifo),
    w(3, op('set_priority', { caller, port, priority: fc.integer({ min: 0, max: 16 }) })),
    w(1, op('pause', { dom: toolDom })),
    w(1, op('unpause', { dom: toolDom })),
    w(1, op('destroy', { dom: toolDom })),
    w(1, op('set_global_virq_handler', { virq, dom: toolDom })),
  );
  return fc.array(step, { minLength: 1, maxLength: 50, size: 'max' }).map((chunks) => chunks.flat());
}

/** Scenarios of 3–5 domains (dom0 privileged), with or without FIFO offered. */
export const hypercallScenario: fc.Arbitrary<HypercallScenario> = fc.integer({ min: 3, max: 5 }).chain((n) => {
  const ids = Array.from({ length: n }, (_, i) => i);
  return fc.record({
    fifoOffered: fc.constantFrom(true, true, true, false),
    domains: fc.tuple(...ids.map(domainConfig)),
    steps: steps(ids),
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
