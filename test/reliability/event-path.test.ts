/*
 * The guest's event path has two forms: a short one for ordinary event-channel IRQs (edge flow,
 * the dynamic event chip, one action), written against the per-IRQ table, and the general one
 * through the descriptor, its chip and its flow (linux-guest.ts `handlePort`). They must be
 * indistinguishable. Each case runs one random script on two identical platforms, one of them
 * with the short form switched off (`irqTable.fastChip = null`: no IRQ qualifies), and compares
 * everything observable: every call's result, every handler run, the event bus, and at the end
 * the guest layer's whole saved state (descriptor status, counts, irq_info, the ABI's state) and
 * the hypervisor's view of every port.
 *
 * The scripts mix what makes the short form leave for the general one: shared IRQs (a second
 * action), late-EOI IRQs, disable/enable and mask/unmask, handlers that send their own port again
 * (an edge arriving in progress, replayed), that disable their IRQ, that return IRQ_NONE, that
 * unbind themselves, and that bind enough new ports to grow the table under the running event.
 */
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { DOMID_SELF, VirtualClock, archNull, createPlatform, snapshotPlatform, type Platform } from '@evtchn/core';
import { IRQF_SHARED, IRQ_HANDLED, IRQ_NONE, LinuxGuest, guestLinux, type IrqHandler } from '@evtchn/guest-linux';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty, scaled } from './arbitraries.js';

const DOMU = 1;
const VCPUS = 2;

/** What a bound port's handler does when it runs. */
type Behaviour = 'handled' | 'none' | 'resend' | 'migrate' | 'disable' | 'unbind' | 'grow';
const BEHAVIOURS: Behaviour[] = ['handled', 'none', 'resend', 'migrate', 'disable', 'unbind', 'grow'];

type Op =
  | { op: 'bind'; behaviour: Behaviour; lateEoi: boolean; vcpu: number }
  | { op: 'share'; slot: number; behaviour: Behaviour }
  | { op: 'free'; slot: number; second: boolean }
  | { op: 'send'; slot: number }
  | { op: 'upcall'; vcpu: number }
  | { op: 'disable' | 'enable' | 'mask' | 'unmask' | 'lateEoi' | 'unbind'; slot: number }
  | { op: 'rebind'; slot: number; vcpu: number };

const slot = fc.nat(15);
const behaviour = fc.constantFrom(...BEHAVIOURS);
// One bind in four is a late-EOI channel (never the short form).
const bindArb: fc.Arbitrary<Op> = fc.record({ op: fc.constant('bind' as const), behaviour, lateEoi: fc.nat(3).map((n) => n === 0), vcpu: fc.nat(VCPUS - 1) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: bindArb },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('share' as const), slot, behaviour }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('free' as const), slot, second: fc.boolean() }) },
  { weight: 12, arbitrary: fc.record({ op: fc.constant('send' as const), slot }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('upcall' as const), vcpu: fc.nat(VCPUS - 1) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constantFrom('disable' as const, 'enable' as const, 'mask' as const, 'unmask' as const, 'lateEoi' as const, 'unbind' as const), slot }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rebind' as const), slot, vcpu: fc.nat(VCPUS - 1) }) },
);

/** The script's calls that take only an IRQ. */
const IRQ_CALLS: Record<'disable' | 'enable' | 'mask' | 'unmask' | 'lateEoi', (g: LinuxGuest, irq: number) => unknown> = {
  disable: (g, irq) => g.disableIrq(irq),
  enable: (g, irq) => g.enableIrq(irq),
  mask: (g, irq) => g.maskIrq(irq),
  unmask: (g, irq) => g.unmaskIrq(irq),
  lateEoi: (g, irq) => g.lateEoi(irq),
};

