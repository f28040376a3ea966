/*
 * Delivery properties of both ABIs, through the `evtchn-replay/1` delivery replay (real core +
 * ABI + Linux guest layer): random bind/send/mask/unmask/prio/rebind/close/upcall sequences
 * are replayed and the printed upcalls are checked against a small model of SPEC §2 and §6.1:
 * - every send to a bound, unmasked port is handled by the next upcall on its vCPU, and
 *   nothing else is (2-level: the delivered set; FIFO: the exact order);
 * - masked ports are never handled while masked and are handled after unmask;
 * - FIFO: each upcall handles its queue in priority order (0 first), FIFO within a priority;
 * - with handlers that send (react): never more handler runs than sends, and draining every
 *   vCPU leaves nothing pending.
 */
import { runDeliveryReplay } from '@evtchn/conformance';
import { describe, expect, it } from 'vitest';
import { checkProperty, scaled } from './arbitraries.js';
import { deliveryScenario, type DStep, type DeliveryScenario } from './delivery-arbitraries.js';

/** What the model knows of one bound port. */
interface PortModel {
  vcpu: number;
  masked: boolean;
  prio: number;
  pending: boolean;
  linked: boolean;
  linkPrio: number;
  linkVcpu: number;
  linkSeq: number;
  sends: number;
  runs: number;
  reaction?: { remaining: number; sends: number[] };
}

/** Replays `sc` (plus an optional drain) and checks the outputs step by step. */
class DeliveryChecker {
  readonly ports = new Map<number, PortModel>();
  /** FIFO: closed ports whose event is still LINKED on a vCPU's queue (busy). */
  readonly ghosts = new Map<number, number>();
  private seq = 0;
  upcalls = 0;
  maskedChecks = 0;

  constructor(
    private readonly sc: DeliveryScenario,
    private readonly exact: boolean,
  ) {}

  private get fifo(): boolean {
    return this.sc.abi === 'fifo';
  }

  private link(m: PortModel): void {
    if (!this.fifo || m.masked || m.linked || !m.pending) return;
    m.linked = true;
    m.linkPrio = m.prio;
    m.linkVcpu = m.vcpu;
    m.linkSeq = this.seq++;
  }

  private send(port: number): void {
    const m = this.ports.get(port);
    if (!m) return;
    m.sends++;
    m.pending = true;
    this.link(m);
  }

  /** Checks one step's output and advances the model. */
  check(step: DStep, out: Record<string, unknown>, at: string): void {
    const port = step.port as number;
    const m = this.ports.get(port);
    switch (step.op) {
      case 'bind': {
        if (typeof out.port !== 'number') return; // allocation failed: nothing bound
        const p = out.port;
        expect(this.ports.has(p), `${at}: bind handed out a bound port ${p}`).toBe(false);
        expect(this.ghosts.has(p), `${at}: bind handed out port ${p} while it is still LINKED (busy)`).toBe(false);
        const prio = this.fifo ? (step.priority as number) : 7;
        this.ports.set(p, { vcpu: step.vcpu as number, masked: false, prio, pending: false, linked: false, linkPrio: 0, linkVcpu: 0, linkSeq: 0, sends: 0, runs: 0 });
        return;
      }
      case 'close':
        if (!m) return;
        if (m.linked) this.ghosts.set(port, m.linkVcpu);
        this.ports.delete(port);
        return;
      case 'send':
        this.send(port);
        return;
      case 'mask':
        if (m) m.masked = true;
        return;
      case 'unmask':
        if (!m) return;
        m.masked = false;
        this.link(m);
        return;
      case 'prio': {
        const p = step.priority as number;
        if (m && this.fifo && p <= 15) {
          expect(out.rc, `${at}: set_priority rc`).toBe(0);
          m.prio = p;
        } else if (!this.fifo) expect(out.rc, `${at}: set_priority on 2-level`).toBe(-38);
        else if (m) expect(out.rc, `${at}: priority ${p} > 15`).toBe(-22);
        return;
      }
      case 'rebind':
        if (!m) return;
        m.vcpu = step.vcpu as number;
        this.link(m);
        return;
      case 'react':
        if (m) m.reaction = { remaining: step.times as number, sends: step.send as number[] };
        return;
      case 'upcall':
        this.upcall(step.vcpu as number, out.delivered as number[], at);
        return;
    }
  }

