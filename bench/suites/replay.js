/*
 * `pnpm bench --replay FILE`: runs a replay scenario in a loop.
 *
 * `evtchn-replay/1` (delivery): the steps are compiled once and run against a fresh platform
 * built as the CLI's delivery replay builds it (packages/conformance/src/delivery.ts); the
 * first run's output is checked line by line against the CLI's `runDeliveryReplay`. The
 * figure is handler runs / seconds spent in the steps (platform construction excluded, and
 * reported apart as runs/s including it).
 *
 * `evtchn-hypercall/1`: the CLI's `runHypercallReplay` in a loop; the figure is steps/s
 * (platform construction included).
 */
import { readFileSync } from 'node:fs';
import { median, seconds } from '../lib/measure.js';
import { abi2, conformance, core, fifo, linux } from '../lib/stack.js';

const GUEST_DOMID = 1;

function buildReplayPlatform(abi, vcpus) {
  const isFifo = abi === 'fifo';
  const platform = core.createPlatform({
    arch: core.archNull({ pirqs: 'none' }),
    abis: isFifo ? [abi2.abi2Level(), fifo.abiFifo()] : [abi2.abi2Level()],
    guest: linux.guestLinux({ fifo: isFifo }),
    domains: [{ id: GUEST_DOMID, vcpus }],
    // The workload runs the upcalls itself: the replay's immediate mode.
    execution: { mode: 'immediate' },
  });
  const pd = platform.domain(GUEST_DOMID);
  return { isFifo, hv: platform.hypervisor, domain: pd.domain, guest: pd.guest, hc: pd.domain.hypercalls };
}

/** A compiled delivery scenario: `run(record)` executes every step on a fresh platform. */
function compileDelivery(sc) {
  const abi = sc.abi;
  const vcpus = sc.vcpus;
  const steps = sc.steps;
  let env;
  let handled = 0;
  let delivered = null;
  let reactions = [];
  const handler = (_irq, dev) => {
    const port = dev.port;
    handled++;
    if (delivered !== null) delivered.push(port);
    const r = reactions[port];
    if (r !== undefined && r.remaining > 0) {
      r.remaining--;
      for (const target of r.sends) env.hc.send(target);
    }
    return linux.IRQ_HANDLED;
  };
  const ops = steps.map((s) => {
    switch (s.op) {
      case 'bind':
        return () => {
          const port = env.hc.allocUnbound(core.DOMID_SELF, core.DOMID_SELF);
          if (port < 0) return { op: 'bind', rc: port };
          env.hv.bindLoopback(env.domain.id, port);
          reactions[port] = undefined;
          const g = env.guest;
          const irq = g.bindEvtchnToIrq(port);
          if (irq < 0) return { op: 'bind', rc: irq };
          if (env.isFifo) g.setIrqPriority(irq, s.priority ?? 7);
          g.rebindIrqToCpu(irq, s.vcpu);
          const rc = g.requestIrq(irq, handler, 0, `replay-${port}`, { port });
          if (rc < 0) {
            g.unbindFromIrq(irq);
            return { op: 'bind', rc };
          }
          return { op: 'bind', port };
        };
      case 'close':
        return () => {
          reactions[s.port] = undefined;
          const g = env.guest;
          const irq = g.irqFromEvtchn(s.port);
          if (irq === -1) env.hc.close(s.port);
          else {
            const desc = g.irqDesc(irq);
            while (desc?.action) g.freeIrq(irq, desc.action.devId);
            g.unbindFromIrq(irq);
          }
          return { op: 'close' };
        };
      case 'send':
        return () => {
          env.hc.send(s.port);
          return { op: 'send' };
        };
      case 'mask':
      case 'unmask':
        return () => {
          const irq = env.guest.irqFromEvtchn(s.port);
          if (irq !== -1) {
            if (s.op === 'mask') env.guest.maskIrq(irq);
            else env.guest.unmaskIrq(irq);
          }
          return { op: s.op };
        };
      case 'prio':
        return () => ({ op: 'prio', rc: env.hc.setPriority(s.port, s.priority ?? 7) });
      case 'rebind':
        return () => {
          const irq = env.guest.irqFromEvtchn(s.port);
          if (irq !== -1) env.guest.rebindIrqToCpu(irq, s.vcpu);
          return { op: 'rebind' };
        };
      case 'react':
        return () => {
          reactions[s.port] = { remaining: s.times, sends: s.send ?? [] };
          return { op: 'react' };
        };
      case 'upcall':
        return (record) => {
          if (record) delivered = [];
          env.guest.upcall(s.vcpu);
          const out = { op: 'upcall', vcpu: s.vcpu, delivered };
          delivered = null;
          return out;
        };
      case 'pending':
        return () => {
          const a = env.domain.abi;
          let linked = false;
          if (a instanceof fifo.FifoHypervisorSide) {
            const w = a.eventWord(s.port);
            linked = w !== undefined && (w & fifo.FIFO_LINKED) !== 0;
          }
          return { op: 'pending', pending: a.isPending(s.port), masked: a.isMasked(s.port), linked };
        };
      default:
        throw new Error(`bench: unknown replay op ${JSON.stringify(s.op)}`);
    }
  });
  return {
    /** Builds a platform; @returns seconds it took */
    setUp() {
      const t = seconds();
      env = buildReplayPlatform(abi, vcpus);
      reactions = [];
      return seconds() - t;
    },
    /** Runs the steps; with `record`, returns the output lines. */
    run(record) {
      const out = record ? [] : null;
      for (let i = 0; i < ops.length; i++) {
        const o = ops[i](record);
        if (record) out.push(JSON.stringify(o));
      }
      return out;
    },
    get handled() {
      return handled;
    },
  };
}

