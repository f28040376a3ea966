/*
 * The event ABI conformance rules, written from SPEC §1.2 (allocation, free) and §2 (the ABI
 * contract, upcall marking, the 2-level and FIFO rules every ABI shares). Each rule drives a
 * fresh AbiFixture through hypercalls and the guest half only, so any ABI, in tree or not,
 * can be checked the same way.
 */
import type { JsonValue } from '../contracts/snapshot.js';
import { Errno } from '../errno.js';
import { AbiFixture, resolveEventAbi, type AbiFixtureOptions, type EventAbiFactory } from './abi-fixture.js';
import { list, ruleAsserter, runRules, sameSet, type ConformanceResult, type ConformanceRule } from './conformance.js';

type Assert = ReturnType<typeof ruleAsserter>;

function rule(id: string, spec: string, summary: string, check: (fx: AbiFixture, assert: Assert) => void): ConformanceRule<AbiFixture> {
  const assert = ruleAsserter({ id, spec });
  return { id, spec, summary, check: (fx) => check(fx, assert) };
}

/** Both halves' view of a port, for messages. */
function views(fx: AbiFixture, port: number): string {
  return `hypervisor pending=${fx.hv.isPending(port)} masked=${fx.hv.isMasked(port)}, guest pending=${fx.guest.isPending(port)} masked=${fx.guest.isMasked(port)}`;
}

function agree(fx: AbiFixture, assert: Assert, port: number, pending: boolean, masked: boolean, when: string): void {
  assert(
    fx.hv.isPending(port) === pending && fx.guest.isPending(port) === pending && fx.hv.isMasked(port) === masked && fx.guest.isMasked(port) === masked,
    () => `port ${port} ${when}: expected pending=${pending} masked=${masked} in both halves, got ${views(fx, port)}`,
  );
}

/** Allocates every port the ABI offers; returns the successful ports and the final error. */
function exhaust(fx: AbiFixture): { ports: number[]; rc: number } {
  const ports: number[] = [];
  for (;;) {
    const p = fx.allocate();
    if (p < 0) return { ports, rc: p };
    ports.push(p);
    if (ports.length > fx.hv.maxPorts + 1) return { ports, rc: 0 };
  }
}

/** Ports that stress word boundaries and both ends of the port space. */
function spreadPorts(maxPorts: number): number[] {
  const raw = [1, 2, 3, 31, 32, 33, 63, 64, 65, 127, 128, 1023, 1024, 4095, 4096, 65535, 65536, 131071, 131072];
  const top = [Math.floor(maxPorts / 3), maxPorts / 2 - 1, maxPorts / 2, maxPorts - 65, maxPorts - 64, maxPorts - 2, maxPorts - 1];
  return [...new Set([...raw, ...top].map(Math.floor))].filter((p) => p >= 1 && p < maxPorts).sort((a, b) => a - b);
}

/**
 * Every rule of the event ABI suite, in the order {@link describeEventAbiConformance} runs them.
 * Rule ids name what a failing ABI broke.
 */