  private upcall(v: number, delivered: number[], at: string): void {
    this.upcalls++;
    const expected: number[] = [];
    for (const [p, m] of this.ports) {
      if (this.fifo ? m.linked && m.linkVcpu === v && !m.masked : m.vcpu === v && m.pending && !m.masked) expected.push(p);
      if (m.masked && m.pending) this.maskedChecks++;
    }
    if (this.fifo) {
      const byQueueOrder = (a: number, b: number): number => {
        const ma = this.ports.get(a)!;
        const mb = this.ports.get(b)!;
        return ma.linkPrio - mb.linkPrio || ma.linkSeq - mb.linkSeq;
      };
      expected.sort(byQueueOrder);
    }
    if (this.exact) {
      if (this.fifo) expect(delivered, `${at}: FIFO upcall on vCPU ${v} (queue order: priority, then link order)`).toEqual(expected);
      else expect([...delivered].sort((a, b) => a - b), `${at}: 2-level upcall on vCPU ${v} (every pending, unmasked port bound there, once)`).toEqual(expected.sort((a, b) => a - b));
    }
    for (const p of delivered) {
      const m = this.ports.get(p);
      expect(m, `${at}: handler ran for port ${p}, which is not bound`).toBeDefined();
      expect(m!.masked, `${at}: handler ran for masked port ${p}`).toBe(false);
      m!.runs++;
      m!.pending = false;
      m!.linked = false;
      expect(m!.runs, `${at}: port ${p} ran its handler more often than it was sent to`).toBeLessThanOrEqual(m!.sends);
      const r = m!.reaction;
      if (r && r.remaining > 0) {
        r.remaining--;
        for (const t of r.sends) this.send(t);
      }
    }
    if (this.fifo) {
      // The queue is drained: masked events are unlinked without running (they stay pending).
      for (const m of this.ports.values()) if (m.linked && m.linkVcpu === v) m.linked = false;
      for (const [p, gv] of [...this.ghosts]) if (gv === v) this.ghosts.delete(p);
    }
  }

  /** After a full drain nothing bound and unmasked may still be pending. */
  expectDrained(at: string): void {
    for (const [p, m] of this.ports) if (!m.masked) expect(m.pending, `${at}: port ${p} still pending after draining every vCPU`).toBe(false);
  }
}

/** Runs the replay and the checker; returns the checker for statistics. */
function runChecked(sc: DeliveryScenario, exact: boolean, drain: boolean): DeliveryChecker {
  const steps = [...sc.steps];
  if (drain) {
    const reactTimes = sc.steps.filter((s) => s.op === 'react').reduce((n, s) => n + (s.times as number), 0);
    for (let round = 0; round < reactTimes + 2; round++) for (let v = 0; v < sc.vcpus; v++) steps.push({ op: 'upcall', vcpu: v });
  }
  const lines = runDeliveryReplay({ format: 'evtchn-replay/1', abi: sc.abi, vcpus: sc.vcpus, steps });
  const checker = new DeliveryChecker(sc, exact);
  steps.forEach((step, i) => checker.check(step, JSON.parse(lines[i]!) as Record<string, unknown>, `step ${i} ${JSON.stringify(step)}`));
  if (drain) checker.expectDrained('after drain');
  return checker;
}

describe('delivery properties (both ABIs, through the delivery replay)', () => {
  for (const abi of ['2level', 'fifo'] as const) {
    it(`${abi}: every send to a bound, unmasked port is handled by the next upcall on its vCPU, and nothing else is`, () => {
      checkProperty(`${abi} delivery: handled at the next upcall, exactly`, deliveryScenario(abi, false), (sc) => void runChecked(sc, true, false), 150);
    });

    it(`${abi}: masked ports are never handled while masked and are handled after unmask`, () => {
      let exercised = 0;
      checkProperty(
        `${abi} delivery: masked ports delivered after unmask`,
        deliveryScenario(abi, false).filter((sc) => sc.steps.some((s) => s.op === 'mask')),
        (sc) => {
          const c = runChecked(sc, true, true);
          if (c.maskedChecks > 0) exercised++;
        },
        120,
      );
      expect(exercised, 'scenarios with a pending masked port at an upcall').toBeGreaterThan(scaled(20));
    });

    it(`${abi}: with handlers that send, never more handler runs than sends, and a drain leaves nothing pending`, () => {
      checkProperty(`${abi} delivery: runs <= sends, drain empties (react)`, deliveryScenario(abi, true), (sc) => void runChecked(sc, false, true), 150);
    });
  }

  it('fifo: priority order holds at every upcall, also across priority changes and rebinds', () => {
    let ordered = 0;
    checkProperty(
      'fifo delivery: priority order at every upcall',
      deliveryScenario('fifo', false),
      (sc) => {
        const c = runChecked(sc, true, false);
        ordered += c.upcalls;
      },
      150,
    );
    expect(ordered).toBeGreaterThan(scaled(100));
  });
});
