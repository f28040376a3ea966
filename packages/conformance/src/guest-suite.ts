/*
 * The guest-layer conformance rules, written from the GuestOs contract
 * (core/src/contracts/guest.ts) and SPEC §3 (the upcall loop): a guest layer creates one GuestOs
 * per domain, boots on whichever ABI the platform offers, acknowledges every upcall (the vCPU's
 * `upcallPending` is clear when the upcall returns, so the next event raises a new one), takes a
 * spurious upcall quietly, and leaves an event for a port it has not bound pending instead of
 * failing. The rules run on a real platform with the built-in ABIs and a null
 * architecture, which is why the suite lives here rather than in `@evtchn/core/testing`.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import {
  archNull,
  createPlatform,
  isPlugin,
  GuestOsFactory as GuestOsFactoryToken,
  type GuestOsFactory,
  type Platform,
  type Plugin,
} from '@evtchn/core';
import { ConformanceViolation, runRule, runRules, type ConformanceResult, type ConformanceRule } from '@evtchn/core/testing';

/** What the guest suite accepts: a guest-layer plugin, or a `GuestOsFactory` descriptor. */
export type GuestOsPluginFactory = () => Plugin | GuestOsFactory;

/** Options of the guest suite. */
export interface GuestOsConformanceOptions {
  /** Rule ids to leave out. */
  readonly skip?: readonly string[];
}

/** What each guest rule gets: a way to build a platform around a fresh guest plugin. */
export interface GuestOsSubject {
  /** Builds a platform with the guest plugin, the given ABIs and domains 0 (privileged) and 1 (2 vCPUs). */
  boot(abis?: readonly Plugin<'abi'>[]): Platform;
}

function asGuestPlugin(made: Plugin | GuestOsFactory): Plugin<'guest'> {
  if (isPlugin(made)) {
    if (made.kind !== 'guest') throw new Error(`plugin '${made.name}' is ${made.kind === 'abi' || made.kind === 'arch' ? 'an' : 'a'} ${made.kind} plugin, not a guest plugin`);
    return made as Plugin<'guest'>;
  }
  const factory = made;
  return { name: `guest-${factory.name}`, kind: 'guest', register: (c) => c.register(GuestOsFactoryToken, { useValue: factory }) };
}

function subjectFor(factory: GuestOsPluginFactory): GuestOsSubject {
  return {
    boot: (abis = [abi2Level(), abiFifo()]) =>
      createPlatform({
        arch: archNull({ deliver: true, pirqs: 'none' }),
        abis,
        guest: asGuestPlugin(factory()),
        domains: [
          { id: 0, vcpus: 1 },
          { id: 1, vcpus: 2 },
        ],
      }),
  };
}

function rule(id: string, spec: string, summary: string, check: (s: GuestOsSubject, fail: (detail: string) => never) => void): ConformanceRule<GuestOsSubject> {
  const fail = (detail: string): never => {
    throw new ConformanceViolation(id, spec, detail);
  };
  return { id, spec, summary, check: (s) => check(s, fail) };
}

/** Sends an event from dom0 to a fresh unbound port of dom1 on `vcpu`; returns dom1's port. */
function sendToDom1(p: Platform, vcpu: number, fail: (d: string) => never): number {
  const d1 = p.domain(1).domain.hypercalls;
  const d0 = p.domain(0).domain.hypercalls;
  const port = d1.allocUnbound(1, 0);
  if (port < 0) fail(`EVTCHNOP_alloc_unbound in dom1 failed with ${port}`);
  const local = d0.bindInterdomain(1, port);
  if (local < 0) fail(`EVTCHNOP_bind_interdomain from dom0 failed with ${local}`);
  if (vcpu !== 0 && d1.bindVcpu(port, vcpu) < 0) fail(`EVTCHNOP_bind_vcpu(${port}, ${vcpu}) failed`);
  const rc = d0.send(local);
  if (rc !== 0) fail(`EVTCHNOP_send failed with ${rc}`);
  settle(p);
  return port;
}

/** Lets the platform's vCPU runner take the upcalls raised so far (they run on the virtual clock). */
function settle(p: Platform): void {
  p.clock.runUntil(p.clock.now() + SETTLE_NS);
}