/** @param {{file:string, minEvents?:number, maxSeconds?:number}} p */
export function measureReplay(p) {
  const sc = JSON.parse(readFileSync(p.file, 'utf8'));
  const maxSeconds = p.maxSeconds ?? 10;
  if (sc.format === 'evtchn-hypercall/1') {
    const abis = conformance.builtinAbis();
    let steps = 0;
    const start = seconds();
    let runs = 0;
    do {
      steps += conformance.runHypercallReplay(sc, abis).length;
      runs++;
    } while (seconds() - start < Math.min(maxSeconds, 3));
    const elapsed = seconds() - start;
    return { file: p.file, format: sc.format, runs, stepsPerSecond: steps / elapsed, runsPerSecond: runs / elapsed };
  }
  if (sc.format !== 'evtchn-replay/1') throw new Error(`bench: ${p.file}: unknown format ${JSON.stringify(sc.format)}`);
  const minEvents = p.minEvents ?? 2_000_000;
  const replay = compileDelivery(sc);

  // The compiled steps must do what the CLI's replay does.
  const expected = conformance.runDeliveryReplay(sc);
  replay.setUp();
  const got = replay.run(true);
  for (let i = 0; i < expected.length; i++) {
    if (JSON.stringify(JSON.parse(got[i])) !== JSON.stringify(JSON.parse(expected[i])))
      throw new Error(`bench: ${p.file} step ${i}: bench replay printed ${got[i]}, the CLI ${expected[i]}`);
  }
  const perRun = replay.handled;
  if (perRun === 0) return { file: p.file, format: sc.format, abi: sc.abi, eventsPerRun: 0, note: 'no handler runs' };

  // Warm up, then sample.
  const warmStart = seconds();
  while (seconds() - warmStart < 0.3) {
    replay.setUp();
    replay.run(false);
  }
  const rates = [];
  let totalRuns = 0;
  let totalEvents = 0;
  let stepSeconds = 0;
  let setUpSeconds = 0;
  const start = seconds();
  for (let sample = 0; sample < 3; sample++) {
    const before = replay.handled;
    let t = 0;
    let runs = 0;
    do {
      setUpSeconds += replay.setUp();
      const t0 = seconds();
      replay.run(false);
      t += seconds() - t0;
      runs++;
    } while (replay.handled - before < minEvents / 3 && seconds() - start < maxSeconds);
    const events = replay.handled - before;
    rates.push(events / t);
    totalRuns += runs;
    totalEvents += events;
    stepSeconds += t;
  }
  return {
    file: p.file,
    format: sc.format,
    abi: sc.abi,
    steps: sc.steps.length,
    eventsPerRun: perRun,
    runs: totalRuns,
    events: totalEvents,
    eventsPerSecond: median(rates),
    runsPerSecondWithSetUp: totalRuns / (stepSeconds + setUpSeconds),
  };
}