/** One platform running the script, recording everything it can see. */
class Run {
  readonly log: string[] = [];
  readonly guest: LinuxGuest;
  private readonly platform: Platform;
  readonly clock = new VirtualClock();
  private readonly hc;
  private readonly hv;
  /** Bound ports by slot, with their IRQ and the devIds of their actions. */
  private readonly slots: { port: number; irq: number; devIds: object[] }[] = [];
  /** Ports bound by `grow` handlers (kept open; they only grow the table). */
  private grown = 0;
  /** Handler runs of IRQs marked for the short form when they ran. */
  shortFormRuns = 0;

  constructor(
    abi: '2level' | 'fifo',
    readonly shortForm: boolean,
  ) {
    const p = createPlatform({
      arch: archNull(),
      abis: abi === 'fifo' ? [abi2Level(), abiFifo()] : [abi2Level()],
      guest: guestLinux({ fifo: abi === 'fifo' }),
      domains: [{ id: 0, vcpus: 1 }, { id: DOMU, vcpus: VCPUS }],
      clock: this.clock,
    });
    this.platform = p;
    const pd = p.domain(DOMU);
    this.guest = pd.guest as LinuxGuest;
    if (!shortForm) this.guest.irqTable.fastChip = null;
    this.hc = pd.domain.hypercalls;
    this.hv = p.hypervisor;
    p.bus.on('irq:handled', (dom, irq, cpu) => this.log.push(`handled d${dom} irq${irq} cpu${cpu}`));
  }

  private loopback(): number {
    const port = this.hc.allocUnbound(DOMID_SELF, DOMID_SELF);
    if (port > 0) this.hv.bindLoopback(DOMU, port);
    return port;
  }

  private handler(b: Behaviour, tag: string): IrqHandler {
    let resends = 0;
    let runs = 0;
    return (irq, devId) => {
      runs++;
      this.log.push(`run ${tag} irq${irq} ${JSON.stringify(devId)}`);
      if (this.guest.irqTable.fast[irq] === 1) this.shortFormRuns++;
      const s = this.slots.find((x) => x.irq === irq);
      // The first event after a change takes the general path; the behaviours that change
      // things wait for a later run, which may take the short form.
      if (runs === 1 && b !== 'none' && b !== 'resend') return IRQ_HANDLED;
      switch (b) {
        case 'none':
          return IRQ_NONE;
        case 'resend':
          if (s && resends++ < 3) this.log.push(`resend ${this.hc.send(s.port)}`);
          return IRQ_HANDLED;
        case 'migrate': {
          // The kernel's way for an edge to find its IRQ in progress: the port moves to another
          // CPU, fires, and that CPU takes it while this handler still runs.
          if (!s || resends++ >= 2) return IRQ_HANDLED;
          const other = (this.guest.currentCpu + 1) % VCPUS;
          this.log.push(`migrate ${this.guest.rebindIrqToCpu(irq, other)} ${this.hc.send(s.port)}`);
          this.log.push(`nested ${this.guest.upcall(other)}`);
          return IRQ_HANDLED;
        }
        case 'disable':
          this.guest.disableIrq(irq);
          return IRQ_HANDLED;
        case 'unbind':
          // Unbinds itself, then says the interrupt was not its own: the IRQ is gone when the
          // flow counts an unhandled event.
          if (s && s.devIds.length === 1) {
            this.guest.unbindFromIrqhandler(irq, s.devIds[0]);
            s.devIds.length = 0;
          }
          return IRQ_NONE;
        case 'grow':
          // Past the table's first 256 rows, so that its arrays are replaced under this event.
          for (let i = 0; i < 300 && this.grown < 600; i++, this.grown++) {
            const port = this.loopback();
            if (port > 0) this.guest.bindEvtchnToIrq(port);
          }
          return IRQ_HANDLED;
        default:
          return IRQ_HANDLED;
      }
    };
  }