/** How long the suite lets the virtual clock run after a send: far beyond the default upcall entry latency. */
const SETTLE_NS = 10_000_000;

/** The guest-layer rules. */
export const guestOsRules: readonly ConformanceRule<GuestOsSubject>[] = [
  rule('guest.boot.per-domain', '§3', 'every domain gets its own GuestOs with the contract members', (s, fail) => {
    const p = s.boot();
    const g0 = p.domain(0).guest;
    const g1 = p.domain(1).guest;
    if (!g0 || !g1) return fail('a domain booted without a guest OS');
    if (g0 === g1) fail('two domains share one GuestOs object');
    for (const g of [g0, g1]) {
      if (typeof g.upcall !== 'function') fail("the GuestOs has no 'upcall' method");
      if (typeof g.procInterrupts !== 'function') fail("the GuestOs has no 'procInterrupts' method");
      if (typeof g.name !== 'string') fail("the GuestOs has no 'name'");
      if (typeof g.procInterrupts() !== 'string') fail('procInterrupts() did not return a string');
    }
  }),
  rule('guest.boot.any-abi', '§2, §3', 'boots on whichever single ABI the platform offers', (s, fail) => {
    for (const [name, make] of [['2level', abi2Level], ['fifo', abiFifo]] as const) {
      const g = s.boot([make()]).domain(1).guest;
      if (g?.abiName !== name) fail(`with only the ${name} ABI offered the guest reports abiName ${JSON.stringify(g?.abiName)}`);
    }
  }),
  rule('guest.upcall.acknowledges', '§3 upcall', "clears the vCPU's upcallPending before the upcall returns, so the next event raises a new one", (s, fail) => {
    for (const abis of [[abi2Level(), abiFifo()], [abi2Level()]]) {
      const p = s.boot(abis);
      const info = p.domain(1).domain.sharedInfo;
      for (const vcpu of [0, 1]) {
        sendToDom1(p, vcpu, fail);
        if (info.upcallPending[vcpu] !== 0)
          fail(`on ${p.domain(1).guest?.abiName}: vCPU ${vcpu}'s upcallPending is still ${info.upcallPending[vcpu]} after the upcall for an event returned`);
      }
    }
  }),
  rule('guest.upcall.spurious', '§3 upcall', 'takes an upcall with nothing pending without failing', (s, fail) => {
    const p = s.boot();
    const g = p.domain(1).guest!;
    try {
      g.upcall(0);
      g.upcall(1);
    } catch (e) {
      fail(`a spurious upcall threw ${e instanceof Error ? e.message : String(e)}`);
    }
    if (p.domain(1).domain.sharedInfo.upcallPending[0] !== 0) fail('a spurious upcall left upcallPending set');
  }),
  rule('guest.upcall.unbound-port', '§3 upcall', 'an event on a port the guest never bound stays pending and breaks nothing', (s, fail) => {
    const p = s.boot([abi2Level()]);
    const port = sendToDom1(p, 0, fail);
    if (!p.domain(1).domain.abi.isPending(port)) fail(`port ${port}, which the guest never bound, is no longer pending after the upcall`);
    const again = sendToDom1(p, 0, fail);
    if (again === port) fail('the hypervisor reused a bound port');
  }),
];

/**
 * Runs the guest rules without vitest.
 * @param factory - creates the guest plugin (or factory descriptor); called once per platform
 * @param options - rules to skip
 */
export function checkGuestOsConformance(factory: GuestOsPluginFactory, options: GuestOsConformanceOptions = {}): ConformanceResult[] {
  return runRules(
    guestOsRules.filter((r) => !options.skip?.includes(r.id)),
    () => subjectFor(factory),
  );
}

/**
 * Runs one guest rule on a fresh subject (used by the vitest front end).
 * @param rule - the rule
 * @param factory - creates the guest plugin
 */
export function runGuestOsRule(rule: ConformanceRule<GuestOsSubject>, factory: GuestOsPluginFactory): void {
  runRule(rule, subjectFor(factory));
}