export const eventAbiRules: readonly ConformanceRule<AbiFixture>[] = [
  rule('descriptor.names-agree', '§2', 'the descriptor and both halves report the same name and port limit', (fx, assert) => {
    const w = fx.domain.wordBits;
    assert(fx.hv.name === fx.abi.name, `hypervisor half is named '${fx.hv.name}', descriptor '${fx.abi.name}'`);
    assert(fx.guest.name === fx.abi.name, `guest half is named '${fx.guest.name}', descriptor '${fx.abi.name}'`);
    assert(fx.hv.maxPorts === fx.abi.maxPorts(w), `hypervisor maxPorts ${fx.hv.maxPorts} ≠ descriptor maxPorts(${w}) ${fx.abi.maxPorts(w)}`);
    assert(fx.guest.maxChannels() === fx.hv.maxPorts, `guest maxChannels() ${fx.guest.maxChannels()} ≠ hypervisor maxPorts ${fx.hv.maxPorts}`);
    const n = fx.guest.nrChannels();
    assert(n >= 0 && n <= fx.guest.maxChannels(), `guest nrChannels() ${n} is not within 0..maxChannels()`);
  }),

  rule('bind.init-called', '§2', "the hypervisor half's init(port) runs once after every bind", (fx, assert) => {
    const a = fx.bind();
    const b = fx.bind();
    assert(sameSet(fx.initCalls, [a, b]), `init was called with ${list(fx.initCalls)} after binding ${list([a, b])}`);
    fx.close(a);
    const c = fx.bind();
    assert(sameSet(fx.initCalls, [a, b, c]), `init was called with ${list(fx.initCalls)} after binding ${list([a, b, c])}`);
  }),

  rule('send.pending-and-upcall', '§2 upcall marking', 'a send on an unmasked port makes it pending in both halves and delivers one upcall to its notify vCPU', (fx, assert) => {
    const port = fx.bind();
    agree(fx, assert, port, false, false, 'after bind');
    assert(fx.upcallCount === 0, `bind delivered ${fx.upcallCount} upcall(s)`);
    fx.send(port);
    agree(fx, assert, port, true, false, 'after send');
    assert(fx.upcallsTo(0) === 1 && fx.upcallCount === 1, `expected one upcall to vCPU 0, got ${JSON.stringify(fx.arch.upcalls)}`);
    assert(fx.upcallPending(0), 'vCPU 0 upcallPending is clear after the send');
  }),

  rule('handle.dispatches-once', '§2', 'handleEvents dispatches a sent port once; it is never dispatched twice for one send', (fx, assert) => {
    const port = fx.bind();
    fx.send(port);
    const first = fx.upcall(0);
    assert(first.length === 1 && first[0] === port, `first handleEvents dispatched ${list(first)}, expected ${list([port])}`);
    const again = [...fx.upcall(0), ...fx.upcall(0)];
    assert(again.length === 0, `port dispatched again without a new send: ${list(again)}`);
    agree(fx, assert, port, false, false, 'after dispatch and ack');
  }),

  rule('send.coalesces', '§2.1 setPending', 'sends to a port that is already pending coalesce into one upcall and one dispatch', (fx, assert) => {
    const port = fx.bind();
    fx.send(port);
    fx.send(port);
    fx.send(port);
    assert(fx.upcallCount === 1, `three sends delivered ${fx.upcallCount} upcalls`);
    const got = [...fx.upcall(0), ...fx.upcall(0)];
    assert(got.length === 1 && got[0] === port, `three coalesced sends dispatched ${list(got)}`);
  }),

  rule('handle.dispatches-all', '§2', 'one handleEvents dispatches every pending unmasked port of its CPU once, across the whole port space, and nothing else', (fx, assert) => {
    const { ports } = exhaust(fx);
    const highest = ports.reduce((a, b) => Math.max(a, b), 0);
    const chosen = spreadPorts(fx.hv.maxPorts).filter((p) => p <= highest);
    for (const p of chosen) fx.activate(p, 0);
    const masked = chosen.filter((_, i) => i % 5 === 4);
    for (const p of masked) fx.guest.mask(p);
    // Send in a scrambled order: delivery order is the ABI's business, completeness is not.
    const order = [...chosen].sort((a, b) => ((a * 2654435761) >>> 0) - ((b * 2654435761) >>> 0));
    for (const p of order) fx.send(p);
    assert(fx.upcallCount === 1, `${order.length} sends delivered ${fx.upcallCount} upcalls (the flag was already set after the first)`);
    const got = fx.upcall(0);
    const expected = chosen.filter((p) => !masked.includes(p));
    const dup = got.filter((p, i) => got.indexOf(p) !== i);
    assert(dup.length === 0, `ports dispatched twice in one handleEvents: ${list(dup)}`);
    const missing = expected.filter((p) => !got.includes(p));
    assert(missing.length === 0, `pending unmasked ports not dispatched: ${list(missing)}`);
    const extra = got.filter((p) => !expected.includes(p));
    assert(extra.length === 0, `dispatched ports that were masked or never sent: ${list(extra)}`);
    for (const p of masked) agree(fx, assert, p, true, true, 'masked and sent');
  }),

  rule('handle.only-own-cpu', '§2', "handleEvents(cpu) dispatches only ports whose notify vCPU is that CPU, and the upcall goes to that vCPU", (fx, assert) => {
    if (fx.nrVcpus < 2) return;
    const a = fx.bind(0);
    const b = fx.bind(1);
    fx.send(b);
    assert(fx.upcallsTo(1) === 1 && fx.upcallsTo(0) === 0, `send on a port notified on vCPU 1 delivered upcalls ${JSON.stringify(fx.arch.upcalls)}`);
    fx.send(a);
    assert(fx.upcallsTo(0) === 1, `send on a port notified on vCPU 0 delivered upcalls ${JSON.stringify(fx.arch.upcalls)}`);
    const on0 = fx.upcall(0);
    assert(on0.length === 1 && on0[0] === a, `handleEvents(0) dispatched ${list(on0)}, expected ${list([a])}`);
    const from = fx.dispatched.length;
    const on1 = fx.upcall(1);
    assert(on1.length === 1 && on1[0] === b, `handleEvents(1) dispatched ${list(on1)}, expected ${list([b])}`);
    assert(fx.dispatchCpus(from).every((c) => c === 1), `handleEvents(1) passed cpu ${list(fx.dispatchCpus(from))} to the dispatcher`);
  }),

  rule('masked.no-dispatch', '§2.1 setPending', 'a send on a masked port sets it pending but delivers no upcall and is not dispatched', (fx, assert) => {
    const port = fx.bind();
    fx.guest.mask(port);
    agree(fx, assert, port, false, true, 'after guest mask');
    fx.send(port);
    agree(fx, assert, port, true, true, 'after a send while masked');
    assert(fx.upcallCount === 0, `a send on a masked port delivered ${fx.upcallCount} upcall(s)`);
    const got = [...fx.upcall(0), ...fx.upcall(1 % fx.nrVcpus)];
    assert(got.length === 0, `masked port dispatched: ${list(got)}`);
  }),

  rule('handle.skips-masked', '§2', 'a port masked after its upcall was raised is not dispatched by the next scan', (fx, assert) => {
    const port = fx.bind();
    const other = fx.bind();
    fx.send(port);
    fx.send(other);
    fx.guest.mask(port);
    const got = fx.upcall(0);
    assert(!got.includes(port), `masked port ${port} was dispatched (${list(got)})`);
    assert(got.includes(other), `unmasked port ${other} was not dispatched (${list(got)})`);
    assert(fx.hv.isPending(port), 'the masked port lost its pending state during the scan');
  }),

  rule('unmask.hypercall-redelivers', '§2.1/§2.2 unmask', 'EVTCHNOP_unmask of a pending masked port raises the upcall again and the port is dispatched once', (fx, assert) => {
    const port = fx.bind();
    fx.guest.mask(port);
    fx.send(port);
    fx.upcall(0);
    const rc = fx.hypercallUnmask(port);
    assert(rc === 0, `EVTCHNOP_unmask returned ${rc}`);
    assert(!fx.hv.isMasked(port) && !fx.guest.isMasked(port), `port still masked after EVTCHNOP_unmask: ${views(fx, port)}`);
    assert(fx.upcallsTo(0) === 1, `EVTCHNOP_unmask of a pending port delivered ${fx.upcallsTo(0)} upcall(s) to vCPU 0, expected 1`);
    const got = [...fx.upcall(0), ...fx.upcall(0)];
    assert(got.length === 1 && got[0] === port, `after EVTCHNOP_unmask the port was dispatched ${list(got)}, expected once`);
  }),

  rule('unmask.guest-redelivers', '§2.1/§2.2 guest unmask', "the guest's unmask of a pending port gets it dispatched on its CPU", (fx, assert) => {
    for (const cpu of fx.nrVcpus > 1 ? [0, 1] : [0]) {
      const port = fx.bind(cpu);
      fx.guest.mask(port);
      fx.send(port);
      fx.guest.unmask(port, 0);
      assert(fx.upcallPending(cpu), `guest unmask (on CPU 0) of a pending port bound to CPU ${cpu} left upcallPending clear on vCPU ${cpu}`);
      const got = fx.upcall(cpu);
      assert(got.length === 1 && got[0] === port, `after guest unmask, handleEvents(${cpu}) dispatched ${list(got)}, expected ${list([port])}`);
    }
  }),

  rule('unmask.idle-is-silent', '§2.1 unmask', 'unmasking a port that is not pending delivers nothing, and the port then delivers normally', (fx, assert) => {
    const port = fx.bind();
    fx.guest.mask(port);
    fx.hypercallUnmask(port);
    fx.guest.mask(port);
    fx.guest.unmask(port, 0);
    assert(fx.upcallCount === 0 && !fx.upcallPending(0), `unmasking an idle port raised an upcall (${JSON.stringify(fx.arch.upcalls)})`);
    assert(fx.upcall(0).length === 0, 'unmasking an idle port made handleEvents dispatch something');
    fx.send(port);
    const got = fx.upcall(0);
    assert(got.length === 1 && got[0] === port, `after the unmasks a send dispatched ${list(got)}`);
  }),

  rule('views.agree', '§2', "the hypervisor's and the guest's isPending/isMasked agree through send, mask, unmask, retrigger and clear", (fx, assert) => {
    const port = fx.bind();
    agree(fx, assert, port, false, false, 'after bind');
    fx.guest.mask(port);
    agree(fx, assert, port, false, true, 'after guest mask');
    fx.send(port);
    agree(fx, assert, port, true, true, 'after send while masked');
    fx.guest.clearPending(port);
    agree(fx, assert, port, false, true, 'after guest clearPending');
    fx.guest.setPending(port);
    agree(fx, assert, port, true, true, 'after guest setPending (retrigger)');
    fx.hv.clearPending(port);
    agree(fx, assert, port, false, true, 'after hypervisor clearPending');
    fx.hypercallUnmask(port);
    agree(fx, assert, port, false, false, 'after EVTCHNOP_unmask');
  }),

  rule('clearPending.hypervisor', '§1.2 free, §2.2 clearPending', 'after the hypervisor clears a pending masked port, unmasking it delivers nothing', (fx, assert) => {
    const port = fx.bind();
    fx.guest.mask(port);
    fx.send(port);
    fx.hv.clearPending(port);
    agree(fx, assert, port, false, true, 'after hypervisor clearPending');
    fx.hypercallUnmask(port);
    assert(fx.upcallCount === 0, `unmask after clearPending delivered ${fx.upcallCount} upcall(s)`);
    assert(fx.upcall(0).length === 0, 'a cleared event was dispatched');
  }),

  rule('clearPending.guest', '§2', "after the guest clears a pending masked port (ack), unmasking it delivers nothing", (fx, assert) => {
    const port = fx.bind();
    fx.guest.mask(port);
    fx.send(port);
    fx.guest.clearPending(port);
    agree(fx, assert, port, false, true, 'after guest clearPending');
    fx.guest.unmask(port, 0);
    assert(!fx.upcallPending(0), 'guest unmask of a cleared port raised the upcall flag');
    assert(fx.upcall(0).length === 0, 'a cleared event was dispatched');
  }),

  rule('close.clears-pending', '§1.2 free', 'closing a pending port clears it; a port bound afterwards delivers exactly its own sends', (fx, assert) => {
    const port = fx.bind();
    fx.guest.mask(port);
    fx.send(port);
    fx.guest.remove(port, 0);
    assert(fx.close(port) === 0, 'EVTCHNOP_close failed');
    assert(!fx.hv.isPending(port) && !fx.guest.isPending(port), `closed port still pending: ${views(fx, port)}`);
    const next = fx.bind();
    assert(!fx.hv.isPending(next), `newly bound port ${next} reads pending`);
    assert(fx.upcall(0).length === 0, 'a stale event was dispatched after close and rebind');
    fx.send(next);
    const got = fx.upcall(0);
    assert(got.length === 1 && got[0] === next, `the rebound port's send dispatched ${list(got)}`);
  }),

  rule('ports.max-respected', '§1.2 allocation', 'every port below maxPorts can be allocated, none above; the next allocation fails with -ENOSPC', (fx, assert) => {
    const max = fx.hv.maxPorts;
    const { ports, rc } = exhaust(fx);
    assert(rc === -Errno.ENOSPC, `allocation beyond the limit returned ${rc}, expected -ENOSPC (${-Errno.ENOSPC})`);
    assert(ports.length === max - 1, `allocated ${ports.length} ports before -ENOSPC, expected maxPorts - 1 = ${max - 1} (port 0 is reserved)`);
    const highest = ports.reduce((a, b) => Math.max(a, b), 0);
    assert(highest === max - 1, `highest allocated port is ${highest}, expected ${max - 1}`);
    assert(fx.guest.setup(max - 1) === 0, `guest setup(${max - 1}) failed for the highest port`);
  }),

  rule('debug.print-state', '§2 printState', 'printState returns a string for every bound port, pending or not', (fx, assert) => {
    const port = fx.bind();
    const idle = fx.hv.printState(port);
    fx.send(port);
    const busy = fx.hv.printState(port);
    assert(typeof idle === 'string' && typeof busy === 'string', `printState returned ${typeof idle} / ${typeof busy}`);
  }),

  rule(
    'snapshot.round-trip',
    '§2, snapshots guide',
    "both halves' state round-trips: saved, set into a fresh domain, saved again gives the same JSON, and both domains then behave the same",
    (fx, assert) => {
      for (const [half, ops] of [['hypervisor', fx.hv], ['guest', fx.guest]] as const) {
        const o = ops as { getState?: unknown; setState?: unknown };
        assert(
          typeof o.getState === 'function' && typeof o.setState === 'function',
          `the ${half} half has no getState()/setState() (the optional snapshot hook): platforms using this ABI cannot be snapshotted; skip 'snapshot.round-trip' to accept that`,
        );
      }
      // Some of everything: pending, masked and pending, on both vCPUs, events not yet taken.
      const last = fx.nrVcpus - 1;
      const ports = [fx.bind(0), fx.bind(last), fx.bind(0), fx.bind(last), fx.bind(0)];
      fx.guest.mask(ports[2]!);
      for (const p of ports) fx.send(p);
      fx.close(ports[4]!);
      const save = (f: AbiFixture): string => JSON.stringify({ domain: f.domain.getState(), guest: f.guest.getState!() });
      const saved = save(fx);
      const copy = fx.fresh();
      const doc = JSON.parse(saved) as { domain: JsonValue; guest: JsonValue };
      copy.domain.setState(doc.domain, 'domain');
      copy.guest.setState!(doc.guest);
      const again = save(copy);
      assert(again === saved, () => `state saved after a restore differs from the state restored:\n  restored ${saved.slice(0, 300)}\n  saved    ${again.slice(0, 300)}`);
      // The same steps on both give the same deliveries and the same bits.
      const script = (f: AbiFixture): string => {
        const from = f.upcallCount;
        f.guest.unmask(ports[2]!, 0);
        f.send(ports[0]!);
        const got = [...Array(f.nrVcpus).keys()].map((cpu) => f.upcall(cpu));
        f.send(ports[1]!);
        got.push(f.upcall(last));
        const bits = ports.slice(0, 4).map((p) => `${f.hv.isPending(p)}/${f.hv.isMasked(p)}/${f.guest.isPending(p)}/${f.guest.isMasked(p)}`);
        return JSON.stringify({ got, bits, upcalls: f.upcallCount - from });
      };
      const a = script(fx);
      const b = script(copy);
      assert(a === b, `after the restore the two domains behave differently: original ${a}, restored ${b}`);
    },
  ),
];

/** Options of the ABI suite. */
export interface EventAbiConformanceOptions extends AbiFixtureOptions {
  /** Rule ids to leave out (with a reason in your own test file, please). */
  skip?: readonly string[];
}

/**
 * Runs every ABI rule programmatically, each on a fresh fixture, for use outside vitest or to
 * assert on the failures of a deliberately broken ABI.
 * @param factory - creates the ABI plugin or descriptor (called once per rule)
 * @param options - domain shape and rules to skip
 * @returns one result per rule, in rule order
 */
export function checkEventAbiConformance(factory: EventAbiFactory, options: EventAbiConformanceOptions = {}): ConformanceResult[] {
  const rules = eventAbiRules.filter((r) => !options.skip?.includes(r.id));
  return runRules(rules, () => new AbiFixture(factory, options));
}

/** The ABI's name, resolving the factory once (for suite titles). */
export function eventAbiName(factory: EventAbiFactory): string {
  return resolveEventAbi(factory()).name;
}