  step(o: Op): void {
    const g = this.guest;
    // Slots name the ports still bound (a port unbound by its handler drops out).
    const live = this.slots.filter((x) => x.devIds.length > 0);
    const s = 'slot' in o ? live[o.slot % Math.max(1, live.length)] : undefined;
    let r: unknown = 'no slot';
    switch (o.op) {
      case 'bind': {
        const port = this.loopback();
        const devId = { dev: this.slots.length };
        const h = this.handler(o.behaviour, `s${this.slots.length}`);
        const irq = o.lateEoi ? g.bindEvtchnToIrqhandlerLateeoi(port, h, IRQF_SHARED, 'ev', devId) : g.bindEvtchnToIrqhandler(port, h, IRQF_SHARED, 'ev', devId);
        if (irq >= 0) {
          g.rebindIrqToCpu(irq, o.vcpu);
          this.slots.push({ port, irq, devIds: [devId] });
        }
        r = irq;
        break;
      }
      case 'share':
        if (s) {
          const devId = { dev: `${s.irq}+${s.devIds.length}` };
          r = g.requestIrq(s.irq, this.handler(o.behaviour, `shared${s.irq}`), IRQF_SHARED, 'ev2', devId);
          if (r === 0) s.devIds.push(devId);
        }
        break;
      case 'free':
        if (s && s.devIds.length > 1) {
          const k = o.second ? s.devIds.length - 1 : 0;
          r = g.freeIrq(s.irq, s.devIds[k]);
          s.devIds.splice(k, 1);
        }
        break;
      case 'send':
        if (s) r = this.hc.send(s.port);
        break;
      case 'upcall':
        r = g.upcall(o.vcpu);
        break;
      case 'disable':
      case 'enable':
      case 'mask':
      case 'unmask':
      case 'lateEoi':
        if (s) r = IRQ_CALLS[o.op](g, s.irq);
        break;
      case 'unbind':
        if (s && s.devIds.length === 1) {
          r = g.unbindFromIrqhandler(s.irq, s.devIds[0]);
          s.devIds.length = 0;
        }
        break;
      case 'rebind':
        if (s) r = g.rebindIrqToCpu(s.irq, o.vcpu);
        break;
    }
    this.log.push(`${JSON.stringify(o)} -> ${JSON.stringify(r ?? null)}`);
  }

  /**
   * Binds `n` ports on vCPU 0, sends them all and runs one upcall; then again with handlers
   * that each take `handlerNs` of virtual time: past the loop's deadline the rest of that loop
   * defers its EOIs.
   * @returns the IRQs bound
   */
  slowLoop(n: number, handlerNs: number): number[] {
    const irqs: number[] = [];
    let ns = 0;
    const slow: IrqHandler = () => {
      this.clock.runUntil(this.clock.now() + ns);
      return IRQ_HANDLED;
    };
    for (let i = 0; i < n; i++) {
      const port = this.loopback();
      const devId = { dev: i };
      const irq = this.guest.bindEvtchnToIrqhandler(port, slow, 0, 'slow', devId);
      this.slots.push({ port, irq, devIds: [devId] });
      irqs.push(irq);
    }
    // A first round at no cost: each IRQ's first event decides its form (the short one).
    for (const { port } of this.slots) this.hc.send(port);
    this.log.push(`upcall ${this.guest.upcall(0)}`);
    ns = handlerNs;
    for (const { port } of this.slots) this.hc.send(port);
    this.log.push(`upcall ${this.guest.upcall(0)}`);
    return irqs;
  }

  /**
   * Everything left to compare once the script has run: every vCPU drained, then the whole
   * platform's snapshot (hypervisor, ABI, the guest layer's descriptors, counts and irq_info).
   */
  finish(): { log: string[]; snapshot: unknown; stats: unknown } {
    for (let round = 0; round < 4; round++) for (let v = 0; v < VCPUS; v++) this.guest.upcall(v);
    return { log: this.log, snapshot: snapshotPlatform(this.platform), stats: { ...this.guest.stats } };
  }
}

/** Runs `script` on a platform with the short form and on one without it. */
function bothForms(abi: '2level' | 'fifo', script: (r: Run) => void): [fast: Run, general: Run] {
  const [fast, general] = [true, false].map((short) => {
    const r = new Run(abi, short);
    script(r);
    return r;
  });
  return [fast!, general!];
}

describe('the event path: short form and general form agree', () => {
  it('a handler that grows the table under its own event (the arrays are replaced) ends the event the same way', () => {
    const [fast, general] = bothForms('fifo', (r) => {
      for (const behaviour of ['handled', 'resend', 'migrate'] as const) r.step({ op: 'bind', behaviour, lateEoi: false, vcpu: 0 });
      // The first events decide the short form; the grower binds after them, so that its own
      // first event (general) and second (short) both run, the second replacing the arrays.
      for (let round = 0; round < 2; round++) {
        for (let slot = 0; slot < 3; slot++) r.step({ op: 'send', slot });
        r.step({ op: 'upcall', vcpu: 0 });
      }
      r.step({ op: 'bind', behaviour: 'grow', lateEoi: false, vcpu: 0 });
      for (let round = 0; round < 2; round++) {
        r.step({ op: 'send', slot: 3 });
        r.step({ op: 'upcall', vcpu: 0 });
      }
    });
    expect(fast.guest.irqTable.rows).toBeGreaterThan(256);
    expect(fast.shortFormRuns).toBeGreaterThan(0);
    expect(fast.finish()).toEqual(general.finish());
  });

  it('an edge that arrives on another CPU while a short-form handler runs is replayed the same way', () => {
    const [fast, general] = bothForms('2level', (r) => {
      r.step({ op: 'bind', behaviour: 'migrate', lateEoi: false, vcpu: 0 });
      for (let round = 0; round < 2; round++) {
        r.step({ op: 'send', slot: 0 });
        r.step({ op: 'upcall', vcpu: 0 });
      }
    });
    // The second event takes the short form. Its handler moves the port to CPU 1 and fires it
    // there; CPU 1 finds the IRQ in progress and defers the edge, and the short form replays
    // it through the edge flow's loop. The replayed run moves it once more (replayed again).
    // Four runs in all.
    expect(fast.log.filter((l) => l.startsWith('run ')).length).toBe(4);
    expect(fast.shortFormRuns).toBeGreaterThan(0);
    expect(fast.finish()).toEqual(general.finish());
  });

  it('an upcall loop past its deadline defers the EOIs of the rest of the loop the same way', () => {
    // 600 events of 0.1 ms: the deadline (2 jiffies at 250 Hz) is armed at the 256th event and
    // found passed at the 512th.
    let irqs: number[] = [];
    // (The same IRQ numbers on both platforms.)
    const [fast, general] = bothForms('fifo', (r) => (irqs = r.slowLoop(600, 100_000)));
    const deferred = irqs.filter((irq) => fast.guest.irqInfo(irq)!.eoiTime !== 0);
    expect(deferred.length).toBe(600 - 512 + 1);
    expect(fast.finish()).toEqual(general.finish());
  });

  for (const abi of ['2level', 'fifo'] as const) {
    it(`${abi}: every result, handler run, bus event and the saved state match`, () => {
      let shortFormRuns = 0;
      checkProperty(
        `${abi} event path, short form vs general form`,
        fc.tuple(fc.array(bindArb, { minLength: 1, maxLength: 4 }), fc.array(opArb, { minLength: 1, maxLength: 120 })),
        ([binds, rest]) => {
          const ops = [...binds, ...rest];
          const fast = new Run(abi, true);
          const general = new Run(abi, false);
          for (const o of ops) {
            fast.step(o);
            general.step(o);
          }
          expect(fast.finish()).toEqual(general.finish());
          shortFormRuns += fast.shortFormRuns;
          expect(general.shortFormRuns).toBe(0);
        },
        150,
      );
      // The comparison means something only if the short form was in use.
      expect(shortFormRuns).toBeGreaterThan(scaled(100));
    });
  }
});
